package provider

import (
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// Client is an OAuth client as it authenticates at the provider's
// endpoints (RFC 6749 §2.3.1): a public client sends its ID in the form
// body; a client with a secret sends both in the form body
// (client_secret_post) or in an HTTP Basic header (client_secret_basic).
// ClientFor makes that choice, once, for every endpoint: token, device
// authorization and revocation (RFC 7009 §2.1: as at the token endpoint).
type Client struct {
	ID     string
	Secret string
	// Basic puts ID and Secret in a Basic header instead of the form.
	Basic bool
}

// ClientFor returns how client id, with secret (empty for a public
// client), authenticates at the provider m describes: in a Basic header
// when m takes client secrets only there (see SecretInHeader), else in
// the form body.
func ClientFor(m *Metadata, id, secret string) Client {
	return Client{ID: id, Secret: secret, Basic: secret != "" && m.SecretInHeader()}
}

// AuthStyle is x/oauth2's name for where c's credentials go. It is never
// the auto-detecting zero value, which would resend a rejected refresh
// token in the other style (a rotating provider treats that as reuse).
func (c Client) AuthStyle() oauth2.AuthStyle {
	if c.Basic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

// Authenticate adds c's credentials to a form request: to form, or as a
// Basic header on h, the ID and secret form-encoded first as RFC 6749
// §2.3.1 asks (a secret with ':' or non-ASCII characters survives).
func (c Client) Authenticate(h http.Header, form url.Values) {
	if c.Basic {
		r := http.Request{Header: h}
		r.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
		return
	}
	form.Set("client_id", c.ID)
	if c.Secret != "" {
		form.Set("client_secret", c.Secret)
	}
}

// Transport returns a RoundTripper that adds c's Basic header to every
// request it sends through base (nil: http.DefaultTransport), for requests
// another library builds (x/oauth2's device authorization request). A
// client without Basic gets base itself.
func (c Client) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if !c.Basic {
		return base
	}
	return basicAuth{base: base, client: c}
}

type basicAuth struct {
	base   http.RoundTripper
	client Client
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	b.client.Authenticate(r.Header, nil)
	return b.base.RoundTrip(r)
}
