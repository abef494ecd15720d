package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/token"
)

func (a *app) newToken() *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Work with the profile's tokens",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageErrorf("missing subcommand (see: authctl token --help)")
		},
	}
	c.AddCommand(a.newTokenPrint())
	return c
}

type printOptions struct {
	format  string
	minTTL  time.Duration
	idToken bool
}

func (a *app) newTokenPrint() *cobra.Command {
	var o printOptions
	c := &cobra.Command{
		Use:   "print",
		Short: "Print a fresh access token on stdout, refreshing it when needed",
		Long: `Print a fresh access token on stdout: the token and a newline, nothing else.
A token that expires within 30s (or --min-ttl) is refreshed first. Never
opens a browser and never prompts: without a usable credential it exits 4.
Any number of parallel runs make one refresh request between them.`,
		Example: `  curl -H @<(authctl token print --format header) https://api.example.com/v1/items   # not in curl's arguments
  TOKEN=$(authctl token print -p work --min-ttl 5m)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.runTokenPrint(c, o) },
	}
	c.Flags().StringVar(&o.format, "format", "raw", "output format: raw, header or json")
	c.Flags().DurationVar(&o.minTTL, "min-ttl", token.DefaultMinTTL, "refresh unless the token stays valid at least this long (at least 30s)")
	c.Flags().BoolVar(&o.idToken, "id-token", false, "print the ID token instead (for tools such as kubectl's OIDC mode)")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"raw", "header", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) runTokenPrint(c *cobra.Command, o printOptions) error {
	switch o.format {
	case "raw", "header", "json":
	default:
		return usageErrorf("unknown --format %q: use raw, header or json", o.format)
	}
	if o.minTTL < 0 {
		return usageErrorf("--min-ttl must not be negative")
	}
	p, err := a.loggedInProfile(c)
	if err != nil {
		return err
	}
	a.warnInsecure(p)
	src := a.source(p)
	cred, err := src.Token(c.Context(), o.minTTL)
	if err != nil {
		return needLogin(err, p.Name)
	}
	// An ID token can run out before the access token: refresh for it too
	// (a refresh with the openid scope returns a new one).
	if o.idToken && cred.IDToken != "" {
		if exp := token.JWTExpiry(cred.IDToken); !exp.IsZero() && exp.Sub(a.now()) <= max(o.minTTL, token.DefaultMinTTL) {
			if cred, err = src.Refresh(c.Context(), cred.AccessToken); err != nil {
				return needLogin(err, p.Name)
			}
		}
	}
	t := printable{Type: cred.Type(), Value: cred.AccessToken, Expiry: cred.Expiry}
	if o.idToken {
		if cred.IDToken == "" {
			return fmt.Errorf("profile %q holds no ID token (log in with the openid scope)", p.Name)
		}
		t = printable{ID: true, Type: "Bearer", Value: cred.IDToken, Expiry: token.JWTExpiry(cred.IDToken)}
	}
	return t.print(a.deps.Stdout, o.format, a.now())
}

// printable is a token as token print shows it.
type printable struct {
	ID     bool // an ID token rather than an access token
	Type   string
	Value  string
	Expiry time.Time
}

func (t printable) print(out io.Writer, format string, now time.Time) error {
	var err error
	switch format {
	case "raw":
		_, err = fmt.Fprintln(out, t.Value)
	case "header":
		_, err = fmt.Fprintf(out, "Authorization: %s %s\n", t.Type, t.Value)
	case "json":
		v := struct {
			AccessToken string `json:"access_token,omitempty"`
			IDToken     string `json:"id_token,omitempty"`
			TokenType   string `json:"token_type"`
			Expiry      string `json:"expiry,omitempty"`
			ExpiresIn   *int64 `json:"expires_in,omitempty"`
		}{TokenType: t.Type}
		if t.ID {
			v.IDToken = t.Value
		} else {
			v.AccessToken = t.Value
		}
		if !t.Expiry.IsZero() {
			v.Expiry = t.Expiry.UTC().Format(time.RFC3339)
			secs := int64(math.Max(0, math.Floor(t.Expiry.Sub(now).Seconds())))
			v.ExpiresIn = &secs
		}
		b, _ := json.Marshal(v)
		_, err = fmt.Fprintf(out, "%s\n", b)
	}
	if err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	return nil
}
