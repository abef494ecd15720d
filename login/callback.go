package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/authctl/authctl/provider"
)

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

// issuerIs reports whether iss names the expected issuer: the same string
// (RFC 9207 compares exactly), or any tenant of a multi-tenant template.
func (c checker) issuerIs(iss string) bool {
	if strings.Contains(c.issuer, provider.TenantPlaceholder) {
		return provider.IssuerMatches(c.issuer, iss)
	}
	return iss == c.issuer
}

// check returns the code of a valid authorization response or the error
// that ends the login. It checks, in order: state, iss (RFC 9207, before
// any code is used), the provider's error, the code.
func (c checker) check(q url.Values) (string, error) {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.state)) != 1 {
		return "", ErrStateMismatch
	}
	if iss, ok := q["iss"]; ok {
		if len(iss) != 1 || !c.issuerIs(iss[0]) {
			return "", fmt.Errorf("%w: expected %q, got %q", ErrIssuerMismatch, c.issuer, q.Get("iss"))
		}
	} else if c.issRequired {
		return "", fmt.Errorf("%w: the provider advertises the iss parameter but the response has none", ErrIssuerMismatch)
	}
	if e := q.Get("error"); e != "" {
		return "", &ProviderError{Code: e, Description: q.Get("error_description"), URI: q.Get("error_uri")}
	}
	code := q.Get("code")
	if code == "" {
		return "", ErrMissingCode
	}
	return code, nil
}

// isAuthResponse reports whether q looks like an authorization response
// at all, as opposed to a probe of the callback path.
func isAuthResponse(q url.Values) bool {
	return q.Has("state") || q.Has("code") || q.Has("error")
}

// catcher is the loopback callback handler. The first authorization
// response ends the login; everything after it is answered and ignored.
type catcher struct {
	path    string
	check   checker
	results chan<- response // buffered, capacity 1
	quit    <-chan struct{} // closed when the login is over

	mu   sync.Mutex
	done bool // a response was taken
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

// replyWait bounds how long the browser's request waits for the code
// exchange before it gets a neutral page.
const replyWait = 30 * time.Second

func (c *catcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	if !c.claim() {
		page(w, http.StatusOK, "Already handled", "This sign-in has already been handled. You can close this tab.")
		return
	}
	code, err := c.check.check(q)
	if err != nil {
		c.results <- response{err: err}
		failurePage(w, err)
		return
	}
	reply := make(chan error, 1)
	c.results <- response{code: code, reply: reply}
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

// listener is the bound loopback listener(s) and the redirect URI they
// serve.
type listener struct {
	lns         []net.Listener
	port        int
	redirectURI string
}

// listen binds the loopback address matching host ("127.0.0.1",
// "localhost" or "[::1]") on port (0: any free port).
func listen(host string, port int, path string) (*listener, error) {
	bind := map[string][]string{
		"127.0.0.1": {"127.0.0.1"},
		"[::1]":     {"::1"},
		"localhost": {"127.0.0.1", "::1"},
	}[host]
	l := &listener{}
	for i, addr := range bind {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
		if err != nil {
			if i > 0 { // localhost's ::1 is a courtesy: IPv6 may be off
				continue
			}
			if addrInUse(err) {
				return nil, &PortBusyError{Host: addr, Port: port}
			}
			return nil, fmt.Errorf("listen on %s: %w", net.JoinHostPort(addr, strconv.Itoa(port)), err)
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		l.lns = append(l.lns, ln)
	}
	l.port = port
	l.redirectURI = (&url.URL{Scheme: "http", Host: host + ":" + strconv.Itoa(port), Path: path}).String()
	return l, nil
}

// serve runs h on every listener until shutdown is called. shutdown lets
// in-flight pages finish for a moment, then closes everything; when it
// returns the port is free.
func (l *listener) serve(h http.Handler) (shutdown func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	for _, ln := range l.lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		for _, ln := range l.lns {
			_ = ln.Close()
		}
		wg.Wait()
	}
}

// wsaeAddrInUse is Windows' WSAEADDRINUSE, which its syscall package does
// not map to EADDRINUSE.
const wsaeAddrInUse = syscall.Errno(10048)

// addrInUse reports whether err says the address is taken, on every OS.
func addrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, wsaeAddrInUse)
}
