package token_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
)

// BenchmarkTokenCached measures Source.Token with a fresh credential: one
// keychain read (in memory here), a decode and a freshness check.
func BenchmarkTokenCached(b *testing.B) {
	p := newIdP(b, rotating)
	store := keychaintest.New()
	put(b, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	s := source(store, p)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Token(ctx, 0); err != nil {
			b.Fatal(err)
		}
	}
	if n := p.count(); n != 0 {
		b.Fatalf("%d refresh requests for a cached token", n)
	}
}

// BenchmarkTokenRefresh measures a refresh against a local httptest
// provider: every token it issues lives 10s, under the 30s floor, so every
// call refreshes and saves.
func BenchmarkTokenRefresh(b *testing.B) {
	p := newIdP(b, func(w http.ResponseWriter, _ *http.Request, n int) {
		grant(w, fmt.Sprintf("AT%d", n), fmt.Sprintf("RT%d", n), 10)
	})
	store := keychaintest.New()
	put(b, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	s := source(store, p)
	ctx := context.Background()
	b.ReportAllocs()
	calls := 0
	for b.Loop() {
		if _, err := s.Token(ctx, 0); err != nil {
			b.Fatal(err)
		}
		calls++
	}
	b.ReportMetric(float64(p.count())/float64(calls), "requests/op")
}
