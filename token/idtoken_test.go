package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// idToken returns an (unsigned) JWT naming sub; the verifier under test
// decides whether it is good.
func idToken(sub string) string {
	b, _ := json.Marshal(map[string]any{"sub": sub})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(b) + ".sig"
}

// TestRefreshVerifiesIDToken shows what happens to an ID token returned
// by a refresh: stored when it verifies and names the same subject,
// otherwise dropped for the previous one, with the user told and the
// reason recorded, while the rotated refresh token is saved in every case
// (the provider has already retired the old one).
func TestRefreshVerifiesIDToken(t *testing.T) {
	old := idToken("alice")
	tests := []struct {
		name       string
		returned   string
		verifyErr  error
		wantID     string
		wantReason string // "" when the new ID token is kept
	}{
		{name: "verified, same subject", returned: idToken("alice") + "2", wantID: idToken("alice") + "2"},
		{name: "fails verification", returned: idToken("alice") + "x", verifyErr: errors.New("bad \x1b[2Jsignature"), wantID: old, wantReason: "bad [2Jsignature"},
		{name: "another subject", returned: idToken("mallory"), wantID: old, wantReason: "its subject differs from the login's (OIDC Core 12.2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{
					"access_token": "AT1", "refresh_token": "RT1", "token_type": "Bearer",
					"expires_in": 3600, "id_token": tt.returned,
				})
			})
			store := keychaintest.New()
			c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
			c.IDToken = old
			put(t, store, c)
			src := source(store, p)
			var warnings []string
			src.Warn = func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
			var verified []string
			src.VerifyIDToken = func(_ context.Context, raw, accessToken string) (string, error) {
				verified = append(verified, raw)
				if accessToken != "AT1" {
					t.Errorf("verified against access token %q, want the new one", accessToken)
				}
				if tt.verifyErr != nil {
					return "", tt.verifyErr
				}
				var claims struct {
					Sub string `json:"sub"`
				}
				payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
				_ = json.Unmarshal(payload, &claims)
				return claims.Sub, nil
			}
			got, err := src.Token(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(verified) != 1 || verified[0] != tt.returned {
				t.Fatalf("verifier saw %q, want the returned ID token once", verified)
			}
			s := stored(t, store)
			if s.RefreshToken != "RT1" || got.RefreshToken != "RT1" {
				t.Errorf("refresh token stored %q, returned %q; want RT1", s.RefreshToken, got.RefreshToken)
			}
			if s.IDToken != tt.wantID {
				t.Errorf("stored ID token %q, want %q", s.IDToken, tt.wantID)
			}
			if tt.wantReason == "" {
				if s.IDTokenRejected != nil || len(warnings) != 0 {
					t.Errorf("rejection %+v, warnings %q; want none", s.IDTokenRejected, warnings)
				}
				return
			}
			if r := s.IDTokenRejected; r == nil || r.Reason != tt.wantReason || r.At.IsZero() {
				t.Errorf("recorded rejection %+v, want reason %q", r, tt.wantReason)
			}
			if got.IDTokenRejected == nil {
				t.Error("the returned credential does not say that the ID token was rejected")
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], tt.wantReason) || strings.Contains(warnings[0], "\n") {
				t.Errorf("warnings %q, want one line with %q", warnings, tt.wantReason)
			}
		})
	}
}

// TestIDTokenRejectionLastsUntilOneVerifies: the record of a rejected ID
// token stays through refreshes that return none, and goes once a refresh
// returns one that verifies.
func TestIDTokenRejectionLastsUntilOneVerifies(t *testing.T) {
	answers := []string{"", idToken("alice") + "good"}
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		v := map[string]any{"access_token": fmt.Sprintf("AT%d", n), "refresh_token": fmt.Sprintf("RT%d", n), "token_type": "Bearer", "expires_in": 3600}
		if id := answers[n-1]; id != "" {
			v["id_token"] = id
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	})
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
	c.IDToken = idToken("alice")
	c.IDTokenRejected = &token.IDTokenRejection{At: time.Now().Add(-time.Hour), Reason: "bad signature"}
	put(t, store, c)
	src := source(store, p)
	src.VerifyIDToken = func(context.Context, string, string) (string, error) { return "alice", nil }

	if _, err := src.Token(context.Background(), time.Hour+time.Minute); err != nil {
		t.Fatal(err)
	}
	if s := stored(t, store); s.RefreshToken != "RT1" || s.IDToken != c.IDToken || s.IDTokenRejected == nil || s.IDTokenRejected.Reason != "bad signature" {
		t.Errorf("after a refresh without an ID token: %+v; want RT1, the old ID token and the rejection", s)
	}
	if _, err := src.Token(context.Background(), time.Hour+time.Minute); err != nil {
		t.Fatal(err)
	}
	if s := stored(t, store); s.RefreshToken != "RT2" || s.IDToken != answers[1] || s.IDTokenRejected != nil {
		t.Errorf("after a refresh with a good ID token: %+v; want RT2, the new ID token and no rejection", s)
	}
}
