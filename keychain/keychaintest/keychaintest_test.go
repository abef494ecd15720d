package keychaintest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
)

func TestPlatformLimitMatchesGoKeyringRules(t *testing.T) {
	t.Parallel()
	if got := keychaintest.PlatformLimit("windows", "work"); got != 2560 {
		t.Errorf("windows limit = %d, want 2560", got)
	}
	if got := keychaintest.PlatformLimit("linux", "work"); got != 0 {
		t.Errorf("linux limit = %d, want none", got)
	}
	for _, account := range []string{"work", "a much longer profile name#0123456789ab#12"} {
		n := keychaintest.PlatformLimit("darwin", account)
		if n < 2800 || n > 3050 {
			t.Errorf("darwin limit for %q = %d, want about 3000", account, n)
		}
		// go-keyring's own line for n bytes stays under 4096, for n+3 not.
		line := func(n int) int {
			return len(fmt.Sprintf("add-generic-password -U -s authctl -a '%s' -w go-keyring-base64:%s\n",
				account, base64.StdEncoding.EncodeToString(make([]byte, n))))
		}
		if !strings.ContainsAny(account, " #") {
			line = func(n int) int {
				return len(fmt.Sprintf("add-generic-password -U -s authctl -a %s -w go-keyring-base64:%s\n",
					account, base64.StdEncoding.EncodeToString(make([]byte, n))))
			}
		}
		if line(n) >= 4096 || line(n+3) < 4096 {
			t.Errorf("darwin limit for %q = %d: line %d bytes, next step %d", account, n, line(n), line(n+3))
		}
	}
}

func TestSetOverLimitFailsLikeGoKeyring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychaintest.New(keychaintest.MaxItemSize(10))
	if err := s.Set(ctx, "a", make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "a", make([]byte, 11)); !errors.Is(err, keychain.ErrTooBig) {
		t.Fatalf("Set over limit = %v, want ErrTooBig", err)
	}
	if got := s.Items()["a"]; len(got) != 10 {
		t.Fatalf("a failed Set changed the item")
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychaintest.New(keychaintest.FailSetAfter(1))
	if err := s.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "b", []byte("2")); !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("second Set = %v, want injected ErrUnavailable", err)
	}
	if _, ok := s.Items()["b"]; ok {
		t.Fatal("a failed Set stored its item")
	}
	want := []keychaintest.Call{{keychaintest.OpSet, "a"}, {keychaintest.OpSet, "b"}}
	if got := s.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Calls = %v, want %v", got, want)
	}

	down := keychaintest.New(keychaintest.Err(keychain.ErrUnavailable))
	if _, err := down.Get(ctx, "a"); !errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("Get = %v", err)
	}
}

func TestParallelUseIsSafe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychaintest.New()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			acct := fmt.Sprint("p", i)
			_ = s.Set(ctx, acct, []byte(acct))
			if v, err := s.Get(ctx, acct); err != nil || string(v) != acct {
				t.Errorf("Get(%s) = %q, %v", acct, v, err)
			}
			_ = s.Delete(ctx, acct)
			_ = s.Items()
			_ = s.Calls()
		})
	}
	wg.Wait()
}
