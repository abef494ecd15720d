//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func argcheckWait(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: argcheck wait READY")
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	if err := os.WriteFile(args[0], []byte("ready\n"), 0o600); err != nil {
		return err
	}
	select {
	case s := <-sigs:
		fmt.Printf("argcheck: got %v\n", s)
		signal.Reset()
		_ = syscall.Kill(os.Getpid(), s.(syscall.Signal))
		time.Sleep(10 * time.Second) // the signal ends the process before this does
		return errors.New("still alive after the signal")
	case <-time.After(2 * time.Minute):
		return errors.New("no signal came within 2 minutes")
	}
}

func argcheckWindup(args []string) (int, error) {
	if len(args) != 3 {
		return 0, errors.New("usage: argcheck windup READY GOT CODE")
	}
	code, err := strconv.Atoi(args[2])
	if err != nil {
		return 0, err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	for _, file := range args[:2] {
		if err := os.WriteFile(file, []byte("ready\n"), 0o600); err != nil {
			return 0, err
		}
		select {
		case <-sigs:
		case <-time.After(2 * time.Minute):
			return 0, errors.New("no signal came within 2 minutes")
		}
	}
	fmt.Println("argcheck: wound down")
	return code, nil
}

// cmdExecSig runs authctl ARGS in a session of its own (no controlling
// terminal, so every signal it gets is one to pass on), waits until the
// file READY is there (argcheck wait writes it), sends authctl SIGNAL
// (INT, TERM, HUP or QUIT) and asserts that it exits CODE within a
// minute; authctl's stdout and stderr become the command's. READY may
// list several files, comma separated: the signal is sent again as each
// appears.
//
//	execsig SIGNAL READY[,READY...] CODE ARGS...
func cmdExecSig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: execsig SIGNAL READY CODE ARGS...")
	}
	sig, ok := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT}[args[0]]
	if !ok {
		ts.Fatalf("unknown signal %q", args[0])
	}
	var ready []string
	for _, r := range strings.Split(args[1], ",") {
		ready = append(ready, ts.MkAbs(r))
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	var stdout, stderr bytes.Buffer
	c := exec.Command(lookPath(ts, "authctl"), args[3:]...)
	c.Env, c.Dir, c.Stdout, c.Stderr = scriptEnv(ts), ts.Getenv("WORK"), &stdout, &stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	ts.Check(c.Start())
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	defer func() {
		_ = c.Process.Kill()
		fmt.Fprint(ts.Stdout(), stdout.String())
		fmt.Fprint(ts.Stderr(), stderr.String())
	}()
	deadline := time.After(time.Minute)
	for _, r := range ready {
		for {
			if _, err := os.Stat(r); err == nil {
				break
			}
			select {
			case err := <-done:
				ts.Fatalf("authctl exited before %s appeared: %v\nstderr: %s", r, err, stderr.String())
			case <-deadline:
				ts.Fatalf("%s did not appear within a minute", r)
			case <-time.After(20 * time.Millisecond):
			}
		}
		ts.Check(c.Process.Signal(sig))
	}
	select {
	case err := <-done:
		if got := c.ProcessState.ExitCode(); got != want {
			ts.Fatalf("authctl exited %d (%v), want %d\nstderr: %s", got, err, want, stderr.String())
		}
	case <-time.After(time.Minute):
		ts.Fatalf("authctl did not exit within a minute of %v", sig)
	}
}
