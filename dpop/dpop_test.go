package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// verified is a proof as a server sees it after checking its signature
// against the key in its own header.
type verified struct {
	header jose.Header
	claims claims
	raw    map[string]any
}

func verify(t *testing.T, proof string) verified {
	t.Helper()
	jws, err := jose.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse proof: %v", err)
	}
	h := jws.Signatures[0].Protected
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		t.Fatalf("proof header has no public jwk: %+v", h)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		t.Fatalf("proof signature: %v", err)
	}
	var v verified
	v.header = h
	if err := json.Unmarshal(payload, &v.claims); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &v.raw); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestProof(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	u, _ := url.Parse("https://API.example.com:443/v1/items?secret=1#frag")
	proof, err := k.Proof(Request{Method: "POST", URL: u, AccessToken: "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", Nonce: "eyJ7S_zG.eyJH0-Z.HX4w-7v"}, now)
	if err != nil {
		t.Fatal(err)
	}
	v := verify(t, proof)
	if typ := v.header.ExtraHeaders[jose.HeaderType]; typ != "dpop+jwt" {
		t.Errorf("typ = %v; want dpop+jwt", typ)
	}
	if v.header.Algorithm != "ES256" {
		t.Errorf("alg = %s; want ES256", v.header.Algorithm)
	}
	sum, _ := v.header.JSONWebKey.Thumbprint(crypto.SHA256)
	if got := base64.RawURLEncoding.EncodeToString(sum); got != k.Thumbprint() {
		t.Errorf("header jwk thumbprint %s; the key's is %s", got, k.Thumbprint())
	}
	want := claims{JTI: v.claims.JTI, HTM: "POST", HTU: "https://api.example.com/v1/items", IAT: now.Unix(),
		// RFC 9449 §7.1's example token and its ath.
		ATH: "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo", Nonce: "eyJ7S_zG.eyJH0-Z.HX4w-7v"}
	if v.claims != want {
		t.Errorf("claims = %+v; want %+v", v.claims, want)
	}
	if len(v.claims.JTI) < 22 {
		t.Errorf("jti %q is too short to be unique", v.claims.JTI)
	}
	if _, ok := v.raw["d"]; ok || strings.Contains(proof, `"d"`) {
		t.Error("the proof carries the private key")
	}
}

func TestProofWithoutTokenOrNonce(t *testing.T) {
	k, _ := NewKey()
	u, _ := url.Parse("http://127.0.0.1:8080/token")
	p1, err := k.Proof(Request{Method: "POST", URL: u}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := k.Proof(Request{Method: "POST", URL: u}, time.Now())
	v1, v2 := verify(t, p1), verify(t, p2)
	if _, ok := v1.raw["ath"]; ok {
		t.Error("ath without an access token")
	}
	if _, ok := v1.raw["nonce"]; ok {
		t.Error("nonce without a nonce")
	}
	if v1.claims.JTI == v2.claims.JTI {
		t.Error("two proofs share a jti")
	}
	if _, err := k.Proof(Request{URL: u}, time.Now()); err == nil {
		t.Error("a proof without a method")
	}
}

func TestHTU(t *testing.T) {
	tests := map[string]string{
		"https://api.example.com/v1?q=1#f":  "https://api.example.com/v1",
		"HTTPS://API.Example.COM:443/A/b":   "https://api.example.com/A/b",
		"http://127.0.0.1:80":               "http://127.0.0.1/",
		"http://127.0.0.1:8080/token":       "http://127.0.0.1:8080/token",
		"https://[::1]:8443/x%2Fy":          "https://[::1]:8443/x%2Fy",
		"https://[::1]/":                    "https://[::1]/",
		"https://h.example:8443?only=query": "https://h.example:8443/",
	}
	for in, want := range tests {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := HTU(u); got != want {
			t.Errorf("HTU(%s) = %s; want %s", in, got, want)
		}
	}
}

// TestThumbprint checks RFC 7638 against the key of RFC 9449's examples,
// whose jkt the RFC gives.
func TestThumbprint(t *testing.T) {
	x, _ := base64.RawURLEncoding.DecodeString("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs")
	y, _ := base64.RawURLEncoding.DecodeString("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA")
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatal(err)
	}
	k, err := newKey(&ecdsa.PrivateKey{PublicKey: *pub})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.Thumbprint(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"; got != want {
		t.Errorf("Thumbprint = %s; want %s", got, want)
	}
}

func TestMarshalParse(t *testing.T) {
	k, _ := NewKey()
	b, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var jwk map[string]any
	if err := json.Unmarshal(b, &jwk); err != nil || jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk["d"] == nil {
		t.Fatalf("Marshal = %s (%v); want a private P-256 JWK", b, err)
	}
	back, err := ParseKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Thumbprint() != k.Thumbprint() || !back.priv.Equal(k.priv) {
		t.Error("the key read back is another key")
	}

	pub, _ := jose.JSONWebKey{Key: &k.priv.PublicKey}.MarshalJSON()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaJWK, _ := jose.JSONWebKey{Key: rsaKey}.MarshalJSON()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384JWK, _ := jose.JSONWebKey{Key: p384}.MarshalJSON()
	for name, bad := range map[string][]byte{"public only": pub, "RSA": rsaJWK, "P-384": p384JWK, "garbage": []byte("{"), "empty": nil} {
		if _, err := ParseKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%s) = %v; want ErrBadKey", name, err)
		}
	}
}
