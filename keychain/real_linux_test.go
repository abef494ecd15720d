package keychain_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// skipOrFail skips a test that needs a real part, or fails it when
// AUTHCTL_TEST_REQUIRE_REAL=1 says the part must be there.
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
		t.Fatalf("%s (AUTHCTL_TEST_REQUIRE_REAL=1)", reason)
	}
	t.Skip(reason)
}

// installHint ends the reason of a skip for want of a Secret Service.
const installHint = " (Debian: apt-get install gnome-keyring libsecret-tools dbus; scripts/test then runs the tests in a private keyring session)"

// realBus returns a connection to the session bus when a Secret Service
// runs on it, and skips (or fails) otherwise.
func realBus(t testing.TB) *dbus.Conn {
	t.Helper()
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		skipOrFail(t, "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset)"+installHint)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		skipOrFail(t, "cannot connect to the session bus: "+err.Error()+installHint)
	}
	t.Cleanup(func() { conn.Close() })
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
	if err != nil || !has {
		skipOrFail(t, "no Secret Service (org.freedesktop.secrets has no owner on the session bus)"+installHint)
	}
	return conn
}

func testAccount(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

func TestRealSecretServiceRoundTrip(t *testing.T) {
	realBus(t)
	ctx := context.Background()
	s := keychain.DefaultStore(keychain.SystemOptions{})
	if s.Backend() != "Secret Service" {
		t.Errorf("Backend() = %q", s.Backend())
	}
	for _, size := range []int{300, 16 << 10} {
		acct := testAccount(t)
		t.Cleanup(func() { s.Delete(context.Background(), acct) })
		if _, err := s.Get(ctx, acct); !errors.Is(err, keychain.ErrNotFound) {
			t.Fatalf("Get before Set = %v, want ErrNotFound", err)
		}
		v := credential(size, acct)
		if err := s.Set(ctx, acct, v); err != nil {
			t.Fatalf("Set %d bytes: %v", size, err)
		}
		got, err := s.Get(ctx, acct)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get of %d bytes = %d bytes, %v", size, len(got), err)
		}
		if size < keychain.DefaultItemSize {
			// Stored as go-keyring stores it: go-keyring reads it back.
			if kv, err := keyring.Get(keychain.Service, acct); err != nil || kv != string(v) {
				t.Errorf("go-keyring Get = %d bytes, %v", len(kv), err)
			}
		}
		// Replace it, then delete it: nothing of the account remains.
		v2 := credential(size+5000, acct)
		if err := s.Set(ctx, acct, v2); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, acct); err != nil || !bytes.Equal(got, v2) {
			t.Fatalf("Get after replace = %d bytes, %v", len(got), err)
		}
		if err := s.Delete(ctx, acct); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, acct); !errors.Is(err, keychain.ErrNotFound) {
			t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
		}
		names, err := s.(keychain.Lister).Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if n == acct {
				t.Errorf("%s still listed after Delete", acct)
			}
		}
		if err := s.Delete(ctx, acct); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
	}
}

func TestRealSecretServiceDeleteSweepsLeftoverParts(t *testing.T) {
	realBus(t)
	ctx := context.Background()
	sys := keychain.NewSystem(keychain.SystemOptions{})
	acct := testAccount(t)
	stale := acct + "#deadbeef0000#0" // a part an interrupted update left
	if err := sys.Set(ctx, stale, []byte("old part")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Delete(context.Background(), stale) })
	s := keychain.NewSplit(sys, keychain.SplitOptions{})
	if err := s.Set(ctx, acct, credential(5000, "x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Get(ctx, stale); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("leftover part after Delete: Get = %v, want ErrNotFound", err)
	}
}

const (
	loginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	secretsPath     = dbus.ObjectPath("/org/freedesktop/secrets")
)

// lockLogin locks the login collection as a screen lock would.
func lockLogin(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := conn.Object("org.freedesktop.secrets", secretsPath).Call("org.freedesktop.Secret.Service.Lock", 0,
		[]dbus.ObjectPath{loginCollection}).Store(&locked, &prompt)
	if err != nil {
		t.Fatalf("lock the login collection: %v", err)
	}
	if len(locked) != 1 {
		t.Fatalf("lock the login collection: locked %v, prompt %v", locked, prompt)
	}
}

// unlockLogin unlocks the login collection without a prompt, through
// gnome-keyring's interface for that, with the password in
// AUTHCTL_TEST_KEYRING_PASSWORD (default "pass").
func unlockLogin(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	password := os.Getenv("AUTHCTL_TEST_KEYRING_PASSWORD")
	if password == "" {
		password = "pass"
	}
	svc := conn.Object("org.freedesktop.secrets", secretsPath)
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatalf("open session: %v", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(password), "text/plain"}
	err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		loginCollection, secret).Err
	if err != nil {
		t.Fatalf("unlock the login collection (password from AUTHCTL_TEST_KEYRING_PASSWORD): %v", err)
	}
}

func TestRealLockedCollectionIsExplainedAndRecovers(t *testing.T) {
	if inPrivateKeyring(t) {
		return
	}
	conn := realBus(t)
	ctx := context.Background()
	s := keychain.DefaultStore(keychain.SystemOptions{Timeout: 3 * time.Second})
	small, big := testAccount(t), testAccount(t)
	for _, acct := range []string{small, big} {
		t.Cleanup(func() { s.Delete(context.Background(), acct) })
	}
	values := map[string][]byte{small: credential(500, "s"), big: credential(16<<10, "b")}
	for acct, v := range values {
		if err := s.Set(ctx, acct, v); err != nil {
			t.Fatal(err)
		}
	}

	lockLogin(t, conn)
	relocked := false
	t.Cleanup(func() {
		if !relocked {
			unlockLogin(t, conn)
		}
	})
	for acct := range values {
		start := time.Now()
		_, err := s.Get(ctx, acct)
		d := time.Since(start)
		if !errors.Is(err, keychain.ErrLocked) || !errors.Is(err, keychain.ErrUnavailable) {
			t.Errorf("Get of a locked item = %v, want ErrLocked", err)
		} else if msg := err.Error(); !bytes.Contains([]byte(msg), []byte("unlock")) || !bytes.Contains([]byte(msg), []byte("--insecure-storage")) {
			t.Errorf("locked error %q does not name the ways out", msg)
		}
		if d > 5*time.Second {
			t.Errorf("Get of a locked item took %v", d)
		}
	}
	// A write to the locked keychain fails within its limit and deletes nothing.
	start := time.Now()
	if err := s.Set(ctx, small, []byte("new")); !errors.Is(err, keychain.ErrUnavailable) {
		t.Errorf("Set while locked = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Set while locked took %v", d)
	}

	unlockLogin(t, conn)
	relocked = true
	for acct, v := range values {
		got, err := s.Get(ctx, acct)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get after unlock = %d bytes, %v; want the credential as it was", len(got), err)
		}
	}
}

// BenchmarkRealGet measures one cached read of a small credential the way
// `authctl token print` does it (DefaultStore: one item, direct D-Bus
// read), next to go-keyring's own Get.
func BenchmarkRealGet(b *testing.B) {
	realBus(b)
	ctx := context.Background()
	s := keychain.DefaultStore(keychain.SystemOptions{})
	acct := testAccount(b)
	if err := s.Set(ctx, acct, credential(1500, "bench")); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Delete(context.Background(), acct) })
	b.Run("authctl", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Get(ctx, acct); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-keyring", func(b *testing.B) {
		for b.Loop() {
			if _, err := keyring.Get(keychain.Service, acct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// inPrivateKeyring runs the calling test again in a new test process on a
// D-Bus session and gnome-keyring of its own, and reports true, unless this
// is that process. A test that locks the login collection must not do it
// on the keyring the rest of the suite shares: scripts running in parallel
// would find it locked.
func inPrivateKeyring(t *testing.T) bool {
	t.Helper()
	if os.Getenv("AUTHCTL_KEYCHAIN_PRIVATE_KEYRING") == t.Name() {
		return false
	}
	realBus(t) // the same skip-or-fail rule as the other real tests
	for _, prog := range []string{"dbus-run-session", "gnome-keyring-daemon", "dbus-send"} {
		if _, err := exec.LookPath(prog); err != nil {
			skipOrFail(t, prog+" not found: cannot start a private keyring"+installHint)
		}
	}
	home := t.TempDir()
	script := `
set -u
mkdir -p "$HOME/data" "$HOME/run" && chmod 700 "$HOME/run"
printf %s "$AUTHCTL_TEST_KEYRING_PASSWORD" | XDG_DATA_HOME="$HOME/data" XDG_RUNTIME_DIR="$HOME/run" \
	gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &
daemon=$!
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.NameHasOwner \
	string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
	i=$((i+1)); [ $i -gt 100 ] && { echo "gnome-keyring did not start"; kill $daemon; exit 3; }
	sleep 0.1
done
"$@"; status=$?
kill $daemon 2>/dev/null; wait $daemon 2>/dev/null
exit $status`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script, "sh",
		os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(),
		"AUTHCTL_KEYCHAIN_PRIVATE_KEYRING="+t.Name(),
		"AUTHCTL_TEST_KEYRING_PASSWORD=private",
		"HOME="+home,
	)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("on a private keyring: %v\n%s", err, out)
	}
	return true
}

// TestRealSecretServiceSurvivesShortConnections: many short-lived
// connections, the shape of scripts calling authctl in parallel, neither
// fail nor bring gnome-keyring down. gnome-keyring records a new caller
// asynchronously; a caller whose first call (OpenSession above all) is
// handled before that record exists made it abort, on a private keyring
// within a few thousand connections.
func TestRealSecretServiceSurvivesShortConnections(t *testing.T) {
	if inPrivateKeyring(t) {
		return
	}
	conn := realBus(t)
	owner := func() string {
		var name string
		if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.secrets").Store(&name); err != nil {
			return "none (" + err.Error() + ")"
		}
		return name
	}
	ctx := context.Background()
	s := keychain.DefaultStore(keychain.SystemOptions{Timeout: time.Minute})
	present, missing := testAccount(t), testAccount(t)
	if err := s.Set(ctx, present, []byte("the secret")); err != nil {
		t.Fatal(err)
	}
	before := owner()

	const workers, each = 8, 1000
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				if (w+i)%2 == 0 {
					if v, err := s.Get(ctx, present); err != nil || string(v) != "the secret" {
						errs <- fmt.Errorf("Get of a stored credential = %q, %v", v, err)
						return
					}
				} else if _, err := s.Get(ctx, missing); !errors.Is(err, keychain.ErrNotFound) {
					errs <- fmt.Errorf("Get of a missing credential = %v, want ErrNotFound", err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if after := owner(); after != before {
		t.Fatalf("org.freedesktop.secrets was %s before %d reads and is %s after: gnome-keyring died", before, workers*each, after)
	}
	if err := s.Delete(ctx, present); err != nil {
		t.Fatal(err)
	}
}
