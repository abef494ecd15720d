//go:build linux && !authctl_nokeyctl

package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/token"
	"github.com/authctl/authctl/tokencache"
)

// These tests use the kernel keyring of the user running them, each with
// a profile name of its own.

// cachedWorld is a world whose runs use the kernel keyring cache, logged
// in to a profile of its own (selected by $AUTHCTL_PROFILE unless the
// test unsets it; the config makes it the default profile too).
func cachedWorld(t testing.TB) (*world, string) {
	t.Helper()
	cache := tokencache.New()
	if err := cache.Available(); err != nil {
		if os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
			t.Fatalf("the kernel keyring is required: %v", err)
		}
		t.Skipf("no kernel keyring here: %v", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "c" + hex.EncodeToString(b[:])
	t.Cleanup(func() { _ = cache.Invalidate(name) })
	w := newWorld(t)
	w.cache = cache
	// The clock is the real one: a refresh's expiry comes from the
	// provider's expires_in and the real clock.
	w.now = time.Now()
	w.env["AUTHCTL_PROFILE"] = name
	w.config(fmt.Sprintf("default_profile: %s\nprofiles:\n  %s:\n    issuer: %s\n    client_id: cli\n", name, name, w.idp.srv.URL))
	c := &token.Credential{Issuer: w.idp.srv.URL, ClientID: "cli", AccessToken: "AT0", RefreshToken: "RT0", TokenType: "Bearer", Expiry: w.now.Add(time.Hour)}
	enc, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.store.Set(context.Background(), name, enc); err != nil {
		t.Fatal(err)
	}
	return w, name
}

// printCached runs PrintCached as main does and reports whether it
// answered, with stdout and stderr reset first.
func (w *world) printCached(args ...string) (int, bool) {
	w.stdout.Reset()
	w.stderr.Reset()
	return PrintCached(args, w.deps())
}

// TestPrintCachedPrintsWhatTheFullRunPrints: after a full run cached the
// token, PrintCached answers every plain token print exactly as the full
// run does, without a keychain read.
func TestPrintCachedPrintsWhatTheFullRunPrints(t *testing.T) {
	w, name := cachedWorld(t)
	if _, done := w.printCached("token", "print"); done {
		t.Fatal("PrintCached answered before anything was cached")
	}
	if code := w.run("token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	for _, args := range [][]string{
		{"token", "print"}, {"token"}, {"token", "print", "--format", "header"}, {"token", "--json"},
		{"token", "print", "--format=json", "--min-ttl", "50m"}, {"-p", name, "token", "print"},
	} {
		wantCode := w.run(args...)
		want := w.stdout.String()
		gets := len(w.store.Calls())
		code, done := w.printCached(args...)
		if !done || code != wantCode || w.stdout.String() != want || w.stderr.Len() != 0 {
			t.Errorf("%q: PrintCached = %d, %v, stdout %q, stderr %q; the full run: %d, %q", args, code, done, w.stdout.String(), w.stderr.String(), wantCode, want)
		}
		if n := len(w.store.Calls()); n != gets {
			t.Errorf("%q: PrintCached read the keychain", args)
		}
	}
	if _, done := w.printCached("-v", "token", "print"); !done || !strings.Contains(w.stderr.String(), "from the kernel keyring cache") {
		t.Errorf("-v: %v, stderr %q", done, w.stderr.String())
	}
}

// TestPrintCachedLeavesToTheFullRun: what PrintCached must not answer.
func TestPrintCachedLeavesToTheFullRun(t *testing.T) {
	w, name := cachedWorld(t)
	if code := w.run("token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	cfg := w.env["AUTHCTL_CONFIG"]
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func()
		undo   func()
		args   []string
		why    string
	}{
		{"another selection (the default profile)", func() { delete(w.env, "AUTHCTL_PROFILE") }, func() { w.env["AUTHCTL_PROFILE"] = name }, nil, "no cached token"},
		{"another config file", func() { w.env["AUTHCTL_CONFIG"] = cfg + ".2"; os.WriteFile(cfg+".2", body, 0o600) }, func() { w.env["AUTHCTL_CONFIG"] = cfg }, nil, "no cached token"},
		{"the config file changed", func() { os.WriteFile(cfg, append(body, "# edited\n"...), 0o600) }, func() { os.WriteFile(cfg, body, 0o600) }, nil, "other settings"},
		{"a setting's variable", func() { w.environ = []string{"AUTHCTL_SCOPES=openid"} }, func() { w.environ = nil }, nil, "other settings"},
		{"another state directory", func() { w.env["XDG_STATE_HOME"] = filepath.Join(w.home, "s2") }, func() { w.env["XDG_STATE_HOME"] = filepath.Join(w.home, "state") }, nil, "other settings"},
		{"--min-ttl past the expiry", func() {}, func() {}, []string{"--min-ttl", "1h"}, "expires too soon"},
		{"within 30s of the expiry", func() { w.now = w.now.Add(59*time.Minute + 30*time.Second) }, func() { w.now = w.now.Add(-59*time.Minute - 30*time.Second) }, nil, "expires too soon"},
		{"--config naming no file", func() {}, func() {}, []string{"--config", cfg + ".none"}, "config:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.change()
			defer tt.undo()
			args := append([]string{"-v", "token", "print"}, tt.args...)
			if _, done := w.printCached(args...); done || w.stdout.Len() != 0 {
				t.Fatalf("PrintCached answered: %q", w.stdout.String())
			}
			if !strings.Contains(w.stderr.String(), tt.why) {
				t.Errorf("-v says %q, want %q", w.stderr.String(), tt.why)
			}
		})
	}
	// And the unchanged world still hits.
	if _, done := w.printCached("token", "print"); !done {
		t.Fatal("PrintCached no longer answers")
	}
}

// TestPrintCachedAfterChanges: a refresh caches the new token; logout
// leaves nothing behind.
func TestPrintCachedAfterChanges(t *testing.T) {
	w, _ := cachedWorld(t)
	if code := w.run("token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	if code := w.run("token", "print", "--min-ttl", "2h"); code != 0 { // refreshes
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	if code, done := w.printCached("token", "print"); !done || code != 0 || w.stdout.String() != w.storedAccessToken()+"\n" {
		t.Fatalf("after a refresh PrintCached = %v, %q; the keychain has %q", done, w.stdout.String(), w.storedAccessToken())
	}
	if code := w.run("logout"); code != 0 {
		t.Fatalf("logout: exit %d: %s", code, w.stderr.String())
	}
	if _, done := w.printCached("token", "print"); done {
		t.Fatalf("after logout PrintCached printed %q", w.stdout.String())
	}
}

// storedAccessToken is the access token of the world's profile in the
// keychain.
func (w *world) storedAccessToken() string {
	b, ok := w.store.Items()[w.env["AUTHCTL_PROFILE"]]
	if !ok {
		return ""
	}
	c, err := token.Decode(b)
	if err != nil {
		w.t.Fatal(err)
	}
	return c.AccessToken
}

// TestNoCacheForInsecureStorage: an --insecure-storage profile reads its
// credential file at every use, so that the file's owner and mode are
// checked each time; nothing of it is cached.
func TestNoCacheForInsecureStorage(t *testing.T) {
	w, name := cachedWorld(t)
	w.config(fmt.Sprintf("profiles:\n  %s:\n    issuer: %s\n    client_id: cli\n    insecure_storage: true\n", name, w.idp.srv.URL))
	b, _ := w.store.Get(context.Background(), name)
	dir := filepath.Join(w.home, "state", "authctl", "credentials")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, name), b, 0o600)
	if code := w.run("token", "print"); code != 0 || !strings.Contains(w.stderr.String(), "plain file") {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	if _, done := w.printCached("token", "print"); done {
		t.Fatal("the token of an --insecure-storage profile was served from the cache")
	}
}

// TestNoCacheForSettingsFromFlags: a login given settings as flags saves
// them to the config only after storing the credential; its token is not
// cached under the config it read, where a reader would find it with
// settings it was not minted for. A profile the run did not select is
// not cached either.
func TestNoCacheForSettingsFromFlags(t *testing.T) {
	w, name := cachedWorld(t)
	f := NewFactory(w.deps())
	cf, err := f.Config(false)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := f.Paths()
	c := &token.Credential{AccessToken: "AT-flags", Expiry: time.Now().Add(time.Hour)}
	for _, tt := range []struct {
		p        *Profile
		selected bool
	}{
		{&Profile{Name: name, FromFlags: map[string]any{"scopes": []string{"openid", "email"}}}, true},
		{&Profile{Name: name}, false},
	} {
		f.accessCache(tt.p, cf, ps, tt.selected).Watch()(c)
		if _, done := w.printCached("token", "print"); done {
			t.Fatalf("%+v (selected %v) was cached: PrintCached printed %q", tt.p, tt.selected, w.stdout.String())
		}
	}
	f.accessCache(&Profile{Name: name}, cf, ps, true).Watch()(c)
	if _, done := w.printCached("token", "print"); !done || w.stdout.String() != "AT-flags\n" {
		t.Fatalf("control: the selected profile's token was not cached (%v, %q)", done, w.stdout.String())
	}
}

// BenchmarkPrintCached measures PrintCached's own work on a hit: the
// config file read and digested, two keyring searches and reads, the
// print. Process start-up is what scripts/bench adds on top.
func BenchmarkPrintCached(b *testing.B) {
	w, _ := cachedWorld(b)
	benchPrintCached(b, w, true)
}

// BenchmarkPrintCachedMiss measures what a miss costs before the full run
// starts (the promise: under 0.1 ms).
func BenchmarkPrintCachedMiss(b *testing.B) {
	w, _ := cachedWorld(b)
	benchPrintCached(b, w, false)
}

func benchPrintCached(b *testing.B, w *world, hit bool) {
	if hit && w.run("token", "print") != 0 {
		b.Fatalf("token print: %s", w.stderr.String())
	}
	for b.Loop() {
		if _, done := w.printCached("token", "print"); done != hit {
			b.Fatalf("PrintCached answered %v, want %v", done, hit)
		}
	}
}
