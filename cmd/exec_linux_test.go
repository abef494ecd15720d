//go:build linux

package cmd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSentToForegroundGroup runs sentToForegroundGroup in processes with
// a pseudo-terminal of their own: in its foreground group, the terminal's
// signals (SIGINT, SIGQUIT, SIGHUP) reached the command too and are not
// passed on again; in a background group, or without a terminal, every
// signal is passed on, as SIGTERM always is.
func TestSentToForegroundGroup(t *testing.T) {
	ptmx, pts := openPTY(t)
	defer ptmx.Close()
	defer pts.Close()
	tests := []struct {
		name string
		mode string
		attr *syscall.SysProcAttr
		want string
	}{
		{"terminal, foreground", "check", &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}, "INT=true QUIT=true HUP=true TERM=false"},
		{"terminal, background", "background", &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}, "INT=false QUIT=false HUP=false TERM=false"},
		{"no terminal", "check", &syscall.SysProcAttr{Setsid: true}, "INT=false QUIT=false HUP=false TERM=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := exec.Command(os.Args[0], "-test.run=^TestSignalProbe$")
			c.Env = append(os.Environ(), "AUTHCTL_TEST_SIGNAL_PROBE="+tt.mode)
			c.Stdin, c.Stdout, c.Stderr = pts, &out, &out
			c.SysProcAttr = tt.attr
			if err := c.Run(); err != nil {
				t.Fatalf("probe: %v\n%s", err, out.String())
			}
			m := regexp.MustCompile(`probe: (.*)`).FindStringSubmatch(out.String())
			if m == nil || m[1] != tt.want {
				t.Errorf("probe said %q, want %q", out.String(), tt.want)
			}
		})
	}
}

// TestSignalProbe is the process TestSentToForegroundGroup starts; it
// does nothing in a normal test run.
func TestSignalProbe(t *testing.T) {
	switch os.Getenv("AUTHCTL_TEST_SIGNAL_PROBE") {
	case "check":
		fmt.Printf("probe: INT=%v QUIT=%v HUP=%v TERM=%v\n", sentToForegroundGroup(syscall.SIGINT), sentToForegroundGroup(syscall.SIGQUIT),
			sentToForegroundGroup(syscall.SIGHUP), sentToForegroundGroup(syscall.SIGTERM))
		os.Exit(0)
	case "background":
		// A process group of its own on the same terminal, not the
		// terminal's foreground group.
		c := exec.Command(os.Args[0], "-test.run=^TestSignalProbe$")
		c.Env = append(os.Environ(), "AUTHCTL_TEST_SIGNAL_PROBE=check")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Run(); err != nil {
			fmt.Println("background probe:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	ptmx = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptmx, pts
}
