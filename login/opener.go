package login

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"

	"github.com/authctl/authctl/safetext"
)

// SystemOpenFunc opens url with the operating system's browser opener
// (xdg-open, open, rundll32), sending what the opener and the browser it
// starts print to out, and returns once the opener has.
type SystemOpenFunc func(url string, out io.Writer) error

// Opener chooses how this machine opens the login page.
//
// When $BROWSER is set it is always used: a command (split on spaces, no
// shell), the URL added as its last argument, or substituted for a "%s"
// argument; it is started and not waited for. Otherwise, when no browser
// can be opened here (signed in over SSH, or on Linux and the BSDs without
// DISPLAY or WAYLAND_DISPLAY, or system is nil), Opener returns a nil func
// and the reason, for Options.Open and Options.NoBrowserReason. Else it
// returns system.
//
// What a browser prints (Chromium's "Running as root without
// --no-sandbox…", a toolkit's warnings) goes to out: the terminal's stderr
// with --verbose, io.Discard otherwise, and never stdout. When the system
// opener fails, the error ends with the last line it printed.
func Opener(getenv func(string) string, goos string, out io.Writer, system SystemOpenFunc) (OpenFunc, string) {
	if b := strings.Fields(getenv("BROWSER")); len(b) > 0 {
		return commandOpener(b, out), ""
	}
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
		return nil, "signed in over SSH"
	}
	switch goos {
	case "darwin", "windows", "ios", "android", "js", "wasip1":
	default:
		if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
			return nil, "no display: DISPLAY and WAYLAND_DISPLAY are unset"
		}
	}
	if system == nil {
		return nil, "no system browser opener"
	}
	return func(_ context.Context, url string) error {
		tail := &lastLine{}
		if err := system(url, io.MultiWriter(out, tail)); err != nil {
			if l := tail.String(); l != "" {
				return fmt.Errorf("system browser: %w (%s)", err, l)
			}
			return fmt.Errorf("system browser: %w", err)
		}
		return nil
	}, ""
}

// commandOpener runs argv with the URL as its last argument (or in place
// of a "%s" argument), without waiting for it to exit; its output goes to
// out.
func commandOpener(argv []string, out io.Writer) OpenFunc {
	return func(_ context.Context, url string) error {
		args := append([]string(nil), argv[1:]...)
		substituted := false
		for i, a := range args {
			if strings.Contains(a, "%s") {
				args[i] = strings.ReplaceAll(a, "%s", url)
				substituted = true
			}
		}
		if !substituted {
			args = append(args, url)
		}
		// Not CommandContext: the browser should outlive the login.
		cmd := exec.Command(argv[0], args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			var ee *exec.Error
			if errors.As(err, &ee) {
				return fmt.Errorf("$BROWSER %s: %w", argv[0], ee.Err)
			}
			return fmt.Errorf("$BROWSER %s: %w", argv[0], err)
		}
		go func() { _ = cmd.Wait() }()
		return nil
	}
}

// lastLine keeps the last non-empty line written to it (at most
// maxOpenerLine bytes of it), made printable.
type lastLine struct {
	mu   sync.Mutex
	line []byte
	cur  []byte
}

const maxOpenerLine = 300

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			if len(bytes.TrimSpace(l.cur)) > 0 {
				l.line = append(l.line[:0], l.cur...)
			}
			l.cur = l.cur[:0]
			continue
		}
		if len(l.cur) < maxOpenerLine {
			l.cur = append(l.cur, b)
		}
	}
	return len(p), nil
}

func (l *lastLine) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.line
	if len(bytes.TrimSpace(l.cur)) > 0 {
		s = l.cur
	}
	return safetext.Clean(strings.TrimSpace(string(s)), maxOpenerLine)
}
