package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/authctl/authctl/dpop"
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
// A token bound to a DPoP key (RFC 9449) goes as "Authorization: DPoP"
// with a new proof for each request sent, retries included. An API's
// request for a DPoP nonce is answered with one retry (see
// dpop.Transport); a 401 that asks for a nonce again is returned as it
// is, without a refresh. A 401 that asks for a step-up (RFC 9470) is not
// answered with a refresh either: see StepUp.
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
	// StepUp, when set, is called when an API asks for a stronger or more
	// recent login (a *StepUpError, RFC 9470), which no refresh can give:
	// it signs the user in as the error asks, and the request is sent once
	// more with the new credential. When StepUp is nil, or the request
	// cannot be sent again, the *StepUpError is returned.
	StepUp func(ctx context.Context, e *StepUpError) error

	nonces dpop.Nonces // the DPoP nonces of the servers seen
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
	resp, err := t.send(req, cred, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || dpop.NonceChallenge(resp) {
		// A nonce challenge left after send's one nonce retry refuses
		// the nonce, not the token: a refresh cannot help, and with
		// rotating refresh tokens would churn the grant.
		return resp, err
	}
	stepUp := StepUpFrom(resp)
	body, ok := bodyAgain(req)
	if !ok {
		return refused(resp, stepUp)
	}
	discard(resp)
	if stepUp != nil {
		cred, err = t.stepUp(ctx, stepUp)
	} else {
		cred, err = t.Source.Refresh(ctx, cred.AccessToken)
	}
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	resp, err = t.send(req, cred, body)
	if err != nil {
		return nil, err
	}
	return refused(resp, StepUpFrom(resp))
}

// send sends a copy of req with c's access token attached and body; a
// token bound to a DPoP key goes with a proof of it (see dpop.Transport),
// which also answers an API's request for a DPoP nonce.
func (t *Transport) send(req *http.Request, c *Credential, body io.ReadCloser) (*http.Response, error) {
	key, err := c.ProofKey()
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	rt := t.base()
	if key != nil {
		rt = &dpop.Transport{Base: rt, Key: key, Nonces: &t.nonces, Now: t.Source.Now}
	}
	return rt.RoundTrip(withAuth(req, c, body))
}

// stepUp runs the StepUp hook for e and returns the credential of the
// login it made; without a hook, e is the error.
func (t *Transport) stepUp(ctx context.Context, e *StepUpError) (*Credential, error) {
	if t.StepUp == nil {
		return nil, e
	}
	if err := t.StepUp(ctx, e); err != nil {
		return nil, err
	}
	return t.Source.Token(ctx, t.MinTTL)
}

// bodyAgain returns req's body for sending it once more, and whether it
// can be (a body without GetBody cannot).
func bodyAgain(req *http.Request) (io.ReadCloser, bool) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return nil, false
	}
	if req.GetBody == nil {
		return req.Body, true
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	return body, true
}

// refused returns resp, unless it asks for a step-up: then the
// *StepUpError.
func refused(resp *http.Response, stepUp *StepUpError) (*http.Response, error) {
	if stepUp == nil {
		return resp, nil
	}
	discard(resp)
	return nil, stepUp
}

// discard reads a little of resp's body, so that its connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// withAuth returns a shallow copy of req with the token attached; the
// caller's request is never modified, as RoundTripper requires.
func withAuth(req *http.Request, c *Credential, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", c.Type()+" "+c.AccessToken)
	return r
}
