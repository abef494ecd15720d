package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

// The profile every test uses. The issuer is only compared, never
// contacted: the token endpoint comes from Source.Provider.
const (
	account  = "default"
	issuer   = "https://idp.example"
	clientID = "authctl-cli"
)

// request is one request the fake provider received.
type request struct {
	Path string
	Form url.Values
	Auth string // the Authorization header
}

// idp is an httptest provider that records every request and answers
// with answer (n counts requests from 1). It stands in for the real
// provider where a test needs a fault the real one cannot be made to show.
type idp struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(w http.ResponseWriter, r *http.Request, n int)
}

func newIdP(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int)) *idp {
	p := &idp{answer: answer}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, request{Path: r.URL.Path, Form: r.PostForm, Auth: r.Header.Get("Authorization")})
		n := len(p.reqs)
		p.mu.Unlock()
		p.answer(w, r, n)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) requests() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]request(nil), p.reqs...)
}

func (p *idp) count() int { return len(p.requests()) }

// grant answers a token request with a JSON token response. An empty
// refresh token is left out, as providers that do not rotate do.
func grant(w http.ResponseWriter, access, refresh string, expiresIn int) {
	v := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": expiresIn}
	if refresh != "" {
		v["refresh_token"] = refresh
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError answers with an OAuth error response. The body also echoes
// the refresh token it was sent (in a field of its own, as a careless
// provider's debug output might), so tests can check that no error message
// repeats a response body. The error_description is shown to users.
func oauthError(w http.ResponseWriter, r *http.Request, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":"try later","debug_request":"refresh_token=%s"}`, code, r.PostForm.Get("refresh_token"))
}

// rotating answers every refresh with access token AT<n> and refresh
// token RT<n>, valid for an hour.
func rotating(w http.ResponseWriter, _ *http.Request, n int) {
	grant(w, fmt.Sprintf("AT%d", n), fmt.Sprintf("RT%d", n), 3600)
}

// source returns a Source for the test profile whose token endpoint is
// p's /token.
func source(store keychain.Store, p *idp) *token.Source {
	return &token.Source{
		Store:    store,
		Account:  account,
		Issuer:   issuer,
		ClientID: clientID,
		Provider: func(context.Context) (*provider.Metadata, error) {
			return &provider.Metadata{TokenEndpoint: p.srv.URL + "/token"}, nil
		},
		HTTPClient: p.srv.Client(),
	}
}

// cred returns a credential of the test profile whose access token
// expires at exp.
func cred(access, refresh string, exp time.Time) *token.Credential {
	return &token.Credential{
		Version: token.CredentialVersion, Issuer: issuer, ClientID: clientID,
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", Expiry: exp,
	}
}

func put(t testing.TB, store keychain.Store, c *token.Credential) {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Set(context.Background(), account, b); err != nil {
		t.Fatal(err)
	}
}

// stored returns the credential in store, or nil when there is none.
func stored(t testing.TB, store *keychaintest.Store) *token.Credential {
	t.Helper()
	b, ok := store.Items()[account]
	if !ok {
		return nil
	}
	c, err := token.Decode(b)
	if err != nil {
		t.Fatalf("stored credential: %v", err)
	}
	return c
}

func isLoginRequired(err error) bool { return errors.Is(err, token.ErrLoginRequired) }

// endpointAt is the revocation Endpoint that is always url.
func endpointAt(url string) token.Endpoint {
	return func(context.Context) (string, error) { return url, nil }
}
