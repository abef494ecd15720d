package cmd

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/dpop"
)

// DPoPProofOptions is one `authctl dpop-proof`.
type DPoPProofOptions struct {
	IO      IOStreams
	Profile *Profile
	Now     func() time.Time

	Method string
	URL    string // as given; "/path" is resolved against the profile's base_url
	Nonce  string // the server's DPoP-Nonce, when it asked for one
	MinTTL time.Duration
}

// NewCmdDPoPProof returns `authctl dpop-proof`; runF, when not nil,
// receives the options instead of dpopProofRun (tests).
func NewCmdDPoPProof(f *Factory, runF func(context.Context, *DPoPProofOptions) error) *cobra.Command {
	opts := &DPoPProofOptions{IO: f.IO(), Now: f.Now}
	c := &cobra.Command{
		Use:   "dpop-proof --url URL [--method M]",
		Short: "Print the two headers of one request with a DPoP-bound token",
		Long: `For a profile logged in with --dpop, print the headers one HTTP request
needs, for HTTP clients other than authctl curl:

  Authorization: DPoP <access token>
  DPoP: <proof>

The proof is signed with the profile's key for this method and URL (its
query and fragment do not count), and for this token; it is good for one
request, made now. A server that answers with use_dpop_nonce and a
DPoP-Nonce header wants a new proof with --nonce set to that value.
The token is refreshed first when it expires within 30s (a third of its
lifetime for a token that lives less than 90s), or within --min-ttl.

token print hands out the token alone, which is useless without proofs:
a proof is per request, so it has a command of its own.`,
		Example: `  curl -H @<(authctl dpop-proof --url https://api.example.com/v1/items) \
    https://api.example.com/v1/items
  authctl dpop-proof -p work --method POST --url https://api.example.com/v1/x`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := checkProofFlags(opts); err != nil {
				return err
			}
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return dpopProofRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Method, "method", "GET", "the request's HTTP method")
	fl.StringVar(&opts.URL, "url", "", "the request's URL (a /path uses the profile's base_url)")
	fl.StringVar(&opts.Nonce, "nonce", "", "the server's DPoP-Nonce, when it asked for one")
	fl.DurationVar(&opts.MinTTL, "min-ttl", 0, "refresh unless the token stays valid at least this long (default: the refresh margin)")
	return c
}

// checkProofFlags checks what can be checked before the profile is read.
func checkProofFlags(opts *DPoPProofOptions) error {
	switch {
	case opts.URL == "":
		return usageErrorf("--url is required: the proof is for one request to one URL")
	case !isMethod(opts.Method):
		return usageErrorf("--method %q is not an HTTP method", opts.Method)
	case opts.Nonce != "" && !dpop.ValidNonce(opts.Nonce):
		return usageErrorf("--nonce %q is not a DPoP nonce (printable ASCII without spaces, quotes or backslashes)", opts.Nonce)
	case opts.MinTTL < 0:
		return usageErrorf("--min-ttl must not be negative")
	}
	return nil
}

// dpopProofRun prints the headers of one request with opts.Profile's
// DPoP-bound token.
func dpopProofRun(ctx context.Context, opts *DPoPProofOptions) error {
	p := opts.Profile
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	u, err := proofURL(opts.URL, p.BaseURL)
	if err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	cred, err := p.Source.Token(ctx, opts.MinTTL)
	if err != nil {
		return needLogin(err, p)
	}
	key, err := cred.ProofKey()
	if err != nil {
		return needLogin(err, p)
	}
	if key == nil {
		return usageErrorf("the tokens of profile %q are not DPoP-bound, and need no proof: use authctl%s token print --format header (or log in with --dpop)", p.Name, p.flagP())
	}
	proof, err := key.Proof(dpop.Request{Method: opts.Method, URL: u, AccessToken: cred.AccessToken, Nonce: opts.Nonce}, opts.Now())
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(opts.IO.Out, "Authorization: %s %s\n%s: %s\n", cred.Type(), cred.AccessToken, dpop.HeaderName, proof); err != nil {
		return fmt.Errorf("write headers: %w", err)
	}
	return nil
}

// proofURL reads the URL a proof is for: absolute http(s), or a path
// under base.
func proofURL(raw, base string) (*url.URL, error) {
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		if base == "" {
			return nil, usageErrorf("--url %q is a path: give a full URL or set base_url in the profile", raw)
		}
		raw = strings.TrimRight(base, "/") + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usageErrorf("--url %q is not an http(s) URL", raw)
	}
	return u, nil
}

// isMethod reports RFC 9110 method syntax: a token.
func isMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
