package main

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/internal/testbrowser"
)

// The custom commands of the scripts about what a person sees (ux_*.txtar):
// a provider that never answers, and two logins of one profile at once.

// cmdHang starts a server on 127.0.0.1 that accepts connections and never
// answers, for the rest of the script, and sets $VAR (default HANG) to its
// http:// URL:
//
//	hang [VAR]
func cmdHang(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: hang [VAR]")
	}
	name := "HANG"
	if len(args) == 1 {
		name = args[0]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var mu sync.Mutex
	var conns []net.Conn
	ts.Defer(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Setenv(name, "http://"+ln.Addr().String())
}

// waitingForLoginRe is the line of a login that waits for another login
// of its profile.
var waitingForLoginRe = regexp.MustCompile(`^authctl: another login of profile "[^"]+" is running; waiting up to \S+ for it to end \(Ctrl-C to cancel\)…$`)

// cmdTwoLogins runs two `authctl ARGS` at once, as two terminals of one
// person would:
//
//	twologins ARGS...
//
// The first's browser does nothing (TESTBROWSER_MODE=none: the sign-in
// page stays open). Once it waits, the second starts with the test
// browser, which signs in at once; the command waits until the second says
// that it waits for the first login, then signs the first in (the test
// browser visits its URL and the callback), and waits for both. Their
// stderr follows on the command's stderr, each line prefixed "first: " or
// "second: ", then "twologins: first exit N" and "twologins: second exit N".
// It fails unless both succeed.
func cmdTwoLogins(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: twologins ARGS...")
	}
	first := startAuthctl(ts, args, "TESTBROWSER_MODE=none")
	defer first.kill()
	fail := func(format string, a ...any) {
		first.kill()
		first.wait()
		ts.Fatalf("twologins: %s\nfirst's stderr:\n%s", fmt.Sprintf(format, a...), first.stderr())
	}
	m, err := first.waitLine(authURLRe)
	if err != nil {
		fail("%v", err)
	}
	second := startAuthctl(ts, args)
	defer second.kill()
	if _, err := second.waitLine(waitingForLoginRe); err != nil {
		second.kill()
		second.wait()
		fail("the second login: %v\nsecond's stderr:\n%s", err, second.stderr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if res, err := testbrowser.Visit(ctx, nil, m[1], testbrowser.Follow); err != nil || res.Callback == nil {
		fail("browser: %v (page %d: %s)", err, res.Status, res.Text)
	}
	codes := []int{first.wait(), second.wait()}
	for i, p := range []*proc{first, second} {
		who := []string{"first", "second"}[i]
		for _, line := range strings.SplitAfter(p.stderr(), "\n") {
			if line != "" {
				fmt.Fprint(ts.Stderr(), who+": "+line)
			}
		}
	}
	fmt.Fprintf(ts.Stderr(), "twologins: first exit %d\ntwologins: second exit %d\n", codes[0], codes[1])
	if codes[0] != 0 || codes[1] != 0 {
		ts.Fatalf("exit codes %v, want 0 and 0", codes)
	}
}
