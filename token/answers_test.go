package token_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
)

// jwtExpiring returns an unsigned JWT-shaped access token whose exp is exp.
func jwtExpiring(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"exp": exp.Unix()})
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(claims) + ".sig"
}

// A refresh answer with an odd expires_in is accepted: the expiry comes
// from the access token's exp, and the rotated refresh token is saved
// (x/oauth2 alone refuses the whole answer, and the session is lost).
func TestRefreshAcceptsOddExpiresIn(t *testing.T) {
	exp := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	at := jwtExpiring(exp)
	for _, raw := range []string{"1e20", "3600.5", "-1", "0", `"soon"`} {
		t.Run(raw, func(t *testing.T) {
			p := newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","refresh_token":"RT1","expires_in":%s}`, at, raw)
			})
			store := keychaintest.New()
			put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
			var log bytes.Buffer
			s := source(store, p)
			s.Log = func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) }
			c, err := s.Token(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessToken != at || !c.Expiry.Equal(exp) {
				t.Errorf("access token expiry %v, want the JWT's %v", c.Expiry, exp)
			}
			if got := stored(t, store); got.RefreshToken != "RT1" || !got.Expiry.Equal(exp) {
				t.Errorf("stored refresh token %q expiry %v, want RT1 and %v", got.RefreshToken, got.Expiry, exp)
			}
			if !strings.Contains(log.String(), "expires_in") {
				t.Errorf("-v said nothing about expires_in:\n%s", log.String())
			}
		})
	}
}

// An answer x/oauth2 cannot use (no access token) that carries a new
// refresh token: the refresh fails, but the new refresh token is saved, so
// the next refresh works at a rotating provider.
func TestRefreshKeepsTheRefreshTokenOfAnUnusableAnswer(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.PostForm.Get("refresh_token") != map[int]string{1: "RT0", 2: "RT1"}[n] {
			oauthError(w, r, http.StatusBadRequest, "invalid_grant")
			return
		}
		if n == 1 {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"token_type":"Bearer","refresh_token":"RT1","expires_in":3600}`)
			return
		}
		grant(w, "AT2", "RT2", 3600)
	})
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	s := source(store, p)
	_, err := s.Token(context.Background(), 0)
	if err == nil || !strings.Contains(err.Error(), "access_token") || !strings.Contains(err.Error(), "saved") {
		t.Fatalf("err = %v, want one naming the missing access_token and the saved refresh token", err)
	}
	if got := stored(t, store); got == nil || got.RefreshToken != "RT1" {
		t.Fatalf("stored %+v, want refresh token RT1", got)
	}
	c, err := s.Token(context.Background(), 0)
	if err != nil || c.AccessToken != "AT2" {
		t.Fatalf("second refresh: %+v, %v", c, err)
	}
}

// A malformed token_type never reaches an Authorization header.
func TestRefreshValidatesTokenType(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"AT1","token_type":"Bearer\r\nX-Injected: 1","expires_in":3600}`)
	})
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	c, err := source(store, p).Token(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Type() != "Bearer" {
		t.Errorf("Type() = %q, want Bearer", c.Type())
	}
	// One stored by an earlier version is not trusted either.
	c.TokenType = "bearer x"
	if c.Type() != "Bearer" {
		t.Errorf("Type() of a stored %q = %q, want Bearer", c.TokenType, c.Type())
	}
	c.TokenType = "dpop"
	if c.Type() != "DPoP" {
		t.Errorf("Type() of dpop = %q, want DPoP", c.Type())
	}
}

// A provider's error reaches the caller as one printable line, without the
// refresh token it echoed or an escape sequence.
func TestRefreshErrorIsPrintable(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"error":"temporarily_unavailable","error_description":"\u001b[2J\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007 for %s"}`, r.PostForm.Get("refresh_token"))
	})
	store := keychaintest.New()
	rt := "Xw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7"
	put(t, store, cred("AT0", rt, time.Now().Add(-time.Minute)))
	_, err := source(store, p).Token(context.Background(), 0)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\x07\n") || strings.Contains(msg, rt) {
		t.Errorf("message %q has a control character or the refresh token", msg)
	}
	if !strings.Contains(msg, "503 Service Unavailable: temporarily_unavailable") {
		t.Errorf("message %q does not name the status and the error", msg)
	}
}

// A revocation error is the provider's OAuth error on one printable line.
func TestRevokeErrorIsPrintable(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"unsupported_token_type","error_description":"\u001b[2Jno %s"}`, r.PostForm.Get("token"))
	})
	store := keychaintest.New()
	rt := "Xw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7"
	put(t, store, cred("AT0", rt, time.Now().Add(time.Hour)))
	res, err := source(store, p).Logout(context.Background(), endpointAt(p.srv.URL+"/revoke"))
	if err != nil {
		t.Fatal(err)
	}
	want := "revoke refresh_token: the provider answered 400 Bad Request: unsupported_token_type ([2Jno [redacted])"
	if res.Err == nil || res.Err.Error() != want {
		t.Errorf("revocation error %v, want %q", res.Err, want)
	}
}
