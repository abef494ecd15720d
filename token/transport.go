package token

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/authctl/authctl/endpoint"
)

// ErrInsecureHTTP is returned when a request would carry a bearer token over
// plain http to a host that is not a loopback address.
var ErrInsecureHTTP = errors.New("refusing to send a bearer token over plain http to a non-loopback host")

// Transport is an http.RoundTripper that attaches the profile's access
// token to every request it sends, refreshing the token first when it is
// about to expire. When the server answers 401 it forces one refresh and
// sends the request once more; a second 401 is returned to the caller as it
// is, and never deletes the credential (a fresh token refused by an API
// usually means a wrong audience or scope, not a dead session).
//
// A request with a body can be sent again only if it has GetBody (as
// http.NewRequest sets for in-memory bodies); otherwise the first 401 is
// returned.
//
// A request that already carries an Authorization header holds the
// caller's own credential: it is sent through Base as it is, with no token
// read, attached or refreshed.
type Transport struct {
	Source *Source
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// MinTTL is passed to Source.Token.
	MinTTL time.Duration
	// AllowInsecureHTTP permits a token over plain http to any host. By
	// default only loopback hosts may receive one without TLS.
	AllowInsecureHTTP bool
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(req.Header.Values("Authorization")) > 0 {
		return t.base().RoundTrip(req)
	}
	closeBody := func() {
		if req.Body != nil {
			req.Body.Close()
		}
	}
	if req.URL.Scheme == "http" && !t.AllowInsecureHTTP && !endpoint.IsLoopback(req.URL.Hostname()) {
		closeBody()
		return nil, fmt.Errorf("%w (%s)", ErrInsecureHTTP, req.URL.Host)
	}
	ctx := req.Context()
	cred, err := t.Source.Token(ctx, t.MinTTL)
	if err != nil {
		closeBody()
		return nil, err
	}
	resp, err := t.base().RoundTrip(withAuth(req, cred, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	cred, err = t.Source.Refresh(ctx, cred.AccessToken)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	return t.base().RoundTrip(withAuth(req, cred, body))
}

// withAuth returns a shallow copy of req with the token attached; the
// caller's request is never modified, as RoundTripper requires.
func withAuth(req *http.Request, c *Credential, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", c.Type()+" "+c.AccessToken)
	return r
}
