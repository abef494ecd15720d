package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
)

// TestInvalidateMakesTheNextTokenRefresh: a server refused a token that
// still looks valid (git's "erase"); the next Token refreshes once, and
// the refresh token is never dropped.
func TestInvalidateMakesTheNextTokenRefresh(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	src := source(store, p)
	ctx := context.Background()

	if forgot, err := src.Invalidate(ctx, "AT-other"); err != nil || forgot {
		t.Fatalf("Invalidate of a token that is not the stored one: %v, %v; want false, nil", forgot, err)
	}
	if s := stored(t, store); s.AccessToken != "AT0" {
		t.Fatalf("Invalidate of another token changed the stored one to %q", s.AccessToken)
	}
	if forgot, err := src.Invalidate(ctx, "AT0"); err != nil || !forgot {
		t.Fatalf("Invalidate(AT0) = %v, %v; want true, nil", forgot, err)
	}
	if s := stored(t, store); s.AccessToken != "" || s.RefreshToken != "RT0" {
		t.Fatalf("after Invalidate: access %q, refresh %q; want none and RT0", s.AccessToken, s.RefreshToken)
	}
	c, err := src.Token(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessToken != "AT1" || p.count() != 1 {
		t.Fatalf("Token after Invalidate: %q with %d requests; want AT1 from one refresh", c.AccessToken, p.count())
	}
	// A second Invalidate with the already-replaced token changes nothing.
	if forgot, _ := src.Invalidate(ctx, "AT0"); forgot {
		t.Fatal("Invalidate(AT0) after the refresh forgot AT1")
	}
}

func TestInvalidateNotLoggedIn(t *testing.T) {
	src := source(keychaintest.New(), newIdP(t, rotating))
	if _, err := src.Invalidate(context.Background(), "AT0"); !isLoginRequired(err) {
		t.Fatalf("Invalidate with nothing stored: %v, want login required", err)
	}
}
