package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/token"
)

// statusReport is what status shows, and its --json form.
type statusReport struct {
	Profile          string     `json:"profile"`
	Issuer           string     `json:"issuer"`
	ClientID         string     `json:"client_id"`
	LoggedIn         bool       `json:"logged_in"`
	Subject          string     `json:"subject,omitempty"`
	Email            string     `json:"email,omitempty"`
	AccessExpiry     *time.Time `json:"access_token_expiry,omitempty"`
	AccessExpired    bool       `json:"access_token_expired,omitempty"`
	RefreshTokenHeld bool       `json:"refresh_token"`
	Storage          string     `json:"storage"`
	Reason           string     `json:"reason,omitempty"`

	// IDTokenRejected says that a refresh returned an ID token that was
	// refused: Subject and Email are from the earlier, verified one.
	IDTokenRejected *token.IDTokenRejection `json:"id_token_rejected,omitempty"`
}

func (a *app) newStatus() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the profile's login state (offline; exit 4 when not logged in)",
		Long: `Show the profile, issuer, client, whether it is logged in, who (from the
verified ID token), when the access token expires, whether a refresh token
is held, and where the credential is stored. Makes no network request.
Exits 4 when not logged in.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := a.profile(c)
			if err != nil {
				return err
			}
			st := a.store(p)
			r := statusReport{Profile: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, Storage: st.Backend()}
			var cred *token.Credential
			lerr := error(&token.LoginRequiredError{Reason: "not logged in"})
			if p.Issuer != "" || p.TokenURL != "" {
				cred, lerr = a.source(p).Load(c.Context())
			}
			switch {
			case lerr == nil:
				r.LoggedIn = true
				id := cred.Identity()
				r.Subject, r.Email = id.Subject, id.Email
				r.IDTokenRejected = cred.IDTokenRejected
				if !cred.Expiry.IsZero() {
					e := cred.Expiry.UTC()
					r.AccessExpiry = &e
					r.AccessExpired = !cred.Expiry.After(a.now())
				}
				r.RefreshTokenHeld = cred.RefreshToken != ""
				if r.AccessExpired && !r.RefreshTokenHeld {
					r.LoggedIn = false
					r.Reason = "the access token has expired and there is no refresh token"
				}
			case errors.Is(lerr, token.ErrLoginRequired):
				r.Reason = lerr.Error()
			default:
				return lerr
			}
			if asJSON {
				b, _ := json.MarshalIndent(r, "", "  ")
				fmt.Fprintf(a.deps.Stdout, "%s\n", b)
			} else {
				r.write(a.deps.Stdout, a.now())
			}
			if !r.LoggedIn {
				return &silentError{code: exitLoginRequired}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
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
	case r.LoggedIn:
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
			x.At.Local().Format(time.RFC3339), x.Reason))
	}
	if r.AccessExpiry != nil {
		left := r.AccessExpiry.Sub(now).Round(time.Second)
		if left > 0 {
			line("access token", fmt.Sprintf("expires %s (in %s)", r.AccessExpiry.Local().Format(time.RFC3339), left))
		} else {
			line("access token", fmt.Sprintf("expired %s", r.AccessExpiry.Local().Format(time.RFC3339)))
		}
	}
	if r.LoggedIn {
		line("refresh token", map[bool]string{true: "held", false: "none (the session ends when the access token expires)"}[r.RefreshTokenHeld])
	}
	line("storage", r.Storage)
}
