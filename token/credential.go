// Package token looks after a profile's credential for its whole life:
// loading it from the keychain, deciding whether its access token is fresh,
// refreshing it under a cross-process lock so that any number of processes
// make one refresh request between them, saving rotated refresh tokens
// before anything else can fail or wait (and before anything uses the new
// access token), revoking it at sign-out, and attaching it to HTTP requests.
package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/tokenendpoint"
)

// CredentialVersion is the version of the stored JSON written by this
// build. Readers refuse versions they do not know rather than guess.
const CredentialVersion = 1

// Credential is what authctl keeps in the keychain for a profile.
type Credential struct {
	Version  int    `json:"version"`
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret is the client secret given at login, for providers that
	// issue one even to installed apps (Google, GitHub). It is kept here,
	// in the keychain with the tokens, because refresh and revocation need
	// it too; it is never written to the config file.
	ClientSecret string    `json:"client_secret,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	AccessToken  string    `json:"access_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Obtained is when the provider issued the access token (the moment
	// its answer arrived, or the token's JWT iat): with Expiry it gives the
	// token's lifetime, which sets the refresh margin of short-lived
	// tokens (see RefreshMargin). Zero when not known.
	Obtained time.Time `json:"obtained,omitzero"`
	// LifetimeWarned is the access-token lifetime the user was last warned
	// about for asking a longer minimum TTL than it: the warning is given
	// once per credential and lifetime, not at every refresh.
	LifetimeWarned time.Duration `json:"lifetime_warned,omitempty"`
	IDToken        string        `json:"id_token,omitempty"`
	// Scopes are the scopes the provider granted (its `scope` answer, else
	// those asked for).
	Scopes []string `json:"scopes,omitempty"`
	// Minted is what the login asked for. A profile that now asks for
	// something else needs a new login.
	Minted *Minted `json:"minted,omitempty"`
	// DPoPKey, when set, is the private key (a JWK) the tokens are bound
	// to (RFC 9449): every request with them needs a proof signed by it.
	// It is a secret like the refresh token, kept with it and deleted
	// with it.
	DPoPKey json.RawMessage `json:"dpop_key,omitempty"`
	// IDTokenRejected, when set, says that a refresh after IDToken was
	// stored returned an ID token that was not kept, and why: IDToken, and
	// the identity it names, are then older than the provider's latest
	// word. A refresh whose ID token is kept, or a new login, clears it.
	IDTokenRejected *IDTokenRejection `json:"id_token_rejected,omitempty"`
}

// Minted is what a credential was obtained for: the scopes and the extra
// authorization parameters (audience, resource) the login sent. The
// issuer and client are the credential's own fields.
type Minted struct {
	Scopes     []string          `json:"scopes"`
	AuthParams map[string]string `json:"auth_params,omitempty"`
}

// Differs says how a profile that asks for scopes and params differs from
// what m was minted for ("" when it does not): a changed set of scopes
// or of authorization parameters. A nil m (a credential stored before
// authctl recorded this) differs from nothing.
func (m *Minted) Differs(scopes []string, params map[string]string) string {
	if m == nil {
		return ""
	}
	if !sameSet(m.Scopes, scopes) {
		return fmt.Sprintf("the profile's scopes changed since login (%s, now %s)", strings.Join(m.Scopes, ","), strings.Join(scopes, ","))
	}
	if !maps.Equal(m.AuthParams, params) && (len(m.AuthParams) > 0 || len(params) > 0) {
		return "the profile's auth_params changed since login"
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// IDTokenRejection records an ID token returned by a refresh that failed
// verification or named another subject than the login's (OIDC Core 12.2).
type IDTokenRejection struct {
	// At is when the refresh was made.
	At time.Time `json:"at"`
	// Reason says what was wrong, in one printable line.
	Reason string `json:"reason"`
}

// Encode returns the stored form of c.
func (c *Credential) Encode() ([]byte, error) {
	v := *c
	v.Version = CredentialVersion
	return json.Marshal(&v)
}

// Decode parses a stored credential.
func Decode(b []byte) (*Credential, error) {
	var c Credential
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, errors.New("stored credential is not valid JSON")
	}
	if c.Version != CredentialVersion {
		return nil, fmt.Errorf("stored credential has version %d; this authctl reads version %d", c.Version, CredentialVersion)
	}
	return &c, nil
}

// FromOAuth2 builds a credential from a token response. The expiry comes
// from expires_in (which x/oauth2 turns into Expiry) and otherwise from the
// access token's JWT exp claim, read without verification; Obtained is
// the moment x/oauth2 received the answer (Expiry less expires_in), or
// else the JWT's iat, so that each is on the same clock as Expiry.
func FromOAuth2(issuer, clientID string, t *oauth2.Token) *Credential {
	c := &Credential{
		Version:      CredentialVersion,
		Issuer:       issuer,
		ClientID:     clientID,
		RefreshToken: t.RefreshToken,
		AccessToken:  t.AccessToken,
		TokenType:    normalizeType(t.TokenType),
		Expiry:       t.Expiry,
	}
	if c.Expiry.IsZero() {
		c.Expiry = JWTExpiry(t.AccessToken)
	} else if t.ExpiresIn > 0 {
		c.Obtained = c.Expiry.Add(-time.Duration(t.ExpiresIn) * time.Second)
	}
	if c.Obtained.IsZero() {
		c.Obtained = jwtTime(t.AccessToken, "iat")
	}
	if id, ok := t.Extra("id_token").(string); ok {
		c.IDToken = id
	}
	if s, ok := t.Extra("scope").(string); ok && s != "" {
		c.Scopes = strings.Fields(s)
	}
	return c
}

// normalizeType is the type to put in an Authorization header for a
// stored token type (see tokenendpoint.TokenType): one stored by an
// earlier version without the check cannot break the header either.
func normalizeType(t string) string {
	typ, _ := tokenendpoint.TokenType(t)
	return typ
}

// Type returns the token type to put in an Authorization header.
func (c *Credential) Type() string { return normalizeType(c.TokenType) }

// Bound reports whether the tokens are bound to a DPoP key: the
// credential holds one.
func (c *Credential) Bound() bool { return len(c.DPoPKey) > 0 }

// ProofKey returns the DPoP key the tokens are bound to, or nil when they
// are bearer tokens. A DPoP access token without a key, or a key that
// cannot be read, is a login-required error: no request can use them.
func (c *Credential) ProofKey() (*dpop.Key, error) {
	if !c.Bound() {
		if c.Type() == dpop.HeaderName && c.AccessToken != "" {
			return nil, loginRequired("the access token is DPoP-bound, but no DPoP key is stored with it")
		}
		return nil, nil
	}
	k, err := dpop.ParseKey(c.DPoPKey)
	if err != nil {
		return nil, loginRequired("the stored DPoP key cannot be read (%v)", err)
	}
	return k, nil
}

// SetProofKey stores k, the key the tokens are to be bound to.
func (c *Credential) SetProofKey(k *dpop.Key) error {
	b, err := k.Marshal()
	if err != nil {
		return fmt.Errorf("store the DPoP key: %w", err)
	}
	c.DPoPKey = b
	return nil
}

// TTL returns how long the access token stays valid at now. A credential
// with no known expiry is treated as valid for a long time: the provider
// said nothing, and an API's 401 will force a refresh.
func (c *Credential) TTL(now time.Time) time.Duration {
	if c.AccessToken == "" {
		return 0
	}
	if c.Expiry.IsZero() {
		return 1<<63 - 1
	}
	return c.Expiry.Sub(now)
}

// Fresh reports whether the access token stays valid for longer than
// minTTL at now.
func (c *Credential) Fresh(now time.Time, minTTL time.Duration) bool {
	return c.TTL(now) > minTTL
}

// Lifetime returns how long the access token was valid when the provider
// issued it, to the second, or 0 when that is not known (a credential
// stored before authctl recorded Obtained, an opaque token without
// expires_in).
func (c *Credential) Lifetime() time.Duration {
	if c.Obtained.IsZero() || c.Expiry.IsZero() {
		return 0
	}
	return max(0, c.Expiry.Sub(c.Obtained).Round(time.Second))
}

// marginShare is the part of a short token's lifetime that RefreshMargin
// keeps as the margin: a third, so that a token fresh from the provider
// is handed out without a refresh for two thirds of its life.
const marginShare = 3

// RefreshMargin returns how long before its expiry the access token is
// refreshed: DefaultMinTTL, or a third of the token's lifetime when that
// is shorter (tokens that live less than 90 s). With a fixed 30 s, a
// token that lives 30 s or less would be due for a refresh the moment it
// arrives, and processes started one after another would each refresh.
func (c *Credential) RefreshMargin() time.Duration {
	if l := c.Lifetime(); l > 0 {
		return min(DefaultMinTTL, l/marginShare)
	}
	return DefaultMinTTL
}

// latestExp is the last second JWTExpiry takes as an exp (the end of the
// year 9999); beyond it a time would overflow, and no token lives that long.
const latestExp = 253402300799

// JWTExpiry returns the exp claim of a JWT without verifying anything, or
// the zero time if tok is not a JWT with a numeric exp (a JSON number, as
// RFC 7519 says, greater than 0 and not after the year 9999).
func JWTExpiry(tok string) time.Time { return jwtTime(tok, "exp") }

// jwtTime returns the NumericDate claim name of a JWT without verifying
// anything, or the zero time (see JWTExpiry).
func jwtTime(tok, name string) time.Time {
	v := jwtClaims(tok)[name]
	var f float64
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &f) != nil || f <= 0 || f > latestExp {
		return time.Time{}
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// Identity is who a credential's ID token names. The ID token was verified
// when it was stored; Identity only reads its claims.
type Identity struct {
	Subject string `json:"sub,omitempty"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Identity returns the claims of the stored ID token, or the zero Identity
// when there is none.
func (c *Credential) Identity() Identity {
	claims := jwtClaims(c.IDToken)
	return Identity{Subject: claimString(claims, "sub"), Email: claimString(claims, "email"), Name: claimString(claims, "name")}
}

// jwtClaims decodes the payload of a JWT without verifying anything; nil
// when tok is not a JWT with a JSON object as its payload.
func jwtClaims(tok string) map[string]json.RawMessage {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	// A map, not a struct: claim names are case-sensitive, and
	// encoding/json would take "eXp" for "exp".
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return nil
	}
	return claims
}

// claimString returns claim name of claims when it is a string.
func claimString(claims map[string]json.RawMessage, name string) string {
	var s string
	if json.Unmarshal(claims[name], &s) != nil {
		return ""
	}
	return s
}
