// Package dpop proves possession of a key for OAuth 2.0 Demonstrating
// Proof of Possession (DPoP, RFC 9449): it makes the P-256 key pair a
// profile's tokens are bound to and reads it back, signs a fresh proof JWT
// for each HTTP request, and, in Transport, answers a server that asks for
// a nonce with one retry.
//
// The private key is a secret like a refresh token: whoever holds it and
// a bound token can use the token. Callers keep it where they keep the
// tokens, never in a plain file.
package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Alg is the one signature algorithm authctl signs proofs with.
const Alg = "ES256"

// ProofType is the typ header of a proof (RFC 9449 §4.2).
const ProofType = "dpop+jwt"

// HeaderName is the request header a proof travels in, and the scheme of
// the Authorization header of a bound token.
const HeaderName = "DPoP"

// NonceHeader is the response header a server sends a nonce in.
const NonceHeader = "DPoP-Nonce"

// Key is a DPoP key pair: ECDSA on P-256, signing with ES256.
type Key struct {
	priv  *ecdsa.PrivateKey
	thumb string
}

// NewKey makes a new key pair from the system's random source.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make a DPoP key: %w", err)
	}
	return newKey(priv)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	sum, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("DPoP key thumbprint: %w", err)
	}
	return &Key{priv: priv, thumb: base64.RawURLEncoding.EncodeToString(sum)}, nil
}

// ErrBadKey is matched by the error of ParseKey for anything but a P-256
// private key in JWK form.
var ErrBadKey = errors.New("not a DPoP key")

// ParseKey reads a key pair written by Marshal.
func ParseKey(b []byte) (*Key, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	priv, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: want a P-256 private key", ErrBadKey)
	}
	return newKey(priv)
}

// Marshal returns the key pair as a private JWK (RFC 7517), for the
// keychain. It is a secret.
func (k *Key) Marshal() ([]byte, error) {
	return jose.JSONWebKey{Key: k.priv, Algorithm: Alg}.MarshalJSON()
}

// Thumbprint is the JWK SHA-256 thumbprint of the public key (RFC 7638),
// base64url: the jkt a provider binds tokens to (cnf.jkt, dpop_jkt).
func (k *Key) Thumbprint() string { return k.thumb }

// Request is what a proof is bound to: one HTTP request.
type Request struct {
	Method string
	URL    *url.URL
	// AccessToken, when set, is the token the request carries; its hash
	// goes in the proof as ath (RFC 9449 §4.2).
	AccessToken string
	// Nonce, when set, is the server's latest DPoP-Nonce.
	Nonce string
}

// claims are a proof's payload.
type claims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof signs a proof for r, issued at now: typ dpop+jwt, alg ES256, the
// public key as jwk in the header; htm, htu (see HTU), iat, a random jti,
// and ath and nonce when r has them. Each call gives a proof no server
// has seen: a proof is for one request only.
func (k *Key) Proof(r Request, now time.Time) (string, error) {
	if r.Method == "" || r.URL == nil {
		return "", errors.New("DPoP proof: no method or URL")
	}
	c := claims{JTI: rand.Text(), HTM: r.Method, HTU: HTU(r.URL), IAT: now.Unix(), Nonce: r.Nonce}
	if r.AccessToken != "" {
		c.ATH = ATH(r.AccessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(ProofType)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		return "", fmt.Errorf("DPoP proof: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("DPoP proof: %w", err)
	}
	return jws.CompactSerialize()
}

// HTU is the htu of a request to u: its URI without query and fragment,
// normalized as RFC 9449 §4.3 asks servers to compare it (RFC 3986 §6.2.2
// and §6.2.3): scheme and host in lowercase, no default port, "/" for an
// empty path.
func HTU(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	if port != "" || strings.Contains(host, ":") {
		host = net.JoinHostPort(host, port)
		host = strings.TrimSuffix(host, ":")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// ATH is the ath of a proof for a request carrying accessToken: the
// base64url SHA-256 of its ASCII form.
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
