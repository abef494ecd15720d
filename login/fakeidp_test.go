package login

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
)

// fakeIdP is a token endpoint, a device endpoint and a JWKS, with knobs for
// the faults a real provider cannot be made to show. The authorization
// endpoint is played by the fake browser (see fakeIdP.browser).
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey // published in the JWKS
	rogue  *rsa.PrivateKey // not published
	issuer string

	mu        sync.Mutex
	codes     map[string]grant // code → what the authorization request asked
	exchanges int

	// Faults.
	signWithRogue bool
	wrongNonce    bool
	noRefresh     bool
	noIDToken     bool
	idTokenTTL    time.Duration
	tid           string // the ID token's tid claim, when set
	tokenError    string // OAuth error code from the token endpoint
	deviceResult  string // "" (approve on first poll), "access_denied", "expired_token", "pending"
	polls         int
	deviceAuth    []string       // per device authorization request: "basic ID:SECRET", "post SECRET" or "none"
	deviceFields  map[string]any // replace fields of the device authorization answer
	acr           string         // the ID token's acr claim, when set
	authTime      time.Time      // the ID token's auth_time claim, when set
	// dpop makes the token endpoint bind tokens to the key of a valid
	// proof (token_type DPoP) and check it against the code's dpop_jkt;
	// without a proof it issues Bearer tokens.
	dpop   bool
	proofs []string // the DPoP header of each token request
}

type grant struct {
	challenge, nonce, redirectURI, dpopJKT string
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	f := &fakeIdP{t: t, codes: map[string]grant{}, idTokenTTL: time.Hour}
	f.key, f.rogue = testKeys(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/token", f.token)
	mux.HandleFunc("/device", f.device)
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(set)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL
	return f
}

// options returns login options pointing at the fake, with openid and
// offline_access, and the fake browser as opener.
func (f *fakeIdP) options() Options {
	return Options{
		OAuth2: oauth2.Config{
			ClientID: "cli",
			Endpoint: oauth2.Endpoint{
				AuthURL:       f.srv.URL + "/authorize",
				TokenURL:      f.srv.URL + "/token",
				DeviceAuthURL: f.srv.URL + "/device",
				AuthStyle:     oauth2.AuthStyleInParams,
			},
			Scopes: []string{"openid", "offline_access"},
		},
		Issuer:                f.issuer,
		IssParameterSupported: true,
		JWKSURL:               f.srv.URL + "/jwks",
		Timeout:               10 * time.Second,
		Open:                  f.browser(nil),
		HTTPClient:            f.srv.Client(),
	}
}

// authorize plays the provider's authorization endpoint for authURL: it
// records a code and returns the redirect URL carrying it. edit may change
// the response parameters.
func (f *fakeIdP) authorize(authURL string, edit func(url.Values)) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		return "", fmt.Errorf("no S256 PKCE challenge in %s", authURL)
	}
	code := "code-" + rand.Text()
	f.mu.Lock()
	f.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirectURI: q.Get("redirect_uri"), dpopJKT: q.Get("dpop_jkt")}
	f.mu.Unlock()
	resp := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {f.issuer}}
	if edit != nil {
		edit(resp)
	}
	ru, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		return "", err
	}
	ru.RawQuery = resp.Encode()
	return ru.String(), nil
}

// browser returns an opener that authorizes at once and follows the
// redirect to the loopback listener.
func (f *fakeIdP) browser(edit func(url.Values)) OpenFunc {
	return func(ctx context.Context, authURL string) error {
		redirect, err := f.authorize(authURL, edit)
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, redirect, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
}

func (f *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	var nonce, codeJKT string
	f.proofs = append(f.proofs, r.Header.Get("DPoP"))
	switch r.Form.Get("grant_type") {
	case "authorization_code":
		f.exchanges++
		g, ok := f.codes[r.Form.Get("code")]
		delete(f.codes, r.Form.Get("code"))
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		switch {
		case !ok:
			oauthError(w, "invalid_grant", "unknown code")
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			oauthError(w, "invalid_grant", "PKCE verification failed")
			return
		case r.Form.Get("redirect_uri") != g.redirectURI:
			oauthError(w, "invalid_grant", "redirect_uri mismatch")
			return
		}
		nonce, codeJKT = g.nonce, g.dpopJKT
	case "urn:ietf:params:oauth:grant-type:device_code":
		f.polls++
		switch f.deviceResult {
		case "pending":
			oauthError(w, "authorization_pending", "")
			return
		case "access_denied", "expired_token":
			oauthError(w, f.deviceResult, "as the test wished")
			return
		}
	default:
		oauthError(w, "unsupported_grant_type", "")
		return
	}
	if f.tokenError != "" {
		oauthError(w, f.tokenError, "as the test wished")
		return
	}
	body := map[string]any{"access_token": "at-" + rand.Text(), "token_type": "Bearer", "expires_in": 3600}
	if f.dpop && r.Header.Get("DPoP") != "" {
		jkt, err := proofKey(r.Header.Get("DPoP"))
		if err != nil || (codeJKT != "" && jkt != codeJKT) {
			oauthError(w, "invalid_dpop_proof", fmt.Sprint("proof key ", jkt, " code bound to ", codeJKT, ": ", err))
			return
		}
		body["token_type"] = "DPoP"
	}
	if !f.noRefresh {
		body["refresh_token"] = "rt-" + rand.Text()
	}
	if !f.noIDToken {
		if f.wrongNonce {
			nonce = "not-the-nonce"
		}
		body["id_token"] = f.idToken(nonce)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeIdP) idToken(nonce string) string {
	key := f.key
	if f.signWithRogue {
		key = f.rogue
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		f.t.Error(err)
		return ""
	}
	now := time.Now()
	claims := map[string]any{
		"iss": f.issuer, "sub": "alice", "aud": "cli",
		"iat": now.Unix(), "exp": now.Add(f.idTokenTTL).Unix(),
		"email": "alice@example.test", "email_verified": true, "name": "Alice",
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if f.tid != "" {
		claims["tid"] = f.tid
	}
	if f.acr != "" {
		claims["acr"] = f.acr
	}
	if !f.authTime.IsZero() {
		claims["auth_time"] = f.authTime.Unix()
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		f.t.Error(err)
	}
	return raw
}

func (f *fakeIdP) device(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	how := "none"
	if id, secret, ok := r.BasicAuth(); ok {
		how = "basic " + id + ":" + secret
	} else if s := r.PostForm.Get("client_secret"); s != "" {
		how = "post " + s
	}
	f.mu.Lock()
	f.deviceAuth = append(f.deviceAuth, how)
	f.mu.Unlock()
	answer := map[string]any{
		"device_code":               "dc-" + rand.Text(),
		"user_code":                 "WDJB-MJHT",
		"verification_uri":          f.srv.URL + "/activate",
		"verification_uri_complete": f.srv.URL + "/activate?user_code=WDJB-MJHT",
		"expires_in":                600,
		"interval":                  1,
	}
	f.mu.Lock()
	for k, v := range f.deviceFields {
		answer[k] = v
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

func (f *fakeIdP) exchangeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

// proofKey checks a DPoP proof's signature against the key in its header
// and returns that key's thumbprint.
func proofKey(proof string) (string, error) {
	jws, err := jose.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", err
	}
	jwk := jws.Signatures[0].Protected.JSONWebKey
	if jwk == nil {
		return "", fmt.Errorf("no jwk")
	}
	if _, err := jws.Verify(jwk); err != nil {
		return "", err
	}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	return base64.RawURLEncoding.EncodeToString(sum), err
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// syncBuffer is a bytes buffer safe for the flow's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	keysOnce        sync.Once
	keyGood, keyBad *rsa.PrivateKey
	keysErr         error
)

// testKeys returns two RSA keys, made once per test binary.
func testKeys(t *testing.T) (good, rogue *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		if keyGood, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr == nil {
			keyBad, keysErr = rsa.GenerateKey(rand.Reader, 2048)
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keyGood, keyBad
}
