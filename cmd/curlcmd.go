package cmd

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/curl"
	"github.com/authctl/authctl/token"
)

func (a *app) newCurl() *cobra.Command {
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
--max-time, -w/--write-out, -A/--user-agent. -H 'Authorization: ...' sends
your own credential instead of the token, and -H 'Authorization:' sends none,
as in curl. --allow-http-bearer sends the token over plain http to a
non-loopback host. For anything else use curl itself, with the header read
from a file so that the token stays out of its arguments:
  curl -H @<(authctl token print --format header) ...`,
		Example: `  authctl curl https://api.example.com/v1/items
  authctl curl -sSf -X POST -H 'Content-Type: application/json' -d @item.json https://api.example.com/v1/items
  authctl -p work curl /v1/items     # with base_url set in the profile`,
		DisableFlagParsing: true,
		RunE:               a.runCurl,
	}
}

func (a *app) runCurl(c *cobra.Command, args []string) error {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		return c.Help()
	}
	opts, err := curl.Parse(args)
	if err != nil {
		var ue *curl.UsageError
		if errors.As(err, &ue) {
			return &usageError{msg: "curl: " + ue.Msg}
		}
		return err
	}
	// Global flags arrive among curl's arguments.
	if opts.Profile != "" {
		a.profileFlag = opts.Profile
	}
	if opts.Config != "" {
		a.configFlag = opts.Config
		if err := a.setup(c, nil); err != nil {
			return err
		}
	}
	p, err := a.loggedInProfile(c)
	if err != nil {
		return err
	}
	a.warnInsecure(p)
	base := a.curlBase()
	if opts.Verbose {
		base = curl.Verbose(base, a.deps.Stderr)
	}
	env := curl.Env{
		Authed: &token.Transport{
			Source:            a.source(p),
			Base:              base,
			AllowInsecureHTTP: opts.AllowInsecureHTTP,
		},
		Plain:     base,
		Stdin:     a.deps.Stdin,
		Stdout:    a.deps.Stdout,
		Stderr:    a.deps.Stderr,
		BaseURL:   p.BaseURL,
		UserAgent: "authctl/" + a.deps.Version.Version,
	}
	err = curl.Do(c.Context(), opts, env)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// Not a network error (curl reports those itself): say what the
		// token layer said, without Go's "Get URL:" prefix.
		err = uerr.Err
	}
	return needLogin(err, p.Name)
}

// curlBase is the transport under the token for API requests: the
// injected client's, or a clone of the default one without automatic gzip,
// so -i shows the headers the server sent.
func (a *app) curlBase() http.RoundTripper {
	if a.deps.HTTPClient != nil && a.deps.HTTPClient.Transport != nil {
		return a.deps.HTTPClient.Transport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	return t
}
