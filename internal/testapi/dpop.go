package testapi

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authctl/authctl/internal/testidp"
)

// The API checks a DPoP-bound token (RFC 9449 §7) on its own, with code
// written apart from authctl's: the proof's signature against the key in
// its header, typ, htm, htu, iat, that its jti is new, ath, its nonce
// when the API asks for nonces, and, through the provider's
// introspection, that the token is active and bound to that key
// (cnf.jkt).

// proofWindow is how far a proof's iat may be from the API's clock.
const proofWindow = time.Minute

// introspection is what the provider says about a token.
type introspection struct {
	Active   bool   `json:"active"`
	Sub      string `json:"sub"`
	ACR      string `json:"acr"`
	AuthTime int64  `json:"auth_time"`
	CNF      struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// proofError is a reason to refuse a DPoP request: Code is
// invalid_dpop_proof, invalid_token or use_dpop_nonce.
type proofError struct{ Code, Desc string }

func (e *proofError) Error() string { return e.Code + ": " + e.Desc }

// checkDPoP checks a request with "Authorization: DPoP tok" and returns
// what the provider says of tok.
func (a *API) checkDPoP(r *http.Request, tok string) (*introspection, error) {
	jkt, err := a.checkProof(r, tok)
	if err != nil {
		return nil, err
	}
	info, err := a.introspect(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	switch {
	case !info.Active:
		return nil, &proofError{"invalid_token", "the provider says the token is not active"}
	case info.CNF.JKT == "":
		return nil, &proofError{"invalid_token", "the token is not DPoP-bound"}
	case info.CNF.JKT != jkt:
		return nil, &proofError{"invalid_token", "the token is bound to another key than the proof's"}
	}
	return info, nil
}

// checkProof checks r's DPoP proof for tok and returns the thumbprint of
// its key.
func (a *API) checkProof(r *http.Request, tok string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &proofError{"invalid_dpop_proof", fmt.Sprintf(format, args...)}
	}
	raw := r.Header.Values("DPoP")
	if len(raw) != 1 {
		return bad("want exactly one DPoP header, got %d", len(raw))
	}
	jws, err := jose.ParseSigned(raw[0], []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return bad("not an ES256 JWS: %v", err)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return bad("typ %q, not dpop+jwt", typ)
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return bad("no public jwk in the header")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return bad("signature: %v", err)
	}
	var c struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		ATH   string `json:"ath"`
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("claims: %v", err)
	}
	sum := sha256.Sum256([]byte(tok))
	switch {
	case c.HTM != r.Method:
		return bad("htm %q for a %s request", c.HTM, r.Method)
	case c.HTU != a.url+r.URL.EscapedPath():
		return bad("htu %q for %s", c.HTU, a.url+r.URL.EscapedPath())
	case c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]):
		return bad("ath is not the token's hash")
	case c.JTI == "":
		return bad("no jti")
	case a.now().Sub(time.Unix(c.IAT, 0)).Abs() > proofWindow:
		return bad("iat %d is not now", c.IAT)
	}
	if err := a.checkNonce(c.Nonce); err != nil {
		return "", err
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("thumbprint: %v", err)
	}
	jkt := base64.RawURLEncoding.EncodeToString(thumb)
	if !a.firstUse(jkt + " " + c.JTI) {
		return bad("jti %q was used before (a replayed proof)", c.JTI)
	}
	return jkt, nil
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// checkNonce checks the proof's nonce when the API asks for nonces.
func (a *API) checkNonce(nonce string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.wantNonce || nonce == a.nonce {
		return nil
	}
	return &proofError{"use_dpop_nonce", "Resource server requires nonce in DPoP proof"}
}

// firstUse records a proof's key and jti and reports whether they are new.
func (a *API) firstUse(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.jtis[id] {
		return false
	}
	a.jtis[id] = true
	return true
}

// RequireDPoPNonce makes the API ask for a nonce of its own in every
// DPoP proof (RFC 9449 §9), from a new nonce on; off stops asking.
func (a *API) RequireDPoPNonce(on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.wantNonce = on
	a.nonce = rand.Text()
}

// introspect asks the provider about tok (RFC 7662), as the client that
// obtained it: the provider's public clients may introspect their own
// tokens.
func (a *API) introspect(ctx context.Context, tok string) (*introspection, error) {
	endpoint, err := a.endpoint(ctx, "introspection_endpoint")
	if err != nil {
		return nil, err
	}
	form := url.Values{"token": {tok}, "client_id": {testidp.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspection: %s", resp.Status)
	}
	var info introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	a.mu.Lock()
	a.stats.Introspections++
	a.mu.Unlock()
	return &info, nil
}

// refuseDPoP answers a DPoP request the API refuses, with the DPoP
// challenge of RFC 9449 §7.1 (and a nonce, when it asks for one).
func (a *API) refuseDPoP(w http.ResponseWriter, e *proofError) {
	a.mu.Lock()
	a.stats.Unauthorized++
	if e.Code == "use_dpop_nonce" {
		a.stats.UseDPoPNonce++
		w.Header().Set("DPoP-Nonce", a.nonce)
	}
	a.mu.Unlock()
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP algs="ES256", error=%q, error_description=%q`, e.Code, e.Desc))
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": e.Code, "error_description": e.Desc})
}

// stepUp serves GET /stepup?acr=A&max_age=N: 200 when the token's
// sign-in had acr A (when given) and was at most N seconds ago (when
// given), else the step-up challenge of RFC 9470 naming them.
func (a *API) stepUp(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	info := tok.info
	if info == nil {
		var err error
		if info, err = a.introspect(r.Context(), tok.value); err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
	}
	q := r.URL.Query()
	acr, maxAge := q.Get("acr"), q.Get("max_age")
	var why []string
	if acr != "" && info.ACR != acr {
		why = append(why, fmt.Sprintf("acr %q, not %q", info.ACR, acr))
	}
	if maxAge != "" {
		n, err := strconv.ParseInt(maxAge, 10, 64)
		if err != nil {
			http.Error(w, "max_age must be a number of seconds", http.StatusBadRequest)
			return
		}
		if age := a.now().Unix() - info.AuthTime; info.AuthTime == 0 || age > n {
			why = append(why, fmt.Sprintf("authenticated %d s ago, more than %d", age, n))
		}
	}
	if len(why) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"sub": info.Sub, "acr": info.ACR, "auth_time": info.AuthTime})
		return
	}
	challenge := fmt.Sprintf(`%s error="insufficient_user_authentication", error_description=%q`, tok.scheme, strings.Join(why, "; "))
	if acr != "" {
		challenge += fmt.Sprintf(`, acr_values=%q`, acr)
	}
	if maxAge != "" {
		challenge += fmt.Sprintf(`, max_age=%q`, maxAge)
	}
	a.mu.Lock()
	a.stats.Unauthorized++
	a.stats.InsufficientAuth++
	a.mu.Unlock()
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "insufficient_user_authentication"})
}
