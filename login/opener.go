package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/pkg/browser"
)

// Opener chooses how this machine opens the login page.
//
// When $BROWSER is set it is always used: a command (split on spaces, no
// shell), the URL added as its last argument, or substituted for a "%s"
// argument; it is started and not waited for, its output going to stderr.
// Otherwise, when no browser can be opened here (signed in over SSH, or on
// Linux and the BSDs without DISPLAY or WAYLAND_DISPLAY), Opener returns a
// nil func and the reason, for Options.Open and Options.NoBrowserReason.
// Else it returns pkg/browser's opener; the program must point that
// package's Stdout and Stderr at stderr (main does), so a helper's chatter
// never reaches stdout.
func Opener(getenv func(string) string, goos string, stderr io.Writer) (OpenFunc, string) {
	if b := strings.Fields(getenv("BROWSER")); len(b) > 0 {
		return commandOpener(b, stderr), ""
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
	return func(_ context.Context, url string) error {
		if err := browser.OpenURL(url); err != nil {
			return fmt.Errorf("system browser: %w", err)
		}
		return nil
	}, ""
}

// commandOpener runs argv with the URL as its last argument (or in place
// of a "%s" argument), without waiting for it to exit.
func commandOpener(argv []string, stderr io.Writer) OpenFunc {
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
		cmd.Stdout, cmd.Stderr = stderr, stderr
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
