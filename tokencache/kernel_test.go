//go:build linux && !authctl_nokeyctl

package tokencache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests in this file use the real user keyring of the user running
// them. Every test uses accounts and config paths of its own and
// invalidates them when it ends, so tests running alongside (in this
// package or in the end-to-end scripts) never see each other's entries.

// realCache returns the kernel cache, or skips (fails in CI) where keyctl
// is refused.
func realCache(t *testing.T) *Cache {
	t.Helper()
	c := New()
	if err := c.Available(); err != nil {
		if os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
			t.Fatalf("the kernel keyring is required: %v", err)
		}
		t.Skipf("no kernel keyring here: %v", err)
	}
	return c
}

// account returns a fresh account name, invalidated when the test ends.
func account(t *testing.T, c *Cache) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	a := "t" + hex.EncodeToString(b[:])
	t.Cleanup(func() { _ = c.Invalidate(a) })
	return a
}

func put(t *testing.T, c *Cache, k Key, e *Entry, ttl time.Duration) {
	t.Helper()
	gen, err := c.Generation(e.Account)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(k, gen, e, ttl); err != nil {
		t.Fatal(err)
	}
}

func TestPutGet(t *testing.T) {
	c := realCache(t)
	a := account(t, c)
	k := Key{Config: t.TempDir() + "/config.yaml", Profile: a}
	if _, err := c.Get(k); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get before Put = %v, want ErrMiss", err)
	}
	want := entry(a, "AT-1")
	put(t, c, k, want, time.Minute)
	got, err := c.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want {
		t.Fatalf("Get = %+v, want %+v", got, want)
	}
	// Another config file, or the default selector, is another entry.
	for _, other := range []Key{{Config: k.Config + ".2", Profile: a}, {Config: k.Config}} {
		if _, err := c.Get(other); !errors.Is(err, ErrMiss) {
			t.Errorf("Get(%+v) = %v, want ErrMiss", other, err)
		}
	}
	// A second Put replaces the first.
	put(t, c, k, entry(a, "AT-2"), time.Minute)
	if got, err := c.Get(k); err != nil || got.AccessToken != "AT-2" {
		t.Fatalf("Get after a second Put = %v, %v; want AT-2", got, err)
	}
}

// TestPermissions: entries and generations are for the user alone
// (possessor and user; nothing for group or other), and the user may read
// and search them without possessing the user keyring.
func TestPermissions(t *testing.T) {
	c := realCache(t)
	a := account(t, c)
	k := Key{Config: t.TempDir() + "/config.yaml", Profile: a}
	put(t, c, k, entry(a, "AT-1"), time.Minute)
	for _, desc := range []string{k.description(), generationPrefix + a} {
		id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", desc, 0)
		if err != nil {
			t.Fatalf("search %s: %v", desc, err)
		}
		d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.SplitN(d, ";", 5)
		p, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil {
			t.Fatalf("describe %q: %v", d, err)
		}
		if p != 0x3f3f0000 {
			t.Errorf("%s: permissions %08x, want 3f3f0000 (possessor and user all, group and other none)", desc, p)
		}
		if f[1] != strconv.Itoa(os.Getuid()) {
			t.Errorf("%s: owner %s, want %d", desc, f[1], os.Getuid())
		}
	}
}

// TestTimeout: the kernel drops an entry when its timeout passes, and the
// timeout is the one asked for.
func TestTimeout(t *testing.T) {
	c := realCache(t)
	a := account(t, c)
	k := Key{Config: t.TempDir() + "/config.yaml", Profile: a}
	put(t, c, k, entry(a, "AT-long"), 50*time.Minute)
	if got := procKeysTimeout(t, k.description()); got != "49m" && got != "50m" {
		t.Errorf("/proc/keys timeout %q, want 50m", got)
	}
	put(t, c, k, entry(a, "AT-short"), time.Second)
	if got := procKeysTimeout(t, k.description()); got != "1s" && got != "0s" && got != "expd" && got != "" {
		t.Errorf("/proc/keys timeout after a second Put %q, want 1s", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Get(k)
		if errors.Is(err, ErrMiss) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry outlived its 1s timeout by 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procKeysTimeout returns the timeout column of /proc/keys for the key
// with description desc ("" if it is not listed).
func procKeysTimeout(t *testing.T, desc string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/keys")
	if err != nil {
		t.Skipf("no /proc/keys: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 9 && f[7] == "user" && strings.TrimSuffix(f[8], ":") == desc {
			return f[3]
		}
	}
	return ""
}

// TestMissPlantsNothing: a lookup that misses leaves no key behind (as
// request_key's negative key would, hiding the real one for a minute), so
// an entry added right after is found at once.
func TestMissPlantsNothing(t *testing.T) {
	c := realCache(t)
	a := account(t, c)
	k := Key{Config: t.TempDir() + "/config.yaml", Profile: a}
	if _, err := c.Get(k); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get = %v, want ErrMiss", err)
	}
	if got := procKeysLine(t, k.description()); got != "" {
		t.Fatalf("the miss left a key behind: %s", got)
	}
	put(t, c, k, entry(a, "AT-1"), time.Minute)
	if got, err := c.Get(k); err != nil || got.AccessToken != "AT-1" {
		t.Fatalf("Get right after Put = %v, %v", got, err)
	}
}

// gone reports whether a /proc/keys line is of a key that is invalidated,
// dead or expired: one the kernel's garbage collector has yet to remove.
func gone(line string) bool {
	f := strings.Fields(line)
	return len(f) > 3 && (strings.ContainsAny(f[1], "iD") || f[3] == "expd")
}

func procKeysLine(t *testing.T, desc string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/keys")
	if err != nil {
		t.Skipf("no /proc/keys: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, desc) {
			return line
		}
	}
	return ""
}

// TestInvalidate drops every entry of the account, under any config and
// selector, from the keyring too, and leaves other accounts alone.
func TestInvalidate(t *testing.T) {
	c := realCache(t)
	a, b := account(t, c), account(t, c)
	dir := t.TempDir()
	named, dflt, other := Key{Config: dir + "/1.yaml", Profile: a}, Key{Config: dir + "/2.yaml"}, Key{Config: dir + "/1.yaml", Profile: b}
	put(t, c, named, entry(a, "AT-a"), time.Minute)
	put(t, c, dflt, entry(a, "AT-a"), time.Minute)
	put(t, c, other, entry(b, "AT-b"), time.Minute)
	if err := c.Invalidate(a); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{named, dflt} {
		if _, err := c.Get(k); !errors.Is(err, ErrMiss) {
			t.Errorf("Get(%+v) after Invalidate = %v, want ErrMiss", k, err)
		}
		if line := procKeysLine(t, k.description()); line != "" && !gone(line) {
			t.Errorf("the entry is still in the keyring: %s", line)
		}
	}
	if got, err := c.Get(other); err != nil || got.AccessToken != "AT-b" {
		t.Errorf("the other account's entry: %v, %v", got, err)
	}
	// Nothing to invalidate is fine.
	if err := c.Invalidate(a); err != nil {
		t.Fatal(err)
	}
}

// TestStaleWriterIsNotServed: a writer that took the generation, read the
// credential, and stores it only after the credential changed (and the
// account was invalidated) leaves an entry that is never served.
func TestStaleWriterIsNotServed(t *testing.T) {
	c := realCache(t)
	a := account(t, c)
	k := Key{Config: t.TempDir() + "/config.yaml"}
	gen, err := c.Generation(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(a); err != nil { // the credential changes meanwhile
		t.Fatal(err)
	}
	if err := c.Put(k, gen, entry(a, "AT-old"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(k); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get of an entry older than the last Invalidate = %v, want ErrMiss", err)
	}
	// A generation taken after the change is served.
	put(t, c, k, entry(a, "AT-new"), time.Minute)
	if got, err := c.Get(k); err != nil || got.AccessToken != "AT-new" {
		t.Fatalf("Get = %v, %v; want AT-new", got, err)
	}
}

// TestTooShortIsNotCached: a token about to expire is not cached.
func TestTooShortIsNotCached(t *testing.T) {
	c := realCache(t)
	a := account(t, c)
	k := Key{Config: t.TempDir() + "/config.yaml", Profile: a}
	gen, err := c.Generation(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(k, gen, entry(a, "AT-1"), 500*time.Millisecond); err == nil {
		t.Fatal("Put with a 0.5s lifetime succeeded")
	}
	if _, err := c.Get(k); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get = %v, want ErrMiss", err)
	}
}
