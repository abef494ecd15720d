package rogueidp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const keyID = "rogue-1"

func (p *IdP) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("/userinfo", p.userinfo)
	mux.HandleFunc("POST /revoke", p.revoke)
	mux.HandleFunc("POST /device", p.device)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// random returns a fresh code or token: 32 random bytes, base64url.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *IdP) discovery(w http.ResponseWriter, r *http.Request) {
	p.count("discovery")
	if to := p.knob("discovery-redirect"); to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	doc := map[string]any{
		"issuer":                                         p.Issuer,
		"authorization_endpoint":                         p.Issuer + "/authorize",
		"token_endpoint":                                 p.Issuer + "/token",
		"jwks_uri":                                       p.Issuer + "/jwks",
		"userinfo_endpoint":                              p.Issuer + "/userinfo",
		"revocation_endpoint":                            p.Issuer + "/revoke",
		"device_authorization_endpoint":                  p.Issuer + "/device",
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"none", "client_secret_post"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"authorization_response_iss_parameter_supported": true,
	}
	p.mu.Lock()
	for k, v := range p.knobs {
		if field, ok := strings.CutPrefix(k, "discovery."); ok {
			doc[field] = v
		}
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}

// authorize grants every request at once: it redirects back to the
// loopback redirect URI with a code, the state and iss.
func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	p.count("authorization")
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || !strings.HasPrefix(redirect.Host, "127.0.0.1:") && !strings.HasPrefix(redirect.Host, "localhost:") && !strings.HasPrefix(redirect.Host, "[::1]:") {
		http.Error(w, "redirect_uri must be a loopback http URI", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "response_type=code with PKCE S256 is required", http.StatusBadRequest)
		return
	}
	code := random()
	p.mu.Lock()
	p.codes[code] = authorization{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), scope: q.Get("scope"),
	}
	p.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	back.Set("iss", p.Issuer)
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	grantType := r.PostForm.Get("grant_type")
	kind := map[string]string{
		"authorization_code": "authorization_code",
		"refresh_token":      "refresh_token",
		"urn:ietf:params:oauth:grant-type:device_code": "device_code",
	}[grantType]
	if kind == "" {
		kind = "other_grant"
	}
	p.count(kind)
	if d := p.knob("token-error-description"); d != "" {
		p.count("token_errors")
		oauthError(w, http.StatusBadRequest, "invalid_request", d)
		return
	}
	var g grant
	var nonce string
	var ok bool
	switch kind {
	case "authorization_code":
		g, nonce, ok = p.redeemCode(r.PostForm)
	case "refresh_token":
		g, ok = p.useRefreshToken(r.PostForm.Get("refresh_token"))
	case "device_code":
		g, ok = grant{clientID: r.PostForm.Get("client_id"), scope: "openid offline_access"}, r.PostForm.Get("device_code") != ""
	}
	if !ok {
		p.count("token_errors")
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the grant is not valid")
		return
	}
	p.issue(w, g, nonce)
}

// redeemCode checks an authorization code exchange: the code once, the
// client, the redirect URI and the PKCE verifier.
func (p *IdP) redeemCode(f url.Values) (grant, string, bool) {
	p.mu.Lock()
	a, found := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	ok := found && a.clientID == f.Get("client_id") && a.redirectURI == f.Get("redirect_uri") &&
		base64.RawURLEncoding.EncodeToString(sum[:]) == a.challenge
	return grant{clientID: a.clientID, scope: a.scope}, a.nonce, ok
}

// useRefreshToken retires rt, which must be live: refresh tokens rotate.
func (p *IdP) useRefreshToken(rt string) (grant, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.refresh[rt]
	delete(p.refresh, rt)
	return g, ok
}

// issue answers a successful token request, as the knobs say.
func (p *IdP) issue(w http.ResponseWriter, g grant, nonce string) {
	now := time.Now()
	at, err := p.sign(map[string]any{"iss": p.Issuer, "sub": Subject, "aud": g.clientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": random()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rt := random()
	answer := map[string]any{
		"access_token":  at,
		"token_type":    "Bearer",
		"expires_in":    json.RawMessage("3600"),
		"refresh_token": rt,
		"scope":         g.scope,
	}
	if strings.Contains(" "+g.scope+" ", " openid ") {
		claims := map[string]any{"iss": p.Issuer, "sub": Subject, "aud": g.clientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "email": "alice@example.test"}
		if nonce != "" {
			claims["nonce"] = nonce
		}
		if answer["id_token"], err = p.sign(claims); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	p.mu.Lock()
	p.refresh[rt] = g
	p.current = rt
	p.access[at] = true
	p.mu.Unlock()
	p.applyKnobs(answer)
	p.writePadded(w, answer, "token-bytes")
}

// applyKnobs changes a token answer as the knobs say.
func (p *IdP) applyKnobs(answer map[string]any) {
	if v := p.knob("expires-in"); v != "" {
		answer["expires_in"] = json.RawMessage(v)
	}
	if v := p.knob("token-type"); v != "" {
		answer["token_type"] = v
	}
	if p.knob("no-access-token") != "" {
		delete(answer, "access_token")
		delete(answer, "id_token")
	}
}

// writePadded writes answer as JSON, padded with a "padding" member to the
// size the knob names, if set. The padding is streamed, never held.
func (p *IdP) writePadded(w http.ResponseWriter, answer map[string]any, knob string) {
	size, _ := strconv.Atoi(p.knob(knob))
	b, err := json.Marshal(answer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if size <= len(b)+20 {
		_, _ = w.Write(b)
		return
	}
	// {"padding":"xxx…", + the rest of the object without its "{".
	head := `{"padding":"`
	tail := `",` + string(b[1:])
	w.Header().Set("Content-Length", strconv.Itoa(size))
	_, _ = io.WriteString(w, head)
	_ = stream(w, size-len(head)-len(tail), 'x')
	_, _ = io.WriteString(w, tail)
}

// stream writes n bytes c without holding them.
func stream(w io.Writer, n int, c byte) error {
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = c
	}
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (p *IdP) sign(claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", keyID))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// LeakedToken is the token-shaped string a misbehaving answer puts in
// front of the person (see the knobs): it must never be printed.
const LeakedToken = "Xw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7"

// escapes are what a misbehaving error page starts with: clear the
// screen, set the window title, an OSC 8 link and the 8-bit CSI.
const escapes = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\u009b31m"

func (p *IdP) jwks(w http.ResponseWriter, r *http.Request) {
	p.count("jwks")
	if n, _ := strconv.Atoi(p.knob("jwks-error-bytes")); n > 0 {
		head := escapes + " jwks unavailable for " + LeakedToken + " "
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(max(n, len(head))))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, head)
		_ = stream(w, n-len(head), 'x')
		return
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig"}}}
	writeJSON(w, http.StatusOK, set)
}

func (p *IdP) userinfo(w http.ResponseWriter, r *http.Request) {
	p.count("userinfo")
	at, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	ok = ok && p.access[at]
	p.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	p.writePadded(w, map[string]any{"sub": Subject, "email": "alice@example.test", "name": "Alice " + escapes}, "userinfo-bytes")
}

func (p *IdP) revoke(w http.ResponseWriter, r *http.Request) {
	p.count("revocation")
	_ = r.ParseForm()
	p.mu.Lock()
	delete(p.refresh, r.PostForm.Get("token"))
	delete(p.access, r.PostForm.Get("token"))
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (p *IdP) device(w http.ResponseWriter, r *http.Request) {
	p.count("device_authorization")
	code := "WDJB-MJHT"
	if v := p.knob("user-code"); v != "" {
		code = v
	}
	uri := p.Issuer + "/device"
	if v := p.knob("verification-uri"); v != "" {
		uri = v
	}
	complete := uri + "?user_code=" + url.QueryEscape(code)
	if v := p.knob("verification-uri-complete"); v != "" {
		complete = v
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": random(), "user_code": code, "verification_uri": uri,
		"verification_uri_complete": complete, "expires_in": 600, "interval": 1,
	})
}
