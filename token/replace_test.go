package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// TestReplaceAndLogoutWaitForARefresh shows that a new login's save and a
// logout wait for the refresh lock, so a refresh under way in another
// process cannot write its result over them.
func TestReplaceAndLogoutWaitForARefresh(t *testing.T) {
	dir := t.TempDir()
	locker := token.FileLocker{Dir: dir}
	unlock, err := locker.Lock(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	src := &token.Source{Store: store, Account: account, Issuer: issuer, ClientID: clientID, Lock: locker}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = src.Replace(ctx, cred("AT-new", "RT-new", time.Now().Add(time.Hour)))
	if !errors.Is(err, token.ErrLockTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Replace while another process refreshes: %v, want a lock timeout", err)
	}
	if s := stored(t, store); s.RefreshToken != "RT0" {
		t.Fatalf("Replace wrote %q without the lock", s.RefreshToken)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := src.Logout(ctx2, nil); err == nil {
		t.Fatal("Logout went ahead without the lock")
	}

	unlock()
	if err := src.Replace(context.Background(), cred("AT-new", "RT-new", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if s := stored(t, store); s.RefreshToken != "RT-new" {
		t.Fatalf("stored %q after Replace, want RT-new", s.RefreshToken)
	}
	if _, err := src.Logout(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if s := stored(t, store); s != nil {
		t.Fatal("Logout left the credential")
	}
}
