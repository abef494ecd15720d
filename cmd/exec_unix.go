//go:build unix

package cmd

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals are the signals authctl exec passes on to its command.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// sentToForegroundGroup reports whether s came from the terminal to
// authctl's whole process group, which the command shares: Ctrl-C,
// Ctrl-\ and a hangup go to the terminal's foreground group. Passing them
// on would deliver them twice (a program that takes a second Ctrl-C as
// "stop at once" would skip its clean-up). A signal sent to authctl alone
// while it runs in the foreground of its terminal is taken for one of
// those; SIGTERM, which no terminal sends, is always passed on.
func sentToForegroundGroup(s os.Signal) bool {
	if s != syscall.SIGINT && s != syscall.SIGQUIT && s != syscall.SIGHUP {
		return false
	}
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false // no controlling terminal: no terminal signals
	}
	defer tty.Close()
	fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
