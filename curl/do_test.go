package curl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	oldToken = "tok-old-5f2a"
	newToken = "tok-new-9c7e"
)

// fakeAuthed stands in for the token transport: it sends oldToken, and on a
// 401 sends the request once more with newToken using req.GetBody, as the
// real one does after a forced refresh.
type fakeAuthed struct {
	base    http.RoundTripper
	mu      sync.Mutex
	retries int
}

func (f *fakeAuthed) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+oldToken)
	resp, err := f.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // cannot resend
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	f.mu.Lock()
	f.retries++
	f.mu.Unlock()
	r = req.Clone(req.Context())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	r.Header.Set("Authorization", "Bearer "+newToken)
	return f.base.RoundTrip(r)
}

// seen is one request as the test server received it.
type seen struct {
	Method, Path, Auth, ContentType, Accept, UserAgent string
	Body                                               []byte
	Header                                             http.Header
}

// recorder is an httptest server that records every request and answers
// with handler.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t *testing.T, handler http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"),
			r.Header.Get("Accept"), r.Header.Get("User-Agent"), body, r.Header.Clone()})
		rec.mu.Unlock()
		if handler != nil {
			handler(w, r)
		}
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

// result is what one Do produced.
type result struct {
	err            error
	stdout, stderr string
	authed         *fakeAuthed
}

func (r result) code() int {
	var ee *ExitError
	if errors.As(r.err, &ee) {
		return ee.Code
	}
	if r.err != nil {
		return -1
	}
	return 0
}

// runCurl parses args and runs Do with a fake token transport over a plain
// http.Transport (no compression, like the real one), stdin as given.
func runCurl(t *testing.T, stdin io.Reader, baseURL string, args ...string) result {
	t.Helper()
	opts, err := Parse(args)
	if err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	var stdout, stderr bytes.Buffer
	plain := &http.Transport{DisableCompression: true, DialContext: offlineDialer().DialContext}
	t.Cleanup(plain.CloseIdleConnections)
	var base http.RoundTripper = plain
	if opts.Verbose {
		base = Verbose(plain, &stderr)
	}
	authed := &fakeAuthed{base: base}
	err = Do(context.Background(), opts, Env{Authed: authed, Plain: base, Stdin: stdin, Stdout: &stdout, Stderr: &stderr, BaseURL: baseURL})
	return result{err, stdout.String(), stderr.String(), authed}
}

// offlineDialer dials with Go's own resolver and no DNS server to ask, so
// that no test depends on this machine's DNS (which may answer slowly, time
// out or be absent): addresses and /etc/hosts names work, and any other
// name fails at once with a *net.DNSError naming it, as an unknown name does.
func offlineDialer() *net.Dialer {
	return &net.Dialer{Resolver: &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no DNS server in the curl tests")
		},
	}}
}

func TestGetWritesBodyWithToken(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello\n") })
	res := runCurl(t, nil, "", srv.URL+"/items?x=1")
	if res.err != nil || res.stdout != "hello\n" || res.stderr != "" {
		t.Fatalf("got err=%v stdout=%q stderr=%q", res.err, res.stdout, res.stderr)
	}
	got := srv.requests()
	if len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/items?x=1" || got[0].Auth != "Bearer "+oldToken ||
		got[0].Accept != "*/*" || got[0].UserAgent != DefaultUserAgent {
		t.Errorf("server saw %+v", got)
	}
}

func TestBaseURL(t *testing.T) {
	srv := newRecorder(t, nil)
	res := runCurl(t, nil, srv.URL+"/api/", "/v1/items")
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := srv.requests(); len(got) != 1 || got[0].Path != "/api/v1/items" {
		t.Errorf("server saw %+v", got)
	}
	res = runCurl(t, nil, "", "/v1/items")
	var ue *UsageError
	if !errors.As(res.err, &ue) || !strings.Contains(ue.Msg, "no base URL") || res.stderr != "" {
		t.Errorf("path without base URL: err %v, stderr %q; want an unprinted usage error", res.err, res.stderr)
	}
}

// TestURLWithoutScheme: a URL without a scheme is taken as https, the
// token's only way out, and authctl says so (unless -s).
func TestURLWithoutScheme(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok\n") }))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	opts, err := Parse([]string{host + "/items"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	tr := srv.Client().Transport
	err = Do(context.Background(), opts, Env{Authed: &fakeAuthed{base: tr}, Plain: tr, Stdout: &stdout, Stderr: &stderr})
	if err != nil || stdout.String() != "ok\n" {
		t.Fatalf("err %v, stdout %q", err, stdout.String())
	}
	want := fmt.Sprintf("authctl: curl: %q has no scheme: using https://%s/items (the token goes over https only; curl would use http)\n", host+"/items", host)
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestRequestData(t *testing.T) {
	dir := t.TempDir()
	form := filepath.Join(dir, "form.txt")
	os.WriteFile(form, []byte("a=1\r\n&b=2\n"), 0o600)
	bin := filepath.Join(dir, "bin")
	os.WriteFile(bin, []byte("line1\r\nline2\n"), 0o600)
	tests := []struct {
		name        string
		stdin       string
		args        []string
		method      string
		body        string
		contentType string
		accept      string
	}{
		{"-d means POST form", "", []string{"-d", "a=1", "-d", "b=2"}, "POST", "a=1&b=2", "application/x-www-form-urlencoded", "*/*"},
		{"-X overrides", "", []string{"-X", "PUT", "-d", "x"}, "PUT", "x", "application/x-www-form-urlencoded", "*/*"},
		{"-H replaces content type", "", []string{"-H", "Content-Type: text/plain", "-d", "x"}, "POST", "x", "text/plain", "*/*"},
		{"-d @file strips CR LF", "", []string{"-d", "@" + form}, "POST", "a=1&b=2", "application/x-www-form-urlencoded", "*/*"},
		{"--data-binary @file keeps bytes", "", []string{"--data-binary", "@" + bin}, "POST", "line1\r\nline2\n", "application/x-www-form-urlencoded", "*/*"},
		{"--data-raw keeps @", "", []string{"--data-raw", "@" + bin}, "POST", "@" + bin, "application/x-www-form-urlencoded", "*/*"},
		{"--data-binary @- reads stdin", "from\nstdin", []string{"--data-binary", "@-"}, "POST", "from\nstdin", "application/x-www-form-urlencoded", "*/*"},
		{"--json", "", []string{"--json", `{"a":1}`}, "POST", `{"a":1}`, "application/json", "application/json"},
		{"--data-urlencode", "", []string{"--data-urlencode", "q=a b&c", "--data-urlencode", "plain"}, "POST", "q=a%20b%26c&plain", "application/x-www-form-urlencoded", "*/*"},
		{"empty -d sends Content-Length 0", "", []string{"-d", ""}, "POST", "", "application/x-www-form-urlencoded", "*/*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRecorder(t, nil)
			res := runCurl(t, strings.NewReader(tt.stdin), "", append(tt.args, srv.URL+"/p")...)
			if res.err != nil {
				t.Fatalf("Do: %v (stderr %q)", res.err, res.stderr)
			}
			got := srv.requests()
			if len(got) != 1 {
				t.Fatalf("server saw %d requests", len(got))
			}
			g := got[0]
			if g.Method != tt.method || string(g.Body) != tt.body || g.ContentType != tt.contentType || g.Accept != tt.accept {
				t.Errorf("server saw %s body %q type %q accept %q; want %s %q %q %q", g.Method, g.Body, g.ContentType, g.Accept, tt.method, tt.body, tt.contentType, tt.accept)
			}
		})
	}
}

func TestGetPutsDataInQuery(t *testing.T) {
	srv := newRecorder(t, nil)
	res := runCurl(t, nil, "", "-G", "-d", "a=1", "--data-urlencode", "q=x y", srv.URL+"/s?z=0")
	if res.err != nil {
		t.Fatal(res.err)
	}
	if g := srv.requests()[0]; g.Method != "GET" || g.Path != "/s?z=0&a=1&q=x%20y" || len(g.Body) != 0 {
		t.Errorf("server saw %s %s body %q", g.Method, g.Path, g.Body)
	}
}

func TestHeaders(t *testing.T) {
	srv := newRecorder(t, nil)
	res := runCurl(t, nil, "", "-H", "X-A: 1", "-H", "X-A: 2", "-H", "Accept: text/csv", "-H", "X-Empty;", "-A", "bot/1", srv.URL)
	if res.err != nil {
		t.Fatal(res.err)
	}
	h := srv.requests()[0].Header
	if got := h.Values("X-A"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("X-A = %q", got)
	}
	if h.Get("Accept") != "text/csv" || h.Get("User-Agent") != "bot/1" {
		t.Errorf("Accept %q User-Agent %q", h.Get("Accept"), h.Get("User-Agent"))
	}
	if v, ok := h["X-Empty"]; !ok || v[0] != "" {
		t.Errorf("X-Empty = %q, %v; want sent empty", v, ok)
	}

	srv2 := newRecorder(t, nil)
	runCurl(t, nil, "", "-H", "Accept:", "-H", "User-Agent:", srv2.URL)
	h = srv2.requests()[0].Header
	if _, ok := h["Accept"]; ok {
		t.Errorf("Accept: removed with -H 'Accept:' but sent as %q", h.Get("Accept"))
	}
	if _, ok := h["User-Agent"]; ok {
		t.Errorf("User-Agent removed with -H 'User-Agent:' but sent as %q", h.Get("User-Agent"))
	}
}

// TestOwnAuthorization: -H 'Authorization: …' sends the user's own
// credential and no token, -H 'Authorization:' sends none at all, as in
// curl; -v says so and shows no token; a 401 is not retried with a token.
func TestOwnAuthorization(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     []string // the Authorization values the server saw; nil: none
		verbose  string
		stderr   string
		wantCode int
	}{
		{"own credential", []string{"-H", "Authorization: Basic dXNlcjpwdw=="}, []string{"Basic dXNlcjpwdw=="},
			"", "", 0},
		{"own credential, any case, with -v", []string{"-v", "-H", "authorization: Bearer mine"}, []string{"Bearer mine"},
			"* Authorization given with -H: sending it, with no token from authctl\n", "> Authorization: Bearer [redacted]\n", 0},
		{"empty header", []string{"-H", "Authorization;"}, []string{""}, "", "", 0},
		{"removed", []string{"-H", "Authorization:"}, nil, "", "", 0},
		{"removed, with -v", []string{"-v", "-H", "Authorization:"}, nil,
			"* Authorization removed with -H: sending none, and no token from authctl\n", "", 0},
		{"given, then removed", []string{"-H", "Authorization: Basic x", "-H", "Authorization:"}, nil, "", "", 0},
		{"removed, then given", []string{"-H", "Authorization:", "-H", "Authorization: Basic y"}, []string{"Basic y"}, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRecorder(t, nil)
			res := runCurl(t, nil, "", append(tt.args, srv.URL+"/p")...)
			if res.code() != tt.wantCode {
				t.Fatalf("code %d (%v), want %d; stderr:\n%s", res.code(), res.err, tt.wantCode, res.stderr)
			}
			got := srv.requests()
			if len(got) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(got))
			}
			if v := got[0].Header.Values("Authorization"); fmt.Sprintf("%q", v) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("server saw Authorization %q, want %q", v, tt.want)
			}
			if strings.Contains(res.stderr, oldToken) || (tt.want == nil && strings.Contains(res.stderr, "> Authorization")) {
				t.Errorf("stderr shows a token or a header that was not sent:\n%s", res.stderr)
			}
			for _, want := range []string{tt.verbose, tt.stderr} {
				if !strings.Contains(res.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
				}
			}
		})
	}
	// A 401 to the user's own credential is theirs: no retry with a token.
	srv := newRecorder(t, unauthorizedUntilNewToken)
	res := runCurl(t, nil, "", "-H", "Authorization: Basic bad", srv.URL)
	if got := srv.requests(); len(got) != 1 || got[0].Auth != "Basic bad" || res.authed.retries != 0 {
		t.Errorf("server saw %+v, %d retries; want one request with the user's header", got, res.authed.retries)
	}
	if !strings.Contains(res.stderr, "401 Unauthorized: invalid_token (with the Authorization of -H; authctl sent no token)") {
		t.Errorf("stderr:\n%s", res.stderr)
	}
}

// unauthorizedUntilNewToken answers 401 to the old token and 200 "ok" to the
// new one.
func unauthorizedUntilNewToken(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+newToken {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fmt.Fprint(w, "ok")
}

func TestRetryAfter401ResendsTheSameBody(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "payload.bin")
	payload := bytes.Repeat([]byte("0123456789\r\n"), 100_000) // 1.2 MB
	os.WriteFile(file, payload, 0o600)
	tests := []struct {
		name  string
		stdin io.Reader
		args  []string
		want  []byte
	}{
		{"file", nil, []string{"--data-binary", "@" + file}, payload},
		{"file stripped by -d", nil, []string{"-d", "@" + file}, bytes.ReplaceAll(payload, []byte("\r\n"), nil)},
		{"stdin", bytes.NewReader(payload), []string{"--data-binary", "@-"}, payload},
		{"literal", nil, []string{"-d", "a=1", "--data-raw", "b"}, []byte("a=1&b")},
		{"json", nil, []string{"--json", "[1,", "--json", "2]"}, []byte("[1,2]")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRecorder(t, unauthorizedUntilNewToken)
			res := runCurl(t, tt.stdin, "", append(tt.args, srv.URL)...)
			if res.err != nil || res.stdout != "ok" {
				t.Fatalf("err=%v stdout=%q stderr=%q", res.err, res.stdout, res.stderr)
			}
			if res.stderr != "" {
				t.Errorf("stderr %q after a successful retry", res.stderr)
			}
			got := srv.requests()
			if len(got) != 2 || res.authed.retries != 1 {
				t.Fatalf("server saw %d requests, %d retries; want 2, 1", len(got), res.authed.retries)
			}
			for i, g := range got {
				if !bytes.Equal(g.Body, tt.want) {
					t.Errorf("request %d body: %d bytes, want %d identical bytes", i, len(g.Body), len(tt.want))
				}
			}
		})
	}
}

// bigReader yields n bytes without holding them.
type bigReader struct{ n int64 }

func (b *bigReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	for i := range p {
		p[i] = 'x'
	}
	b.n -= int64(len(p))
	return len(p), nil
}

func TestStdinOverLimitCannotBeRetried(t *testing.T) {
	srv := newRecorder(t, unauthorizedUntilNewToken)
	const size = MaxBufferedStdin + 1
	res := runCurl(t, &bigReader{size}, "", "--data-binary", "@-", srv.URL)
	if res.err != nil {
		t.Fatalf("Do: %v", res.err)
	}
	got := srv.requests()
	if len(got) != 1 || len(got[0].Body) != size {
		t.Fatalf("server saw %d requests; want 1 with the whole body", len(got))
	}
	if !strings.Contains(res.stderr, "could not be retried") || !strings.Contains(res.stderr, "over") {
		t.Errorf("stderr %q does not say the request could not be retried", res.stderr)
	}
	if strings.Count(res.stderr, "\n") != 1 {
		t.Errorf("stderr should be one line: %q", res.stderr)
	}

	// At the limit exactly, the body is kept and the retry happens.
	srv2 := newRecorder(t, unauthorizedUntilNewToken)
	res = runCurl(t, &bigReader{MaxBufferedStdin}, "", "--data-binary", "@-", srv2.URL)
	if res.err != nil || res.stdout != "ok" || len(srv2.requests()) != 2 {
		t.Errorf("at the limit: err=%v stdout=%q requests=%d", res.err, res.stdout, len(srv2.requests()))
	}
}

func TestFinal401ShowsServerError(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="invalid_token", error_description="audience \"x\" not accepted"`)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"nope"}`)
	})
	res := runCurl(t, nil, "", srv.URL)
	if res.err != nil {
		t.Fatalf("without --fail a 401 is exit 0 as in curl, got %v", res.err)
	}
	if res.stdout != `{"error":"nope"}` {
		t.Errorf("stdout %q; want the body", res.stdout)
	}
	if !strings.Contains(res.stderr, "401") || !strings.Contains(res.stderr, "invalid_token") ||
		!strings.Contains(res.stderr, `audience "x" not accepted`) || strings.Count(res.stderr, "\n") != 1 {
		t.Errorf("stderr %q; want one line with the WWW-Authenticate error", res.stderr)
	}
	if len(srv.requests()) != 2 {
		t.Errorf("server saw %d requests; want 2 (one retry)", len(srv.requests()))
	}
	res = runCurl(t, nil, "", "-f", srv.URL)
	if res.code() != 22 || res.stdout != "" || !strings.Contains(res.stderr, "invalid_token") || !strings.Contains(res.stderr, "(22)") {
		t.Errorf("--fail: code %d stdout %q stderr %q", res.code(), res.stdout, res.stderr)
	}
}

func TestFail(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "not here")
	})
	out := filepath.Join(t.TempDir(), "out")
	tests := []struct {
		args         []string
		code         int
		stdout       string
		stderrHas    string
		stderrAbsent bool
	}{
		{[]string{srv.URL}, 0, "not here", "", true},
		{[]string{"-f", srv.URL}, 22, "", "authctl: curl: (22) The requested URL returned error: 404", false},
		{[]string{"-fi", srv.URL}, 22, "", "(22)", false},
		{[]string{"-sf", srv.URL}, 22, "", "", true},
		{[]string{"-sSf", srv.URL}, 22, "", "(22)", false},
		{[]string{"--fail-with-body", srv.URL}, 22, "not here", "(22)", false},
		{[]string{"-f", "-o", out, srv.URL}, 22, "", "(22)", false},
		{[]string{"-sf", "-w", `%{http_code}\n`, srv.URL}, 22, "404\n", "", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:len(tt.args)-1], " "), func(t *testing.T) {
			res := runCurl(t, nil, "", tt.args...)
			if res.code() != tt.code || res.stdout != tt.stdout {
				t.Errorf("code %d stdout %q; want %d %q", res.code(), res.stdout, tt.code, tt.stdout)
			}
			if tt.stderrAbsent && res.stderr != "" {
				t.Errorf("stderr %q; want none", res.stderr)
			}
			if !strings.Contains(res.stderr, tt.stderrHas) {
				t.Errorf("stderr %q; want %q", res.stderr, tt.stderrHas)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--fail -o left a file behind: %v", err)
	}
}

func TestOutputFile(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Thing", "1")
		fmt.Fprint(w, "payload")
	})
	dir := t.TempDir()
	out := filepath.Join(dir, "sub", "out.txt")
	res := runCurl(t, nil, "", "--create-dirs", "-o", out, srv.URL)
	if res.err != nil || res.stdout != "" {
		t.Fatalf("err=%v stdout=%q", res.err, res.stdout)
	}
	if b, _ := os.ReadFile(out); string(b) != "payload" {
		t.Errorf("file holds %q", b)
	}
	res = runCurl(t, nil, "", "-i", "-o", out, srv.URL)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(string(b), "\r\n\r\npayload") {
		t.Errorf("-i -o file holds %q", b)
	}
	res = runCurl(t, nil, "", "-o", filepath.Join(dir, "missing", "x"), srv.URL)
	if res.code() != 23 {
		t.Errorf("-o into a missing directory: code %d; want 23", res.code())
	}
}

func TestIncludeAndHead(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-B", "2")
		w.Header().Add("X-A", "1")
		w.Header().Add("X-A", "one")
		w.WriteHeader(201)
		fmt.Fprint(w, "body")
	})
	res := runCurl(t, nil, "", "-i", srv.URL)
	want := "HTTP/1.1 201 Created\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n"
	if res.err != nil || !strings.HasPrefix(res.stdout, want) || !strings.HasSuffix(res.stdout, "X-A: 1\r\nX-A: one\r\nX-B: 2\r\n\r\nbody") {
		t.Errorf("-i: err=%v stdout=%q", res.err, res.stdout)
	}
	if !strings.Contains(res.stdout, "\r\nDate: ") {
		t.Errorf("-i: no Date header in %q", res.stdout)
	}
	res = runCurl(t, nil, "", "-I", srv.URL)
	if res.err != nil || !strings.HasPrefix(res.stdout, "HTTP/1.1 201 Created\r\n") || !strings.HasSuffix(res.stdout, "X-B: 2\r\n\r\n") {
		t.Errorf("-I: err=%v stdout=%q", res.err, res.stdout)
	}
	if got := srv.requests(); got[len(got)-1].Method != "HEAD" {
		t.Errorf("-I sent %s", got[len(got)-1].Method)
	}
}

func TestWriteOut(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/end", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "r1")
		fmt.Fprint(w, "{}")
	})
	res := runCurl(t, nil, "", "-sL", "-w", `\n%{http_code} %{url_effective} %{content_type} %{num_redirects} %{size_download} %{method} %header{x-request-id} 100%%\n`, srv.URL+"/start")
	want := "{}\n200 " + srv.URL + "/end application/json 1 2 GET r1 100%\n"
	if res.err != nil || res.stdout != want {
		t.Errorf("stdout %q; want %q (err %v)", res.stdout, want, res.err)
	}
	res = runCurl(t, nil, "", "-w", `%{nope}`, srv.URL+"/end")
	if !strings.Contains(res.stderr, "nope") {
		t.Errorf("unknown variable not reported: %q", res.stderr)
	}
}

func TestRedirects(t *testing.T) {
	// other is another origin: same host, another port.
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "other") })
	origin := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/final", http.StatusMovedPermanently)
		case "/303":
			http.Redirect(w, r, "/final", http.StatusSeeOther)
		case "/307":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/away-and-back":
			http.Redirect(w, r, other.URL+"/bounce", http.StatusFound)
		default:
			fmt.Fprint(w, "final")
		}
	})

	t.Run("cross origin drops the -H credentials", func(t *testing.T) {
		res := runCurl(t, nil, "", "-L", "-H", "Authorization: Basic dXNlcg==", "-H", "Cookie: s=1", "-H", "X-Keep: 1", origin.URL+"/away")
		if res.err != nil || res.stdout != "other" {
			t.Fatalf("err=%v stdout=%q", res.err, res.stdout)
		}
		got := other.requests()
		last := got[len(got)-1]
		if last.Path != "/landed" || last.Auth != "" || last.Header.Get("Cookie") != "" {
			t.Errorf("other origin got %s with Authorization %q Cookie %q; want none", last.Path, last.Auth, last.Header.Get("Cookie"))
		}
		if last.Header.Get("X-Keep") != "1" {
			t.Errorf("ordinary -H header not kept across the redirect")
		}
		if first := origin.requests()[len(origin.requests())-1]; first.Auth != "Basic dXNlcg==" {
			t.Errorf("origin got Authorization %q, want the one given with -H", first.Auth)
		}
	})
	t.Run("cross origin drops the token", func(t *testing.T) {
		res := runCurl(t, nil, "", "-L", origin.URL+"/away")
		if res.err != nil || res.stdout != "other" {
			t.Fatalf("err=%v stdout=%q", res.err, res.stdout)
		}
		if last := other.requests()[len(other.requests())-1]; last.Auth != "" {
			t.Errorf("other origin got Authorization %q", last.Auth)
		}
		if first := origin.requests()[len(origin.requests())-1]; first.Auth != "Bearer "+oldToken {
			t.Errorf("origin got Authorization %q", first.Auth)
		}
	})
	t.Run("without -L no redirect", func(t *testing.T) {
		n := len(other.requests())
		res := runCurl(t, nil, "", "-w", "%{http_code} %{redirect_url}", origin.URL+"/away")
		if res.err != nil || !strings.HasSuffix(res.stdout, "302 "+other.URL+"/landed") || len(other.requests()) != n {
			t.Errorf("err=%v stdout=%q", res.err, res.stdout)
		}
	})
	t.Run("same origin keeps the token, POST becomes GET on 301", func(t *testing.T) {
		res := runCurl(t, nil, "", "-L", "-d", "x=1", origin.URL+"/here")
		if res.err != nil || res.stdout != "final" {
			t.Fatalf("err=%v stdout=%q", res.err, res.stdout)
		}
		got := origin.requests()
		last := got[len(got)-1]
		if last.Path != "/final" || last.Method != "GET" || len(last.Body) != 0 || last.Auth != "Bearer "+oldToken || last.ContentType != "" {
			t.Errorf("after 301: %+v", last)
		}
	})
	t.Run("303 turns PUT into GET", func(t *testing.T) {
		runCurl(t, nil, "", "-L", "-X", "PUT", "-d", "x=1", origin.URL+"/303")
		got := origin.requests()
		if last := got[len(got)-1]; last.Method != "GET" || len(last.Body) != 0 {
			t.Errorf("after 303: %s body %q", last.Method, last.Body)
		}
	})
	t.Run("307 keeps method and body", func(t *testing.T) {
		res := runCurl(t, strings.NewReader("streamed"), "", "-L", "--data-binary", "@-", origin.URL+"/307")
		if res.err != nil {
			t.Fatal(res.err)
		}
		got := origin.requests()
		if last := got[len(got)-1]; last.Path != "/final" || last.Method != "POST" || string(last.Body) != "streamed" {
			t.Errorf("after 307: %s %s body %q", last.Method, last.Path, last.Body)
		}
	})
	t.Run("max redirects", func(t *testing.T) {
		res := runCurl(t, nil, "", "-L", "--max-redirs", "3", origin.URL+"/loop")
		if res.code() != 47 || !strings.Contains(res.stderr, "Maximum (3) redirects") {
			t.Errorf("code %d stderr %q", res.code(), res.stderr)
		}
	})
	t.Run("-L -i shows every hop", func(t *testing.T) {
		res := runCurl(t, nil, "", "-Li", origin.URL+"/here")
		if !strings.HasPrefix(res.stdout, "HTTP/1.1 301 Moved Permanently\r\n") || !strings.Contains(res.stdout, "\r\n\r\nHTTP/1.1 200 OK\r\n") {
			t.Errorf("stdout %q", res.stdout)
		}
	})
}

func TestRedirectToLocalhostByName(t *testing.T) {
	// 127.0.0.1 and localhost on the same port are different origins, as
	// in curl: the host differs.
	var srvURL string
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/go" {
			http.Redirect(w, r, strings.Replace(srvURL, "127.0.0.1", "localhost", 1)+"/named", http.StatusFound)
			return
		}
		fmt.Fprint(w, "named")
	})
	srvURL = srv.URL
	if _, err := net.LookupHost("localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	res := runCurl(t, nil, "", "-L", srv.URL+"/go")
	if res.err != nil || res.stdout != "named" {
		t.Fatalf("err=%v stdout=%q stderr=%q", res.err, res.stdout, res.stderr)
	}
	got := srv.requests()
	if got[0].Auth == "" || got[1].Auth != "" {
		t.Errorf("Authorization to 127.0.0.1 %q, to localhost %q; want set, then none", got[0].Auth, got[1].Auth)
	}
}

func TestVerboseRedactsToken(t *testing.T) {
	srv := newRecorder(t, unauthorizedUntilNewToken)
	res := runCurl(t, nil, "", "-v", "-H", "X-Custom: 7", srv.URL+"/v?q=1")
	if res.err != nil {
		t.Fatal(res.err)
	}
	for _, want := range []string{
		"> GET /v?q=1 HTTP/1.1\n", "> Host: " + strings.TrimPrefix(srv.URL, "http://") + "\n",
		"> Authorization: Bearer [redacted]\n", "> X-Custom: 7\n", "> Accept: */*\n",
		"< HTTP/1.1 401 Unauthorized\n", "< Www-Authenticate: Bearer error=\"invalid_token\"\n",
		"< HTTP/1.1 200 OK\n", "< Content-Length: 2\n",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("-v output lacks %q:\n%s", want, res.stderr)
		}
	}
	if strings.Contains(res.stderr, oldToken) || strings.Contains(res.stderr, newToken) {
		t.Errorf("-v output shows the token:\n%s", res.stderr)
	}
	if res.stdout != "ok" {
		t.Errorf("stdout %q", res.stdout)
	}
}

func TestVerboseShowsRedirectToOtherOrigin(t *testing.T) {
	other := newRecorder(t, nil)
	origin := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, other.URL+"/x", http.StatusFound) })
	res := runCurl(t, nil, "", "-vL", origin.URL)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if strings.Count(res.stderr, "Authorization") != 1 || !strings.Contains(res.stderr, "token is not sent there") {
		t.Errorf("-v -L output:\n%s", res.stderr)
	}
}

func TestNetworkErrorCodes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	// The slow servers finish after 30 s: were --max-time ignored, the
	// transfer would succeed (exit 0) instead of timing out (exit 28).
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	slowBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "start")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(slowBody.Close)
	_, port, _ := net.SplitHostPort(closed)

	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unresolvable host", []string{"http://no-such-host.invalid/"}, 6, "authctl: curl: (6) Could not resolve host: no-such-host.invalid"},
		{"closed port", []string{"http://" + closed + "/"}, 7, "authctl: curl: (7) Failed to connect to 127.0.0.1 port " + port},
		{"slow server", []string{"--max-time", "0.2", slow.URL}, 28, "authctl: curl: (28) Operation timed out after"},
		{"slow body", []string{"--max-time", "0.2", slowBody.URL}, 28, "with 5 bytes received"},
		{"missing file", []string{"-d", "@/no/such/file", "http://127.0.0.1:1/"}, 26, "/no/such/file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCurl(t, nil, "", tt.args...)
			if res.code() != tt.code || !strings.Contains(res.stderr, tt.msg) {
				t.Errorf("code %d (%v) stderr %q; want %d with %q", res.code(), res.err, res.stderr, tt.code, tt.msg)
			}
			if strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", res.stderr)
			}
			res = runCurl(t, nil, "", append([]string{"-s"}, tt.args...)...)
			if res.code() != tt.code || res.stderr != "" {
				t.Errorf("-s: code %d stderr %q; want %d and nothing", res.code(), res.stderr, tt.code)
			}
		})
	}
}

func TestContextDeadlineIs28AndCancelPassesThrough(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(slow.Close)
	opts, _ := Parse([]string{slow.URL})
	env := Env{Authed: http.DefaultTransport, Plain: http.DefaultTransport, Stdout: io.Discard, Stderr: io.Discard}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var ee *ExitError
	if err := Do(ctx, opts, env); !errors.As(err, &ee) || ee.Code != 28 {
		t.Errorf("deadline: %v; want exit 28", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var stderr bytes.Buffer
	env.Stderr = &stderr
	err := Do(ctx, opts, env)
	if !errors.Is(err, context.Canceled) || errors.As(err, &ee) || stderr.Len() != 0 {
		t.Errorf("cancel: %v, stderr %q; want context.Canceled unprinted", err, stderr.String())
	}
}

var errLoginRequired = errors.New("login required")

type failingAuthed struct{ err error }

func (f failingAuthed) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

func TestTokenErrorsPassThroughUnprinted(t *testing.T) {
	srv := newRecorder(t, nil)
	opts, _ := Parse([]string{"-f", srv.URL})
	var stdout, stderr bytes.Buffer
	err := Do(context.Background(), opts, Env{Authed: failingAuthed{fmt.Errorf("load token: %w", errLoginRequired)}, Plain: http.DefaultTransport, Stdout: &stdout, Stderr: &stderr})
	if !errors.Is(err, errLoginRequired) {
		t.Errorf("err %v; want it to match errLoginRequired", err)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("printed %q / %q; the caller reports this error", stdout.String(), stderr.String())
	}
	if len(srv.requests()) != 0 {
		t.Errorf("server was called")
	}

	// A provider that cannot be reached during the refresh is not the
	// API's connection failure: it is passed through, not exit 6.
	dnsErr := &net.DNSError{Err: "no such host", Name: "idp.invalid", IsNotFound: true}
	err = Do(context.Background(), opts, Env{Authed: failingAuthed{fmt.Errorf("refresh: %w", dnsErr)}, Plain: http.DefaultTransport, Stdout: &stdout, Stderr: &stderr})
	var ee *ExitError
	if errors.As(err, &ee) || !errors.As(err, &dnsErr) {
		t.Errorf("provider DNS failure became %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorIs23(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "data") })
	opts, _ := Parse([]string{srv.URL})
	var stderr bytes.Buffer
	err := Do(context.Background(), opts, Env{Authed: http.DefaultTransport, Plain: http.DefaultTransport, Stdout: failWriter{}, Stderr: &stderr})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 23 || !strings.Contains(stderr.String(), "(23)") {
		t.Errorf("err %v stderr %q; want 23", err, stderr.String())
	}
}

// firstWrite signals when the first bytes of the body reach stdout.
type firstWrite struct {
	once sync.Once
	ch   chan struct{}
	n    int64
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.n += int64(len(p))
	f.once.Do(func() { close(f.ch) })
	return len(p), nil
}

func TestBodyIsStreamedBeforeTheServerFinishes(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "first chunk\n")
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "rest\n")
	}))
	defer srv.Close()
	defer close(release)
	opts, _ := Parse([]string{srv.URL})
	out := &firstWrite{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- Do(context.Background(), opts, Env{Authed: http.DefaultTransport, Plain: http.DefaultTransport, Stdout: out, Stderr: io.Discard})
	}()
	select {
	case <-out.ch:
	case err := <-done:
		t.Fatalf("Do returned %v before writing anything", err)
	case <-time.After(30 * time.Second):
		t.Fatal("nothing written while the server held the rest of the body")
	}
}

func TestLargeBodyIsNotHeldInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 50 MB; skipped with -short")
	}
	const size = 50 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, &bigReader{size})
	}))
	defer srv.Close()
	opts, _ := Parse([]string{srv.URL})
	out := &firstWrite{ch: make(chan struct{})}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Do(context.Background(), opts, Env{Authed: tr, Plain: tr, Stdout: out, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if out.n != size {
		t.Fatalf("wrote %d bytes; want %d", out.n, size)
	}
	// Client and server together; holding the body would take 50 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d MB to move a 50 MB body", alloc>>20)
	}
}

func TestVerboseRedactsDPoPProof(t *testing.T) {
	var out strings.Builder
	rt := Verbose(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", Header: http.Header{}, Body: http.NoBody}, nil
	}), &out)
	req, _ := http.NewRequest("GET", "https://api.example/x", nil)
	req.Header.Set("Authorization", "DPoP the-token")
	req.Header.Set("DPoP", "eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJHRVQifQ.c2ln")
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "> Authorization: DPoP [redacted]\n") || !strings.Contains(out.String(), "> Dpop: [redacted]\n") ||
		strings.Contains(out.String(), "the-token") || strings.Contains(out.String(), "eyJ") {
		t.Errorf("-v output:\n%s", out.String())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestUnusableURLIsUsageError: a URL authctl curl cannot use is a usage
// error (exit 2 in authctl), returned unprinted for the caller to word.
func TestUnusableURLIsUsageError(t *testing.T) {
	for _, tt := range []struct{ url, msg string }{
		{"ftp://example.com/", `protocol "ftp" not supported`},
		{"http://[::1/", "malformed URL"},
		{"https:///path", "has no host"},
	} {
		res := runCurl(t, nil, "", tt.url)
		var ue *UsageError
		if !errors.As(res.err, &ue) || !strings.Contains(ue.Msg, tt.msg) || res.stderr != "" {
			t.Errorf("%s: err %v, stderr %q; want an unprinted usage error with %q", tt.url, res.err, res.stderr, tt.msg)
		}
	}
}

// rawStatusServer answers every request with a 401 whose status line
// carries reason, written raw (net/http would not send such a phrase).
func rawStatusServer(t *testing.T, reason string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		fmt.Fprintf(buf, "HTTP/1.1 401 %s\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", reason)
		buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// An API's reason phrase is text from outside: Go's client takes escape
// sequences in it (it refuses them only in header values), and they must
// not reach the terminal through the 401 note or -v.
func TestStatusLineIsCleanedForTheTerminal(t *testing.T) {
	url := rawStatusServer(t, "Unauthorized\x1b]0;owned\x07\x1b[2J\x9b")
	for _, args := range [][]string{{url}, {"-v", url}} {
		res := runCurl(t, nil, "", args...)
		if res.err != nil {
			t.Fatalf("%q: %v", args, res.err)
		}
		if strings.ContainsAny(res.stderr, "\x1b\x07") || strings.Contains(res.stderr, "\u009b") {
			t.Errorf("%q: stderr holds control characters: %q", args, res.stderr)
		}
		if !strings.Contains(res.stderr, "401 Unauthorized") {
			t.Errorf("%q: stderr %q; want the status", args, res.stderr)
		}
	}
}
