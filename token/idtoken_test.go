package token_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
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
// otherwise dropped for the previous one, while the rotated refresh token
// is saved in every case (the provider has already retired the old one).
func TestRefreshVerifiesIDToken(t *testing.T) {
	old := idToken("alice")
	tests := []struct {
		name      string
		returned  string
		verifyErr error
		wantID    string
	}{
		{name: "verified, same subject", returned: idToken("alice"), wantID: idToken("alice")},
		{name: "fails verification", returned: idToken("alice") + "x", verifyErr: errors.New("bad signature"), wantID: old},
		{name: "another subject", returned: idToken("mallory"), wantID: old},
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
		})
	}
}
