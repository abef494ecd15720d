package login

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/safetext"
)

// maxIssuer bounds the iss value an error quotes from a redirect.
const maxIssuer = 200

// response is the outcome of one authorization response, from the
// loopback callback or a pasted URL.
type response struct {
	code string
	err  error
	// reply, when not nil, receives the login's final outcome so the
	// browser's page can say whether sign-in really succeeded.
	reply chan error
}

// checker validates authorization responses against one login's state
// and expected issuer.
type checker struct {
	state       string
	issuer      string
	issRequired bool
}

// issuerIs reports whether iss names the expected issuer, by authctl's
// one issuer comparison (provider.IssuerMatches): the same string but for
// a trailing slash, or any tenant of a multi-tenant template.
func (c checker) issuerIs(iss string) bool {
	return provider.IssuerMatches(c.issuer, iss)
}

// check returns the code of a valid authorization response, or why it is
// not one. It checks, in order: state (errForeignState: not this login's
// response, which must not end the login, since any local process can
// reach the listener but only the redirected browser knows the state),
// then iss (RFC 9207, before any code is used), the provider's error, the
// code; those errors end the login.
func (c checker) check(q url.Values) (string, error) {
	// Exactly one state, this login's: a second value could smuggle in
	// what the first did not say.
	if len(q["state"]) != 1 || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.state)) != 1 {
		return "", errForeignState
	}
	if iss, ok := q["iss"]; ok {
		if len(iss) != 1 || !c.issuerIs(iss[0]) {
			return "", fmt.Errorf("%w: expected %q, got %q", ErrIssuerMismatch, c.issuer, safetext.Redact(q.Get("iss"), maxIssuer))
		}
	} else if c.issRequired {
		return "", fmt.Errorf("%w: the provider advertises the iss parameter but the response has none", ErrIssuerMismatch)
	}
	if e := q.Get("error"); e != "" {
		return "", provider.NewError(e, q.Get("error_description"), q.Get("error_uri"), "")
	}
	code := q.Get("code")
	if code == "" || len(q["code"]) != 1 {
		return "", ErrMissingCode
	}
	return code, nil
}

// isAuthResponse reports whether q looks like an authorization response
// at all, as opposed to a probe of the callback path.
func isAuthResponse(q url.Values) bool {
	return q.Has("state") || q.Has("code") || q.Has("error")
}

// Why an offered response was not delivered; the login goes on.
var (
	// errForeignState: the response carries no state, or another login's.
	errForeignState = errors.New("the redirect does not belong to this sign-in (its state is not this login's)")
	// errHandled: a response with this login's state was delivered before.
	errHandled = errors.New("this sign-in has already been handled")
)

// catcher takes authorization responses, from the loopback callback or a
// paste, and delivers the first one that carries the login's state: that
// one ends the login, whatever it says. Responses with another state, and
// requests whose Host is not the redirect URI's, are answered and ignored.
type catcher struct {
	path    string
	host    string // the redirect URI's host:port, as a browser sends it in Host
	check   checker
	results chan<- response // buffered, capacity 1
	quit    <-chan struct{} // closed when the login is over
	notice  io.Writer       // told once that a foreign response was ignored

	mu      sync.Mutex
	done    bool // a response was taken
	noticed bool
}

// claim reports whether this caller is the first to deliver a response.
func (c *catcher) claim() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return false
	}
	c.done = true
	return true
}

// offer delivers q to the flow if it is the first response carrying this
// login's state, and returns the response's own error (which ends the
// login) or nil. reply, when not nil, is delivered with a valid code. An
// error matching errForeignState or errHandled means nothing was
// delivered and the login goes on.
func (c *catcher) offer(q url.Values, reply chan error) error {
	code, err := c.check.check(q)
	if errors.Is(err, errForeignState) {
		return err
	}
	if !c.claim() {
		return errHandled
	}
	if err != nil {
		c.results <- response{err: err}
		return err
	}
	c.results <- response{code: code, reply: reply}
	return nil
}

// ignored tells the person, once, that a foreign response was refused.
func (c *catcher) ignored() {
	c.mu.Lock()
	first := !c.noticed
	c.noticed = true
	c.mu.Unlock()
	if first && c.notice != nil {
		fmt.Fprintln(c.notice, "Ignored a redirect that does not belong to this sign-in (another login's state); still waiting for the right one.")
	}
}

// replyWait bounds how long the browser's request waits for the code
// exchange before it gets a neutral page.
const replyWait = 30 * time.Second

func (c *catcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A page of another site that a rebound DNS name points here, or any
	// name but the redirect URI's, gets nothing.
	if !strings.EqualFold(r.Host, c.host) {
		page(w, http.StatusBadRequest, "Wrong address", "This listener only answers the address of its redirect URI.")
		return
	}
	if r.URL.Path != c.path {
		http.NotFound(w, r)
		return
	}
	// Only GET: a HEAD (a link prefetch) must not use up the one response.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if !isAuthResponse(q) {
		page(w, http.StatusBadRequest, "Nothing to do here", "This address only receives the sign-in redirect from your provider.")
		return
	}
	reply := make(chan error, 1)
	switch err := c.offer(q, reply); {
	case errors.Is(err, errForeignState):
		c.ignored()
		page(w, http.StatusBadRequest, "Not this sign-in", "This response does not belong to the sign-in authctl is waiting for; authctl keeps waiting. Sign in from the address authctl printed.")
	case errors.Is(err, errHandled):
		page(w, http.StatusOK, "Already handled", "This sign-in has already been handled. You can close this tab.")
	case err != nil:
		failurePage(w, err)
	default:
		c.awaitOutcome(w, r, reply)
	}
}

// awaitOutcome shows the browser the login's final outcome once the flow
// has exchanged the code, or a neutral page when that takes too long.
func (c *catcher) awaitOutcome(w http.ResponseWriter, r *http.Request, reply <-chan error) {
	final := func(err error) {
		if err != nil {
			failurePage(w, err)
			return
		}
		page(w, http.StatusOK, "Signed in", "You are signed in. Return to your terminal; you can close this tab.")
	}
	select {
	case err := <-reply:
		final(err)
	case <-c.quit:
		select {
		case err := <-reply:
			final(err)
		default:
			page(w, http.StatusOK, "Sign-in interrupted", "Return to your terminal.")
		}
	case <-r.Context().Done():
	case <-time.After(replyWait):
		page(w, http.StatusOK, "Sign-in received", "Return to your terminal to see whether sign-in finished.")
	}
}

func failurePage(w http.ResponseWriter, err error) {
	var pe *ProviderError
	msg := err.Error()
	if errors.As(err, &pe) {
		msg = "The provider refused the sign-in: " + pe.Code
		if pe.Description != "" {
			msg += " (" + pe.Description + ")"
		}
		msg += "."
	}
	page(w, http.StatusBadRequest, "Sign-in failed", msg+" Return to your terminal for details.")
}

// pageHTML is the browser page's template. It is parsed when a page is
// served, not at start-up: token print shares this binary and must not pay
// for it.
const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>authctl: {{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:4em auto"><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>
`

// page writes a short, escaped HTML page.
func page(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = template.Must(template.New("page").Parse(pageHTML)).Execute(w, struct{ Title, Text string }{title, text})
}
