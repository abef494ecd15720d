package token_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// TestIDTokenCheckDoesNotHoldTheRefreshLock: once a refresh has saved the
// rotated tokens, checking the new ID token (which waits on the
// provider's keys, up to the HTTP timeout) does not keep other processes
// waiting for the refresh lock, where they would run into the lock's own
// timeout with a fresh token already stored. And a refresh another
// process makes meanwhile is not overwritten when the check ends.
func TestIDTokenCheckDoesNotHoldTheRefreshLock(t *testing.T) {
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("AT%d", n), "refresh_token": fmt.Sprintf("RT%d", n), "token_type": "Bearer",
			"expires_in": 3600, "id_token": idToken("alice") + fmt.Sprint(n),
		})
	})
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
	c.IDToken = idToken("alice")
	put(t, store, c)
	locker := token.FileLocker{Dir: t.TempDir()}

	// Process A refreshes; its ID-token check waits for the keys.
	a := source(store, p)
	a.Lock = locker
	verifying, release := make(chan struct{}), make(chan struct{})
	a.VerifyIDToken = func(ctx context.Context, _, _ string) (string, error) {
		close(verifying)
		select {
		case <-release:
			return "alice", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	type result struct {
		c   *token.Credential
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := a.Token(context.Background(), 0)
		done <- result{got, err}
	}()
	select {
	case <-verifying:
	case r := <-done:
		t.Fatalf("A returned before checking the ID token: %+v", r)
	}

	// Process B held the old access token (read before A saved, or
	// refused by an API): it gets A's without a request, while A checks.
	b := source(store, p)
	b.Lock = locker
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := b.Refresh(ctx, "AT0")
	if err != nil {
		t.Fatalf("B waited for A's ID-token check: %v", err)
	}
	if got.AccessToken != "AT1" || p.count() != 1 {
		t.Fatalf("B got %q after %d requests; want AT1 from A's one refresh", got.AccessToken, p.count())
	}
	// An API refuses AT1 too: B refreshes again, rotating RT1 to RT2.
	if got, err = b.Refresh(ctx, "AT1"); err != nil || got.RefreshToken != "RT2" {
		t.Fatalf("B's second refresh: %+v, %v", got, err)
	}

	close(release)
	r := <-done
	if r.err != nil || r.c.AccessToken != "AT1" {
		t.Fatalf("A: %+v, %v; want AT1", r.c, r.err)
	}
	if s := stored(t, store); s.RefreshToken != "RT2" || s.AccessToken != "AT2" {
		t.Fatalf("stored %q/%q after A's check; want B's RT2/AT2 (A must not write back the refresh token B used up)", s.AccessToken, s.RefreshToken)
	}
}
