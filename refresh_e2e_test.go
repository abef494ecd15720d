package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/internal/testidp"
)

// The custom commands of the refresh_*.txtar scripts: they interrupt an
// authctl whose refresh the provider is slow to answer (idp slow-refresh,
// idp slow-jwks) and check what it leaves behind.

// signalWait bounds each wait of cmdSignal: for the provider to see a
// request, for a line of authctl, for authctl to exit.
const signalWait = 60 * time.Second

// finishingRe is the line authctl prints while it finishes a refresh
// after a signal.
var finishingRe = regexp.MustCompile(`^authctl: finishing the refresh`)

// scriptSignals are the signals cmdSignal sends, by name.
var scriptSignals = map[string]os.Signal{
	"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT,
}

// handDownSignals gives the processes the tests start the default action
// of the signals the scripts send, also when this test binary started with
// some of them ignored (a suite run under nohup ignores SIGHUP; a
// background job of a script, SIGINT and SIGQUIT). authctl keeps a signal
// ignored when it starts so, which is right for a user's nohup, and a
// script sending it that signal would fail for a reason outside authctl.
// A Go process that catches a signal starts its children with its default
// action; this one catches each signal it inherited ignored and drops it,
// as ignoring it did. The children it starts so find nothing ignored and
// do nothing here.
func handDownSignals() {
	drop := make(chan os.Signal, 1)
	for _, sig := range scriptSignals {
		if signal.Ignored(sig) {
			signal.Notify(drop, sig)
		}
	}
}

// cmdSignal runs authctl ARGS in the background, waits until the provider
// holds its answer to a request of authctl's (polling its counts of held
// answers, which the command reads first; set idp slow-refresh or
// slow-jwks before), and then takes STEPS:
//
//	signal WHEN STEPS ARGS...
//
// WHEN is "refresh" (the provider has rotated the refresh token and holds
// the answer) or "jwks" (it holds its answer to a request for its keys:
// authctl is verifying the refreshed ID token). Waiting for the hold, not
// for the request's arrival, means a later release cannot come before the
// answer is held and miss it. STEPS, comma-separated, are done in order:
//
//	INT, TERM, HUP, QUIT  send authctl that signal
//	finishing             wait until authctl says "finishing the refresh"
//	release               have the provider send the answers it holds
//	closestderr           close the reader of authctl's stderr (as when
//	                      the program it was piped to is gone)
//
// authctl must then exit within a minute. Its stdout and stderr become
// the command's, followed by "signal: exit CODE" on stderr (128+N when
// signal N ended it).
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || (args[0] != "refresh" && args[0] != "jwks") {
		ts.Fatalf("usage: signal refresh|jwks STEPS ARGS...")
	}
	idp := state(ts).idp
	if idp == nil {
		ts.Fatalf("signal needs idp start first")
	}
	count := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := idp.Stats(ctx)
		ts.Check(err)
		return map[string]int{"refresh": s.HeldRefresh, "jwks": s.HeldJWKS}[args[0]]
	}
	before := count()
	p := startAuthctl(ts, args[2:])
	defer p.kill()
	fail := func(format string, a ...any) {
		p.kill()
		p.wait()
		ts.Fatalf("signal: %s\nauthctl stderr:\n%s", fmt.Sprintf(format, a...), p.stderr())
	}
	exited := make(chan struct{})
	go func() { p.wait(); close(exited) }()

	deadline := time.Now().Add(signalWait)
	for count() == before {
		select {
		case <-exited:
			fail("authctl exited before the provider held its answer to a %s request", args[0])
		default:
		}
		if time.Now().After(deadline) {
			fail("the provider held no answer to a %s request within %s (set idp slow-%s first)", args[0], signalWait, args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, step := range strings.Split(args[1], ",") {
		switch sig, isSignal := scriptSignals[step]; {
		case isSignal:
			ts.Check(p.cmd.Process.Signal(sig))
		case step == "finishing":
			if _, err := p.waitLine(finishingRe); err != nil {
				fail("%v", err)
			}
		case step == "release":
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			ts.Check(idp.Release(ctx))
			cancel()
		case step == "closestderr":
			ts.Check(p.errPipe.Close())
		default:
			fail("unknown step %q", step)
		}
	}
	select {
	case <-exited:
	case <-time.After(signalWait):
		fail("still running %s after the last step", signalWait)
	}
	fmt.Fprint(ts.Stdout(), p.stdout())
	fmt.Fprint(ts.Stderr(), p.stderr())
	fmt.Fprintf(ts.Stderr(), "signal: exit %d\n", p.wait())
}

// idpKnob handles the idp subcommands that make the provider misbehave
// (see cmdIdP) and reports whether args named one.
func idpKnob(ts *testscript.TestScript, idp *testidp.IdP, args []string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch args[0] {
	case "slow-refresh", "slow-jwks":
		if len(args) != 2 {
			ts.Fatalf("usage: idp %s DURATION", args[0])
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		if args[0] == "slow-refresh" {
			ts.Check(idp.SlowRefresh(ctx, d))
		} else {
			ts.Check(idp.SlowJWKS(ctx, d))
		}
	case "release":
		ts.Check(idp.Release(ctx))
	case "tamper":
		if len(args) != 2 {
			ts.Fatalf("usage: idp tamper off|signature|subject")
		}
		ts.Check(idp.TamperIDToken(ctx, testidp.Tamper(args[1])))
	default:
		return false
	}
	return true
}
