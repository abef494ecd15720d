package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/internal/testbrowser"
)

// The custom commands and conditions of the login_*.txtar scripts: they
// play the person at the terminal of a running `authctl login` (pasting a
// URL, approving a device code, pressing Ctrl-C) and the things around it
// (a busy port, a probe of the listener, a real browser).

// scriptCondition answers the scripts' own conditions:
//
//	[chromium]  Debian's chromium is installed (missing: false, or an
//	            error when AUTHCTL_TEST_REQUIRE_REAL=1, so CI cannot skip it)
//	[ipv6]      the IPv6 loopback [::1] can be bound here
//	[kernelcache]  see cache_e2e_test.go
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "kernelcache":
		return kernelCacheCondition()
	case "chromium":
		if _, err := exec.LookPath("chromium"); err != nil {
			if os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
				return false, errors.New("chromium is not installed (apt-get install chromium) and AUTHCTL_TEST_REQUIRE_REAL=1")
			}
			return false, nil
		}
		return true, nil
	case "ipv6":
		ln, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			return false, nil
		}
		_ = ln.Close()
		return true, nil
	case "kubectl", "git", "script":
		return integrationCondition(cond)
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// interactWait bounds each wait for authctl to print what the person acts on.
const interactWait = 30 * time.Second

var (
	// authURLRe finds the authorization URL authctl prints on stderr.
	authURLRe = regexp.MustCompile(`(https?://\S+\?\S*response_type=code\S*)`)
	// deviceURLRe finds verification_uri_complete in the device flow's output.
	deviceURLRe = regexp.MustCompile(`(https?://\S+[?&]user_code=\S+)`)
	// deviceWaitRe is the device flow's "waiting" line.
	deviceWaitRe = regexp.MustCompile(`Waiting for you to approve`)
)

// cmdInteract runs authctl ARGS as a person at a terminal would, acting on
// what it prints on stderr:
//
//	interact paste ARGS...        open the printed sign-in URL in the test browser without
//	                              letting it call the loopback callback, then paste the
//	                              address it was sent to on authctl's stdin (with
//	                              TESTBROWSER_MODE=foreign-iss, altered so; with forge-state,
//	                              paste it with another state first, wait until authctl asks
//	                              again, then paste the real one)
//	interact browse ARGS...       open the printed sign-in URL in the test browser, which
//	                              calls the loopback callback (as through ssh -L)
//	interact device ARGS...       approve verification_uri_complete at the provider's device pages
//	interact device-deny ARGS...  deny it there
//	interact stray ARGS...        send stray and forged requests to the loopback listener
//	                              (each reported as "interact: METHOD TARGET [Host: HOST]
//	                              STATUS", the login's state shown as STATE), then sign in
//	                              with the test browser delivering the provider's response
//	                              with a forged state ("interact: forged callback STATUS:
//	                              PAGE"), then complete the sign-in through the callback
//	interact interrupt ARGS...    press Ctrl-C (SIGINT) once authctl waits (it must exit
//	                              within a minute); then report
//	                              "interact: port N free" if nothing listens on the
//	                              listener's port any more (no process, such as the
//	                              browser, kept the socket)
//
// In paste, browse and stray the command itself is the browser: authctl's
// own $BROWSER is told to do nothing (TESTBROWSER_MODE=none), so that no
// second browser completes the sign-in behind the command's back.
//
// authctl's stdout and stderr become the command's; the reports, last
// "interact: exit CODE", follow on stderr. It fails unless authctl
// succeeds (! interact: unless it fails).
func cmdInteract(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: interact paste|browse|device|device-deny|stray|interrupt ARGS...")
	}
	action := args[0]
	var env []string
	switch action {
	case "paste", "browse", "stray":
		env = append(env, "TESTBROWSER_MODE=none")
	}
	p := startAuthctl(ts, args[1:], env...)
	defer p.kill()
	var report []string
	reportf := func(format string, a ...any) { report = append(report, "interact: "+fmt.Sprintf(format, a...)) }
	fail := func(format string, a ...any) {
		p.kill()
		p.wait()
		ts.Fatalf("interact %s: %s\nauthctl stderr:\n%s", action, fmt.Sprintf(format, a...), p.stderr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	switch action {
	case "paste":
		m, err := p.waitLine(authURLRe)
		if err != nil {
			fail("%v", err)
		}
		res, err := testbrowser.Visit(ctx, nil, m[1], testbrowser.Print)
		if err != nil || res.Callback == nil {
			fail("browser: %v (page %d: %s)", err, res.Status, res.Text)
		}
		pasted := *res.Callback
		q := pasted.Query()
		switch testbrowser.Mode(ts.Getenv("TESTBROWSER_MODE")) {
		case testbrowser.ForgeState:
			forged := pasted
			fq := pasted.Query()
			fq.Set("state", testbrowser.ForgedState)
			forged.RawQuery = fq.Encode()
			if _, err := io.WriteString(p.stdin, forged.String()+"\n"); err != nil {
				fail("paste: %v", err)
			}
			if _, err := p.waitLine(pasteAgainRe); err != nil {
				fail("after a paste with a forged state: %v", err)
			}
			reportf("pasted the redirect URL with a forged state; asked again")
		case testbrowser.ForeignIss:
			q.Set("iss", testbrowser.ForeignIssuer)
		}
		pasted.RawQuery = q.Encode()
		if _, err := io.WriteString(p.stdin, pasted.String()+"\n"); err != nil {
			fail("paste: %v", err)
		}
		reportf("pasted the redirect URL (the callback was not called)")
	case "device", "device-deny":
		m, err := p.waitLine(deviceURLRe)
		if err != nil {
			fail("%v", err)
		}
		if action == "device" {
			if err := testbrowser.ApproveDevice(ctx, nil, m[1]); err != nil {
				fail("%v", err)
			}
			reportf("device approved")
		} else {
			res, err := testbrowser.Visit(ctx, nil, m[1], testbrowser.Deny)
			if err != nil {
				fail("deny: %v", err)
			}
			reportf("device denied: page %d", res.Status)
		}
	case "browse":
		m, err := p.waitLine(authURLRe)
		if err != nil {
			fail("%v", err)
		}
		res, err := testbrowser.Visit(ctx, nil, m[1], testbrowser.Follow)
		if err != nil || res.Callback == nil {
			fail("browser: %v (page %d: %s)", err, res.Status, res.Text)
		}
		reportf("callback %d: %s", res.Status, res.Text)
	case "stray":
		m, err := p.waitLine(authURLRe)
		if err != nil {
			fail("%v", err)
		}
		lines, err := strayProbes(ctx, ts, m[1])
		if err != nil {
			fail("%v", err)
		}
		for _, line := range lines {
			reportf("%s", line)
		}
		res, err := testbrowser.Visit(ctx, nil, m[1], testbrowser.ForgeState)
		if err != nil || res.Callback == nil {
			fail("forging browser: %v (page %d: %s)", err, res.Status, res.Text)
		}
		reportf("forged callback %d: %s", res.Status, res.Text)
		res, err = testbrowser.Visit(ctx, nil, m[1], testbrowser.Follow)
		if err != nil || res.Callback == nil {
			fail("browser: %v (page %d: %s)", err, res.Status, res.Text)
		}
		reportf("callback %d: %s", res.Status, res.Text)
	case "interrupt":
		m, err := p.waitLine(regexp.MustCompile(authURLRe.String() + "|" + deviceWaitRe.String()))
		if err != nil {
			fail("%v", err)
		}
		ts.Check(p.cmd.Process.Signal(os.Interrupt))
		exited := make(chan struct{})
		go func() { p.wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(time.Minute):
			fail("still running a minute after SIGINT")
		}
		if m[1] != "" {
			u, err := url.Parse(m[1])
			ts.Check(err)
			redirect, err := url.Parse(u.Query().Get("redirect_uri"))
			ts.Check(err)
			// A connection is refused once no socket listens there. (A
			// test binding the port instead could fail for no fault of
			// authctl's: the kernel may have handed the freed port to
			// another process's outgoing connection meanwhile.)
			conn, err := net.DialTimeout("tcp", redirect.Host, time.Minute)
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				reportf("port %s free", redirect.Port())
			case err == nil:
				_ = conn.Close()
				reportf("port %s still has a listener", redirect.Port())
			default:
				reportf("port %s: %v", redirect.Port(), err)
			}
		}
	default:
		fail("unknown action %q", action)
	}

	code := p.wait()
	fmt.Fprint(ts.Stdout(), p.stdout())
	fmt.Fprint(ts.Stderr(), p.stderr())
	reportf("exit %d", code)
	fmt.Fprintln(ts.Stderr(), strings.Join(report, "\n"))
	if (code == 0) == neg {
		ts.Fatalf("authctl exited %d", code)
	}
}

// pasteAgainRe is the line authctl prints when a pasted URL belongs to
// another sign-in.
var pasteAgainRe = regexp.MustCompile(`^That address does not belong to this sign-in`)

// strayProbes sends requests other than the browser's to the loopback
// listener of authURL's login: other paths and methods, callbacks with a
// wrong or no state, and one with the login's own state under another Host
// (a DNS-rebinding page, another name). It returns one report line each,
// or the first request's error: the listener must still be there.
func strayProbes(ctx context.Context, ts *testscript.TestScript, authURL string) ([]string, error) {
	base, cb := listenerOf(ts, authURL)
	u, err := url.Parse(authURL)
	ts.Check(err)
	state := u.Query().Get("state")
	_, port, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	ts.Check(err)
	client := &http.Client{Timeout: 10 * time.Second}
	var lines []string
	for _, probe := range []struct{ method, target, host string }{
		{http.MethodGet, "/favicon.ico", ""},
		{http.MethodGet, "/.well-known/security.txt", ""},
		{http.MethodGet, cb, ""},
		{http.MethodHead, cb + "?code=x&state=y", ""},
		{http.MethodPost, cb, ""},
		{http.MethodGet, cb + "?code=x&state=forged", ""},
		{http.MethodGet, cb + "?code=x", ""},
		{http.MethodGet, cb + "?error=access_denied&state=forged", ""},
		{http.MethodGet, cb + "?code=x&state=" + state, "rebound.example:" + port},
		{http.MethodGet, cb + "?code=x&state=" + state, "localhost:" + port},
	} {
		req, err := http.NewRequestWithContext(ctx, probe.method, base+probe.target, nil)
		ts.Check(err)
		shown := strings.ReplaceAll(probe.target, state, "STATE")
		if probe.host != "" {
			req.Host = probe.host
			shown += " Host: " + strings.TrimSuffix(probe.host, ":"+port)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", probe.method, shown, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lines = append(lines, fmt.Sprintf("%s %s %d", probe.method, shown, resp.StatusCode))
	}
	return lines, nil
}

// listenerOf returns the loopback listener's base URL and callback path
// from the redirect_uri of an authorization URL.
func listenerOf(ts *testscript.TestScript, authURL string) (base, path string) {
	u, err := url.Parse(authURL)
	ts.Check(err)
	r, err := url.Parse(u.Query().Get("redirect_uri"))
	ts.Check(err)
	if r.Host == "" {
		ts.Fatalf("no redirect_uri in %s", authURL)
	}
	return r.Scheme + "://" + r.Host, r.Path
}

// cmdHoldPort keeps a TCP port of 127.0.0.1 busy until the script ends
// and sets $VAR (default HELD_PORT) to it; with -6 a port of [::1] whose
// 127.0.0.1 side was free when it was chosen:
//
//	holdport [-6] [VAR]
func cmdHoldPort(ts *testscript.TestScript, neg bool, args []string) {
	v6 := len(args) > 0 && args[0] == "-6"
	if v6 {
		args = args[1:]
	}
	if neg || len(args) > 1 {
		ts.Fatalf("usage: holdport [-6] [VAR]")
	}
	name := "HELD_PORT"
	if len(args) == 1 {
		name = args[0]
	}
	var ln net.Listener
	var err error
	if v6 {
		ln, err = listenV6Only()
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	ts.Check(err)
	ts.Defer(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	ts.Setenv(name, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

// listenV6Only binds a port of [::1] that 127.0.0.1 does not hold.
func listenV6Only() (net.Listener, error) {
	for range 20 {
		ln, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			return nil, err
		}
		v4, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
		if err == nil {
			_ = v4.Close()
			return ln, nil
		}
		_ = ln.Close()
	}
	return nil, errors.New("no port of [::1] was found whose 127.0.0.1 side is free")
}

// cmdWaitFile waits until FILE exists and is not empty:
//
//	waitfile FILE TIMEOUT
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE TIMEOUT")
	}
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(d)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear within %s", args[0], d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proc is an authctl process whose stderr is read line by line while it runs.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stderr lines; closed at EOF
	read  chan struct{}

	mu     sync.Mutex
	out    bytes.Buffer
	errOut bytes.Buffer

	once sync.Once
	code int

	// errPipe is the read end of authctl's stderr; closing it stands for
	// a reader that went away.
	errPipe io.Closer
}

// startAuthctl starts authctl ARGS with the script's environment and
// then env ("NAME=value" entries, which win).
func startAuthctl(ts *testscript.TestScript, args []string, env ...string) *proc {
	p := &proc{lines: make(chan string, 4096), read: make(chan struct{})}
	p.cmd = exec.Command(lookPath(ts, "authctl"), args...)
	p.cmd.Env, p.cmd.Dir = scriptEnv(ts), ts.Getenv("WORK")
	// What decides whether a browser can be opened here.
	for _, k := range []string{"DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY"} {
		if v := ts.Getenv(k); v != "" {
			p.cmd.Env = append(p.cmd.Env, k+"="+v)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.out.Write(b)
	})
	var err error
	p.stdin, err = p.cmd.StdinPipe()
	ts.Check(err)
	stderr, err := p.cmd.StderrPipe()
	ts.Check(err)
	p.errPipe = stderr
	ts.Check(p.cmd.Start())
	go func() {
		defer close(p.read)
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.errOut.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
	}()
	return p
}

// waitLine returns the submatches of the first stderr line matching re.
func (p *proc) waitLine(re *regexp.Regexp) ([]string, error) {
	timeout := time.After(interactWait)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return nil, fmt.Errorf("authctl ended before printing a line matching %q", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m, nil
			}
		case <-timeout:
			return nil, fmt.Errorf("authctl printed no line matching %q within %s", re, interactWait)
		}
	}
}

// wait waits for the process and returns its exit code.
func (p *proc) wait() int {
	p.once.Do(func() {
		<-p.read
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal())
			}
		default:
			p.code = -1
		}
	})
	return p.code
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
	}
}

func (p *proc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errOut.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestScriptConditionChromium proves the [chromium] condition cannot make
// CI skip the real-browser login: without chromium it is false, or an
// error when AUTHCTL_TEST_REQUIRE_REAL=1.
func TestScriptConditionChromium(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("AUTHCTL_TEST_REQUIRE_REAL", "")
	if ok, err := scriptCondition("chromium"); ok || err != nil {
		t.Errorf("without chromium: got %v, %v; want false, nil", ok, err)
	}
	t.Setenv("AUTHCTL_TEST_REQUIRE_REAL", "1")
	if _, err := scriptCondition("chromium"); err == nil {
		t.Error("without chromium and with AUTHCTL_TEST_REQUIRE_REAL=1: no error")
	}
	if _, err := scriptCondition("bogus"); err == nil {
		t.Error("an unknown condition: no error")
	}
}
