package token_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// proof is a DPoP proof as a server sees it once its signature checked
// out against the key in its header.
type proof struct {
	JKT   string
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	ATH   string `json:"ath"`
	Nonce string `json:"nonce"`
	JTI   string `json:"jti"`
}

func readProof(t testing.TB, raw string) proof {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("proof %q: %v", raw, err)
	}
	jwk := jws.Signatures[0].Protected.JSONWebKey
	if jwk == nil {
		t.Fatal("proof without jwk")
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		t.Fatalf("proof signature: %v", err)
	}
	var p proof
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	sum, _ := jwk.Thumbprint(crypto.SHA256)
	p.JKT = base64.RawURLEncoding.EncodeToString(sum)
	return p
}

// boundCred is cred bound to a new DPoP key, which it returns too.
func boundCred(t testing.TB, access, refresh string, exp time.Time) (*token.Credential, *dpop.Key) {
	t.Helper()
	c := cred(access, refresh, exp)
	c.TokenType = "DPoP"
	k, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetProofKey(k); err != nil {
		t.Fatal(err)
	}
	return c, k
}

// boundSource stores AT0/RT0, bound to a new key and expiring at exp, and
// returns a Source of a profile that asks for DPoP, refreshing at p.
func boundSource(t *testing.T, p *idp, exp time.Time) (*token.Source, *keychaintest.Store, *dpop.Key) {
	t.Helper()
	store := keychaintest.New()
	c, key := boundCred(t, "AT0", "RT0", exp)
	put(t, store, c)
	s := source(store, p)
	s.DPoP = true
	return s, store, key
}

// dpopIdP is a provider that wants a nonce first (RFC 9449 §8), then
// issues DPoP-bound tokens AT<n>/RT<n>; it records each proof.
type dpopIdP struct {
	*idp
	mu     sync.Mutex
	proofs []string
}

func newDPoPIdP(t *testing.T) *dpopIdP {
	d := &dpopIdP{}
	d.idp = newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
		d.mu.Lock()
		d.proofs = append(d.proofs, r.Header.Get("DPoP"))
		d.mu.Unlock()
		w.Header().Set("DPoP-Nonce", "as-nonce")
		if n == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"use_dpop_nonce"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"AT%d","refresh_token":"RT%d","token_type":"DPoP","expires_in":3600}`, n, n)
	})
	return d
}

func TestRefreshBoundCredential(t *testing.T) {
	p := newDPoPIdP(t)
	s, store, key := boundSource(t, p.idp, time.Now().Add(-time.Minute))
	got, err := s.Token(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "AT2" || got.Type() != "DPoP" {
		t.Errorf("got %s of type %s; want AT2 of type DPoP", got.AccessToken, got.Type())
	}
	if len(p.proofs) != 2 {
		t.Fatalf("%d token requests; want 2 (the second with the nonce)", len(p.proofs))
	}
	for i, raw := range p.proofs {
		pr := readProof(t, raw)
		if pr.JKT != key.Thumbprint() || pr.HTM != "POST" || pr.HTU != p.srv.URL+"/token" || pr.ATH != "" || pr.Nonce != []string{"", "as-nonce"}[i] {
			t.Errorf("token request %d: proof %+v", i+1, pr)
		}
	}
	if reqs := p.requests(); reqs[1].Form.Get("refresh_token") != "RT0" {
		t.Errorf("the retry sent refresh token %q", reqs[1].Form.Get("refresh_token"))
	}
	kept := stored(t, store)
	if k, err := kept.ProofKey(); err != nil || k == nil || k.Thumbprint() != key.Thumbprint() {
		t.Errorf("the refreshed credential lost its key: %v", err)
	}
}

// A refresh of a bound credential answered with a bearer token: the
// unbound token is neither used nor stored as if it were bound, the
// rotated refresh token is kept (the provider has retired the old one),
// and the error says to log in again.
func TestRefreshBoundCredentialGetsBearer(t *testing.T) {
	for _, typ := range []string{"Bearer", ""} {
		t.Run("token_type "+typ, func(t *testing.T) {
			p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				v := map[string]any{"access_token": fmt.Sprintf("AT%d", n), "refresh_token": fmt.Sprintf("RT%d", n), "expires_in": 3600}
				if typ != "" {
					v["token_type"] = typ
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(v)
			})
			store := keychaintest.New()
			c, key := boundCred(t, "AT0", "RT0", time.Now().Add(-time.Minute))
			put(t, store, c)
			s := source(store, p)
			s.DPoP = true
			got, err := s.Token(context.Background(), 0)
			if err == nil {
				t.Fatalf("got %s of type %s; want an error", got.AccessToken, got.Type())
			}
			if !isLoginRequired(err) || !errors.Is(err, token.ErrNotBound) {
				t.Errorf("err %v; want a login-required ErrNotBound", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "AT1") || strings.Contains(msg, "RT1") {
				t.Errorf("err %q: not one line, or it quotes a token", msg)
			}
			kept := stored(t, store)
			if kept == nil || kept.RefreshToken != "RT1" {
				t.Fatalf("stored %+v; want the rotated refresh token RT1", kept)
			}
			if kept.AccessToken == "AT1" || kept.Type() != "DPoP" {
				t.Errorf("stored access token %s of type %s; the unbound one must not be stored as bound", kept.AccessToken, kept.Type())
			}
			if k, err := kept.ProofKey(); err != nil || k == nil || k.Thumbprint() != key.Thumbprint() {
				t.Errorf("the credential lost its key: %v", err)
			}
		})
	}
}

func TestLoadDPoPSettingChanged(t *testing.T) {
	store := keychaintest.New()
	bound, _ := boundCred(t, "AT0", "RT0", time.Now().Add(time.Hour))
	for _, tt := range []struct {
		name    string
		c       *token.Credential
		profile bool
		ok      bool
	}{
		{"bound, profile asks for DPoP", bound, true, true},
		{"bearer, profile asks for bearer", cred("AT0", "RT0", time.Now().Add(time.Hour)), false, true},
		{"bound, profile asks for bearer", bound, false, false},
		{"bearer, profile asks for DPoP", cred("AT0", "RT0", time.Now().Add(time.Hour)), true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			put(t, store, tt.c)
			s := offline(store)
			s.DPoP = tt.profile
			_, err := s.Load(context.Background())
			if (err == nil) != tt.ok || (err != nil && !isLoginRequired(err)) {
				t.Errorf("Load: %v; want ok %v or a login-required error", err, tt.ok)
			}
		})
	}
}

// dpopAPI is an API that accepts "DPoP <token>" for the tokens in accept
// with a proof of key, and asks for a nonce once when nonce is set.
type dpopAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	proofs []proof
	auths  []string
	bodies []string
}

func newDPoPAPI(t *testing.T, key func() *dpop.Key, nonce string, answer func(w http.ResponseWriter, auth string) bool, accept ...string) *dpopAPI {
	a := &dpopAPI{}
	ok := map[string]bool{}
	for _, tok := range accept {
		ok["DPoP "+tok] = true
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		pr := readProof(t, r.Header.Get("DPoP"))
		auth := r.Header.Get("Authorization")
		a.mu.Lock()
		a.proofs, a.auths, a.bodies = append(a.proofs, pr), append(a.auths, auth), append(a.bodies, string(b))
		a.mu.Unlock()
		_, tok, _ := strings.Cut(auth, " ")
		switch {
		case pr.JKT != key().Thumbprint() || pr.ATH != dpop.ATH(tok) || pr.HTU != a.srv.URL+r.URL.Path || pr.HTM != r.Method:
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof"`)
			w.WriteHeader(http.StatusUnauthorized)
		case nonce != "" && pr.Nonce != nonce:
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.Header().Set("DPoP-Nonce", nonce)
			w.WriteHeader(http.StatusUnauthorized)
		case answer != nil && answer(w, auth):
		case !ok[auth]:
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func TestTransportBoundToken(t *testing.T) {
	p := newDPoPIdP(t)
	s, _, key := boundSource(t, p.idp, time.Now().Add(time.Hour))
	// AT0 is refused: one refresh, and the retry goes with a new proof
	// for AT2; the API's nonce costs one retry, and no refresh.
	a := newDPoPAPI(t, func() *dpop.Key { return key }, "rs-nonce", nil, "AT2")
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/items?x=1", strings.NewReader("body"))
	resp, err := (&http.Client{Transport: &token.Transport{Source: s}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d; API got %v", resp.StatusCode, a.auths)
	}
	want := []string{"DPoP AT0", "DPoP AT0", "DPoP AT2"}
	if strings.Join(a.auths, ",") != strings.Join(want, ",") {
		t.Errorf("API got %v; want %v (nonce retry, then a refresh)", a.auths, want)
	}
	seen := map[string]bool{}
	for i, pr := range a.proofs {
		if seen[pr.JTI] {
			t.Errorf("request %d reuses a jti", i+1)
		}
		seen[pr.JTI] = true
		if a.bodies[i] != "body" {
			t.Errorf("request %d had body %q", i+1, a.bodies[i])
		}
	}
	if a.proofs[0].Nonce != "" || a.proofs[1].Nonce != "rs-nonce" || a.proofs[2].Nonce != "rs-nonce" {
		t.Errorf("nonces %q %q %q; want none, then the API's", a.proofs[0].Nonce, a.proofs[1].Nonce, a.proofs[2].Nonce)
	}
	if p.count() != 2 {
		t.Errorf("%d token requests; want one refresh (two with the provider's nonce)", p.count())
	}
}

// An API that answers every proof with a new nonce: one retry with the
// nonce, then its 401 is the caller's. A nonce challenge never costs a
// refresh (with rotating refresh tokens, each would churn the grant).
func TestTransportNonceChallengeAgain(t *testing.T) {
	p := newDPoPIdP(t)
	s, store, key := boundSource(t, p.idp, time.Now().Add(time.Hour))
	var mu sync.Mutex
	var nonces []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr := readProof(t, r.Header.Get("DPoP"))
		mu.Lock()
		nonces = append(nonces, pr.Nonce)
		n := len(nonces)
		mu.Unlock()
		if pr.JKT != key.Thumbprint() || r.Header.Get("Authorization") != "DPoP AT0" {
			t.Errorf("request %d: proof %+v, Authorization %q", n, pr, r.Header.Get("Authorization"))
		}
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
		w.Header().Set("DPoP-Nonce", fmt.Sprintf("nonce-%d", n))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	resp, err := (&http.Client{Transport: &token.Transport{Source: s}}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d; want the API's 401", resp.StatusCode)
	}
	if strings.Join(nonces, ",") != ",nonce-1" {
		t.Errorf("the API got nonces %q; want one request without, one retry with nonce-1", nonces)
	}
	if p.count() != 0 {
		t.Errorf("%d token requests; a nonce challenge must not cause a refresh", p.count())
	}
	if got := stored(t, store); got.AccessToken != "AT0" || got.RefreshToken != "RT0" {
		t.Errorf("the credential changed: %s/%s", got.AccessToken, got.RefreshToken)
	}
}

func TestTransportDPoPTokenWithoutKey(t *testing.T) {
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(time.Hour))
	c.TokenType = "DPoP"
	put(t, store, c)
	a := newAPI(t, "AT0")
	_, err := transport(offline(store)).Get(a.srv.URL)
	if !isLoginRequired(err) {
		t.Errorf("err %v; want login required", err)
	}
	if len(a.got()) != 0 {
		t.Error("a DPoP token went out without a proof")
	}
}

func stepUpAnswer(w http.ResponseWriter, scheme string) {
	w.Header().Set("WWW-Authenticate", scheme+` error="insufficient_user_authentication", error_description="MFA \"please\"", acr_values="urn:example:mfa urn:example:hwk", max_age="300"`)
	w.WriteHeader(http.StatusUnauthorized)
}

func TestTransportStepUpWithoutHook(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	a := newAPI(t)
	a.onRequest = func(string) {}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stepUpAnswer(w, "Bearer") }))
	defer srv.Close()
	_, err := transport(source(store, p)).Get(srv.URL)
	var su *token.StepUpError
	if !errors.As(err, &su) {
		t.Fatalf("err %v; want a *StepUpError", err)
	}
	if strings.Join(su.ACRValues, " ") != "urn:example:mfa urn:example:hwk" || !su.MaxAgeSet || su.MaxAge != 5*time.Minute || su.Description != `MFA "please"` {
		t.Errorf("step-up %+v", su)
	}
	if p.count() != 0 {
		t.Errorf("%d refreshes; a refresh cannot raise the authentication level", p.count())
	}
	if stored(t, store).AccessToken != "AT0" {
		t.Error("the credential changed")
	}
}

func TestTransportStepUpHook(t *testing.T) {
	store := keychaintest.New()
	c, key := boundCred(t, "AT0", "RT0", time.Now().Add(time.Hour))
	put(t, store, c)
	s := offline(store)
	s.DPoP = true
	current := key
	var logins []*token.StepUpError
	hook := func(_ context.Context, e *token.StepUpError) error {
		logins = append(logins, e)
		// The login: a new credential, bound to a new key.
		nc, nk := boundCred(t, "AT-strong", "RT-strong", time.Now().Add(time.Hour))
		current = nk
		put(t, store, nc)
		return nil
	}
	strong := func(w http.ResponseWriter, auth string) bool {
		if auth == "DPoP AT-strong" {
			return false
		}
		stepUpAnswer(w, "DPoP")
		return true
	}
	a := newDPoPAPI(t, func() *dpop.Key { return current }, "", strong, "AT-strong")
	req, _ := http.NewRequest(http.MethodPut, a.srv.URL+"/items", strings.NewReader("v"))
	resp, err := (&http.Client{Transport: &token.Transport{Source: s, StepUp: hook}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(logins) != 1 || strings.Join(a.auths, ",") != "DPoP AT0,DPoP AT-strong" || a.bodies[1] != "v" {
		t.Errorf("status %d after %d logins; API got %v %q", resp.StatusCode, len(logins), a.auths, a.bodies)
	}

	// An API that still asks after the login: one login, then the error.
	logins = nil
	never := func(w http.ResponseWriter, _ string) bool { stepUpAnswer(w, "DPoP"); return true }
	b := newDPoPAPI(t, func() *dpop.Key { return current }, "", never)
	_, err = (&http.Client{Transport: &token.Transport{Source: s, StepUp: hook}}).Get(b.srv.URL)
	var su *token.StepUpError
	if !errors.As(err, &su) || len(logins) != 1 {
		t.Errorf("err %v after %d logins; want a *StepUpError after one", err, len(logins))
	}
}

func TestTransportStepUpLoginFails(t *testing.T) {
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stepUpAnswer(w, "Bearer") }))
	defer srv.Close()
	failed := errors.New("login failed: the browser closed")
	tr := &token.Transport{Source: offline(store), StepUp: func(context.Context, *token.StepUpError) error { return failed }}
	if _, err := (&http.Client{Transport: tr}).Get(srv.URL); !errors.Is(err, failed) {
		t.Errorf("err %v; want the login's", err)
	}
}

func TestStepUpFrom(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header string
		want   *token.StepUpError
	}{
		{"rfc 9470 acr", 401, `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`,
			&token.StepUpError{ACRValues: []string{"myACR"}, Description: "A different authentication level is required"}},
		{"rfc 9470 max_age", 401, `Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`,
			&token.StepUpError{MaxAge: 5 * time.Second, MaxAgeSet: true, Description: "More recent authentication is required"}},
		{"max_age 0", 401, `DPoP error="insufficient_user_authentication", max_age=0`, &token.StepUpError{MaxAgeSet: true}},
		{"after another challenge", 401, `Basic realm="x", Bearer error="insufficient_user_authentication"`, &token.StepUpError{}},
		{"values unfit for a command line are dropped", 401, `Bearer error="insufficient_user_authentication", acr_values="ok:1 a,b $(id) x\"y", max_age="-3"`,
			&token.StepUpError{ACRValues: []string{"ok:1", "$(id)"}}},
		{"max_age not a number", 401, `Bearer error="insufficient_user_authentication", max_age="5m"`, &token.StepUpError{}},
		{"another error", 401, `Bearer error="invalid_token"`, nil},
		{"not a 401", 403, `Bearer error="insufficient_user_authentication"`, nil},
		{"no challenge", 401, ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("WWW-Authenticate", tt.header)
			}
			got := token.StepUpFrom(resp)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StepUpFrom = %#v; want %#v", got, tt.want)
			}
		})
	}
}

// offline is a Source of the test profile with no provider to ask.
func offline(store *keychaintest.Store) *token.Source {
	return &token.Source{Store: store, Account: account, Issuer: issuer, ClientID: clientID}
}
