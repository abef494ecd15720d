package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/tokenendpoint"
)

// errOurTimeout is the cause of Device's own deadline, to tell it from the
// device code's expiry.
var errOurTimeout = errors.New("login timeout")

// Device signs in with the device authorization grant (RFC 8628): it
// prints the verification URI and user code (and the complete URI when
// the provider gives one) on Stderr, then polls the token endpoint,
// honouring the provider's interval and slow_down, until the person
// approves, denies, the code expires, Timeout passes or ctx ends. The ID
// token is verified as in Browser, except that no nonce is sent.
func Device(ctx context.Context, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.OAuth2.Endpoint.DeviceAuthURL == "" || o.OAuth2.Endpoint.TokenURL == "" {
		return nil, fmt.Errorf("%w: the provider has no device authorization endpoint; sign in with the browser instead", ErrBadOptions)
	}
	hctx := o.httpContext(ctx)
	// A client with a secret authenticates at the device authorization
	// endpoint too (RFC 8628 §3.1), the way it does at the token endpoint;
	// x/oauth2 sends only client_id there.
	actx, opts := hctx, o.requestOptions()
	switch as := o.client(); {
	case as.Basic:
		c := *o.HTTPClient
		c.Transport = as.Transport(c.Transport)
		client, _ := tokenendpoint.Client(&c, o.Log)
		actx = context.WithValue(ctx, oauth2.HTTPClient, client)
	case as.Secret != "":
		opts = append(opts, oauth2.SetAuthURLParam("client_secret", as.Secret))
	}
	da, err := o.OAuth2.DeviceAuth(actx, opts...)
	if err != nil {
		return nil, fmt.Errorf("start device sign-in: %w", tokenError(err))
	}
	if da.VerificationURI == "" || da.UserCode == "" || da.DeviceCode == "" {
		return nil, errors.New("start device sign-in: the provider's answer lacks the verification URI or codes")
	}
	if err := checkVerificationURI(da.VerificationURI, da.VerificationURIComplete); err != nil {
		return nil, fmt.Errorf("start device sign-in: %w", err)
	}
	userCode := safetext.Clean(da.UserCode, maxUserCode)

	w := o.Stderr
	fmt.Fprintf(w, "To sign in, open this page in a browser on any device:\n  %s\nand enter the code:  %s\n", da.VerificationURI, userCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "Or open this address, which already holds the code:\n  %s\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(w, deviceWaitingLine(da.Expiry, time.Now()))

	pctx, cancel := context.WithTimeoutCause(hctx, o.Timeout, errOurTimeout)
	defer cancel()
	tok, err := o.OAuth2.DeviceAccessToken(pctx, da)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("login interrupted: %w", ctx.Err())
		case errors.Is(context.Cause(pctx), errOurTimeout):
			return nil, fmt.Errorf("%w after %s; the code was %s at %s", ErrTimeout, o.Timeout, userCode, da.VerificationURI)
		case errors.Is(err, context.DeadlineExceeded):
			return nil, ErrDeviceExpired
		}
		err = tokenError(err)
		var pe *ProviderError
		if errors.As(err, &pe) {
			switch pe.Code {
			case "access_denied":
				return nil, fmt.Errorf("the sign-in was denied at the provider: %w", err)
			case "expired_token":
				return nil, fmt.Errorf("%w: %w", ErrDeviceExpired, err)
			}
		}
		return nil, fmt.Errorf("device sign-in: %w", err)
	}
	return o.finish(ctx, tok, "")
}

// maxUserCode bounds the user code shown (RFC 8628 suggests 8 characters).
const maxUserCode = 40

// maxVerificationURI bounds the length of an address shown to the person.
const maxVerificationURI = 2000

// checkVerificationURI checks the addresses a device sign-in tells the
// person to open: each must pass the endpoint rule (https, or plain http
// to this machine, and nothing that cannot be shown as it is, so that no
// escape sequence such as an OSC 8 link can show one address and open
// another) and have a sane length.
func checkVerificationURI(uris ...string) error {
	for i, u := range uris {
		if u == "" {
			continue
		}
		name := []string{"verification_uri", "verification_uri_complete"}[i]
		if err := endpoint.Check(u); err != nil {
			return fmt.Errorf("the provider's %s %w", name, err)
		}
		if len(u) > maxVerificationURI {
			return fmt.Errorf("the provider's %s is longer than %d bytes", name, maxVerificationURI)
		}
	}
	return nil
}

// deviceWaitingLine says what the device flow waits for, until when, and
// how to cancel.
func deviceWaitingLine(expiry, now time.Time) string {
	if expiry.IsZero() {
		return "Waiting for you to approve (Ctrl-C to cancel)…"
	}
	return fmt.Sprintf("Waiting for you to approve (the code expires in %s; Ctrl-C to cancel)…", expiry.Sub(now).Round(time.Second))
}
