package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/token"
)

// StatusOptions is one `authctl status`.
type StatusOptions struct {
	IO      IOStreams
	Profile *Profile
	Now     func() time.Time
	JSON    bool
}

// statusReport is what status shows, and its --json form.
type statusReport struct {
	Profile          string `json:"profile"`
	Issuer           string `json:"issuer"`
	ClientID         string `json:"client_id"`
	LoggedIn         *bool  `json:"logged_in"` // null: unknown (see Reason)
	Subject          string `json:"subject,omitempty"`
	Email            string `json:"email,omitempty"`
	AccessExpiry     string `json:"access_token_expiry,omitempty"`
	AccessExpired    bool   `json:"access_token_expired,omitempty"`
	RefreshTokenHeld bool   `json:"refresh_token"`
	// DPoPJKT is the thumbprint of the DPoP key the tokens are bound to.
	DPoPJKT string `json:"dpop_jkt,omitempty"`
	Storage string `json:"storage"`
	Reason  string `json:"reason,omitempty"`

	// IDTokenRejected says that a refresh returned an ID token that was
	// refused: Subject and Email are from the earlier, verified one.
	IDTokenRejected *token.IDTokenRejection `json:"id_token_rejected,omitempty"`
}

// NewCmdStatus returns `authctl status`; runF, when not nil, receives the
// options instead of statusRun (tests).
func NewCmdStatus(f *Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO(), Now: f.Now}
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the profile's login state (offline; exit 4 if logged out)",
		Long: `Show the profile, issuer, client, whether it is logged in, who (from the
verified ID token), when the access token expires, whether a refresh token
is held, and where the credential is stored. Makes no network request.
Exits 4 when not logged in.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return statusRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return c
}

// statusRun reports the profile's state from the keychain alone.
func statusRun(ctx context.Context, opts *StatusOptions) error {
	p := opts.Profile
	r := statusReport{Profile: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, Storage: p.Store.Backend()}
	var cred *token.Credential
	lerr := error(&token.LoginRequiredError{Reason: "not logged in"})
	if p.hasProvider() {
		cred, lerr = p.Source.Load(ctx)
	}
	r.LoggedIn = ptr(false)
	switch {
	case lerr == nil:
		r.LoggedIn = ptr(true)
		id := cred.Identity()
		// Claims come from the provider: shown, so made printable.
		r.Subject, r.Email = safetext.Clean(id.Subject, 200), safetext.Clean(id.Email, 200)
		r.IDTokenRejected = cred.IDTokenRejected
		if !cred.Expiry.IsZero() {
			r.AccessExpiry = formatTime(cred.Expiry)
			r.AccessExpired = !cred.Expiry.After(opts.Now())
		}
		r.RefreshTokenHeld = cred.RefreshToken != ""
		if k, err := cred.ProofKey(); err == nil && k != nil {
			r.DPoPJKT = k.Thumbprint()
		}
		if r.AccessExpired && !r.RefreshTokenHeld {
			r.LoggedIn = ptr(false)
			r.Reason = "the access token has expired and there is no refresh token"
		}
	case errors.Is(lerr, token.ErrLoginRequired):
		r.Reason = lerr.Error()
	default:
		// The keychain cannot be read: show what the config says.
		r.LoggedIn, r.Reason = nil, lerr.Error()
	}
	if opts.JSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintf(opts.IO.Out, "%s\n", b)
	} else {
		r.write(opts.IO.Out, opts.Now())
	}
	switch {
	case r.LoggedIn == nil:
		return fmt.Errorf("cannot tell whether profile %q is logged in: %w", p.Name, lerr)
	case !*r.LoggedIn:
		return &silentError{code: exitLoginRequired}
	}
	return nil
}

func (r statusReport) write(w io.Writer, now time.Time) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-14s %s\n", k+":", v)
		}
	}
	line("profile", r.Profile)
	line("issuer", r.Issuer)
	line("client", r.ClientID)
	switch {
	case r.LoggedIn == nil:
		line("logged in", "unknown ("+r.Reason+")")
	case *r.LoggedIn:
		line("logged in", "yes")
	case r.Reason == "" || strings.HasPrefix(r.Reason, "not logged in"):
		line("logged in", "no")
	default:
		line("logged in", "no ("+r.Reason+")")
	}
	line("subject", r.Subject)
	line("email", r.Email)
	if x := r.IDTokenRejected; x != nil {
		line("id token", fmt.Sprintf("the refresh of %s returned one that was refused (%s); subject and email are from the earlier, verified one",
			formatTime(x.At), x.Reason))
	}
	if r.AccessExpiry != "" {
		exp, _ := time.Parse(time.RFC3339, r.AccessExpiry)
		if left := exp.Sub(now).Round(time.Second); left > 0 {
			line("access token", fmt.Sprintf("expires %s (in %s)", r.AccessExpiry, left))
		} else {
			line("access token", fmt.Sprintf("expired %s", r.AccessExpiry))
		}
	}
	if r.LoggedIn != nil && *r.LoggedIn {
		line("refresh token", map[bool]string{true: "held", false: "none (the session ends when the access token expires)"}[r.RefreshTokenHeld])
	}
	if r.DPoPJKT != "" {
		line("dpop", "tokens bound to the key "+r.DPoPJKT)
	}
	line("storage", r.Storage)
}
