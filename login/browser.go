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
// nil, when Open fails, or whenever StdinIsTerminal, it also reads a
// pasted redirect URL from Stdin. It says how long it waits and how to
// cancel. The first response, called back or pasted, that carries this
// login's state ends the login; one with another state (a stale tab, a
// forgery by another local process, a paste from another attempt) is
// refused and the wait goes on. The response's iss is checked before the
// code is exchanged, and the ID token is verified when openid was
// requested. The listener is closed and its port free when Browser
// returns, whatever the outcome.
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
	o.logf("listening on port %d of %s for the redirect to %s", l.port, strings.Join(bindAddrs[o.RedirectHost], " and "), l.redirectURI)
	a := newAttempt(o, l.redirectURI)
	results := make(chan response, 1)
	quit := make(chan struct{})
	c := &catcher{
		path:    o.CallbackPath,
		host:    l.host,
		check:   checker{state: a.state, issuer: o.Issuer, issRequired: o.IssParameterSupported},
		results: results,
		quit:    quit,
		notice:  out,
	}
	shutdown := l.serve(c)
	defer func() {
		close(quit)
		shutdown()
	}()
	w := &browserWait{o: o, l: l, c: c, authURL: a.authURL}
	w.announce(ctx)
	return w.wait(ctx, a, results)
}

// attempt is one authorization request: its secrets and its URL.
type attempt struct {
	cfg                    oauth2.Config
	state, verifier, nonce string
	authURL                string
}

// newAttempt makes the authorization request of a login whose redirect
// URI is redirectURI.
func newAttempt(o Options, redirectURI string) *attempt {
	a := &attempt{cfg: o.OAuth2, state: rand.Text(), verifier: oauth2.GenerateVerifier()}
	a.cfg.RedirectURL = redirectURI
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier)}, o.requestOptions()...)
	if o.wantsOpenID() {
		a.nonce = rand.Text()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", a.nonce))
	}
	if o.DPoP != nil {
		// Binds the code to the key too (RFC 9449 §10).
		opts = append(opts, oauth2.SetAuthURLParam("dpop_jkt", o.DPoP.Thumbprint()))
	}
	a.authURL = a.cfg.AuthCodeURL(a.state, opts...)
	return a
}

// browserWait is the part of a browser login that talks to the person:
// where to sign in, what authctl waits for, and the pasted answer.
type browserWait struct {
	o       Options // o.Stderr is the flow's serialized writer
	l       *listener
	c       *catcher
	authURL string
	pasting bool
	opened  chan error // the browser opener's outcome; nil once known
}

// paste starts reading pasted redirect URLs from Stdin, once.
func (w *browserWait) paste() {
	if !w.pasting && w.o.Stdin != nil {
		w.pasting = true
		go readPasted(w.o.Stdin, w.c, w.o.Stderr, w.l.redirectURI)
	}
}

// announce shows where to sign in, opens the browser when one can be
// opened, and says what authctl waits for.
func (w *browserWait) announce(ctx context.Context) {
	o, out := w.o, w.o.Stderr
	switch {
	case o.NoBrowser:
		printNoBrowser(out, w.authURL, w.l, o.Stdin != nil)
		w.paste()
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
		printNoBrowser(out, w.authURL, w.l, o.Stdin != nil)
		w.paste()
	default:
		fmt.Fprintf(out, "Opening your browser… if it does not open, visit:\n  %s\n", w.authURL)
		w.opened = make(chan error, 1)
		go func() { w.opened <- o.Open(ctx, w.authURL) }()
		if o.StdinIsTerminal {
			// A line pasted here must reach authctl, not the shell
			// after authctl exits.
			w.paste()
		}
	}
	fmt.Fprintln(out, w.waitingLine())
}

// waitingLine says how long authctl waits, for what, and how to cancel.
func (w *browserWait) waitingLine() string {
	what := "the sign-in in the browser"
	if w.pasting {
		what += ", or for its address pasted here"
	}
	return fmt.Sprintf("Waiting up to %s for %s (Ctrl-C to cancel)…", w.o.Timeout, what)
}

// wait waits for the first response with this login's state and redeems
// its code, or for the timeout or ctx.
func (w *browserWait) wait(ctx context.Context, a *attempt, results <-chan response) (*Result, error) {
	o, out := w.o, w.o.Stderr
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	for {
		select {
		case err := <-w.opened:
			w.opened = nil
			if err == nil {
				continue
			}
			if o.Stdin != nil {
				fmt.Fprintf(out, "Could not open a browser (%v). Open the URL above yourself; after signing in, paste the address the browser shows here and press Enter.\n", err)
				w.paste()
			} else {
				fmt.Fprintf(out, "Could not open a browser (%v). Open the URL above yourself.\n", err)
			}
		case r := <-results:
			if r.err != nil {
				if r.reply != nil {
					r.reply <- r.err
				}
				return nil, r.err
			}
			o.logf("received the authorization response; exchanging the code")
			res, err := o.redeem(ctx, a.cfg, r.code, a.verifier, a.nonce)
			if r.reply != nil {
				r.reply <- err
			}
			return res, err
		case <-timer.C:
			return nil, fmt.Errorf("%w after %s; the sign-in page was %s", ErrTimeout, o.Timeout, w.authURL)
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
