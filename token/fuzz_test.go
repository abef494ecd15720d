package token_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/token"
)

// FuzzJWTExpiry feeds hostile tokens to the exp decoder, which reads
// whatever access token a provider returns. It must never panic; it
// returns a time only for a three-part token whose payload is a JSON
// object with a positive numeric exp, and then exactly that time, in UTC
// and after the epoch (never an overflowed date that would make a token
// look expired, or valid, forever). Seeds: testdata/fuzz/FuzzJWTExpiry.
func FuzzJWTExpiry(f *testing.F) {
	f.Fuzz(func(t *testing.T, tok string) {
		got := token.JWTExpiry(tok)
		if got.IsZero() {
			return
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("JWTExpiry(%q) = %v for a token that is not three parts", tok, got)
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
		if err != nil {
			t.Fatalf("JWTExpiry(%q) = %v for a payload that is not base64url: %v", tok, got, err)
		}
		var claims map[string]json.RawMessage
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatalf("JWTExpiry(%q) = %v for a payload that is not a JSON object: %v", tok, got, err)
		}
		raw := bytes.TrimSpace(claims["exp"])
		var exp float64
		if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &exp) != nil || exp <= 0 {
			t.Fatalf("JWTExpiry(%q) = %v, but exp is %s, not a positive number", tok, got, raw)
		}
		if got.Location() != time.UTC {
			t.Errorf("JWTExpiry(%q) is in %v, want UTC", tok, got.Location())
		}
		if !got.After(time.Unix(0, 0)) {
			t.Fatalf("JWTExpiry(%q) = %v for exp %s: not after the epoch", tok, got, raw)
		}
		secs := float64(got.Unix()) + float64(got.Nanosecond())/1e9
		if d := math.Abs(secs - exp); d > 1e-3*math.Max(1, exp/1e9) {
			t.Fatalf("JWTExpiry(%q) = %v (%d s), want exp %s", tok, got, got.Unix(), raw)
		}
	})
}
