package keychain_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/zalando/go-keyring"
)

// TestNoSessionBusIsExplainedAndLaunchesNothing unsets
// DBUS_SESSION_BUS_ADDRESS with a dbus-launch on PATH that leaves a mark
// when run: every call fails at once with the explained error, and nothing
// is launched.
func TestNoSessionBusIsExplainedAndLaunchesNothing(t *testing.T) {
	if inFreshProcess(t) {
		return
	}
	bin := t.TempDir()
	mark := filepath.Join(bin, "launched")
	script := "#!/bin/sh\n/usr/bin/touch " + mark + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")

	s := keychain.DefaultStore(keychain.SystemOptions{
		Getenv:    os.Getenv,
		BusSocket: filepath.Join(t.TempDir(), "no-bus"),
	})
	ctx := context.Background()
	_, getErr := s.Get(ctx, "work")
	setErr := s.Set(ctx, "work", []byte("secret"))
	delErr := s.Delete(ctx, "work")
	for name, err := range map[string]error{"Get": getErr, "Set": setErr, "Delete": delErr} {
		// At once: the preflight's own error, not the call's time limit.
		if !errors.Is(err, keychain.ErrUnavailable) || errors.Is(err, keychain.ErrTimeout) {
			t.Errorf("%s = %v, want ErrUnavailable and not ErrTimeout", name, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS is not set") || !strings.Contains(msg, "--insecure-storage") || strings.Contains(msg, "\n") {
			t.Errorf("%s error %q does not explain the missing bus and the way out in one line", name, msg)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("dbus-launch was run")
	}
	// The mark works: go-keyring on its own does run dbus-launch here.
	if _, err := exec.LookPath("dbus-launch"); err == nil {
		if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err != nil {
			keyring.Get(keychain.Service, "work")
			if _, err := os.Stat(mark); err != nil {
				t.Error("control: go-keyring did not run the fake dbus-launch; the check above proves nothing")
			}
		}
	}
}

// inFreshProcess runs the calling test again in a new test process and
// reports true, unless this is that process. godbus keeps one session bus
// connection per process, made by whichever go-keyring call came first, so
// a test that points go-keyring at another bus needs a process of its own.
func inFreshProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv("AUTHCTL_KEYCHAIN_FRESH_PROCESS") == t.Name() {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "AUTHCTL_KEYCHAIN_FRESH_PROCESS="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("in a fresh process: %v\n%s", err, out)
	}
	return true
}

// hungBus listens on a unix socket, accepts connections and never answers,
// like a session bus that hangs. The connections are closed at cleanup so
// abandoned calls end.
func hungBus(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "unix:path=" + path
}

func TestHungKeychainTimesOut(t *testing.T) {
	if inFreshProcess(t) {
		return
	}
	addr := hungBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr) // for go-keyring (Set, Delete)
	s := keychain.NewSystem(keychain.SystemOptions{
		Timeout: 200 * time.Millisecond,
		Getenv:  func(k string) string { return map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr}[k] },
	})
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Get":    func() error { _, err := s.Get(ctx, "work"); return err },
		"Set":    func() error { return s.Set(ctx, "work", []byte("x")) },
		"Delete": func() error { return s.Delete(ctx, "work") },
	} {
		// The bus never answers: only the 200ms limit can end the call.
		err := returnsWithin(t, name, call)
		if !errors.Is(err, keychain.ErrTimeout) || !errors.Is(err, keychain.ErrUnavailable) {
			t.Errorf("%s = %v, want ErrTimeout and ErrUnavailable", name, err)
		} else if !strings.Contains(err.Error(), "200ms") {
			t.Errorf("%s error %q does not name the time limit", name, err)
		}
	}

	// The caller's context ends the wait too, with its own error (the
	// call's limit, a minute, would end it with ErrTimeout).
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	slow := keychain.NewSystem(keychain.SystemOptions{Timeout: time.Minute, Getenv: func(string) string { return addr }})
	if _, err := slow.Get(cctx, "work"); !errors.Is(err, context.Canceled) || errors.Is(err, keychain.ErrTimeout) {
		t.Errorf("Get with cancelled context = %v, want context.Canceled", err)
	}
}

// hangWait is how long returnsWithin waits: a call it guards is either
// ended by a far shorter limit or hangs for good, so the wait is set for a
// loaded machine's delays, not the call's limit.
const hangWait = 30 * time.Second

// returnsWithin runs call and returns its error, or fails t if call has not
// returned within hangWait (it hangs).
func returnsWithin(t *testing.T, what string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangWait):
		t.Fatalf("%s has not returned after %s: it hangs", what, hangWait)
		return nil
	}
}

func TestNoSecretServiceOnTheBusIsExplained(t *testing.T) {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		skipOrFail(t, "dbus-daemon is not installed (Debian: apt-get install dbus)")
	}
	addr := privateBus(t)
	s := keychain.NewSystem(keychain.SystemOptions{Getenv: func(string) string { return addr }})
	// At once, with the reason: not after the call's time limit.
	_, err := s.Get(context.Background(), "work")
	if !errors.Is(err, keychain.ErrUnavailable) || errors.Is(err, keychain.ErrTimeout) || !strings.Contains(err.Error(), "no Secret Service") {
		t.Fatalf("Get = %v, want the no-Secret-Service error", err)
	}
}

// privateBus starts a dbus-daemon with no services on it and returns its
// address.
func privateBus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=`+sock+`</listen>
<auth>EXTERNAL</auth><policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`), 0o600)
	// dbus-daemon prints its address once it accepts connections; its
	// socket file appears earlier (between bind and listen), when a
	// connection is still refused.
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(out).ReadString('\n')
		ready <- err
	}()
	// A generous wait: dbus-daemon can take seconds to start on a loaded machine.
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("private dbus-daemon ended before it was ready: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("private dbus-daemon did not start within 30s")
	}
	return "unix:path=" + sock
}
