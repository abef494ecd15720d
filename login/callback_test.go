package login

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestCallbackHandler drives the loopback handler with the requests a
// browser (or a stray client) sends, and checks what ends the login, what
// the browser is shown, and that nothing counts but the first response
// that carries the login's state and reaches the redirect URI's host.
func TestCallbackHandler(t *testing.T) {
	const issuer = "https://idp.example"
	good := func() url.Values {
		return url.Values{"code": {"c0de"}, "state": {"s1"}, "iss": {issuer}}
	}
	with := func(edit func(url.Values)) string {
		q := good()
		edit(q)
		return "/callback?" + q.Encode()
	}
	ok := with(func(url.Values) {})
	type request struct {
		target string
		host   string // default: the redirect URI's, 127.0.0.1:1
		status int
		phrase string // of the page
	}
	signedIn := request{ok, "", 200, "Signed in"}
	foreign := func(target string) request { return request{target, "", 400, "does not belong to the sign-in"} }
	tests := []struct {
		name        string
		issRequired bool
		host        string // the redirect URI's; default 127.0.0.1:1
		requests    []request
		wantCode    string
		wantErr     error
		// noticed: the terminal is told (once) that a foreign response was ignored.
		noticed bool
	}{
		{name: "good", requests: []request{{ok, "", 200, "Return to your terminal"}}, wantCode: "c0de"},
		{name: "wrong state twice, then good", noticed: true, requests: []request{
			foreign(with(func(q url.Values) { q.Set("state", "forged") })),
			foreign(with(func(q url.Values) { q.Set("state", "s1x") })), signedIn}, wantCode: "c0de"},
		{name: "no state, then good", noticed: true, requests: []request{
			foreign(with(func(q url.Values) { q.Del("state") })), signedIn}, wantCode: "c0de"},
		{name: "forged error response, then good", noticed: true, requests: []request{
			foreign(with(func(q url.Values) { q.Set("state", "forged"); q.Del("code"); q.Set("error", "access_denied") })),
			signedIn}, wantCode: "c0de"},
		{name: "forged foreign iss, then good", noticed: true, requests: []request{
			foreign(with(func(q url.Values) { q.Set("state", "s2"); q.Set("iss", "https://evil.example") })),
			signedIn}, wantCode: "c0de"},
		{name: "right state at another host name, then good", requests: []request{
			{with(func(q url.Values) { q.Set("code", "rebound") }), "attacker.example:1", 400, "Wrong address"},
			{with(func(q url.Values) { q.Set("code", "other-name") }), "localhost:1", 400, "Wrong address"},
			{with(func(q url.Values) { q.Set("code", "other-port") }), "127.0.0.1:2", 400, "Wrong address"},
			{with(func(q url.Values) { q.Set("code", "no-port") }), "127.0.0.1", 400, "Wrong address"},
			signedIn}, wantCode: "c0de"},
		{name: "provider error", requests: []request{{with(func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "User <b>said</b> no")
		}), "", 400, "access_denied (User &lt;b&gt;said&lt;/b&gt; no)"}},
			wantErr: &ProviderError{Code: "access_denied", Description: "User <b>said</b> no"}},
		{name: "missing code", requests: []request{{with(func(q url.Values) { q.Del("code") }), "", 400, "no authorization code"}},
			wantErr: ErrMissingCode},
		{name: "foreign iss", requests: []request{{with(func(q url.Values) { q.Set("iss", "https://evil.example") }), "", 400, "issuer mismatch"}},
			wantErr: ErrIssuerMismatch},
		{name: "foreign iss on an error response", requests: []request{{with(func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("iss", "https://evil.example")
		}), "", 400, "issuer mismatch"}}, wantErr: ErrIssuerMismatch},
		{name: "missing iss when advertised", issRequired: true,
			requests: []request{{with(func(q url.Values) { q.Del("iss") }), "", 400, "issuer mismatch"}}, wantErr: ErrIssuerMismatch},
		{name: "missing iss when not advertised",
			requests: []request{{with(func(q url.Values) { q.Del("iss") }), "", 200, "Signed in"}}, wantCode: "c0de"},
		{name: "favicon and a probe, then good", requests: []request{
			{"/favicon.ico", "", 404, "not found"}, {"/callback", "", 400, "only receives"}, {"/", "", 404, "not found"}, signedIn},
			wantCode: "c0de"},
		{name: "host is compared without case", host: "localhost:1", requests: []request{{ok, "LOCALHOST:1", 200, "Signed in"}}, wantCode: "c0de"},
		{name: "second callback after success is ignored", requests: []request{
			signedIn, {with(func(q url.Values) { q.Set("code", "again") }), "", 200, "already been handled"},
			foreign(with(func(q url.Values) { q.Set("state", "forged") }))}, wantCode: "c0de", noticed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := make(chan response, 1)
			var notice syncBuffer
			c := &catcher{
				path:    "/callback",
				host:    "127.0.0.1:1",
				check:   checker{state: "s1", issuer: issuer, issRequired: tt.issRequired},
				results: results,
				quit:    make(chan struct{}),
				notice:  &notice,
			}
			if tt.host != "" {
				c.host = tt.host
			}
			var got *response
			for i, rq := range tt.requests {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1"+rq.target, nil)
				if rq.host != "" {
					req.Host = rq.host
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					c.ServeHTTP(rec, req)
				}()
				// Play the flow: take the response, let the exchange succeed.
				take := func(r response) {
					if got != nil {
						t.Fatalf("request %d delivered a second response", i)
					}
					got = &r
					if r.reply != nil {
						r.reply <- nil
					}
				}
				select {
				case r := <-results:
					take(r)
				case <-done:
				}
				<-done
				select {
				case r := <-results:
					take(r)
				default:
				}
				if rec.Code != rq.status {
					t.Errorf("request %d %s (Host %s): status %d, want %d", i, rq.target, req.Host, rec.Code, rq.status)
				}
				if body := rec.Body.String(); !strings.Contains(body, rq.phrase) {
					t.Errorf("request %d %s: page lacks %q:\n%s", i, rq.target, rq.phrase, body)
				}
			}
			if got == nil {
				t.Fatal("no response ended the login")
			}
			if got.code != tt.wantCode {
				t.Errorf("code %q, want %q", got.code, tt.wantCode)
			}
			var pe, wantPE *ProviderError
			switch {
			case errors.As(tt.wantErr, &wantPE):
				if !errors.As(got.err, &pe) || *pe != *wantPE {
					t.Errorf("error %v, want %v", got.err, tt.wantErr)
				}
			case !errors.Is(got.err, tt.wantErr):
				t.Errorf("error %v, want %v", got.err, tt.wantErr)
			}
			if got.err != nil && strings.Contains(got.err.Error(), "c0de") {
				t.Errorf("error %q shows the code", got.err)
			}
			n := strings.Count(notice.String(), "Ignored a redirect that does not belong to this sign-in")
			if want := map[bool]int{true: 1}[tt.noticed]; n != want {
				t.Errorf("terminal told %d times of an ignored redirect, want %d:\n%s", n, want, notice.String())
			}
		})
	}
}

// TestCallbackPageShowsExchangeFailure: the browser is not told "signed in"
// when the code exchange afterwards fails.
func TestCallbackPageShowsExchangeFailure(t *testing.T) {
	results := make(chan response, 1)
	c := &catcher{path: "/cb", host: "example.com", check: checker{state: "s"}, results: results, quit: make(chan struct{})}
	go func() {
		r := <-results
		r.reply <- &ProviderError{Code: "invalid_grant", Description: "code expired"}
	}()
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cb?code=x&state=s", nil))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_grant (code expired)") {
		t.Errorf("status %d, page:\n%s", rec.Code, rec.Body)
	}
}

func TestParsePasted(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		code string
	}{
		{"http://127.0.0.1:8000/callback?code=abc&state=s&iss=x", true, "abc"},
		{"?code=abc&state=s", true, "abc"},
		{"code=abc&state=s", true, "abc"},
		{"http://127.0.0.1:8000/callback?error=access_denied&state=s", true, ""},
		{"hello", false, ""},
		{"http://127.0.0.1:8000/callback", false, ""},
		{"https://example.com/?q=1", false, ""},
	}
	for _, tt := range tests {
		q, ok := parsePasted(tt.in)
		if ok != tt.ok || q.Get("code") != tt.code {
			t.Errorf("parsePasted(%q) = %v, %v; want code %q, %v", tt.in, q, ok, tt.code, tt.ok)
		}
	}
}

// TestCallbackHeadDoesNotEndLogin: a HEAD (a prefetch) of the callback
// does not use up the login's one response.
func TestCallbackHeadDoesNotEndLogin(t *testing.T) {
	results := make(chan response, 1)
	c := &catcher{path: "/callback", host: "example.com", check: checker{state: "s"}, results: results, quit: make(chan struct{})}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/callback?code=x&state=s", nil))
	if rec.Code != http.StatusMethodNotAllowed || len(results) != 0 || !c.claim() {
		t.Errorf("HEAD: status %d, %d responses delivered", rec.Code, len(results))
	}
}

// TestCheckerRefusesRepeatedParameters: a response with two states (the
// first this login's) or two codes is not taken.
func TestCheckerRefusesRepeatedParameters(t *testing.T) {
	c := checker{state: "s1"}
	for _, raw := range []string{"state=s1&state=other&code=c", "state=other&state=s1&code=c", "state=s1&code=a&code=b"} {
		q, _ := url.ParseQuery(raw)
		if code, err := c.check(q); err == nil {
			t.Errorf("%s: accepted, code %q", raw, code)
		}
	}
	q, _ := url.ParseQuery("state=s1&code=c")
	if code, err := c.check(q); err != nil || code != "c" {
		t.Errorf("a plain response: %q, %v", code, err)
	}
}

// TestCheckerCleansProviderStrings: what the redirect says (iss, the
// provider's error) reaches the terminal printable and bounded.
func TestCheckerCleansProviderStrings(t *testing.T) {
	c := checker{state: "s1", issuer: "https://idp.example"}
	long := strings.Repeat("a", 10000)
	q := url.Values{"state": {"s1"}, "iss": {"https://evil.example/\x1b]8;;x\x07" + long}}
	_, err := c.check(q)
	if !errors.Is(err, ErrIssuerMismatch) || len(err.Error()) > 400 || strings.ContainsAny(err.Error(), "\x1b\x07") {
		t.Errorf("issuer mismatch: %d bytes: %.200q", len(err.Error()), err)
	}
	q = url.Values{"state": {"s1"}, "error": {"access_denied\x1b[2J"}, "error_description": {"no\x1b[2J " + long}, "error_uri": {"https://idp.example/\u009b" + long}}
	_, err = c.check(q)
	var pe *ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v; want a *ProviderError", err)
	}
	for _, s := range []string{pe.Code, pe.Description, pe.URI} {
		if len(s) > 400 || strings.ContainsAny(s, "\x1b\u009b") {
			t.Errorf("provider string not cleaned: %d bytes: %.100q", len(s), s)
		}
	}
	if pe.Code != "access_denied[2J" {
		t.Errorf("code %q", pe.Code)
	}
}
