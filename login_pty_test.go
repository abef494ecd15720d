//go:build linux || darwin

package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
)

// TestLoginPasteAtTerminal: at a terminal, a browser login takes the
// redirect URL pasted there even though a browser was opened (one that
// cannot reach the loopback callback: another machine's, a sandboxed
// one), and says so in its waiting line. The pasted line is read by
// authctl, so it does not reach the shell when authctl exits. Run through
// a pseudo-terminal: main's real terminal check decides.
func TestLoginPasteAtTerminal(t *testing.T) {
	if err := testidp.Available(); err != nil {
		testidp.SkipOrFail(t, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	idp, err := testidp.Start(ctx, testidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	bin, err := exec.LookPath("authctl") // the test binary, as TestMain set it up
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(bin, "login", "--issuer", idp.Issuer, "--client-id", testidp.ClientID, "--insecure-storage")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".state"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"AUTHCTL_PROFILE=pty",
		// A browser opens, and never reaches the callback.
		"BROWSER=testbrowser",
		"TESTBROWSER_MODE=none",
	}
	term, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
		_ = term.Close()
	})
	screen := readTerminal(term)

	authURL := screen.waitFor(t, regexp.MustCompile(`(?m)^  (http://\S+/auth\?\S+)\r?$`))
	screen.waitFor(t, regexp.MustCompile(`Waiting up to 5m0s for the sign-in in the browser, or for its address pasted here \(Ctrl-C to cancel\)…`))
	res, err := testbrowser.Visit(ctx, nil, authURL, testbrowser.Print)
	if err != nil || res.Callback == nil {
		t.Fatalf("browser: %v (page %d: %s)", err, res.Status, res.Text)
	}
	// Typed (pasted) at the terminal, then Enter.
	if _, err := io.WriteString(term, res.Callback.String()+"\r"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatalf("authctl did not finish after the paste; the terminal showed:\n%s", screen.text())
	}
	if err != nil {
		t.Fatalf("authctl login: %v; the terminal showed:\n%s", err, screen.text())
	}
	screen.waitFor(t, regexp.MustCompile(`Logged in to \S+ as alice \(profile "pty"\)`))
	if strings.Contains(screen.text(), "That is not the address") {
		t.Errorf("the paste was refused:\n%s", screen.text())
	}
}

// terminal collects what a program writes to its terminal.
type terminal struct {
	mu      sync.Mutex
	out     strings.Builder
	changed chan struct{} // signalled on every write
}

func readTerminal(r io.Reader) *terminal {
	s := &terminal{changed: make(chan struct{}, 1)}
	go func() {
		br := bufio.NewReader(r)
		buf := make([]byte, 4096)
		for {
			n, err := br.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			select {
			case s.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return // EIO once the program has exited
			}
		}
	}()
	return s
}

func (s *terminal) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the terminal shows a match of re and returns its
// first group (or the match).
func (s *terminal) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.After(interactWait)
	for {
		if m := re.FindStringSubmatch(s.text()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("the terminal showed no match of %q within %s:\n%s", re, interactWait, s.text())
			return ""
		}
	}
}
