// Command bench times the real authctl binary, as scripts/bench runs it,
// for two builds side by side: a plain `go build` and the release build
// (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"), each next to a
// hello-world Go binary built the same way, in one run of alternating
// executions (so that a machine's load weighs on all of them alike):
//
//   - `authctl version`: start-up alone;
//   - a cached `authctl token print` from the kernel keyring;
//   - the same without the kernel keyring (the build with the
//     authctl_nokeyctl tag): a config parse and one keychain read;
//   - the cold path: the kernel keyring's copy dropped before each run,
//     so the run reads the keychain and caches the token again;
//   - fifty parallel `authctl token print` right after the access token
//     went stale: wall time, and how many refresh requests the provider
//     saw (the promise is exactly one).
//
// It runs against the test provider (testdata/idp) and whatever keychain
// the environment offers, reports medians, ratios to the hello-world and
// the machine's load, and never fails on the numbers. It fails when a
// timed run makes a token request or prints another token.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/authctl/authctl/internal/testbrowser"
)

func main() {
	// authctl runs $BROWSER, which is this program with "browse" first.
	if len(os.Args) > 1 && os.Args[1] == "browse" {
		os.Exit(testbrowser.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	runs := flag.Int("runs", 200, "timed runs of each command")
	procs := flag.Int("parallel", 50, "parallel token prints after expiry")
	flag.Parse()
	if err := run(*runs, *procs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(runs, procs int, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "authctl-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins, err := buildAll(ctx, tmp)
	if err != nil {
		return err
	}
	m, err := newMachine(ctx, tmp, bins)
	if err != nil {
		return err
	}
	defer m.close()

	load := loadAverage()
	fmt.Fprintf(out, "authctl benchmark: %s, %d CPUs, %s; %d alternating runs of each command\n", m.backend, numCPU(), goVersion(), runs)
	res, err := m.timeAll(ctx, runs)
	if err != nil {
		return err
	}
	res.print(out)
	for _, b := range []build{bins.plain, bins.release} {
		p, err := m.parallelAfterExpiry(ctx, b, procs)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d parallel token print after expiry, %s: %v wall, %d refresh request(s), %d failed or differed\n",
			procs, b.name, p.wall.Round(time.Millisecond), p.refreshes, p.failed)
		if p.refreshes != 1 || p.failed != 0 {
			// Not a number to judge but a broken promise: the processes
			// must share exactly one refresh, and all succeed alike.
			return fmt.Errorf("%d parallel token print after expiry made %d refresh requests (want 1) and %d failed or differed (want 0)", procs, p.refreshes, p.failed)
		}
	}
	fmt.Fprintf(out, "load average (1 min) before / after: %s / %s\n", load, loadAverage())
	return nil
}
