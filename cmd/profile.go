package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/configfile"
	"github.com/authctl/authctl/token"
)

// NewCmdProfile returns `authctl profile` and its subcommands.
func NewCmdProfile(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "profile",
		Short: "List, select and remove profiles",
		Args:  noSubcommand,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageErrorf("missing subcommand: list, use or remove (see: authctl profile --help)")
		},
	}
	c.AddCommand(NewCmdProfileList(f, nil), NewCmdProfileUse(f, nil), NewCmdProfileRemove(f, nil))
	return c
}

// ProfileListOptions is one `authctl profile list`.
type ProfileListOptions struct {
	IO       IOStreams
	Profiles []*Profile
	// Unreadable maps the profiles whose settings cannot be read to why.
	Unreadable map[string]error
	Default    string
	JSON       bool
}

// profileRow is one line of profile list, and its --json form.
type profileRow struct {
	Name     string `json:"name"`
	Issuer   string `json:"issuer"`
	LoggedIn *bool  `json:"logged_in"` // null: unknown
	Default  bool   `json:"default"`
	Problem  string `json:"problem,omitempty"`
}

// NewCmdProfileList returns `authctl profile list`.
func NewCmdProfileList(f *Factory, runF func(context.Context, *ProfileListOptions) error) *cobra.Command {
	opts := &ProfileListOptions{IO: f.IO()}
	c := &cobra.Command{
		Use:   "list",
		Short: "List profiles: name, issuer, logged in, default",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cf, err := f.Config(false)
			if err != nil {
				return err
			}
			opts.Unreadable = map[string]error{}
			for _, name := range profileNames(cf) {
				p, err := f.profileNamed(cf, name, "the config", nil)
				if err != nil {
					opts.Unreadable[name] = err
					continue
				}
				opts.Profiles = append(opts.Profiles, p)
			}
			if n := cf.Lookup("default_profile"); n != nil {
				opts.Default = n.Value
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return profileListRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return c
}

// profileListRun prints the profiles; a keychain that cannot be read
// makes "logged in" unknown, not the listing fail.
func profileListRun(ctx context.Context, opts *ProfileListOptions) error {
	rows := []profileRow{}
	for _, p := range opts.Profiles {
		r := profileRow{Name: p.Name, Issuer: p.Issuer, Default: p.Name == opts.Default}
		_, err := p.Source.Load(ctx)
		switch {
		case err == nil:
			r.LoggedIn = ptr(true)
		case errors.Is(err, token.ErrLoginRequired):
			r.LoggedIn = ptr(false)
		default:
			r.Problem = err.Error()
		}
		rows = append(rows, r)
	}
	for name, err := range opts.Unreadable {
		rows = append(rows, profileRow{Name: name, Default: name == opts.Default, Problem: err.Error()})
	}
	sortRows(rows)
	if opts.JSON {
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Fprintf(opts.IO.Out, "%s\n", b)
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tISSUER\tLOGGED IN\tDEFAULT")
	for _, r := range rows {
		in := "unknown"
		if r.LoggedIn != nil {
			in = yesNo(*r.LoggedIn)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Issuer, in, map[bool]string{true: "*"}[r.Default])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Problem != "" {
			fmt.Fprintf(opts.IO.ErrOut, "authctl: profile %q: %s\n", r.Name, r.Problem)
		}
	}
	return nil
}

func sortRows(rows []profileRow) {
	slices.SortFunc(rows, func(a, b profileRow) int { return strings.Compare(a.Name, b.Name) })
}

func ptr[T any](v T) *T { return &v }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ProfileUseOptions is one `authctl profile use NAME`.
type ProfileUseOptions struct {
	IO     IOStreams
	Config *configfile.File
	Name   string
}

// NewCmdProfileUse returns `authctl profile use`.
func NewCmdProfileUse(f *Factory, runF func(context.Context, *ProfileUseOptions) error) *cobra.Command {
	opts := &ProfileUseOptions{IO: f.IO()}
	return &cobra.Command{
		Use:               "use NAME",
		Short:             "Make NAME the default profile",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.completeProfiles,
		RunE: func(c *cobra.Command, args []string) error {
			cf, err := f.existingProfile(args[0])
			if err != nil {
				return err
			}
			opts.Config, opts.Name = cf, args[0]
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return profileUseRun(c.Context(), opts)
		},
	}
}

// existingProfile returns the config when it defines profile name.
func (f *Factory) existingProfile(name string) (*configfile.File, error) {
	if err := validProfileName(name); err != nil {
		return nil, err
	}
	cf, err := f.Config(false)
	if err != nil {
		return nil, err
	}
	if cf.Lookup("profiles", name) == nil {
		return nil, unknownProfile(cf, name, "the command line")
	}
	return cf, nil
}

func profileUseRun(_ context.Context, opts *ProfileUseOptions) error {
	if err := opts.Config.Set(opts.Name, "default_profile"); err != nil {
		return err
	}
	if err := opts.Config.Save(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Default profile is now %q.\n", opts.Name)
	return nil
}

// ProfileRemoveOptions is one `authctl profile remove NAME`.
type ProfileRemoveOptions struct {
	IO      IOStreams
	Profile *Profile
}

// NewCmdProfileRemove returns `authctl profile remove`.
func NewCmdProfileRemove(f *Factory, runF func(context.Context, *ProfileRemoveOptions) error) *cobra.Command {
	opts := &ProfileRemoveOptions{IO: f.IO()}
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Log out of NAME (revoking its tokens) and remove it",
		Long: `Log out of profile NAME (revoking its tokens at the provider) and remove its
settings from the config file. When NAME is the default profile, the config
is left without a default, and authctl says so.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.completeProfiles,
		RunE: func(c *cobra.Command, args []string) error {
			cf, err := f.existingProfile(args[0])
			if err != nil {
				return err
			}
			p, err := f.profileNamed(cf, args[0], "the command line", nil)
			if err != nil {
				return err
			}
			opts.Profile = p
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return profileRemoveRun(c.Context(), opts)
		},
	}
}

func profileRemoveRun(ctx context.Context, opts *ProfileRemoveOptions) error {
	p := opts.Profile
	lo := &LogoutOptions{IO: opts.IO}
	if err := logoutProfile(ctx, lo, p); err != nil {
		return err
	}
	cf := p.Config
	wasDefault := false
	if n := cf.Lookup("default_profile"); n != nil && n.Value == p.Name {
		wasDefault = true
		if err := cf.Delete("default_profile"); err != nil {
			return err
		}
	}
	if err := cf.Delete("profiles", p.Name); err != nil {
		return err
	}
	if err := cf.Save(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Removed profile %q.\n", p.Name)
	if wasDefault {
		next := "authctl profile use NAME"
		if names := profileNames(cf); len(names) == 1 {
			next = "authctl profile use " + names[0]
		}
		fmt.Fprintf(opts.IO.ErrOut, "It was the default profile; there is no default now (choose one: %s).\n", next)
	}
	return nil
}
