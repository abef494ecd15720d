package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/token"
)

// TokenPrintOptions is one `authctl token print`.
type TokenPrintOptions struct {
	IO      IOStreams
	Profile *Profile
	Now     func() time.Time

	Format  string        // raw, header or json
	MinTTL  time.Duration // refresh unless the token stays valid this long
	IDToken bool          // print the ID token instead
}

// NewCmdToken returns `authctl token`, which alone means `token print`
// (as `gh auth token` prints the token), and its subcommands.
func NewCmdToken(f *Factory, runF func(context.Context, *TokenPrintOptions) error) *cobra.Command {
	c := NewCmdTokenPrint(f, runF)
	c.Use = "token"
	c.Short = "Print a fresh access token (same as token print)"
	c.Long = "authctl token alone is authctl token print:\n\n" + c.Long
	c.Example = ""
	c.Args = noSubcommand
	c.AddCommand(NewCmdTokenPrint(f, runF))
	return c
}

// NewCmdTokenPrint returns `authctl token print`; runF, when not nil,
// receives the options instead of tokenPrintRun (tests).
func NewCmdTokenPrint(f *Factory, runF func(context.Context, *TokenPrintOptions) error) *cobra.Command {
	opts := &TokenPrintOptions{IO: f.IO(), Now: f.Now}
	var asJSON bool
	c := &cobra.Command{
		Use:        "print",
		SuggestFor: []string{"show", "get", "cat"},
		Short:      "Print a fresh access token on stdout, refreshing it when needed",
		Long: `Print a fresh access token on stdout: the token and a newline, nothing else.
A token that expires within 30s (or --min-ttl) is refreshed first. Never
opens a browser and never prompts: without a usable credential it exits 4.
Any number of parallel runs make one refresh request between them.`,
		Example: `  curl -H @<(authctl token print --format header) https://api.example.com/v1/
  TOKEN=$(authctl token)
  TOKEN=$(authctl token print -p work --min-ttl 5m)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if asJSON {
				if c.Flags().Changed("format") && opts.Format != "json" {
					return usageErrorf("--json and --format %s exclude each other", opts.Format)
				}
				opts.Format = "json"
			}
			switch opts.Format {
			case "raw", "header", "json":
			default:
				return usageErrorf("unknown --format %q: use raw, header or json", opts.Format)
			}
			if opts.MinTTL < 0 {
				return usageErrorf("--min-ttl must not be negative")
			}
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return tokenPrintRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Format, "format", "raw", "output format: raw, header or json")
	fl.BoolVar(&asJSON, "json", false, "same as --format json")
	fl.DurationVar(&opts.MinTTL, "min-ttl", token.DefaultMinTTL, "refresh unless the token stays valid at least this long (at least 30s)")
	fl.BoolVar(&opts.IDToken, "id-token", false, "print the ID token instead (for tools such as kubectl's OIDC mode)")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"raw", "header", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// tokenPrintRun prints a fresh token of opts.Profile.
func tokenPrintRun(ctx context.Context, opts *TokenPrintOptions) error {
	p := opts.Profile
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	src := p.Source
	cred, err := src.Token(ctx, opts.MinTTL)
	if err != nil {
		return needLogin(err, p)
	}
	if !opts.IDToken {
		t := printable{Type: cred.Type(), Value: cred.AccessToken, Expiry: cred.Expiry}
		return t.print(opts.IO.Out, opts.Format, opts.Now())
	}
	if cred.IDToken == "" {
		return fmt.Errorf("profile %q holds no ID token (log in with the openid scope)", p.Name)
	}
	// An ID token can run out before the access token: refresh for it too
	// (a refresh with the openid scope returns a new one).
	if exp := token.JWTExpiry(cred.IDToken); !exp.IsZero() && exp.Sub(opts.Now()) <= max(opts.MinTTL, token.DefaultMinTTL) {
		if cred, err = src.Refresh(ctx, cred.AccessToken); err != nil {
			return needLogin(err, p)
		}
	}
	t := printable{ID: true, Type: "Bearer", Value: cred.IDToken, Expiry: token.JWTExpiry(cred.IDToken)}
	return t.print(opts.IO.Out, opts.Format, opts.Now())
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
			v.Expiry = formatTime(t.Expiry)
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

// formatTime is the one way authctl writes a time: RFC 3339, UTC, whole
// seconds.
func formatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
