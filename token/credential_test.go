package token_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/token"
)

// jwt returns an unsigned JWT with claims as its payload; authctl reads exp
// without verification, so no signature is needed.
func jwt(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(b) + "." + enc([]byte("sig"))
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestCredentialFresh(t *testing.T) {
	tests := []struct {
		name   string
		cred   token.Credential
		minTTL time.Duration
		fresh  bool
	}{
		{"one hour left, default floor", token.Credential{AccessToken: "a", Expiry: t0.Add(time.Hour)}, token.DefaultMinTTL, true},
		{"31s left, 30s floor", token.Credential{AccessToken: "a", Expiry: t0.Add(31 * time.Second)}, token.DefaultMinTTL, true},
		{"exactly 30s left is not enough", token.Credential{AccessToken: "a", Expiry: t0.Add(30 * time.Second)}, token.DefaultMinTTL, false},
		{"29s left", token.Credential{AccessToken: "a", Expiry: t0.Add(29 * time.Second)}, token.DefaultMinTTL, false},
		{"expired", token.Credential{AccessToken: "a", Expiry: t0.Add(-time.Minute)}, token.DefaultMinTTL, false},
		{"4m left, --min-ttl 5m", token.Credential{AccessToken: "a", Expiry: t0.Add(4 * time.Minute)}, 5 * time.Minute, false},
		{"6m left, --min-ttl 5m", token.Credential{AccessToken: "a", Expiry: t0.Add(6 * time.Minute)}, 5 * time.Minute, true},
		{"no expiry known counts as valid", token.Credential{AccessToken: "a"}, time.Hour, true},
		{"no access token at all", token.Credential{RefreshToken: "r", Expiry: t0.Add(time.Hour)}, token.DefaultMinTTL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cred.Fresh(t0, tt.minTTL); got != tt.fresh {
				t.Errorf("Fresh(now, %s) = %v, want %v (TTL %s)", tt.minTTL, got, tt.fresh, tt.cred.TTL(t0))
			}
		})
	}
}

func TestCredentialTTL(t *testing.T) {
	c := token.Credential{AccessToken: "a", Expiry: t0.Add(90 * time.Second)}
	if got := c.TTL(t0); got != 90*time.Second {
		t.Errorf("TTL = %s, want 1m30s", got)
	}
	if got := (&token.Credential{AccessToken: "a"}).TTL(t0); got < 100*365*24*time.Hour {
		t.Errorf("TTL of a token with zero expiry = %s, want practically forever", got)
	}
	if got := (&token.Credential{}).TTL(t0); got != 0 {
		t.Errorf("TTL without an access token = %s, want 0", got)
	}
}

func TestJWTExpiry(t *testing.T) {
	tests := []struct {
		name string
		tok  string
		want time.Time
	}{
		{"integer exp", jwt(t, map[string]any{"sub": "x", "exp": 1893456000}), time.Unix(1893456000, 0).UTC()},
		{"fractional exp", jwt(t, map[string]any{"exp": 1893456000.5}), time.Unix(1893456000, 5e8).UTC()},
		{"no exp", jwt(t, map[string]any{"sub": "x"}), time.Time{}},
		{"exp is a string", jwt(t, map[string]any{"exp": "soon"}), time.Time{}},
		{"exp is zero", jwt(t, map[string]any{"exp": 0}), time.Time{}},
		{"opaque token", "2YotnFZFEjr1zCsicMWpAA", time.Time{}},
		{"empty", "", time.Time{}},
		{"three parts, payload not base64", "a.!!!.c", time.Time{}},
		{"three parts, payload not JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("not json")) + ".c", time.Time{}},
		{"padded payload", "a." + base64.URLEncoding.EncodeToString([]byte(`{"exp": 1893456000}`)) + ".c", time.Unix(1893456000, 0).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := token.JWTExpiry(tt.tok); !got.Equal(tt.want) {
				t.Errorf("JWTExpiry = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFromOAuth2Expiry(t *testing.T) {
	jwtExp := time.Unix(1893456000, 0).UTC()
	at := jwt(t, map[string]any{"exp": jwtExp.Unix()})
	fromExpiresIn := t0.Add(time.Hour)

	t.Run("expires_in wins over the JWT exp", func(t *testing.T) {
		c := token.FromOAuth2("https://idp", "cli", &oauth2.Token{AccessToken: at, Expiry: fromExpiresIn})
		if !c.Expiry.Equal(fromExpiresIn) {
			t.Errorf("Expiry = %v, want %v (from expires_in)", c.Expiry, fromExpiresIn)
		}
	})
	t.Run("JWT exp when expires_in is missing", func(t *testing.T) {
		c := token.FromOAuth2("https://idp", "cli", &oauth2.Token{AccessToken: at})
		if !c.Expiry.Equal(jwtExp) {
			t.Errorf("Expiry = %v, want %v (from the JWT)", c.Expiry, jwtExp)
		}
	})
	t.Run("neither: unknown expiry", func(t *testing.T) {
		c := token.FromOAuth2("https://idp", "cli", &oauth2.Token{AccessToken: "opaque"})
		if !c.Expiry.IsZero() {
			t.Errorf("Expiry = %v, want zero", c.Expiry)
		}
	})
	t.Run("fields", func(t *testing.T) {
		tok := (&oauth2.Token{AccessToken: "a", RefreshToken: "r", TokenType: "bearer"}).
			WithExtra(map[string]any{"id_token": "i.d.t", "scope": "openid email"})
		c := token.FromOAuth2("https://idp", "cli", tok)
		if c.Issuer != "https://idp" || c.ClientID != "cli" || c.RefreshToken != "r" || c.AccessToken != "a" ||
			c.IDToken != "i.d.t" || c.Type() != "Bearer" || len(c.Scopes) != 2 || c.Version != token.CredentialVersion {
			t.Errorf("FromOAuth2 = %+v", c)
		}
	})
}

func TestDecodeRoundTripAndVersion(t *testing.T) {
	c := &token.Credential{Issuer: "https://idp", ClientID: "cli", RefreshToken: "r", AccessToken: "a", Expiry: t0}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := token.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.RefreshToken != "r" || !got.Expiry.Equal(t0) || got.Version != token.CredentialVersion {
		t.Errorf("round trip = %+v", got)
	}
	if _, err := token.Decode([]byte(`{"version":99,"refresh_token":"r"}`)); err == nil {
		t.Error("Decode accepted an unknown version")
	}
	if _, err := token.Decode([]byte(`{"version":1,`)); err == nil {
		t.Error("Decode accepted broken JSON")
	}
}
