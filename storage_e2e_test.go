package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/internal/testidp"
	"github.com/authctl/authctl/keychain"
)

// The scripts run against one of two stores, chosen once per run:
//
//   - keychain mode: the real OS keychain (on Linux the Secret Service of
//     the session bus, which scripts/test provides with gnome-keyring);
//   - file mode: a file store in each script's own directory, which the
//     test binary's authctl command is given as cmd.Deps.Keychain. authctl
//     behaves as with a keychain (no --insecure-storage, no warnings); the
//     scripts about the keychain itself skip, on [!keychain].
//
// Keychain mode is chosen when the keychain answers. File mode is chosen
// when it does not, or when AUTHCTL_TEST_STORE=file asks for it (to run
// both modes on a machine with a keychain). AUTHCTL_TEST_STORE=keychain,
// and AUTHCTL_TEST_REQUIRE_REAL=1 as in CI, make a missing keychain fail.
const (
	// envTestStore chooses the store: "file", "keychain", or empty (auto).
	envTestStore = "AUTHCTL_TEST_STORE"
	// envFileStore carries a file-mode script's store directory to the
	// authctl command (see scriptKeychain). It does not start with
	// AUTHCTL_: authctl refuses AUTHCTL_ variables it does not know.
	envFileStore = "TESTSCRIPT_FILE_STORE"
)

// storeMode is the store the scripts of this run use.
type storeMode struct {
	// file is set in file mode.
	file bool
	// why says why file mode was chosen, for the keychain scripts' skips.
	why string
}

// chooseStore picks the run's storeMode, failing t when the keychain is
// required and missing.
func chooseStore(t *testing.T) storeMode {
	requireReal := os.Getenv(testidp.EnvRequireReal) == "1"
	choice := os.Getenv(envTestStore)
	switch choice {
	case "file":
		if requireReal {
			t.Fatalf("%s=file contradicts %s=1, which requires the real keychain", envTestStore, testidp.EnvRequireReal)
		}
		return storeMode{file: true, why: envTestStore + "=file chose the file store"}
	case "", "keychain":
	default:
		t.Fatalf("%s=%q: want file, keychain or nothing", envTestStore, choice)
	}
	err := keychainAvailable()
	if err == nil {
		return storeMode{}
	}
	if requireReal || choice == "keychain" {
		t.Fatalf("no usable keychain for the end-to-end tests: %v", err)
	}
	t.Logf("no usable keychain (%v): the scripts use a file store, and those about the keychain skip", err)
	return storeMode{file: true, why: "no Secret Service here (Debian: apt-get install gnome-keyring libsecret-tools dbus)"}
}

// keychainAvailable probes the OS keychain the way authctl uses it.
func keychainAvailable() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := keychain.DefaultStore(keychain.SystemOptions{}).Get(ctx, "probe-"+randomHex(4))
	if err == nil || errors.Is(err, keychain.ErrNotFound) {
		return nil
	}
	return err
}

// setup prepares a script's store: in file mode it sets $TESTSCRIPT_FILE_STORE
// (outside $HOME, so that nofile ... $HOME still means "no plain file of
// authctl's own") and $NOKEYCHAIN (why [!keychain] holds); in keychain mode
// it deletes the script's items from the keychain when the script ends.
// In both, $STORAGE is a regexp matching the backend status names.
func (m storeMode) setup(env *testscript.Env, profiles ...string) {
	if m.file {
		dir := filepath.Join(env.WorkDir, ".keychain")
		env.Setenv(envFileStore, dir)
		env.Setenv("NOKEYCHAIN", m.why)
		env.Setenv("STORAGE", regexp.QuoteMeta(fileStore(dir).Backend()))
		return
	}
	store := keychain.DefaultStore(keychain.SystemOptions{})
	env.Setenv("STORAGE", regexp.QuoteMeta(store.Backend()))
	env.Defer(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, p := range profiles {
			_ = store.Delete(ctx, p)
		}
	})
}

// condition answers [keychain] (the scripts run against the real keychain)
// and passes every other condition to next.
func (m storeMode) condition(next func(string) (bool, error)) func(string) (bool, error) {
	return func(cond string) (bool, error) {
		if cond == "keychain" {
			return !m.file, nil
		}
		return next(cond)
	}
}

// fileStore is file mode's store in dir: split as the keychain store is,
// so that authctl sees the same behaviour apart from where bytes land.
func fileStore(dir string) keychain.Store {
	return keychain.NewSplit(keychain.NewFile(dir), keychain.SplitOptions{})
}

// scriptKeychain is cmd.Deps.Keychain for the authctl command of a script:
// the file store in file mode, nil (the OS keychain) otherwise.
func scriptKeychain() func(time.Duration) keychain.Store {
	dir := os.Getenv(envFileStore)
	if dir == "" {
		return nil
	}
	return func(time.Duration) keychain.Store { return fileStore(dir) }
}

// scriptStore is the store the script's authctl uses, for commands that
// inspect it (cred).
func scriptStore(ts *testscript.TestScript) keychain.Store {
	if dir := ts.Getenv(envFileStore); dir != "" {
		return fileStore(dir)
	}
	return keychain.DefaultStore(keychain.SystemOptions{})
}

// Where the scripts' credentials live, and the custom commands of the
// storage_*.txtar scripts: private D-Bus sessions (bare, or with a gnome-keyring of their own that a script may
// lock without disturbing the scripts running alongside), a bound on how
// long a command may take, and file modes.

const (
	secretsName       = "org.freedesktop.secrets"
	secretsPath       = dbus.ObjectPath("/org/freedesktop/secrets")
	secretsService    = "org.freedesktop.Secret.Service"
	loginCollection   = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	gnomeKeyringIface = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
)

// busConfig is a session bus with no activatable services: nothing on it
// is started on demand (the system's session.conf would start
// gnome-keyring the moment a client asks for org.freedesktop.secrets).
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// cmdBus starts a private session bus for the script:
//
//	bus start    a bus nobody serves org.freedesktop.secrets on (nothing is
//	             activatable either); sets DBUS_SESSION_BUS_ADDRESS to it
func cmdBus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || args[0] != "start" {
		ts.Fatalf("usage: bus start")
	}
	ts.Setenv("DBUS_SESSION_BUS_ADDRESS", startBus(ts))
}

// cmdKeyring controls a gnome-keyring of the script's own, on a private
// session bus, so that locking it cannot break other scripts:
//
//	keyring start          start a bus and gnome-keyring-daemon (its login
//	                       collection unlocked with $AUTHCTL_TEST_KEYRING_PASSWORD,
//	                       default "pass"); sets DBUS_SESSION_BUS_ADDRESS
//	keyring lock           lock the login collection over D-Bus, as a screen lock does
//	keyring unlock         unlock it with the password, without a prompt
//	keyring has ACCOUNT    assert that an authctl item for ACCOUNT is stored,
//	                       locked or not, and print "locked" or "unlocked"
//	                       (! keyring has: that none is)
//
// lock, unlock and has talk to the bus in the script's DBUS_SESSION_BUS_ADDRESS.
func cmdKeyring(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: keyring start|lock|unlock|has ACCOUNT")
	}
	if neg && args[0] != "has" {
		ts.Fatalf("keyring %s does not take !", args[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch args[0] {
	case "start":
		addr := startBus(ts)
		startKeyring(ctx, ts, addr)
		ts.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	case "lock":
		conn := scriptBus(ctx, ts)
		var locked []dbus.ObjectPath
		var prompt dbus.ObjectPath
		err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, secretsService+".Lock", 0,
			[]dbus.ObjectPath{loginCollection}).Store(&locked, &prompt)
		ts.Check(err)
		if prompt != "/" {
			ts.Fatalf("locking asked for a prompt (%s)", prompt)
		}
		wantLocked(ctx, ts, conn, true)
	case "unlock":
		conn := scriptBus(ctx, ts)
		svc := conn.Object(secretsName, secretsPath)
		var alg dbus.Variant
		var session dbus.ObjectPath
		ts.Check(svc.CallWithContext(ctx, secretsService+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&alg, &session))
		secret := struct {
			Session     dbus.ObjectPath
			Parameters  []byte
			Value       []byte
			ContentType string
		}{session, []byte{}, []byte(keyringPassword()), "text/plain"}
		ts.Check(svc.CallWithContext(ctx, gnomeKeyringIface+".UnlockWithMasterPassword", 0, loginCollection, secret).Err)
		wantLocked(ctx, ts, conn, false)
	case "has":
		if len(args) != 2 {
			ts.Fatalf("usage: keyring has ACCOUNT")
		}
		conn := scriptBus(ctx, ts)
		var unlocked, locked []dbus.ObjectPath
		err := conn.Object(secretsName, secretsPath).CallWithContext(ctx, secretsService+".SearchItems", 0,
			map[string]string{"service": "authctl", "username": args[1]}).Store(&unlocked, &locked)
		ts.Check(err)
		switch {
		case neg && len(unlocked)+len(locked) > 0:
			ts.Fatalf("an item for %s is stored", args[1])
		case neg:
		case len(unlocked) > 0:
			fmt.Fprintln(ts.Stdout(), "unlocked")
		case len(locked) > 0:
			fmt.Fprintln(ts.Stdout(), "locked")
		default:
			ts.Fatalf("no item for %s is stored", args[1])
		}
	default:
		ts.Fatalf("unknown keyring command %q", args[0])
	}
}

// keyringPassword is the password of the test keyrings.
func keyringPassword() string {
	if p := os.Getenv("AUTHCTL_TEST_KEYRING_PASSWORD"); p != "" {
		return p
	}
	return "pass"
}

// wantLocked asserts the login collection's Locked property.
func wantLocked(ctx context.Context, ts *testscript.TestScript, conn *dbus.Conn, want bool) {
	var v dbus.Variant
	err := conn.Object(secretsName, loginCollection).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		"org.freedesktop.Secret.Collection", "Locked").Store(&v)
	ts.Check(err)
	if got, _ := v.Value().(bool); got != want {
		ts.Fatalf("login collection Locked = %v; want %v", got, want)
	}
}

// scriptBus connects to the script's session bus; the connection closes
// when the script ends.
func scriptBus(ctx context.Context, ts *testscript.TestScript) *dbus.Conn {
	addr := ts.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" {
		ts.Fatalf("DBUS_SESSION_BUS_ADDRESS is not set in the script")
	}
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		ts.Fatalf("connect to the script's session bus: %v", err)
	}
	ts.Defer(func() { _ = conn.Close() })
	return conn
}

// startBus starts a dbus-daemon with busConfig, stopped when the script
// ends, and returns its address.
func startBus(ts *testscript.TestScript) string {
	needProgram(ts, "dbus-daemon")
	dir := tempDir(ts, "authctl-bus-")
	conf := filepath.Join(dir, "bus.conf")
	ts.Check(os.WriteFile(conf, fmt.Appendf(nil, busConfig, dir), 0o600))
	var stderr bytes.Buffer
	c := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address")
	c.Stderr = &stderr
	out, err := c.StdoutPipe()
	ts.Check(err)
	ts.Check(c.Start())
	ts.Defer(func() { stop(c) })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	select {
	case addr := <-lines:
		if addr == "" {
			ts.Fatalf("dbus-daemon printed no address: %s", stderr.String())
		}
		return addr
	case <-time.After(time.Minute):
		ts.Fatalf("dbus-daemon printed no address within a minute: %s", stderr.String())
	}
	return ""
}

// startKeyring runs gnome-keyring-daemon (secrets only) on the bus at
// addr, with a home of its own and the login keyring unlocked with
// keyringPassword, and waits until it owns org.freedesktop.secrets. No
// display variable reaches it, so it can never show a prompt.
func startKeyring(ctx context.Context, ts *testscript.TestScript, addr string) {
	needProgram(ts, "gnome-keyring-daemon")
	home := tempDir(ts, "authctl-keyring-")
	runtimeDir := filepath.Join(home, "run")
	ts.Check(os.Mkdir(runtimeDir, 0o700))
	var log bytes.Buffer
	c := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	c.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_RUNTIME_DIR=" + runtimeDir,
		"DBUS_SESSION_BUS_ADDRESS=" + addr,
	}
	c.Stdin = strings.NewReader(keyringPassword())
	c.Stdout, c.Stderr = &log, &log
	ts.Check(c.Start())
	exited := make(chan struct{})
	go func() { _ = c.Wait(); close(exited) }()
	ts.Defer(func() {
		_ = c.Process.Kill()
		<-exited
	})

	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	ts.Check(err)
	defer conn.Close()
	for {
		var has bool
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, secretsName).Store(&has)
		if err == nil && has {
			return
		}
		select {
		case <-exited:
			ts.Fatalf("gnome-keyring-daemon exited: %s", log.String())
		case <-ctx.Done():
			ts.Fatalf("gnome-keyring-daemon did not own %s in time: %s", secretsName, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop kills a process this test started and reaps it.
func stop(c *exec.Cmd) {
	_ = c.Process.Kill()
	_ = c.Wait()
}

// tempDir makes a short-named directory (unix socket paths are limited to
// about 100 bytes, and the script's $WORK is long), removed when the
// script ends.
func tempDir(ts *testscript.TestScript, prefix string) string {
	dir, err := os.MkdirTemp("", prefix)
	ts.Check(err)
	ts.Defer(func() { _ = os.RemoveAll(dir) })
	return dir
}

// needProgram fails the script when prog is missing: scripts check with
// [exec:prog] and skip (see requirereal) before they get here.
func needProgram(ts *testscript.TestScript, prog string) {
	if _, err := exec.LookPath(prog); err != nil {
		ts.Fatalf("%s not found (guard the script with [!exec:%s] skip)", prog, prog)
	}
}

// cmdRequireReal fails when AUTHCTL_TEST_REQUIRE_REAL=1 and does nothing
// otherwise; put it before a skip, under the same condition, so that a
// missing real part fails CI instead of skipping:
//
//	[!exec:gnome-keyring-daemon] requirereal 'no gnome-keyring-daemon'
//	[!exec:gnome-keyring-daemon] skip 'no gnome-keyring-daemon'
func cmdRequireReal(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: requirereal REASON...")
	}
	if os.Getenv(testidp.EnvRequireReal) == "1" {
		ts.Fatalf("%s (required: %s=1)", strings.Join(args, " "), testidp.EnvRequireReal)
	}
}

// cmdNoUserBus checks that authctl will find no session bus when
// DBUS_SESSION_BUS_ADDRESS is unset: that /run/user/<uid>/bus, where it
// (and godbus) look next, does not exist. When it does (a desktop
// session), the command fails under AUTHCTL_TEST_REQUIRE_REAL=1 and
// otherwise puts a command named has-user-bus on the script's PATH, so
// that the script can go on with
//
//	nouserbus
//	[exec:has-user-bus] skip 'there is a user session bus'
func cmdNoUserBus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: nouserbus")
	}
	sock := fmt.Sprintf("/run/user/%d/bus", os.Getuid())
	if _, err := os.Stat(sock); err != nil {
		return
	}
	if os.Getenv(testidp.EnvRequireReal) == "1" {
		ts.Fatalf("%s exists, so authctl cannot be shown without a session bus here (required: %s=1)", sock, testidp.EnvRequireReal)
	}
	bin := ts.MkAbs(".userbus-bin")
	ts.Check(os.MkdirAll(bin, 0o755))
	ts.Check(os.WriteFile(filepath.Join(bin, "has-user-bus"), []byte("#!/bin/sh\n"), 0o755))
	ts.Setenv("PATH", bin+string(os.PathListSeparator)+ts.Getenv("PATH"))
}

// cmdExitsWithin runs authctl as exec does (with the script's whole
// environment) and asserts its exact exit code and that it ended within a
// bound (a check for a hang, not a benchmark); its stdout and stderr are
// then those of the script's last command:
//
//	exitswithin CODE DURATION ARGS...
func cmdExitsWithin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitswithin CODE DURATION ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	limit, err := time.ParseDuration(args[1])
	ts.Check(err)
	start := time.Now()
	code := execAuthctl(ts, args[2:])
	took := time.Since(start)
	if code != want {
		ts.Fatalf("authctl exited %d, want %d", code, want)
	}
	if took >= limit {
		ts.Fatalf("authctl took %s; want less than %s", took.Round(time.Millisecond), limit)
	}
}

// cmdPerm asserts the permission bits of a file or directory:
//
//	perm MODE PATH    e.g. perm 0600 $XDG_STATE_HOME/authctl/credentials/$PROFILE
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm MODE PATH")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s has mode %#o; want %#o", args[1], got, want)
	}
}
