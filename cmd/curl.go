package cmd

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/curl"
	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/token"
)

// CurlOptions is one `authctl curl`.
type CurlOptions struct {
	IO      IOStreams
	Profile *Profile
	// Curl is the parsed curl command line.
	Curl *curl.Options
	// Plain sends requests without the token (redirects to another
	// origin); Authed sends those that carry it, under the token transport.
	Plain, Authed http.RoundTripper
	UserAgent     string
	// Interactive says whether a person is at the terminal, for --step-up.
	Interactive bool
	// StepUpLogin runs the login a step-up asks for (--step-up).
	StepUpLogin func(ctx context.Context, e *token.StepUpError) error
}

// NewCmdCurl returns `authctl curl`; runF, when not nil, receives the
// options instead of curlRun (tests).
func NewCmdCurl(f *Factory, runF func(context.Context, *CurlOptions) error) *cobra.Command {
	return &cobra.Command{
		Use:   "curl [curl flags] URL",
		Short: "Make an HTTP request with the profile's access token attached",
		Long: `Make an HTTP request with "Authorization: Bearer <token>" attached, the way
curl would. The token is refreshed when needed; on a 401 authctl refreshes
once and sends the request once more. The token never appears in the
process list, in -v output, or on a redirect to another host.

A DPoP-bound token (login --dpop) goes as "Authorization: DPoP <token>"
with a new proof for each request; an API's use_dpop_nonce gets one retry
with its nonce. An API that asks for a stronger or more recent login
(RFC 9470: insufficient_user_authentication) gets no refresh: authctl
names the login that satisfies it and exits 5, or, with --step-up at a
terminal, runs that login and sends the request once more.

` + strings.Join(wrap("Supported flags: "+strings.Join(curl.Flags(), ", ")+".", 76), "\n") + `
Each works as in curl, @file and @- included. -p/--profile and
--config pick the profile as before the command; --allow-http-bearer sends
the token over plain http to a non-loopback host; --step-up is described
above. -H 'Authorization: ...' sends your own credential instead of the
token, and -H 'Authorization:' sends none, as in curl. For anything else
use curl itself, with the header read from a file so that the token stays
out of its arguments:
  ` + curl.Fallback + `
or, for a DPoP profile, with the headers of authctl dpop-proof:
  curl -H @<(authctl dpop-proof --method M --url URL) ...`,
		Example: `  authctl curl https://api.example.com/v1/items
  authctl curl -sSf -X POST -H 'Content-Type: application/json' \
    -d @item.json https://api.example.com/v1/items
  authctl -p work curl /v1/items     # with base_url set in the profile`,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
				return c.Help()
			}
			co, err := curl.Parse(args)
			if err != nil {
				var ue *curl.UsageError
				if errors.As(err, &ue) {
					return &usageError{msg: "curl: " + ue.Msg}
				}
				return err
			}
			// Global flags arrive among curl's arguments.
			if co.Profile != "" {
				f.profileFlag = co.Profile
			}
			if co.Config != "" {
				f.configFlag = co.Config
			}
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts := &CurlOptions{IO: f.IO(), Profile: p, Curl: co, UserAgent: "authctl/" + f.deps.Version.Version, Interactive: f.interactive()}
			opts.StepUpLogin = func(ctx context.Context, e *token.StepUpError) error { return loginRun(ctx, f.stepUpLogin(p, e)) }
			opts.Plain, opts.Authed = curlTransports(co.AllowInsecureHTTP)
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return curlRun(c.Context(), opts)
		},
	}
}

// curlRun sends the request with the profile's token.
func curlRun(ctx context.Context, opts *CurlOptions) error {
	p := opts.Profile
	if err := checkCurlURL(opts.Curl.URL, p); err != nil {
		return err
	}
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	plain, authed := opts.Plain, opts.Authed
	if opts.Curl.Verbose {
		plain, authed = curl.Verbose(plain, opts.IO.ErrOut), curl.Verbose(authed, opts.IO.ErrOut)
	}
	tr := &token.Transport{
		Source:            p.Source,
		Base:              authed,
		AllowInsecureHTTP: opts.Curl.AllowInsecureHTTP,
	}
	if opts.Curl.StepUp {
		tr.StepUp = stepUpHook(opts.IO.ErrOut, p, opts.Interactive, opts.StepUpLogin)
	}
	env := curl.Env{
		Authed:    tr,
		Plain:     plain,
		Stdin:     opts.IO.In,
		Stdout:    opts.IO.Out,
		Stderr:    opts.IO.ErrOut,
		BaseURL:   p.BaseURL,
		UserAgent: opts.UserAgent,
	}
	err := curl.Do(ctx, opts.Curl, env)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// Not a network error (curl reports those itself): say what the
		// token layer said, without Go's "Get URL:" prefix.
		err = uerr.Err
	}
	return needLogin(err, p)
}

// checkCurlURL refuses, before anything else, a URL authctl curl cannot
// use (exit 2), with the next step for a path without the profile's
// base_url.
func checkCurlURL(raw string, p *Profile) error {
	_, _, err := curl.ResolveURL(raw, p.BaseURL)
	var ue *curl.UsageError
	if !errors.As(err, &ue) {
		return err
	}
	if strings.HasPrefix(raw, "/") && p.BaseURL == "" {
		return usageErrorf("curl: %s; give a full URL, or set the API's address for profile %q: base_url: https://api.example.com in %s (or $AUTHCTL_BASE_URL)", ue.Msg, p.Name, p.Config.Path())
	}
	return usageErrorf("curl: %s", ue.Msg)
}

// curlTransports are the transports for API requests: plain, without
// the token, a clone of the default one without automatic gzip (so -i
// shows the headers the server sent); authed, for requests that carry the
// token, over https or straight to this machine over plain http, never
// through a proxy (endpoint.Transport), unless --allow-http-bearer says
// otherwise. Neither is the provider's client, whose answers are
// size-limited: an API's answer streams at any size.
func curlTransports(allowInsecureHTTP bool) (plain, authed http.RoundTripper) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	if allowInsecureHTTP {
		return t, t
	}
	return t, endpoint.NewTransport(endpoint.Options{DisableCompression: true})
}
