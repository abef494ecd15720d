package curl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authctl/authctl/safetext"
)

// DefaultUserAgent is sent as User-Agent when neither -A nor Env.UserAgent
// says otherwise.
const DefaultUserAgent = "authctl"

// Env is what Do needs from the world. Authed and Plain are required.
//
// For output byte-identical to curl, the transports under Authed and Plain
// should have DisableCompression set: otherwise Go asks for gzip on its own
// and removes Content-Encoding and Content-Length from what -i shows.
// With -v, the caller wraps both transports' base with Verbose.
type Env struct {
	// Authed attaches the bearer token and, on a 401, refreshes once and
	// sends the request again using req.GetBody. Every hop to the origin
	// of the first URL goes through it, unless -H sets or removes
	// Authorization.
	Authed http.RoundTripper
	// Plain sends requests without any token. Redirect hops to another
	// scheme, host or port than the first URL go through it, and every hop
	// of a request whose -H sets or removes Authorization.
	Plain http.RoundTripper
	// Stdin is read for "@-" data values. Nil reads as empty.
	Stdin io.Reader
	// Stdout receives the response (unless -o) and the -w output; Stderr
	// receives messages for people.
	Stdout, Stderr io.Writer
	// BaseURL, when set, is prefixed to a URL argument that starts with
	// "/": BaseURL "https://api.example.com/v1" and "/items" give
	// "https://api.example.com/v1/items".
	BaseURL string
	// UserAgent is sent when -A is not given; empty means DefaultUserAgent.
	UserAgent string
}

// ExitError is a failure curl reports with an exit code (22 for --fail, 6
// for a host that does not resolve, 7 for a failed connection, 28 for a
// timeout, 3 for a malformed URL, 23 for an output write error, 26 for
// unreadable request data, 47 for too many redirects). Do has already
// written Msg to Env.Stderr unless -s silenced it; the caller only exits
// with Code.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return fmt.Sprintf("curl: (%d) %s", e.Code, e.Msg) }

// run is the state of one Do.
type run struct {
	opts  *Options
	env   Env
	start time.Time

	body      *body
	method    string
	hopURL    *url.URL
	resp      *http.Response // the last response received
	redirects int
	bytes     int64 // response body bytes written
	exitCode  int
	errMsg    string
}

// Do sends the request opts describes and writes the response like curl.
// It returns nil on success, a *UsageError (unprinted) for a URL it
// cannot use (see ResolveURL), an *ExitError for curl's exit codes, and
// any other error of the transports (a login that is required, an interrupt
// through ctx, an IdP failure during refresh) unprinted and wrapped so that
// errors.Is and errors.As see it. A host that does not resolve (6), a
// connection that fails (7) and a timeout (28) are recognised when they
// concern the request's own host and port; the same failures reaching the
// token's provider are passed through.
//
// The response body is streamed, never held in memory. With -L, every hop
// whose scheme, host or port differs from the first URL's is sent through
// Env.Plain, and -H headers named Authorization or Cookie are dropped on
// it, so no credential leaves the origin. A -H that sets Authorization
// (the user's own credential) or removes it ("Authorization:") sends
// every hop through Env.Plain: the header as given, or none, and never the
// token (-v says so).
func Do(ctx context.Context, opts *Options, env Env) error {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Authed == nil || env.Plain == nil {
		return errors.New("curl: Env.Authed and Env.Plain are required")
	}
	r := &run{opts: opts, env: env, start: time.Now()}
	parent := ctx
	if opts.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.MaxTime)
		defer cancel()
	}
	err := r.do(ctx)
	if err != nil {
		var ee *ExitError
		if !errors.As(err, &ee) {
			ee = r.classify(parent, ctx, err)
		}
		if ee == nil {
			return err
		}
		r.exitCode, r.errMsg = ee.Code, ee.Msg
		r.report(ee)
		err = ee
	}
	if opts.WriteOut != "" {
		r.writeOut()
	}
	return err
}

// report prints a curl error line unless -s (without -S) silences it.
func (r *run) report(ee *ExitError) {
	if r.quiet() {
		return
	}
	fmt.Fprintf(r.env.Stderr, "authctl: curl: (%d) %s\n", ee.Code, ee.Msg)
}

// note prints one line for people, under the same -s/-S rule as errors.
func (r *run) note(format string, args ...any) {
	if r.quiet() {
		return
	}
	fmt.Fprintf(r.env.Stderr, "authctl: curl: "+format+"\n", args...)
}

func (r *run) quiet() bool { return r.opts.Silent && !r.opts.ShowError }

func (r *run) do(ctx context.Context) error {
	u, note, err := ResolveURL(r.opts.URL, r.env.BaseURL)
	if err != nil {
		return err
	}
	if note != "" {
		r.note("%s", note)
	}
	b, err := buildBody(r.opts.Data, r.env.Stdin)
	if err != nil {
		return err
	}
	if b != nil && r.opts.Get {
		q, err := b.open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(q, MaxBufferedStdin+1))
		q.Close()
		if err != nil || len(data) > MaxBufferedStdin {
			return &ExitError{26, "Failed to read the data for -G"}
		}
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += string(data)
		b = nil
	}
	r.body = b
	if r.opts.Verbose {
		switch r.opts.ownAuthorization() {
		case authGiven:
			fmt.Fprintln(r.env.Stderr, "* Authorization given with -H: sending it, with no token from authctl")
		case authRemoved:
			fmt.Fprintln(r.env.Stderr, "* Authorization removed with -H: sending none, and no token from authctl")
		}
	}
	r.method = r.opts.Method
	if r.method == "" {
		switch {
		case r.opts.Head:
			r.method = http.MethodHead
		case b != nil:
			r.method = http.MethodPost
		default:
			r.method = http.MethodGet
		}
	}
	sendBody := b != nil
	origin := originOf(u)
	out := &output{path: r.opts.Output, createDirs: r.opts.CreateDirs, stdout: r.env.Stdout}
	defer out.Close()

	for {
		r.hopURL = u
		same := originOf(u) == origin
		req, err := r.newRequest(ctx, u, same, sendBody)
		if err != nil {
			return err
		}
		rt := r.env.Authed
		if !r.sendsToken(same) {
			rt = r.env.Plain
		}
		client := &http.Client{
			Transport:     rt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		r.resp = resp
		failed := resp.StatusCode >= 400 && (r.opts.Fail || r.opts.FailWithBody)
		if (r.opts.Include || r.opts.Head) && !(failed && r.opts.Fail) {
			if err := writeHeaders(out, resp); err != nil {
				resp.Body.Close()
				return err
			}
		}
		next, ok := r.redirectTarget(resp)
		if !ok {
			return r.finish(out, resp, same, sendBody)
		}
		// Drain a little so the connection can be reused, then move on.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if r.opts.MaxRedirects >= 0 && r.redirects >= r.opts.MaxRedirects {
			return &ExitError{47, fmt.Sprintf("Maximum (%d) redirects followed", r.opts.MaxRedirects)}
		}
		r.redirects++
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound:
			if r.method == http.MethodPost {
				r.method, sendBody = http.MethodGet, false
			}
		case http.StatusSeeOther:
			if r.method != http.MethodHead {
				r.method, sendBody = http.MethodGet, false
			}
		}
		if sendBody && !r.body.resendable() {
			return &ExitError{65, fmt.Sprintf("necessary data rewind wasn't possible: the request body was read from input over %d bytes and cannot be sent again to %s", MaxBufferedStdin, redact(next))}
		}
		if r.opts.Verbose {
			fmt.Fprintf(r.env.Stderr, "* Issue another request to this URL: '%s'\n", redact(next))
			if originOf(next) != origin {
				fmt.Fprintf(r.env.Stderr, "* %s is another origin than %s: the token is not sent there\n", originOf(next), origin)
			}
		}
		u = next
	}
}

// sendsToken reports whether a hop gets the token: only to the first URL's
// origin, and only when the user gave no Authorization of their own.
func (r *run) sendsToken(sameOrigin bool) bool {
	return sameOrigin && r.opts.ownAuthorization() == authNone
}

// newRequest builds one hop's request with curl's default headers, the -H
// headers and, when sendBody, a fresh copy of the body.
func (r *run) newRequest(ctx context.Context, u *url.URL, sameOrigin, sendBody bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), nil)
	if err != nil {
		return nil, &ExitError{3, fmt.Sprintf("URL using bad/illegal format: %v", err)}
	}
	ua := r.opts.UserAgent
	if ua == "" {
		ua = r.env.UserAgent
	}
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "*/*")
	if r.opts.Referer != "" {
		req.Header.Set("Referer", r.opts.Referer)
	}
	if sendBody {
		if r.isJSON() {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	userSet := map[string]bool{}
	for _, h := range r.opts.Headers {
		name := http.CanonicalHeaderKey(h.Name)
		if !sameOrigin && (name == "Authorization" || name == "Cookie") {
			continue
		}
		switch {
		case name == "Host":
			if sameOrigin && !h.Remove {
				req.Host = h.Value
			}
		case h.Remove:
			if name == "User-Agent" {
				req.Header["User-Agent"] = []string{""} // Go then sends none
			} else {
				req.Header.Del(name)
			}
		default:
			if !userSet[name] {
				req.Header.Del(name) // the first -H replaces a default, later ones add
			}
			req.Header.Add(name, h.Value)
		}
		userSet[name] = true
	}
	if sendBody {
		rc, err := r.body.open()
		if err != nil {
			return nil, &readErr{"request data", err}
		}
		if r.body.length == 0 {
			rc.Close()
			req.Body = http.NoBody
		} else {
			req.Body = rc
		}
		req.ContentLength = r.body.length
		if r.body.resendable() {
			req.GetBody = func() (io.ReadCloser, error) {
				if r.body.length == 0 {
					return http.NoBody, nil
				}
				return r.body.open()
			}
		}
	}
	return req, nil
}

func (r *run) isJSON() bool {
	for _, d := range r.opts.Data {
		if d.Kind == DataJSON {
			return true
		}
	}
	return false
}

// redirectTarget returns where to go next when -L applies to resp.
func (r *run) redirectTarget(resp *http.Response) (*url.URL, bool) {
	if !r.opts.Location {
		return nil, false
	}
	switch resp.StatusCode {
	case 301, 302, 303, 307, 308:
	default:
		return nil, false
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, false
	}
	next, err := r.hopURL.Parse(loc)
	if err != nil || (next.Scheme != "http" && next.Scheme != "https") || next.Host == "" {
		return nil, false
	}
	next.Fragment, next.RawFragment = "", ""
	return next, true
}

// finish handles the final response: the 401 note, --fail, and the body.
func (r *run) finish(out *output, resp *http.Response, sameOrigin, sentBody bool) error {
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		r.explain401(resp, sameOrigin, sentBody)
	}
	if resp.StatusCode >= 400 && r.opts.Fail && !r.opts.FailWithBody {
		return &ExitError{22, fmt.Sprintf("The requested URL returned error: %d", resp.StatusCode)}
	}
	if !r.opts.Head {
		if err := out.open(); err != nil {
			return err
		}
		ew := &errWriter{w: out}
		n, err := io.Copy(ew, resp.Body)
		r.bytes = n
		if err != nil {
			if ew.err != nil {
				return &ExitError{23, fmt.Sprintf("Failure writing output to destination: %v", ew.err)}
			}
			return &bodyErr{err}
		}
	}
	if err := out.Close(); err != nil {
		return err
	}
	if resp.StatusCode >= 400 && r.opts.FailWithBody {
		return &ExitError{22, fmt.Sprintf("The requested URL returned error: %d", resp.StatusCode)}
	}
	return nil
}

// explain401 says why the final answer is a 401: the server's
// WWW-Authenticate error, or why no retry with a fresh token happened.
func (r *run) explain401(resp *http.Response, sameOrigin, sentBody bool) {
	detail := ""
	if e, d := bearerError(resp.Header.Values("Www-Authenticate")); e != "" || d != "" {
		detail = ": " + e
		if d != "" {
			if e != "" {
				detail += ": "
			}
			detail += d
		}
	}
	// The reason phrase is the server's text: Go's client takes escape
	// sequences in it.
	status := safetext.Redact(resp.Status, 100)
	switch {
	case !sameOrigin:
		r.note("%s from %s%s (after a redirect to another origin, where authctl does not send the token)", status, originOf(r.hopURL), detail)
	case r.opts.ownAuthorization() != authNone:
		r.note("%s%s (with the Authorization of -H; authctl sent no token)", status, detail)
	case sentBody && !r.body.resendable():
		r.note("%s%s; the request could not be retried with a refreshed token because its body was read from input and is over %d bytes (MaxBufferedStdin); write it to a file and use @file", status, detail, MaxBufferedStdin)
	default:
		r.note("%s even with a refreshed token%s", status, detail)
	}
}

// bodyErr is a failure while reading the response body.
type bodyErr struct{ err error }

func (e *bodyErr) Error() string { return "read response: " + e.err.Error() }
func (e *bodyErr) Unwrap() error { return e.err }

// classify turns err into curl's exit code, or returns nil when err is not
// one curl would report (the caller gets it as is).
func (r *run) classify(parent, ctx context.Context, err error) *ExitError {
	var re *readErr
	if errors.As(err, &re) {
		return &ExitError{26, fmt.Sprintf("Failed to open/read local data: %v", re)}
	}
	if parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded) {
		return nil // interrupted: the caller maps ctx's error
	}
	ms := time.Since(r.start).Milliseconds()
	var ne net.Error
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &ExitError{28, fmt.Sprintf("Operation timed out after %d milliseconds with %d bytes received", ms, r.bytes)}
	}
	var be *bodyErr
	if errors.As(err, &be) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &ExitError{18, "transfer closed with outstanding read data remaining"}
		}
		return &ExitError{56, fmt.Sprintf("Failure when receiving data from the peer: %v", be.err)}
	}
	if r.hopURL == nil {
		return nil
	}
	host, port := r.hopURL.Hostname(), portOf(r.hopURL)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && strings.EqualFold(strings.TrimSuffix(dnsErr.Name, "."), host) {
		return &ExitError{6, "Could not resolve host: " + host}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" && sameDialTarget(opErr.Addr, host, port) {
		reason := "Couldn't connect to server"
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, wsaeConnRefused) {
			reason = "Connection refused"
		} else if opErr.Err != nil {
			reason = opErr.Err.Error()
		}
		return &ExitError{7, fmt.Sprintf("Failed to connect to %s port %s after %d ms: %s", host, port, ms, reason)}
	}
	return nil
}

// sameDialTarget reports whether a failed dial was to the request's own
// host and port rather than, say, the token provider's.
func sameDialTarget(addr net.Addr, host, port string) bool {
	if addr == nil {
		return false
	}
	h, p, err := net.SplitHostPort(addr.String())
	if err != nil || p != port {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.Equal(net.ParseIP(h))
	}
	return true // a name: its addresses are not known here, the port has to do
}

// ResolveURL applies the base URL to raw and checks the result: an http
// or https URL with a host. A URL without a scheme is taken as https (curl
// takes http, but the token goes to this URL and authctl sends it over
// https only), and note then says so, for the user. Every error is a
// *UsageError: a path without a base URL, a malformed URL, another
// scheme.
func ResolveURL(raw, base string) (u *url.URL, note string, err error) {
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		if base == "" {
			return nil, "", usagef("URL %q is a path, and no base URL is set", raw)
		}
		raw = strings.TrimRight(base, "/") + raw
	}
	if !strings.Contains(raw, "://") {
		given := raw
		raw = "https://" + strings.TrimPrefix(raw, "//")
		note = fmt.Sprintf("%q has no scheme: using %s (the token goes over https only; curl would use http)", given, raw)
	}
	u, err = url.Parse(raw)
	if err != nil {
		return nil, "", usagef("malformed URL %q: %v", raw, errors.Unwrap(err))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", usagef("protocol %q not supported: authctl curl speaks http and https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, "", usagef("URL %q has no host", raw)
	}
	u.Fragment, u.RawFragment = "", ""
	return u, note, nil
}

// originOf is scheme://host:port with the default port made explicit.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), portOf(u))
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// redact drops the user info of a URL before it is shown.
func redact(u *url.URL) string { return u.Redacted() }

// writeHeaders prints the status line and headers as curl -i does.
func writeHeaders(w io.Writer, resp *http.Response) error {
	var sb strings.Builder
	proto := resp.Proto
	lower := resp.ProtoMajor == 2
	if lower {
		proto = "HTTP/2"
	}
	status := resp.Status
	if !strings.HasPrefix(status, strconv.Itoa(resp.StatusCode)) {
		status = strconv.Itoa(resp.StatusCode) + " " + status
	}
	fmt.Fprintf(&sb, "%s %s\r\n", proto, status)
	h := resp.Header.Clone()
	if len(resp.TransferEncoding) > 0 && h.Get("Transfer-Encoding") == "" {
		h["Transfer-Encoding"] = resp.TransferEncoding
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if lower {
			name = strings.ToLower(k)
		}
		for _, v := range h[k] {
			fmt.Fprintf(&sb, "%s: %s\r\n", name, v)
		}
	}
	sb.WriteString("\r\n")
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return &ExitError{23, fmt.Sprintf("Failure writing output to destination: %v", err)}
	}
	return nil
}

// output is the -o destination, opened on first use so that --fail leaves
// no file behind, as in curl.
type output struct {
	path       string
	createDirs bool
	stdout     io.Writer
	f          *os.File
	w          io.Writer
}

func (o *output) open() error {
	if o.w != nil {
		return nil
	}
	if o.path == "" || o.path == "-" {
		o.w = o.stdout
		return nil
	}
	if o.createDirs {
		if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
			return &ExitError{23, fmt.Sprintf("Failure writing output to destination: %v", err)}
		}
	}
	f, err := os.Create(o.path)
	if err != nil {
		return &ExitError{23, fmt.Sprintf("Failure writing output to destination: %v", err)}
	}
	o.f, o.w = f, f
	return nil
}

func (o *output) Write(p []byte) (int, error) {
	if err := o.open(); err != nil {
		return 0, err
	}
	return o.w.Write(p)
}

// Close closes the -o file; a failure to do so is curl's 23.
func (o *output) Close() error {
	if o.f == nil {
		return nil
	}
	f := o.f
	o.f = nil
	if err := f.Close(); err != nil {
		return &ExitError{23, fmt.Sprintf("Failure writing output to destination: %v", err)}
	}
	return nil
}

// errWriter remembers a write error so that io.Copy failures can be told
// apart: writing is curl's 23, reading is a network failure.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

// wsaeConnRefused is Windows' WSAECONNREFUSED, which its syscall package
// does not map to ECONNREFUSED.
const wsaeConnRefused = syscall.Errno(10061)
