package keychain_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
)

// credential returns n bytes of JSON-like text, different for each seed.
func credential(n int, seed string) []byte {
	b := make([]byte, 0, n+64)
	b = append(b, `{"v":1,"seed":"`+seed+`","refresh_token":"`...)
	for i := 0; len(b) < n-2; i++ {
		b = append(b, "abcdefghijklmnopqrstuvwxyz0123456789"[i%36])
	}
	b = append(b, `"}`...)
	return b[:n]
}

func TestSplitRoundTripsLargeCredentialOnEveryPlatform(t *testing.T) {
	t.Parallel()
	for _, goos := range []string{"darwin", "windows", "linux"} {
		t.Run(goos, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fake := keychaintest.New(keychaintest.Platform(goos))
			big := credential(16<<10, goos)
			// The platform refuses the credential as one item ...
			if goos != "linux" {
				if err := fake.Set(ctx, "work", big); !errors.Is(err, keychain.ErrTooBig) {
					t.Fatalf("fake Set of 16 KiB on %s: err = %v, want ErrTooBig", goos, err)
				}
			}
			// ... and takes it split.
			s := keychain.NewSplit(fake, keychain.SplitOptions{})
			if err := s.Set(ctx, "work", big); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := s.Get(ctx, "work")
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("Get = %d bytes, %v; want the 16 KiB credential", len(got), err)
			}
			for name, v := range fake.Items() {
				if len(v) > keychain.DefaultItemSize {
					t.Errorf("item %q holds %d bytes, over %d", name, len(v), keychain.DefaultItemSize)
				}
			}
			if n := len(fake.Items()); n < 2 {
				t.Errorf("16 KiB stored in %d items, want head + parts", n)
			}
		})
	}
}

func TestSplitSmallCredentialIsOneItemAndOneRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := keychaintest.New(keychaintest.Platform("windows"))
	s := keychain.NewSplit(fake, keychain.SplitOptions{})
	small := credential(keychain.DefaultItemSize, "small")
	if err := s.Set(ctx, "work", small); err != nil {
		t.Fatal(err)
	}
	items := fake.Items()
	if len(items) != 1 || !bytes.Equal(items["work"], small) {
		t.Fatalf("items = %v, want the credential as it is under %q", keys(items), "work")
	}
	before := len(fake.Calls())
	if got, err := s.Get(ctx, "work"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("Get: %v", err)
	}
	if calls := fake.Calls()[before:]; len(calls) != 1 {
		t.Errorf("Get of a small credential made %d keychain calls (%v), want 1", len(calls), calls)
	}
}

func TestSplitSecretThatLooksLikeAHeadRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychain.NewSplit(keychaintest.New(), keychain.SplitOptions{})
	tricky := []byte("authctl-split/1 abc 1 3 " + strings.Repeat("0", 64))
	if err := s.Set(ctx, "p", tricky); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "p"); err != nil || !bytes.Equal(got, tricky) {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

var errCrash = errors.New("injected crash")

// TestSplitUpdateSurvivesACrashAtEveryWrite replaces a credential while the
// keychain "crashes" (this write and every later one fail) at each write
// and delete in turn. Afterwards the old credential must be readable when
// Set failed, the new one when it succeeded: never neither.
// unlisted hides the fake's Accounts method, as the macOS and Windows
// keychains have none: leftovers must then be found through the journal.
type unlisted struct{ keychain.Store }

func TestSplitUpdateSurvivesACrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	sizes := map[string]int{"small": 500, "large": 9000, "larger": 16 << 10}
	for _, tc := range []struct {
		from, to string
		listing  bool // whether the store can list its items (Secret Service) or not (macOS, Windows)
	}{
		{"large", "larger", true}, {"larger", "large", true}, {"small", "large", true}, {"large", "small", true}, {"large", "large", true},
		{"large", "larger", false}, {"larger", "large", false}, {"small", "large", false}, {"large", "small", false}, {"large", "large", false},
	} {
		t.Run(fmt.Sprintf("%s-to-%s-listing-%v", tc.from, tc.to, tc.listing), func(t *testing.T) {
			t.Parallel()
			for crashAt := 0; ; crashAt++ {
				ctx := context.Background()
				fake := keychaintest.New(keychaintest.Platform("darwin"))
				var inner keychain.Store = fake
				if !tc.listing {
					inner = unlisted{fake}
				}
				s := keychain.NewSplit(inner, keychain.SplitOptions{})
				old, next := credential(sizes[tc.from], "old"), credential(sizes[tc.to], "new")
				if err := s.Set(ctx, "work", old); err != nil {
					t.Fatal(err)
				}
				writes, crashed := 0, false
				fake.SetHook(func(op keychaintest.Op, _ string) error {
					if op == keychaintest.OpGet {
						return nil
					}
					if writes == crashAt {
						crashed = true
					}
					writes++
					if crashed {
						return errCrash
					}
					return nil
				})
				setErr := s.Set(ctx, "work", next)
				fake.SetHook(nil) // the machine comes back
				got, err := s.Get(ctx, "work")
				if err != nil {
					t.Fatalf("crash at write %d: Get after update: %v", crashAt, err)
				}
				want := next
				if setErr != nil {
					want = old
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("crash at write %d (Set err %v): Get returned %d bytes, not the %s credential", crashAt, setErr, len(got), map[bool]string{true: "new", false: "old"}[setErr == nil])
				}
				// Logout cleans up everything, leftovers of the crash included.
				if err := s.Delete(ctx, "work"); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				if items := fake.Items(); len(items) != 0 {
					t.Fatalf("crash at write %d: after Delete still stored: %v", crashAt, keys(items))
				}
				if !crashed {
					if crashAt < 2 && tc.from != "small" {
						t.Fatalf("update made only %d writes", writes)
					}
					return // every write point has been tried
				}
			}
		})
	}
}

func TestSplitGetOfDamagedCredential(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(fake *keychaintest.Store, items map[string][]byte)
	}{
		{"part missing", func(fake *keychaintest.Store, items map[string][]byte) {
			for k := range items {
				if strings.HasSuffix(k, "#2") {
					fake.Delete(ctx, k)
				}
			}
		}},
		{"part changed", func(fake *keychaintest.Store, items map[string][]byte) {
			for k, v := range items {
				if strings.HasSuffix(k, "#1") {
					v[10] ^= 1
					fake.Set(ctx, k, v)
				}
			}
		}},
		{"head garbled", func(fake *keychaintest.Store, items map[string][]byte) {
			fake.Set(ctx, "work", []byte("authctl-split/1 x"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := keychaintest.New()
			s := keychain.NewSplit(fake, keychain.SplitOptions{})
			if err := s.Set(ctx, "work", credential(9000, "x")); err != nil {
				t.Fatal(err)
			}
			tc.damage(fake, fake.Items())
			_, err := s.Get(ctx, "work")
			if !errors.Is(err, keychain.ErrCorrupt) || errors.Is(err, keychain.ErrNotFound) {
				t.Fatalf("Get = %v, want ErrCorrupt (and not ErrNotFound)", err)
			}
			if err := s.Delete(ctx, "work"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "work"); !errors.Is(err, keychain.ErrNotFound) {
				t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestSplitNothingStoredIsNotFoundAndDeleteIsFine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychain.NewSplit(keychaintest.New(), keychain.SplitOptions{})
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "nobody"); err != nil {
		t.Fatalf("Delete of nothing: %v", err)
	}
	if err := s.Set(ctx, "a#b", []byte("x")); err == nil {
		t.Fatal("Set accepted an account name with '#'")
	}
}

// TestSplitReadersSeeOldOrNewDuringUpdates runs readers against a writer
// that keeps replacing a large credential: every read is whole.
func TestSplitReadersSeeOldOrNewDuringUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychain.NewSplit(keychaintest.New(keychaintest.Platform("windows")), keychain.SplitOptions{})
	versions := map[string]bool{}
	for i := range 5 {
		versions[string(credential(7000+i*1000, fmt.Sprint(i)))] = true
	}
	if err := s.Set(ctx, "work", credential(7000, "0")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for i := range 50 {
			if err := s.Set(ctx, "work", credential(7000+(i%5)*1000, fmt.Sprint(i%5))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := s.Get(ctx, "work")
				if err != nil {
					t.Errorf("Get during update: %v", err)
					return
				}
				if !versions[string(got)] {
					t.Errorf("Get during update returned a mix (%d bytes)", len(got))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSplitBlockedKeychainEndsWithContext(t *testing.T) {
	t.Parallel()
	s := keychain.NewSplit(keychaintest.New(keychaintest.Block()), keychain.SplitOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*1e6)
	defer cancel()
	if _, err := s.Get(ctx, "work"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get = %v, want the context's deadline", err)
	}
}

func TestSplitPassesUnavailableThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := keychain.NewSplit(keychaintest.New(keychaintest.Err(fmt.Errorf("locked: %w", keychain.ErrUnavailable))), keychain.SplitOptions{})
	if _, err := s.Get(ctx, "w"); !errors.Is(err, keychain.ErrUnavailable) {
		t.Errorf("Get = %v", err)
	}
	if err := s.Set(ctx, "w", credential(9000, "x")); !errors.Is(err, keychain.ErrUnavailable) {
		t.Errorf("Set = %v", err)
	}
	if err := s.Delete(ctx, "w"); !errors.Is(err, keychain.ErrUnavailable) {
		t.Errorf("Delete = %v", err)
	}
}

// TestSplitKeepsPartsWhenTheHeadWriteTimesOut: a keychain call that timed
// out may still complete later. If the head naming the new parts lands
// after Set gave up, those parts must still be there, or the credential
// would read as damaged.
func TestSplitKeepsPartsWhenTheHeadWriteTimesOut(t *testing.T) {
	ctx := context.Background()
	fake := keychaintest.New(keychaintest.Platform("windows"))
	s := keychain.NewSplit(fake, keychain.SplitOptions{})
	fake.SetHook(func(op keychaintest.Op, account string) error {
		if op == keychaintest.OpSet && account == "work" {
			return fmt.Errorf("write work: %w", keychain.ErrTimeout)
		}
		return nil
	})
	if err := s.Set(ctx, "work", credential(9000, "new")); !errors.Is(err, keychain.ErrTimeout) {
		t.Fatalf("Set = %v, want the timeout", err)
	}
	parts := 0
	for name := range fake.Items() {
		if strings.HasPrefix(name, "work#") {
			parts++
		}
	}
	if parts == 0 {
		t.Error("the new parts were deleted although the timed-out head write may still land")
	}
}

// TestSplitJournalSweepsLeftoversWithoutListing: on a keychain that cannot
// list its items, parts of an update cut short are deleted by the next
// update, and a finished update leaves no journal behind.
func TestSplitJournalSweepsLeftoversWithoutListing(t *testing.T) {
	ctx := context.Background()
	fake := keychaintest.New(keychaintest.Platform("windows"))
	s := keychain.NewSplit(unlisted{fake}, keychain.SplitOptions{})
	if err := s.Set(ctx, "work", credential(9000, "one")); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.Items()["work#journal"]; ok {
		t.Error("a finished update left its journal")
	}
	// The machine dies after the second part of the next update.
	writes := 0
	fake.SetHook(func(op keychaintest.Op, _ string) error {
		if op == keychaintest.OpGet {
			return nil
		}
		if writes++; writes > 3 { // journal, part 0, part 1
			return errCrash
		}
		return nil
	})
	if err := s.Set(ctx, "work", credential(9000, "two")); err == nil {
		t.Fatal("Set succeeded through the crash")
	}
	fake.SetHook(nil)
	before := len(fake.Items())
	if err := s.Set(ctx, "work", credential(9000, "three")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "work")
	if err != nil || !bytes.Equal(got, credential(9000, "three")) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	want := 1 + (9000+keychain.DefaultItemSize-1)/keychain.DefaultItemSize // the head and its parts
	if items := fake.Items(); len(items) != want {
		t.Errorf("%d items after the next update (%d before it), want %d: %v", len(items), before, want, keys(items))
	}
}
