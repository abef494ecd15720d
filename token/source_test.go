package token_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

func TestTokenCachedMakesNoRequest(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	before := len(store.Calls())

	c, err := source(store, p).Token(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessToken != "AT0" {
		t.Errorf("access token = %q, want the cached AT0", c.AccessToken)
	}
	if n := p.count(); n != 0 {
		t.Errorf("%d requests to the provider, want 0", n)
	}
	calls := store.Calls()[before:]
	if len(calls) != 1 || calls[0].Op != keychaintest.OpGet {
		t.Errorf("keychain calls = %v, want exactly one get", calls)
	}
}

func TestTokenRefreshThreshold(t *testing.T) {
	tests := []struct {
		name    string
		left    time.Duration
		minTTL  time.Duration
		refresh bool
	}{
		{"an hour left", time.Hour, 0, false},
		{"20s left: under the 30s floor", 20 * time.Second, 0, true},
		{"20s left, --min-ttl 10s: the floor still applies", 20 * time.Second, 10 * time.Second, true},
		{"45s left", 45 * time.Second, 0, false},
		{"4m left, --min-ttl 5m", 4 * time.Minute, 5 * time.Minute, true},
		{"6m left, --min-ttl 5m", 6 * time.Minute, 5 * time.Minute, false},
		{"expired", -time.Second, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t, rotating)
			store := keychaintest.New()
			now := time.Now()
			put(t, store, cred("AT0", "RT0", now.Add(tt.left)))
			s := source(store, p)
			s.Now = func() time.Time { return now }
			c, err := s.Token(context.Background(), tt.minTTL)
			if err != nil {
				t.Fatal(err)
			}
			refreshed := p.count() == 1 && c.AccessToken == "AT1"
			if refreshed != tt.refresh || p.count() > 1 {
				t.Errorf("requests = %d, token %q; want refresh = %v", p.count(), c.AccessToken, tt.refresh)
			}
		})
	}
}

func TestTokenRefreshesAndSavesRotatedToken(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	var offset atomic.Int64
	s := source(store, p)
	s.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }

	start := time.Now()
	c, err := s.Token(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessToken != "AT1" {
		t.Errorf("access token = %q, want AT1", c.AccessToken)
	}
	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	f := reqs[0].Form
	if f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "RT0" || f.Get("client_id") != clientID {
		t.Errorf("refresh form = %v, want grant_type=refresh_token, refresh_token=RT0, client_id=%s", f, clientID)
	}
	if reqs[0].Auth != "" {
		t.Errorf("Authorization header %q sent: a public client sends client_id in the body only", reqs[0].Auth)
	}
	// Saved before Token returned.
	got := stored(t, store)
	if got == nil || got.RefreshToken != "RT1" || got.AccessToken != "AT1" {
		t.Fatalf("stored after refresh = %+v, want RT1/AT1", got)
	}
	if got.Issuer != issuer || got.ClientID != clientID {
		t.Errorf("stored issuer/client = %s/%s, want %s/%s", got.Issuer, got.ClientID, issuer, clientID)
	}
	if exp := got.Expiry.Sub(start); exp < 3599*time.Second || exp > 3660*time.Second {
		t.Errorf("stored expiry is %s after the request, want about 1h (expires_in 3600)", exp)
	}

	// Two hours later the next refresh uses the rotated token.
	offset.Store(int64(2 * time.Hour))
	if c, err = s.Token(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	reqs = p.requests()
	if len(reqs) != 2 || reqs[1].Form.Get("refresh_token") != "RT1" || c.AccessToken != "AT2" {
		t.Errorf("second refresh: %d requests, sent %q, got %q; want 2, RT1, AT2", len(reqs), reqs[len(reqs)-1].Form.Get("refresh_token"), c.AccessToken)
	}
}

func TestTokenKeepsRefreshTokenWhenNotRotated(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) { grant(w, "AT1", "", 3600) })
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	if _, err := source(store, p).Token(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, store); got == nil || got.RefreshToken != "RT0" || got.AccessToken != "AT1" {
		t.Errorf("stored = %+v, want the old RT0 with the new AT1", got)
	}
}

func TestTokenInvalidGrantDeletesCredential(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	_, err := source(store, p).Token(context.Background(), 0)
	if !isLoginRequired(err) {
		t.Fatalf("err = %v, want one matching ErrLoginRequired", err)
	}
	if n := p.count(); n != 1 {
		t.Errorf("%d requests, want exactly 1 (a replay reuses the refresh token)", n)
	}
	if got := stored(t, store); got != nil {
		t.Errorf("credential still stored after invalid_grant: %+v", got)
	}
	if strings.Contains(err.Error(), "RT0") {
		t.Errorf("error shows the refresh token: %v", err)
	}
}

func TestTokenInvalidGrantAfterReplacementKeepsNewCredential(t *testing.T) {
	store := keychaintest.New()
	// While the request is under way another tool (or a login) stores a
	// new credential; then the provider rejects the old refresh token.
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		put(t, store, cred("AT-login", "RT-login", time.Now().Add(time.Hour)))
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	c, err := source(store, p).Token(context.Background(), 0)
	if err != nil {
		t.Fatalf("err = %v, want the replaced credential", err)
	}
	if c.AccessToken != "AT-login" {
		t.Errorf("access token = %q, want AT-login", c.AccessToken)
	}
	if got := stored(t, store); got == nil || got.RefreshToken != "RT-login" {
		t.Errorf("stored = %+v, want the new credential kept", got)
	}
	if n := p.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestTokenTransientFailuresKeepCredential(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, r *http.Request, n int)
		timeout time.Duration
		refused bool
	}{
		{name: "500", answer: func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Error(w, "internal error for "+r.PostForm.Get("refresh_token"), http.StatusInternalServerError)
		}},
		{name: "503 temporarily_unavailable", answer: func(w http.ResponseWriter, r *http.Request, _ int) {
			oauthError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		}},
		{name: "400 temporarily_unavailable", answer: func(w http.ResponseWriter, r *http.Request, _ int) {
			oauthError(w, r, http.StatusBadRequest, "temporarily_unavailable")
		}},
		{name: "garbled JSON", answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"AT1","refresh_token":"RT1`))
		}},
		{name: "200 without an access token", answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"token_type":"Bearer"}`))
		}},
		{name: "HTML error page", answer: func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html>bad gateway</html>"))
		}},
		{name: "timeout", timeout: 200 * time.Millisecond, answer: func(w http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}},
		{name: "connection refused", refused: true, answer: rotating},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t, tt.answer)
			store := keychaintest.New()
			put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
			before := store.Items()[account]
			s := source(store, p)
			if tt.timeout > 0 {
				s.HTTPClient = &http.Client{Timeout: tt.timeout}
			}
			if tt.refused {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				p.srv.URL = "http://" + addr
			}
			start := time.Now()
			_, err := s.Token(context.Background(), 0)
			if err == nil {
				t.Fatal("Token succeeded, want an error")
			}
			if isLoginRequired(err) {
				t.Errorf("err = %v matches ErrLoginRequired; a transient failure must not ask for a login", err)
			}
			if after := store.Items()[account]; !bytes.Equal(before, after) {
				t.Errorf("credential changed:\nbefore %s\nafter  %s", before, after)
			}
			if strings.Contains(err.Error(), "RT0") {
				t.Errorf("error shows the refresh token: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			if !tt.refused && p.count() != 1 {
				t.Errorf("%d requests, want 1", p.count())
			}
		})
	}
}

func TestTokenSaveFailureAfterRefresh(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	store.SetHook(func(op keychaintest.Op, _ string) error {
		if op == keychaintest.OpSet {
			return errors.New("keychaintest: injected: " + keychain.ErrUnavailable.Error())
		}
		return nil
	})
	_, err := source(store, p).Token(context.Background(), 0)
	var se *token.SaveError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *token.SaveError", err)
	}
	if isLoginRequired(err) {
		t.Errorf("a save failure matches ErrLoginRequired: %v", err)
	}
	msg := err.Error()
	for _, secret := range []string{"AT1", "RT1", "RT0"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error shows token %s: %s", secret, msg)
		}
	}
	for _, want := range []string{"new refresh token", "saving it failed", "log in again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}

func TestTokenLoginRequired(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T, s *keychaintest.Store)
	}{
		{"nothing stored", func(*testing.T, *keychaintest.Store) {}},
		{"another issuer", func(t *testing.T, s *keychaintest.Store) {
			c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
			c.Issuer = "https://evil.example"
			put(t, s, c)
		}},
		{"another client", func(t *testing.T, s *keychaintest.Store) {
			c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
			c.ClientID = "other-client"
			put(t, s, c)
		}},
		{"another client, token still fresh", func(t *testing.T, s *keychaintest.Store) {
			c := cred("AT0", "RT0", time.Now().Add(time.Hour))
			c.ClientID = "other-client"
			put(t, s, c)
		}},
		{"no refresh token and expired", func(t *testing.T, s *keychaintest.Store) {
			put(t, s, cred("AT0", "", time.Now().Add(-time.Minute)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t, rotating)
			store := keychaintest.New()
			tt.store(t, store)
			c, err := source(store, p).Token(context.Background(), 0)
			if !isLoginRequired(err) {
				t.Fatalf("Token = %+v, %v; want an error matching ErrLoginRequired", c, err)
			}
			if n := p.count(); n != 0 {
				t.Errorf("%d requests to the provider, want 0", n)
			}
		})
	}
}

func TestTokenIssuerTrailingSlashIsSameIssuer(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(time.Hour))
	c.Issuer = issuer + "/"
	put(t, store, c)
	if _, err := source(store, p).Token(context.Background(), 0); err != nil {
		t.Errorf("credential for %s/ refused for profile issuer %s: %v", issuer, issuer, err)
	}
}

func TestTokenUnknownVersion(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	raw := []byte(`{"version":2,"issuer":"` + issuer + `","client_id":"` + clientID + `","refresh_token":"RT0"}`)
	if err := store.Set(context.Background(), account, raw); err != nil {
		t.Fatal(err)
	}
	_, err := source(store, p).Token(context.Background(), 0)
	if err == nil || isLoginRequired(err) {
		t.Fatalf("err = %v, want a plain error for an unknown version", err)
	}
	if !strings.Contains(err.Error(), "version 2") {
		t.Errorf("error %q does not name the version", err)
	}
	if p.count() != 0 || !bytes.Equal(store.Items()[account], raw) {
		t.Errorf("requests = %d, stored = %s; want no request and the credential untouched", p.count(), store.Items()[account])
	}
}

func TestTokenKeychainErrorIsNotLoginRequired(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New(keychaintest.Err(keychain.ErrLocked))
	_, err := source(store, p).Token(context.Background(), 0)
	if err == nil || isLoginRequired(err) || !errors.Is(err, keychain.ErrLocked) {
		t.Errorf("err = %v, want one matching keychain.ErrLocked and not ErrLoginRequired", err)
	}
}

// slowRotating answers like rotating after a pause, so that concurrent
// callers overlap with the request.
func slowRotating(d time.Duration) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		time.Sleep(d)
		rotating(w, r, n)
	}
}

func TestTokenSingleFlightInProcess(t *testing.T) {
	p := newIdP(t, slowRotating(100*time.Millisecond))
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	s := source(store, p)

	const n = 50
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := s.Token(context.Background(), 0)
			errs[i] = err
			if err == nil {
				got[i] = c.AccessToken
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != "AT1" {
			t.Errorf("caller %d: %q, %v; want AT1", i, got[i], errs[i])
		}
	}
	if c := p.count(); c != 1 {
		t.Errorf("%d refresh requests from %d callers, want 1", c, n)
	}
}

func TestTokenSingleFlightAcrossSources(t *testing.T) {
	// Two Sources stand for two processes: they share only the keychain
	// and the lock directory.
	p := newIdP(t, slowRotating(100*time.Millisecond))
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	dir := t.TempDir()
	sources := []*token.Source{source(store, p), source(store, p)}
	for _, s := range sources {
		s.Lock = token.FileLocker{Dir: dir, Poll: time.Millisecond}
	}

	const n = 20
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := sources[i%2].Token(context.Background(), 0)
			errs[i] = err
			if err == nil {
				got[i] = c.AccessToken
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != "AT1" {
			t.Errorf("caller %d: %q, %v; want AT1", i, got[i], errs[i])
		}
	}
	if c := p.count(); c != 1 {
		t.Errorf("%d refresh requests from two processes, want 1", c)
	}
	if got := stored(t, store); got == nil || got.RefreshToken != "RT1" {
		t.Errorf("stored = %+v, want RT1", got)
	}
}

// TestTokenInvalidGrantForTheReplacementToo: the credential that replaced
// the rejected one is expired and its refresh token is rejected as well:
// that one is dead too, so it is deleted and a login is required.
func TestTokenInvalidGrantForTheReplacementToo(t *testing.T) {
	store := keychaintest.New()
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			put(t, store, cred("AT-other", "RT-other", time.Now().Add(-time.Minute)))
		}
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	_, err := source(store, p).Token(context.Background(), 0)
	if !isLoginRequired(err) {
		t.Fatalf("err = %v, want login required", err)
	}
	if got := stored(t, store); got != nil {
		t.Errorf("stored = %+v, want the dead replacement deleted", got)
	}
	if n := p.count(); n != 2 {
		t.Errorf("%d requests, want 2 (the first token, then its replacement)", n)
	}
}

func TestTokenRefreshSendsClientSecret(t *testing.T) {
	for _, tt := range []struct {
		name    string
		methods []string // token_endpoint_auth_methods_supported
		basic   bool
	}{
		{"in the body when post is listed", []string{"client_secret_post", "client_secret_basic"}, false},
		{"in a Basic header when only basic is listed", []string{"client_secret_basic"}, true},
		{"in a Basic header when nothing is listed", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t, rotating)
			store := keychaintest.New()
			c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
			c.ClientSecret = "s3cr3t"
			put(t, store, c)
			s := source(store, p)
			s.Provider = func(context.Context) (*provider.Metadata, error) {
				return &provider.Metadata{TokenEndpoint: p.srv.URL + "/token", TokenEndpointAuthMethods: tt.methods}, nil
			}
			if _, err := s.Token(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
			reqs := p.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			f, auth := reqs[0].Form, reqs[0].Auth
			if tt.basic {
				if f.Has("client_secret") || !strings.HasPrefix(auth, "Basic ") {
					t.Errorf("form %v, Authorization %q: want the secret in a Basic header only", f, auth)
				}
			} else if f.Get("client_secret") != "s3cr3t" || f.Get("client_id") != clientID || auth != "" {
				t.Errorf("form %v, Authorization %q: want client_id and client_secret in the body only", f, auth)
			}
			// The secret stays with the refreshed credential.
			if got := stored(t, store); got == nil || got.ClientSecret != "s3cr3t" || got.RefreshToken != "RT1" {
				t.Errorf("stored after refresh = %+v, want RT1 with the client secret kept", got)
			}
		})
	}
}

func TestTokenPublicClientNeverUsesBasicHeader(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	s := source(store, p)
	s.Provider = func(context.Context) (*provider.Metadata, error) {
		return &provider.Metadata{TokenEndpoint: p.srv.URL + "/token", TokenEndpointAuthMethods: []string{"client_secret_basic"}}, nil
	}
	if _, err := s.Token(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if r := p.requests()[0]; r.Auth != "" || r.Form.Get("client_id") != clientID {
		t.Errorf("form %v, Authorization %q: a client without a secret sends client_id in the body", r.Form, r.Auth)
	}
}
