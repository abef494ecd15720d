package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/token"
)

func (a *app) newProfile() *cobra.Command {
	c := &cobra.Command{
		Use:   "profile",
		Short: "List, select and remove profiles",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageErrorf("missing subcommand (see: authctl profile --help)")
		},
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List profiles: name, issuer, logged in, default",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			type row struct {
				Name     string `json:"name"`
				Issuer   string `json:"issuer"`
				LoggedIn bool   `json:"logged_in"`
				Default  bool   `json:"default"`
			}
			var rows []row
			def := a.config.DefaultProfile()
			for _, n := range a.config.Profiles() {
				p, err := resolveProfile(n, a.config, nil, a.deps.Getenv)
				if err != nil {
					return err
				}
				_, err = a.source(p).Load(c.Context())
				if err != nil && !errors.Is(err, token.ErrLoginRequired) {
					return err
				}
				rows = append(rows, row{Name: n, Issuer: p.Issuer, LoggedIn: err == nil, Default: n == def})
			}
			if asJSON {
				if rows == nil {
					rows = []row{}
				}
				b, _ := json.MarshalIndent(rows, "", "  ")
				fmt.Fprintf(a.deps.Stdout, "%s\n", b)
				return nil
			}
			tw := tabwriter.NewWriter(a.deps.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tISSUER\tLOGGED IN\tDEFAULT")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Issuer, yesNo(r.LoggedIn), map[bool]string{true: "*"}[r.Default])
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	use := &cobra.Command{
		Use:               "use NAME",
		Short:             "Make NAME the default profile",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeProfiles,
		RunE: func(c *cobra.Command, args []string) error {
			if err := validProfileName(args[0]); err != nil {
				return err
			}
			if !a.config.HasProfile(args[0]) {
				return usageErrorf("no profile %q in %s (see: authctl profile list)", args[0], a.config.path)
			}
			if err := a.config.setDefault(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.deps.Stderr, "Default profile is now %q.\n", args[0])
			return nil
		},
	}
	remove := &cobra.Command{
		Use:               "remove NAME",
		Short:             "Log out of NAME (revoking its tokens) and remove it from the config",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeProfiles,
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if err := validProfileName(name); err != nil {
				return err
			}
			if !a.config.HasProfile(name) {
				return usageErrorf("no profile %q in %s (see: authctl profile list)", name, a.config.path)
			}
			if err := a.logoutProfile(c.Context(), name, true); err != nil {
				return err
			}
			if err := a.config.removeProfile(name); err != nil {
				return err
			}
			fmt.Fprintf(a.deps.Stderr, "Removed profile %q.\n", name)
			return nil
		},
	}
	c.AddCommand(list, use, remove)
	return c
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// completeProfiles completes profile names from the config file.
func (a *app) completeProfiles(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	if a.config == nil {
		if err := a.setup(c, nil); err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	return a.config.Profiles(), cobra.ShellCompDirectiveNoFileComp
}
