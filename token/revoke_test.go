package token_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/provider"
)

func TestLogoutRevokesRefreshThenAccessThenDeletes(t *testing.T) {
	store := keychaintest.New()
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if stored(t, store) == nil {
			t.Error("credential deleted before revocation finished")
		}
		w.WriteHeader(http.StatusOK)
	})
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	res, err := source(store, p).Logout(context.Background(), endpointAt(p.srv.URL+"/revoke"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Revoked || res.Err != nil {
		t.Errorf("result = %+v, want Revoked and no error", res)
	}
	reqs := p.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d revocation requests, want 2", len(reqs))
	}
	want := []struct{ tok, hint string }{{"RT0", "refresh_token"}, {"AT0", "access_token"}}
	for i, w := range want {
		f := reqs[i].Form
		if reqs[i].Path != "/revoke" || f.Get("token") != w.tok || f.Get("token_type_hint") != w.hint || f.Get("client_id") != clientID {
			t.Errorf("request %d = %s %v, want token=%s token_type_hint=%s client_id=%s", i, reqs[i].Path, f, w.tok, w.hint, clientID)
		}
	}
	if stored(t, store) != nil {
		t.Error("credential still stored after logout")
	}
}

func TestLogoutRevocationFailureStillDeletes(t *testing.T) {
	tests := []struct {
		name string
		down bool
	}{{"500", false}, {"connection refused", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				oauthError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			})
			endpoint := p.srv.URL + "/revoke"
			if tt.down {
				p.srv.Close()
			}
			store := keychaintest.New()
			put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
			res, err := source(store, p).Logout(context.Background(), endpointAt(endpoint))
			if err != nil {
				t.Fatalf("Logout: %v", err)
			}
			if res.Revoked || res.Err == nil {
				t.Errorf("result = %+v, want not revoked with the error set", res)
			}
			if res.Err != nil && (strings.Contains(res.Err.Error(), "RT0") || strings.Contains(res.Err.Error(), "AT0")) {
				t.Errorf("revocation error shows a token: %v", res.Err)
			}
			if stored(t, store) != nil {
				t.Error("credential kept after a failed revocation; logout must delete it")
			}
		})
	}
}

func TestLogoutNeverShowsTokenToAnotherIssuer(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(time.Hour))
	c.Issuer = "https://previous-idp.example"
	put(t, store, c)
	res, err := source(store, p).Logout(context.Background(), endpointAt(p.srv.URL+"/revoke"))
	if err != nil {
		t.Fatal(err)
	}
	if n := p.count(); n != 0 {
		t.Errorf("%d revocation requests carried another issuer's tokens, want 0", n)
	}
	if res.Revoked || res.Err == nil {
		t.Errorf("result = %+v, want not revoked, with a reason", res)
	}
	if stored(t, store) != nil {
		t.Error("credential kept")
	}
}

func TestLogoutWithoutEndpointOrCredential(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })

	t.Run("nothing stored", func(t *testing.T) {
		store := keychaintest.New()
		for range 2 {
			res, err := source(store, p).Logout(context.Background(), endpointAt(p.srv.URL+"/revoke"))
			if err != nil || res.Err != nil || res.Revoked {
				t.Errorf("Logout = %+v, %v; want ok with nothing revoked", res, err)
			}
		}
		if n := p.count(); n != 0 {
			t.Errorf("%d requests with nothing stored", n)
		}
	})
	t.Run("no revocation endpoint", func(t *testing.T) {
		store := keychaintest.New()
		put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
		res, err := source(store, p).Logout(context.Background(), nil)
		if err != nil || res.Revoked {
			t.Errorf("Logout = %+v, %v; want ok, not revoked", res, err)
		}
		if stored(t, store) != nil {
			t.Error("credential kept")
		}
	})
	t.Run("undecodable credential is deleted", func(t *testing.T) {
		store := keychaintest.New()
		if err := store.Set(context.Background(), account, []byte("{garbage")); err != nil {
			t.Fatal(err)
		}
		if _, err := source(store, p).Logout(context.Background(), endpointAt(p.srv.URL+"/revoke")); err != nil {
			t.Fatal(err)
		}
		if _, ok := store.Items()[account]; ok {
			t.Error("damaged credential kept")
		}
	})
	if n := p.count(); n != 0 {
		t.Errorf("%d revocation requests, want 0", n)
	}
}

// TestLogoutRevokesWithClientSecret: a client with a secret authenticates
// at the revocation endpoint as at the token endpoint: in the form body, or
// in a Basic header (form-encoded first) when the token endpoint takes it
// there.
func TestLogoutRevokesWithClientSecret(t *testing.T) {
	for _, tt := range []struct {
		name    string
		methods []string // token_endpoint_auth_methods_supported
		check   func(r request) bool
		want    string
	}{
		{"form body", []string{"client_secret_post"}, func(r request) bool {
			return r.Form.Get("client_secret") == "s3cr:t" && r.Form.Get("client_id") == clientID && r.Auth == ""
		}, "client_id and client_secret in the form only"},
		{"Basic header", []string{"client_secret_basic"}, func(r request) bool {
			return r.Auth == "Basic "+base64.StdEncoding.EncodeToString([]byte(clientID+":s3cr%3At")) && !r.Form.Has("client_secret")
		}, "Basic " + clientID + ":s3cr%3At and no secret in the form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := keychaintest.New()
			p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
			c := cred("AT0", "RT0", time.Now().Add(time.Hour))
			c.ClientSecret = "s3cr:t"
			put(t, store, c)
			s := source(store, p)
			s.Provider = func(context.Context) (*provider.Metadata, error) {
				return &provider.Metadata{TokenEndpoint: p.srv.URL + "/token", TokenEndpointAuthMethods: tt.methods}, nil
			}
			if _, err := s.Logout(context.Background(), endpointAt(p.srv.URL+"/revoke")); err != nil {
				t.Fatal(err)
			}
			reqs := p.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d revocation requests, want 2", len(reqs))
			}
			for i, r := range reqs {
				if !tt.check(r) {
					t.Errorf("request %d: Authorization %q, form %v; want %s", i, r.Auth, r.Form, tt.want)
				}
			}
		})
	}
}

// TestLogoutIfRevoked: a logout that must revoke keeps the credential
// whenever its tokens could not all be revoked, so that a later logout can
// still revoke them, and deletes it once they are.
func TestLogoutIfRevoked(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	})
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))

	res, err := source(store, p).LogoutIfRevoked(context.Background(), endpointAt(p.srv.URL+"/revoke"))
	if err != nil || !res.Found || res.Revoked || !res.Kept || res.Err == nil {
		t.Errorf("provider failing: %+v, %v; want found, kept, not revoked, with its error", res, err)
	}
	res, err = source(store, p).LogoutIfRevoked(context.Background(), nil)
	if err != nil || !res.Kept || res.Err == nil || !strings.Contains(res.Err.Error(), "no revocation endpoint") {
		t.Errorf("no endpoint: %+v, %v; want kept, saying there is no endpoint", res, err)
	}
	if stored(t, store) == nil {
		t.Fatal("credential deleted though its tokens were not revoked")
	}

	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	res, err = source(store, p).LogoutIfRevoked(context.Background(), endpointAt(p.srv.URL+"/revoke"))
	if err != nil || !res.Found || !res.Revoked || res.Kept {
		t.Errorf("provider answering: %+v, %v; want revoked, not kept", res, err)
	}
	if stored(t, store) != nil {
		t.Error("credential kept after its tokens were revoked")
	}
	res, err = source(store, p).LogoutIfRevoked(context.Background(), endpointAt(p.srv.URL+"/revoke"))
	if err != nil || res.Found || res.Kept {
		t.Errorf("nothing stored: %+v, %v; want not found, nothing kept", res, err)
	}
}

// TestLogoutReadsTheKeychainOnceAndAsksForTheEndpointOnlyWhenLoggedIn:
// every keychain read may show a prompt (macOS), and finding the
// revocation endpoint may cost a discovery request, so a logout reads the
// credential once and looks for the endpoint only when there is one.
func TestLogoutReadsTheKeychainOnceAndAsksForTheEndpointOnlyWhenLoggedIn(t *testing.T) {
	for _, loggedIn := range []bool{true, false} {
		store := keychaintest.New()
		p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
		if loggedIn {
			put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
		}
		asked := 0
		endpoint := func(context.Context) (string, error) { asked++; return p.srv.URL + "/revoke", nil }
		res, err := source(store, p).Logout(context.Background(), endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if res.Found != loggedIn || res.Revoked != loggedIn {
			t.Errorf("logged in %v: result = %+v", loggedIn, res)
		}
		if want := map[bool]int{true: 1, false: 0}[loggedIn]; asked != want {
			t.Errorf("logged in %v: the endpoint was looked for %d times, want %d", loggedIn, asked, want)
		}
		gets := 0
		for _, c := range store.Calls() {
			if c.Op == keychaintest.OpGet {
				gets++
			}
		}
		if gets != 1 {
			t.Errorf("logged in %v: the keychain was read %d times, want once: %v", loggedIn, gets, store.Calls())
		}
	}
}

// TestLogoutSaysWhyThereWasNoEndpoint: when the endpoint cannot be found
// (the provider is down), Logout deletes the credential and says why
// nothing was revoked; LogoutIfRevoked keeps it.
func TestLogoutSaysWhyThereWasNoEndpoint(t *testing.T) {
	down := errors.New("cannot reach the provider: connection refused")
	endpoint := func(context.Context) (string, error) { return "", down }
	for _, require := range []bool{false, true} {
		store := keychaintest.New()
		p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusOK) })
		put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
		logout := source(store, p).Logout
		if require {
			logout = source(store, p).LogoutIfRevoked
		}
		res, err := logout(context.Background(), endpoint)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || res.Revoked || !errors.Is(res.Err, down) || res.Kept != require {
			t.Errorf("require %v: result = %+v", require, res)
		}
		if kept := stored(t, store) != nil; kept != require {
			t.Errorf("require %v: credential kept = %v", require, kept)
		}
		if n := len(p.requests()); n != 0 {
			t.Errorf("require %v: %d requests to the provider, want none", require, n)
		}
	}
}
