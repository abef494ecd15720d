package cmd

import (
	"context"
	"encoding/json"
	"errors"
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

	Format  string        // raw, header, json or exec-credential
	MinTTL  time.Duration // refresh unless the token stays valid this long
	IDToken bool          // print the ID token instead

	// Exec is what kubectl asked for, with --format exec-credential.
	Exec *ExecInfo
	// Login (--login) lets an interactive kubectl run a login, as the
	// profile's login_on_demand does.
	Login bool
	// SignIn runs the profile's login flow (authctl login's).
	SignIn func(ctx context.Context) error
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
A token that expires within 30s (a third of its lifetime for a token that
lives less than 90s), or within --min-ttl, is refreshed first. Never
opens a browser and never prompts: without a usable credential it exits 4.
Any number of parallel runs make one refresh request between them.

--format exec-credential makes authctl a kubectl exec credential plugin: it
prints an ExecCredential in the apiVersion kubectl asks for in
$KUBERNETES_EXEC_INFO (client.authentication.k8s.io/v1 or v1beta1), whose
expirationTimestamp is the token's expiry less the refresh margin, so
kubectl asks again before the token goes stale. When no credential works
and kubectl runs it interactively, it logs in first if the profile's
login_on_demand is set or --login is given (words on stderr only); else it
exits 4 and kubectl shows the next step. authctl setup kubectl writes the
kubeconfig entry.`,
		Example: `  curl -H @<(authctl token print --format header) https://api.example.com/v1/
  TOKEN=$(authctl token)
  TOKEN=$(authctl token print -p work --min-ttl 5m)
  authctl setup kubectl -p work
      # kubectl then runs: authctl token print --format exec-credential -p work`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if asJSON {
				if c.Flags().Changed("format") && opts.Format != "json" {
					return usageErrorf("--json and --format %s exclude each other", opts.Format)
				}
				opts.Format = "json"
			}
			if err := checkTokenFormat(opts, f.deps.Getenv); err != nil {
				return err
			}
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			opts.SignIn = func(ctx context.Context) error { return loginRun(ctx, f.loginOptions(p)) }
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return tokenPrintRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Format, "format", "raw", "output format: raw, header, json or exec-credential (kubectl)")
	fl.BoolVar(&asJSON, "json", false, "same as --format json")
	fl.DurationVar(&opts.MinTTL, "min-ttl", 0, "refresh unless the token stays valid at least this long (default: the refresh margin, 30s or a third of a shorter token's lifetime)")
	fl.BoolVar(&opts.IDToken, "id-token", false, "print the ID token instead (for Kubernetes API servers that take OIDC ID tokens)")
	fl.BoolVar(&opts.Login, "login", false, "with --format exec-credential: log in when kubectl runs authctl interactively and no credential works")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"raw", "header", "json", "exec-credential"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// checkTokenFormat checks --format and its companions, and reads what
// kubectl asks for when the format is exec-credential.
func checkTokenFormat(opts *TokenPrintOptions, getenv func(string) string) error {
	switch opts.Format {
	case "raw", "header", "json":
		if opts.Login {
			return usageErrorf("--login goes with --format exec-credential only: token print never logs in otherwise (run: authctl login)")
		}
	case "exec-credential":
		info, err := parseExecInfo(getenv(execInfoEnv))
		if err != nil {
			return err
		}
		opts.Exec = info
	default:
		return usageErrorf("unknown --format %q: use raw, header, json or exec-credential", opts.Format)
	}
	if opts.MinTTL < 0 {
		return usageErrorf("--min-ttl must not be negative")
	}
	return nil
}

// tokenPrintRun prints a fresh token of opts.Profile.
func tokenPrintRun(ctx context.Context, opts *TokenPrintOptions) error {
	p := opts.Profile
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	cred, err := opts.credential(ctx)
	if err != nil {
		return needLogin(err, p)
	}
	t := printable{Type: cred.Type(), Value: cred.AccessToken, Expiry: cred.Expiry}
	if !opts.IDToken {
		warnBound(opts.IO.ErrOut, p, cred)
	}
	if opts.IDToken {
		if t, err = idTokenOf(ctx, p, cred, opts.MinTTL, opts.Now()); err != nil {
			return needLogin(err, p)
		}
	}
	if opts.Format == "exec-credential" {
		return writeExecCredential(opts.IO.Out, opts.Exec, t, max(opts.MinTTL, cred.RefreshMargin()))
	}
	return t.print(opts.IO.Out, opts.Format, opts.Now())
}

// credential returns a fresh credential of the profile. When it needs a
// login and kubectl runs authctl interactively with login allowed, the
// login runs first.
func (opts *TokenPrintOptions) credential(ctx context.Context) (*token.Credential, error) {
	p := opts.Profile
	cred, err := p.Source.Token(ctx, opts.MinTTL)
	if !errors.Is(err, token.ErrLoginRequired) || !opts.mayLogIn() {
		return cred, err
	}
	fmt.Fprintf(opts.IO.ErrOut, "authctl: %s; logging in for kubectl (profile %q)\n", oneLine(err.Error()), p.Name)
	if err := opts.SignIn(ctx); err != nil {
		return nil, err
	}
	return p.Source.Token(ctx, opts.MinTTL)
}

// mayLogIn says whether this run may log in: kubectl's exec plugin,
// interactive, with the profile's consent.
func (opts *TokenPrintOptions) mayLogIn() bool {
	return opts.Exec != nil && opts.Exec.Interactive && (opts.Login || opts.Profile.LoginOnDemand) && opts.SignIn != nil
}

// idTokenOf returns the ID token of cred, refreshed first when it
// expires within minTTL (at least the default margin): an ID token can
// run out before the access token, and a refresh with the openid scope
// returns a new one.
func idTokenOf(ctx context.Context, p *Profile, cred *token.Credential, minTTL time.Duration, now time.Time) (printable, error) {
	if cred.IDToken == "" {
		return printable{}, fmt.Errorf("profile %q holds no ID token (log in with the openid scope)", p.Name)
	}
	if exp := token.JWTExpiry(cred.IDToken); !exp.IsZero() && exp.Sub(now) <= max(minTTL, token.DefaultMinTTL) {
		var err error
		if cred, err = p.Source.Refresh(ctx, cred.AccessToken); err != nil {
			return printable{}, err
		}
	}
	return printable{ID: true, Type: "Bearer", Value: cred.IDToken, Expiry: token.JWTExpiry(cred.IDToken)}, nil
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
