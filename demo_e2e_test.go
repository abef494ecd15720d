//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authctl/authctl/internal/testidp"
)

// demoDeadline bounds a whole run of scripts/demo, its build included: a
// loaded 2-core machine with a cold build cache takes minutes.
const demoDeadline = 10 * time.Minute

// demoProfile is the profile scripts/demo signs in with.
const demoProfile = "authctl-demo"

// TestDemo runs scripts/demo, the README's first command, as a newcomer
// would: no session bus of its own (so not the keychain this suite shares
// between tests, and on a machine without a desktop keychain the demo's
// own private gnome-keyring session, the path most likely to break), no
// display (so the test browser plays the user), stdin at end of file. It
// checks the exit status and what each step prints, and that the demo
// leaves no process and nothing in its temporary directory behind.
func TestDemo(t *testing.T) {
	demoRequire(t)
	tmp := t.TempDir()
	mark := "DEMOTEST_MARK=" + randomHex(8) // inherited by everything the demo starts
	var stdout, stderr bytes.Buffer
	err := runDemo(t, tmp, mark, &stdout, &stderr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("scripts/demo stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	if err != nil {
		t.Fatalf("scripts/demo: %v", err)
	}
	checkDemoStderr(t, stderr.String())
	checkDemoStdout(t, stdout.String())
	checkDemoStorage(t, stderr.String())
	checkDemoKernelCache(t)
	checkDemoLeftNothing(t, tmp, mark)
}

// demoRequire skips t, with the package to install, when scripts/demo
// cannot run here, or fails it under AUTHCTL_TEST_REQUIRE_REAL=1.
func demoRequire(t *testing.T) {
	t.Helper()
	for _, need := range []struct{ prog, why string }{
		{"bash", "scripts/demo is a bash script (Debian: apt-get install bash)"},
		{"go", "scripts/demo builds authctl with go (https://go.dev/dl/)"},
		{"node", "scripts/demo runs the test provider with node (Node 20 or later; Debian: apt-get install nodejs npm)"},
		{"npm", "scripts/demo checks for npm (Debian: apt-get install nodejs npm)"},
	} {
		if _, err := exec.LookPath(need.prog); err != nil {
			testidp.SkipOrFail(t, need.prog+" not found: "+need.why)
		}
	}
	if err := testidp.Available(); err != nil {
		testidp.SkipOrFail(t, err.Error())
	}
}

// runDemo runs scripts/demo in its own process group with the environment
// demoEnv makes, and stops the whole group if the deadline passes or the
// test ends early.
func runDemo(t *testing.T, tmp, mark string, stdout, stderr *bytes.Buffer) error {
	script, err := filepath.Abs(filepath.Join("scripts", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), demoDeadline)
	defer cancel()
	var args []string
	if runtime.GOOS == "darwin" {
		args = append(args, "--test-browser") // a Mac counts as having a display
	}
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Env = demoEnv(tmp, mark)
	cmd.Stdin = nil // /dev/null: nobody at the keyboard
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("not done within %s: %w", demoDeadline, err)
	}
	return err
}

// demoEnv is this process's environment without what would make the demo
// use the suite's shared session bus, a display or the user's authctl
// settings, with TMPDIR (where the demo makes its directory, the keyring's
// home and the bus socket) in the test's own directory, and mark added.
func demoEnv(tmp, mark string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "DBUS_SESSION_BUS_ADDRESS", name == "DISPLAY", name == "WAYLAND_DISPLAY",
			name == "TMPDIR", name == "BROWSER",
			strings.HasPrefix(name, "AUTHCTL_"), strings.HasPrefix(name, "TESTBROWSER_"):
		default:
			env = append(env, kv)
		}
	}
	return append(env, "TMPDIR="+tmp, mark)
}

// demoSteps is what the demo says on stderr, in this order.
var demoSteps = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^scripts/demo: provider: (http://127\.0\.0\.1:\d+) \(user alice\)$`),
	regexp.MustCompile(`(?m)^scripts/demo: browser:  the suite's test browser`),
	regexp.MustCompile(`(?m)^scripts/demo: profile:  authctl-demo \(AUTHCTL_PROFILE\)$`),
	regexp.MustCompile(`(?m)^\$ authctl login --issuer http://127\.0\.0\.1:\d+ --client-id authctl-test`),
	regexp.MustCompile(`(?m)^Logged in to http://127\.0\.0\.1:\d+ as alice \(profile "authctl-demo"\)\.$`),
	regexp.MustCompile(`(?m)^\$ authctl token print$`),
	regexp.MustCompile(`(?m)^\$ authctl curl http://127\.0\.0\.1:\d+/me$`),
	regexp.MustCompile(`(?m)^\$ authctl status$`),
	regexp.MustCompile(`(?m)^\$ authctl token print --min-ttl 2h -v$`),
	regexp.MustCompile(`(?m)^authctl: refreshed; new access token valid for `),
	regexp.MustCompile(`(?m)^scripts/demo: a new access token, got with the refresh token kept in the (keychain|file)$`),
	regexp.MustCompile(`(?m)^\$ authctl logout$`),
	regexp.MustCompile(`(?m)^Logged out of profile "authctl-demo"; the tokens were revoked at the provider\.$`),
	regexp.MustCompile(`(?m)^authctl: not logged in \(profile "authctl-demo"\); run: authctl login -p authctl-demo$`),
	regexp.MustCompile(`(?m)^scripts/demo: exit status 4: login required, as a script would see it$`),
	regexp.MustCompile(`(?m)^scripts/demo: done in \d+ s after the build: logged out, provider stopped, \S+ removed$`),
}

func checkDemoStderr(t *testing.T, stderr string) {
	t.Helper()
	rest := stderr
	for _, re := range demoSteps {
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Errorf("stderr lacks, after the steps before it: %s", re)
			return
		}
		rest = rest[loc[1]:]
	}
}

// demoStdout is what the demo's commands print on stdout: the access
// token, the provider's userinfo answer (no newline of its own), status,
// the refreshed access token.
var demoStdout = regexp.MustCompile(`\A([A-Za-z0-9_.-]{20,})\n` +
	`\{"sub":"alice"\}` +
	`profile: +authctl-demo\n(?:.*\n)*?logged in: +yes\n(?:.*\n)*?` +
	`([A-Za-z0-9_.-]{20,})\n\z`)

func checkDemoStdout(t *testing.T, stdout string) {
	t.Helper()
	m := demoStdout.FindStringSubmatch(stdout)
	if m == nil {
		t.Errorf("stdout is not token, userinfo, status, token: want a match of %s", demoStdout)
		return
	}
	if m[1] == m[2] {
		t.Errorf("the forced refresh printed the access token printed before it")
	}
}

var demoStorage = regexp.MustCompile(`(?m)^scripts/demo: storage:  (.*)$`)

// checkDemoStorage checks the demo chose the storage this machine calls
// for: on Linux, the session bus at /run/user/UID/bus (a desktop's) when
// there is one, else a private gnome-keyring when it is installed, else
// --insecure-storage.
func checkDemoStorage(t *testing.T, stderr string) {
	t.Helper()
	m := demoStorage.FindStringSubmatch(stderr)
	if m == nil {
		t.Errorf("stderr does not say where the credential goes (storage: ...)")
		return
	}
	if runtime.GOOS != "linux" {
		return
	}
	want := "--insecure-storage: "
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		want = "the OS keychain of this session"
	} else if demoKeyringTools() {
		want = "a private gnome-keyring on a private D-Bus session"
	}
	if !strings.HasPrefix(m[1], want) {
		t.Errorf("storage: %s\nwant it to start with %q", m[1], want)
	}
}

func demoKeyringTools() bool {
	for _, prog := range []string{"dbus-run-session", "gnome-keyring-daemon", "dbus-send"} {
		if _, err := exec.LookPath(prog); err != nil {
			return false
		}
	}
	return true
}

// checkDemoKernelCache checks that logout took the demo's copy of its
// access token out of the kernel keyring (Linux), where it would otherwise
// outlive the demo by an hour.
func checkDemoKernelCache(t *testing.T) {
	t.Helper()
	keys, err := os.ReadFile("/proc/keys")
	if err != nil {
		return // not Linux, or no keyctl
	}
	for _, line := range strings.Split(string(keys), "\n") {
		f := strings.Fields(line)
		live := len(f) > 8 && !strings.ContainsAny(f[1], "iD") && f[3] != "expd"
		if live && strings.HasPrefix(f[8], "authctl:at1:") && strings.HasSuffix(strings.TrimSuffix(f[8], ":"), ":"+demoProfile) {
			t.Errorf("the kernel keyring still holds an access token of profile %s: %s", demoProfile, line)
		}
	}
}

// checkDemoLeftNothing checks that nothing the demo started still runs and
// that its temporary files are gone. A process can outlive the demo by a
// moment (dbus-run-session does not wait for the bus it stops), so both
// are given a generous while to clear.
func checkDemoLeftNothing(t *testing.T, tmp, mark string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		procs, err := demoProcesses(mark)
		if err != nil {
			t.Fatal(err)
		}
		left, _ := os.ReadDir(tmp)
		if len(procs) == 0 && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			t.Fatalf("scripts/demo left behind processes %v and in TMPDIR %v", procs, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// demoProcesses lists the processes whose environment holds mark, as
// "pid command". Only Linux tells; elsewhere the list is empty.
func demoProcesses(mark string) ([]string, error) {
	if runtime.GOOS != "linux" {
		return nil, nil
	}
	environs, err := filepath.Glob("/proc/[0-9]*/environ")
	if err != nil {
		return nil, err
	}
	var found []string
	for _, path := range environs {
		env, err := os.ReadFile(path)
		if err != nil {
			continue // gone, or another user's
		}
		if !bytes.Contains(append([]byte{0}, env...), []byte("\x00"+mark+"\x00")) {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(filepath.Dir(path), "comm"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		found = append(found, filepath.Base(filepath.Dir(path))+" "+strings.TrimSpace(string(comm)))
	}
	return found, nil
}
