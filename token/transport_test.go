package token_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// apiCall is one request the test API received.
type apiCall struct {
	Auth string
	Body string
}

// api is an httptest API that accepts only the bearer tokens in accept and
// records every request. onRequest, when set, runs first.
type api struct {
	srv       *httptest.Server
	mu        sync.Mutex
	calls     []apiCall
	accept    map[string]bool
	onRequest func(auth string)
}

func newAPI(t *testing.T, accept ...string) *api {
	a := &api{accept: map[string]bool{}}
	for _, tok := range accept {
		a.accept["Bearer "+tok] = true
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		a.mu.Lock()
		a.calls = append(a.calls, apiCall{Auth: auth, Body: string(body)})
		hook := a.onRequest
		a.mu.Unlock()
		if hook != nil {
			hook(auth)
		}
		if !a.accept[auth] {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *api) got() []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiCall(nil), a.calls...)
}

func transport(s *token.Source) *http.Client {
	return &http.Client{Transport: &token.Transport{Source: s}}
}

func TestTransportAttachesBearer(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t, "AT0")
	resp, err := transport(source(store, p)).Get(a.srv.URL + "/items")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if calls := a.got(); len(calls) != 1 || calls[0].Auth != "Bearer AT0" {
		t.Errorf("API got %+v, want one request with Bearer AT0", calls)
	}
	if p.count() != 0 {
		t.Errorf("%d token requests for a fresh token", p.count())
	}
}

func TestTransportRefreshesExpiredTokenFirst(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	a := newAPI(t, "AT1")
	resp, err := transport(source(store, p)).Get(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls := a.got(); resp.StatusCode != 200 || len(calls) != 1 || calls[0].Auth != "Bearer AT1" {
		t.Errorf("status %d, API got %+v; want one request with the refreshed AT1", resp.StatusCode, calls)
	}
}

func TestTransport401RefreshesAndResendsBody(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	// The API stopped accepting AT0 although it has not expired.
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t, "AT1")
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+"/items", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := transport(source(store, p)).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("status %d %q, want 200 ok", resp.StatusCode, body)
	}
	if n := p.count(); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
	calls := a.got()
	if len(calls) != 2 {
		t.Fatalf("API got %d requests, want 2", len(calls))
	}
	if calls[0].Auth != "Bearer AT0" || calls[1].Auth != "Bearer AT1" {
		t.Errorf("tokens sent %q then %q, want AT0 then AT1", calls[0].Auth, calls[1].Auth)
	}
	if calls[0].Body != `{"name":"x"}` || calls[1].Body != calls[0].Body {
		t.Errorf("bodies %q and %q, want the same body twice", calls[0].Body, calls[1].Body)
	}
	if got := stored(t, store); got == nil || got.RefreshToken != "RT1" {
		t.Errorf("stored = %+v, want the rotated RT1", got)
	}
}

func TestTransportSecond401ReturnedAndCredentialKept(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t) // accepts nothing: a wrong audience, say
	resp, err := transport(source(store, p)).Get(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "unauthorized") {
		t.Errorf("got %d %q, want the API's own 401", resp.StatusCode, body)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("the 401's WWW-Authenticate header was lost")
	}
	if n, c := p.count(), len(a.got()); n != 1 || c != 2 {
		t.Errorf("%d refreshes, %d API requests; want 1 and 2", n, c)
	}
	if got := stored(t, store); got == nil || got.RefreshToken != "RT1" {
		t.Errorf("stored = %+v, want the credential kept (RT1)", got)
	}
}

// onlyReader hides everything but Read, so http.NewRequest cannot set
// GetBody.
type onlyReader struct{ io.Reader }

func TestTransport401WithoutGetBodyIsNotResent(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t, "AT1")
	req, err := http.NewRequest(http.MethodPost, a.srv.URL, onlyReader{strings.NewReader("stream")})
	if err != nil {
		t.Fatal(err)
	}
	if req.GetBody != nil {
		t.Fatal("test set-up: request has GetBody")
	}
	resp, err := transport(source(store, p)).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want the first 401", resp.StatusCode)
	}
	if n, c := p.count(), len(a.got()); n != 0 || c != 1 {
		t.Errorf("%d refreshes, %d API requests; want 0 and 1", n, c)
	}
}

func TestTransport401AfterAnotherProcessRefreshed(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t, "AT-other")
	// While the API looks at AT0, another process refreshes and stores
	// its own new token.
	a.onRequest = func(auth string) {
		if auth == "Bearer AT0" {
			put(t, store, cred("AT-other", "RT-other", time.Now().Add(time.Hour)))
		}
	}
	resp, err := transport(source(store, p)).Get(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if n := p.count(); n != 0 {
		t.Errorf("%d refresh requests, want 0: the other process's token was there", n)
	}
	if calls := a.got(); len(calls) != 2 || calls[1].Auth != "Bearer AT-other" {
		t.Errorf("API got %+v, want a resend with AT-other", calls)
	}
}

func TestTransport401RefreshRejectedIsLoginRequired(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t)
	_, err := transport(source(store, p)).Get(a.srv.URL)
	if !isLoginRequired(err) {
		t.Errorf("err = %v, want ErrLoginRequired", err)
	}
	if len(a.got()) != 1 {
		t.Errorf("API got %d requests, want 1", len(a.got()))
	}
}

// recorder is a base RoundTripper that answers 200 and records requests.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

func TestTransportPlainHTTP(t *testing.T) {
	tests := []struct {
		url   string
		allow bool
		sent  bool
	}{
		{"http://api.example.com/items", false, false},
		{"http://10.0.0.1/items", false, false},
		{"http://localhost.evil.example/items", false, false},
		{"http://api.example.com/items", true, true},
		{"https://api.example.com/items", false, true},
		{"http://127.0.0.1:8080/items", false, true},
		{"http://[::1]:8080/items", false, true},
		{"http://localhost:8080/items", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			p := newIdP(t, rotating)
			store := keychaintest.New()
			put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
			base := &recorder{}
			c := &http.Client{Transport: &token.Transport{Source: source(store, p), Base: base, AllowInsecureHTTP: tt.allow}}
			resp, err := c.Get(tt.url)
			if tt.sent {
				if err != nil {
					t.Fatalf("err = %v, want the request sent", err)
				}
				resp.Body.Close()
				if len(base.reqs) != 1 || base.reqs[0].Header.Get("Authorization") != "Bearer AT0" {
					t.Errorf("sent %d requests, want 1 with the token", len(base.reqs))
				}
				return
			}
			if !errors.Is(err, token.ErrInsecureHTTP) {
				t.Errorf("err = %v, want ErrInsecureHTTP", err)
			}
			if len(base.reqs) != 0 {
				t.Errorf("a token went over plain http to %s", tt.url)
			}
		})
	}
}

func TestTransportDoesNotModifyCallersRequest(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	base := &recorder{}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.com/", nil)
	resp, err := (&token.Transport{Source: source(store, p), Base: base}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := req.Header.Get("Authorization"); h != "" {
		t.Errorf("caller's request now has Authorization %q", h)
	}
}

// TestTransportKeepsCallersAuthorization: a request that carries its own
// Authorization (even an empty one) is sent as it is: no token is read,
// attached or refreshed, and a 401 is the caller's, not retried.
func TestTransportKeepsCallersAuthorization(t *testing.T) {
	for _, own := range []string{"Basic dXNlcjpwdw==", "Bearer mine", ""} {
		t.Run(own, func(t *testing.T) {
			p := newIdP(t, rotating)
			store := keychaintest.New()
			put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute))) // would need a refresh
			a := newAPI(t, "AT0", "AT1")
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, a.srv.URL, nil)
			req.Header["Authorization"] = []string{own}
			resp, err := transport(source(store, p)).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if calls := a.got(); resp.StatusCode != 401 || len(calls) != 1 || calls[0].Auth != own {
				t.Errorf("status %d, API got %+v; want one request with %q and its 401", resp.StatusCode, calls, own)
			}
			if p.count() != 0 {
				t.Errorf("%d token requests; want none", p.count())
			}
		})
	}
}
