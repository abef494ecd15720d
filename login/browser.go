package login

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Browser signs in with the authorization code flow and PKCE (S256). It
// listens on the loopback redirect URI, prints the authorization URL on
// Stderr, and opens it with Options.Open; with NoBrowser, when Open is
// nil, or when Open fails, it also reads a pasted redirect URL from Stdin.
// The first response, called back or pasted, that carries this login's
// state ends the login; one with another state (a stale tab, a forgery by
// another local process) is refused and the wait goes on. The response's
// iss is checked before the code is exchanged, and the ID token is
// verified when openid was requested. The listener is closed and its port
// free when Browser returns, whatever the outcome.
func Browser(ctx context.Context, o Options) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.OAuth2.Endpoint.AuthURL == "" || o.OAuth2.Endpoint.TokenURL == "" {
		return nil, fmt.Errorf("%w: the provider's authorization and token endpoints are needed", ErrBadOptions)
	}
	out := &flowWriter{w: o.Stderr}
	defer out.close()
	o.Stderr = out

	l, err := listen(net.Listen, o.RedirectHost, o.Port, o.CallbackPath)
	if err != nil {
		return nil, err
	}
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	var nonce string
	cfg := o.OAuth2
	cfg.RedirectURL = l.redirectURI
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, o.requestOptions()...)
	if o.wantsOpenID() {
		nonce = rand.Text()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	if o.DPoP != nil {
		// Binds the code to the key too (RFC 9449 §10).
		opts = append(opts, oauth2.SetAuthURLParam("dpop_jkt", o.DPoP.Thumbprint()))
	}
	authURL := cfg.AuthCodeURL(state, opts...)

	results := make(chan response, 1)
	quit := make(chan struct{})
	c := &catcher{
		path:    o.CallbackPath,
		host:    l.host,
		check:   checker{state: state, issuer: o.Issuer, issRequired: o.IssParameterSupported},
		results: results,
		quit:    quit,
		notice:  out,
	}
	shutdown := l.serve(c)
	defer func() {
		close(quit)
		shutdown()
	}()

	pasting := false
	paste := func() {
		if !pasting && o.Stdin != nil {
			pasting = true
			go readPasted(o.Stdin, c, out, l.redirectURI)
		}
	}
	var opened chan error
	switch {
	case o.NoBrowser:
		printNoBrowser(out, authURL, l, o.Stdin != nil)
		paste()
	case o.Open == nil:
		reason := o.NoBrowserReason
		if reason == "" {
			reason = "no browser found"
		}
		line := "No browser can be opened here (" + reason + "), so sign in from any browser"
		if o.Stdin != nil {
			line += " and paste the address it ends on here: authctl is waiting for it."
		} else {
			line += "."
		}
		if o.OAuth2.Endpoint.DeviceAuthURL != "" {
			line += " Or run again with --device to sign in with a code."
		}
		fmt.Fprintln(out, line)
		printNoBrowser(out, authURL, l, o.Stdin != nil)
		paste()
	default:
		fmt.Fprintf(out, "Opening your browser… if it does not open, visit:\n  %s\n", authURL)
		opened = make(chan error, 1)
		go func() { opened <- o.Open(ctx, authURL) }()
	}

	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	for {
		select {
		case err := <-opened:
			opened = nil
			if err != nil && o.Stdin != nil {
				fmt.Fprintf(out, "Could not open a browser (%v). Open the URL above yourself; after signing in, paste the address the browser shows here and press Enter.\n", err)
				paste()
			} else if err != nil {
				fmt.Fprintf(out, "Could not open a browser (%v). Open the URL above yourself.\n", err)
			}
		case r := <-results:
			if r.err != nil {
				if r.reply != nil {
					r.reply <- r.err
				}
				return nil, r.err
			}
			res, err := o.redeem(ctx, cfg, r.code, verifier, nonce)
			if r.reply != nil {
				r.reply <- err
			}
			if err != nil {
				return nil, err
			}
			return res, nil
		case <-timer.C:
			return nil, fmt.Errorf("%w after %s; the sign-in page was %s", ErrTimeout, o.Timeout, authURL)
		case <-ctx.Done():
			return nil, fmt.Errorf("login interrupted: %w", ctx.Err())
		}
	}
}

// redeem exchanges the code with the PKCE verifier and verifies the result.
func (o Options) redeem(ctx context.Context, cfg oauth2.Config, code, verifier, nonce string) (*Result, error) {
	tok, err := cfg.Exchange(o.httpContext(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", tokenError(err))
	}
	return o.finish(ctx, tok, nonce)
}

// printNoBrowser tells the person how to finish the sign-in from a browser
// that may run on another machine.
func printNoBrowser(w io.Writer, authURL string, l *listener, canPaste bool) {
	fwd := l.redirectHostForSSH()
	fmt.Fprintf(w, "Open this page in a browser to sign in:\n  %s\n", authURL)
	fmt.Fprintf(w, "Afterwards the browser is sent to %s on this machine. If the browser runs on another machine:\n", l.redirectURI)
	fmt.Fprintf(w, "  - forward the port first, from that machine:  ssh -L %d:%s:%d HOST\n", l.port, fwd, l.port)
	if canPaste {
		fmt.Fprintln(w, "  - or, after signing in, copy the whole address from the browser's address bar (the page will not load), paste it here and press Enter.")
	}
}

// redirectHostForSSH is the listener's address as ssh -L's target.
func (l *listener) redirectHostForSSH() string {
	u, _ := url.Parse(l.redirectURI)
	if u.Hostname() == "::1" {
		return "[::1]"
	}
	return u.Hostname()
}

// readPasted reads lines from r until one is an authorization response
// of this login and offers it to c, unless the callback already won. A
// line that is no response, or one with another login's state, is
// refused with a request to paste again.
func readPasted(r io.Reader, c *catcher, out io.Writer, redirectURI string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		q, ok := parsePasted(line)
		if !ok {
			fmt.Fprintf(out, "That is not the address the browser was sent to. Paste the whole address; it starts with %s?\n", redirectURI)
			continue
		}
		if err := c.offer(q, nil); errors.Is(err, errForeignState) {
			fmt.Fprintln(out, "That address does not belong to this sign-in (its state is another login's). Sign in from the URL above and paste the address the browser ends on.")
			continue
		}
		return
	}
}

// parsePasted extracts the authorization response from a pasted redirect
// URL (or its bare query string).
func parsePasted(s string) (url.Values, bool) {
	var q url.Values
	if u, err := url.Parse(s); err == nil && u.RawQuery != "" {
		q = u.Query()
	} else if v, err := url.ParseQuery(strings.TrimPrefix(s, "?")); err == nil {
		q = v
	}
	return q, q != nil && isAuthResponse(q)
}

// flowWriter serializes writes to the person's stream and drops those
// made after the flow returned (by a paste reader still blocked on Stdin).
type flowWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (f *flowWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return len(p), nil
	}
	return f.w.Write(p)
}

func (f *flowWriter) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}
