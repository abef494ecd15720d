package cmd

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/curl"
	"github.com/authctl/authctl/token"
)

// CurlOptions is one `authctl curl`.
type CurlOptions struct {
	IO      IOStreams
	Profile *Profile
	// Curl is the parsed curl command line.
	Curl *curl.Options
	// Base sends the API requests, under the token transport.
	Base      http.RoundTripper
	UserAgent string
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

Supported curl flags: -X/--request, -H/--header, -d/--data, --data-raw,
--data-binary (@file, @-), --json, -i/--include, -I/--head, -s/--silent,
-S/--show-error, -o/--output, -f/--fail, -L/--location, -v/--verbose,
--max-time, -w/--write-out, -A/--user-agent. --allow-http-bearer sends the
token over plain http to a non-loopback host. For anything else:
  ` + curl.Fallback,
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
			opts := &CurlOptions{IO: f.IO(), Profile: p, Curl: co, Base: f.curlBase(), UserAgent: "authctl/" + f.deps.Version.Version}
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
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	base := opts.Base
	if opts.Curl.Verbose {
		base = curl.Verbose(base, opts.IO.ErrOut)
	}
	env := curl.Env{
		Authed: &token.Transport{
			Source:            p.Source,
			Base:              base,
			AllowInsecureHTTP: opts.Curl.AllowInsecureHTTP,
		},
		Plain:     base,
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

// curlBase is the transport under the token for API requests: the
// injected client's, or a clone of the default one without automatic gzip,
// so -i shows the headers the server sent.
func (f *Factory) curlBase() http.RoundTripper {
	if f.deps.HTTPClient != nil && f.deps.HTTPClient.Transport != nil {
		return f.deps.HTTPClient.Transport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	return t
}
