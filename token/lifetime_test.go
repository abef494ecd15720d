package token_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

func TestRefreshMargin(t *testing.T) {
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	jwt := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".sig"
	}
	tests := []struct {
		name     string
		tok      *oauth2.Token
		lifetime time.Duration
		margin   time.Duration
	}{
		{"an hour: the 30s margin", &oauth2.Token{AccessToken: "a", Expiry: now.Add(time.Hour), ExpiresIn: 3600}, time.Hour, 30 * time.Second},
		{"90s: a third is 30s", &oauth2.Token{AccessToken: "a", Expiry: now.Add(90 * time.Second), ExpiresIn: 90}, 90 * time.Second, 30 * time.Second},
		{"30s: a third", &oauth2.Token{AccessToken: "a", Expiry: now.Add(30 * time.Second), ExpiresIn: 30}, 30 * time.Second, 10 * time.Second},
		{"15s: a third", &oauth2.Token{AccessToken: "a", Expiry: now.Add(15 * time.Second), ExpiresIn: 15}, 15 * time.Second, 5 * time.Second},
		{"JWT iat and exp, no expires_in", &oauth2.Token{AccessToken: jwt(fmt.Sprintf(`{"iat":%d,"exp":%d}`, now.Unix(), now.Unix()+12))}, 12 * time.Second, 4 * time.Second},
		{"JWT exp without iat: unknown lifetime", &oauth2.Token{AccessToken: jwt(fmt.Sprintf(`{"exp":%d}`, now.Unix()+12))}, 0, 30 * time.Second},
		{"opaque token, no expires_in: unknown", &oauth2.Token{AccessToken: "opaque"}, 0, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := token.FromOAuth2(issuer, clientID, tt.tok)
			if got := c.Lifetime(); got != tt.lifetime {
				t.Errorf("Lifetime = %s, want %s", got, tt.lifetime)
			}
			if got := c.RefreshMargin(); got != tt.margin {
				t.Errorf("RefreshMargin = %s, want %s", got, tt.margin)
			}
		})
	}
	// A credential stored before authctl recorded Obtained keeps 30s.
	if got := cred("AT0", "RT0", now.Add(15*time.Second)).RefreshMargin(); got != token.DefaultMinTTL {
		t.Errorf("RefreshMargin without Obtained = %s, want %s", got, token.DefaultMinTTL)
	}
}

// shortLived answers every refresh with AT<n>/RT<n> valid for 15 s.
func shortLived(w http.ResponseWriter, _ *http.Request, n int) {
	grant(w, fmt.Sprintf("AT%d", n), fmt.Sprintf("RT%d", n), 15)
}

// TestTokenShortLivedNotRefreshedAtOnce: a 15 s token that just arrived
// is handed out as it is, by this process and by the next ones, instead
// of being due for a refresh at once (a fixed 30 s margin would refresh
// at every use, and processes started one after another would each
// refresh).
func TestTokenShortLivedNotRefreshedAtOnce(t *testing.T) {
	p := newIdP(t, shortLived)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	dir := t.TempDir()
	first := source(store, p)
	first.Lock = token.FileLocker{Dir: dir}
	c, err := first.Token(context.Background(), 0)
	if err != nil || c.AccessToken != "AT1" {
		t.Fatalf("first Token = %v, %v; want AT1", c, err)
	}
	for i := range 5 {
		later := source(store, p)
		later.Lock = token.FileLocker{Dir: dir}
		c, err := later.Token(context.Background(), 0)
		if err != nil || c.AccessToken != "AT1" {
			t.Fatalf("process %d after the refresh: %v, %v; want AT1 without a refresh", i+2, c, err)
		}
	}
	if n := p.count(); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
}

// TestTokenMinTTLLongerThanLifetimeWarnsOnce: asking for more than the
// provider's tokens ever live refreshes at every use (nothing else can
// give the longest-lived token there is), and says so once, not at every
// refresh; a longer or shorter lifetime later is news again.
func TestTokenMinTTLLongerThanLifetimeWarnsOnce(t *testing.T) {
	var mu sync.Mutex
	lifetime := 15
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		mu.Lock()
		defer mu.Unlock()
		grant(w, fmt.Sprintf("AT%d", n), fmt.Sprintf("RT%d", n), lifetime)
	})
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	var warnings []string
	newSource := func() *token.Source {
		s := source(store, p)
		s.Warn = func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
		return s
	}
	for i := range 3 {
		// A new Source each time: a new process, which knows only the keychain.
		if _, err := newSource().Token(context.Background(), time.Minute); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if n := p.count(); n != 3 {
		t.Errorf("%d refreshes for 3 calls with --min-ttl 1m against 15s tokens, want 3", n)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "live 15s, less than the 1m0s asked for") {
		t.Errorf("warnings = %q, want one about 15s tokens and 1m0s", warnings)
	}
	mu.Lock()
	lifetime = 20
	mu.Unlock()
	if _, err := newSource().Token(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[1], "live 20s") {
		t.Errorf("after the lifetime changed: warnings = %q, want a second one about 20s", warnings)
	}
	// Without --min-ttl, nothing to warn about.
	warnings = nil
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	if _, err := newSource().Token(context.Background(), 0); err != nil || len(warnings) != 0 {
		t.Errorf("without --min-ttl: err %v, warnings %q; want neither", err, warnings)
	}
}
