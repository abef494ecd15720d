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
// the browser is shown, and that nothing after the first response counts.
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
	tests := []struct {
		name        string
		issRequired bool
		requests    []string
		// want for each request: status and a phrase of the page.
		statuses []int
		phrases  []string
		wantCode string
		wantErr  error
	}{
		{name: "good", requests: []string{with(func(url.Values) {})},
			statuses: []int{200}, phrases: []string{"Return to your terminal"}, wantCode: "c0de"},
		{name: "wrong state", requests: []string{with(func(q url.Values) { q.Set("state", "forged") })},
			statuses: []int{400}, phrases: []string{"state mismatch"}, wantErr: ErrStateMismatch},
		{name: "no state", requests: []string{with(func(q url.Values) { q.Del("state") })},
			statuses: []int{400}, phrases: []string{"state mismatch"}, wantErr: ErrStateMismatch},
		{name: "provider error", requests: []string{with(func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "User <b>said</b> no")
		})}, statuses: []int{400}, phrases: []string{"access_denied (User &lt;b&gt;said&lt;/b&gt; no)"},
			wantErr: &ProviderError{Code: "access_denied", Description: "User <b>said</b> no"}},
		{name: "missing code", requests: []string{with(func(q url.Values) { q.Del("code") })},
			statuses: []int{400}, phrases: []string{"no authorization code"}, wantErr: ErrMissingCode},
		{name: "foreign iss", requests: []string{with(func(q url.Values) { q.Set("iss", "https://evil.example") })},
			statuses: []int{400}, phrases: []string{"issuer mismatch"}, wantErr: ErrIssuerMismatch},
		{name: "foreign iss on an error response", requests: []string{with(func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("iss", "https://evil.example")
		})}, statuses: []int{400}, phrases: []string{"issuer mismatch"}, wantErr: ErrIssuerMismatch},
		{name: "missing iss when advertised", issRequired: true, requests: []string{with(func(q url.Values) { q.Del("iss") })},
			statuses: []int{400}, phrases: []string{"issuer mismatch"}, wantErr: ErrIssuerMismatch},
		{name: "missing iss when not advertised", requests: []string{with(func(q url.Values) { q.Del("iss") })},
			statuses: []int{200}, phrases: []string{"Signed in"}, wantCode: "c0de"},
		{name: "favicon and a probe, then good",
			requests: []string{"/favicon.ico", "/callback", "/", with(func(url.Values) {})},
			statuses: []int{404, 400, 404, 200}, phrases: []string{"not found", "only receives", "not found", "Signed in"}, wantCode: "c0de"},
		{name: "second callback after success is ignored",
			requests: []string{with(func(url.Values) {}), with(func(q url.Values) { q.Set("state", "forged") })},
			statuses: []int{200, 200}, phrases: []string{"Signed in", "already been handled"}, wantCode: "c0de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := make(chan response, 1)
			c := &catcher{
				path:    "/callback",
				check:   checker{state: "s1", issuer: issuer, issRequired: tt.issRequired},
				results: results,
				quit:    make(chan struct{}),
			}
			var got *response
			for i, target := range tt.requests {
				rec := httptest.NewRecorder()
				done := make(chan struct{})
				go func() {
					defer close(done)
					c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1"+target, nil))
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
				if rec.Code != tt.statuses[i] {
					t.Errorf("request %d %s: status %d, want %d", i, target, rec.Code, tt.statuses[i])
				}
				if body := rec.Body.String(); !strings.Contains(body, tt.phrases[i]) {
					t.Errorf("request %d %s: page lacks %q:\n%s", i, target, tt.phrases[i], body)
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
		})
	}
}

// TestCallbackPageShowsExchangeFailure: the browser is not told "signed in"
// when the code exchange afterwards fails.
func TestCallbackPageShowsExchangeFailure(t *testing.T) {
	results := make(chan response, 1)
	c := &catcher{path: "/cb", check: checker{state: "s"}, results: results, quit: make(chan struct{})}
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
	c := &catcher{path: "/callback", check: checker{state: "s"}, results: results, quit: make(chan struct{})}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/callback?code=x&state=s", nil))
	if rec.Code != http.StatusMethodNotAllowed || len(results) != 0 || !c.claim() {
		t.Errorf("HEAD: status %d, %d responses delivered", rec.Code, len(results))
	}
}
