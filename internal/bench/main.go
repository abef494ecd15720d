// Command bench times the real authctl binary, as scripts/bench runs it:
//
//   - a cached `authctl token print` (one keychain read and a print) next
//     to a hello-world Go binary run the same way, as medians and a ratio;
//   - fifty parallel `authctl token print` right after the access token
//     has gone stale: wall time, and how many refresh requests the
//     provider saw (the promise is exactly one).
//
// It runs against the test provider (testdata/idp) and whatever keychain
// the environment offers, and reports numbers; it never fails on them.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
)

const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello, world") }
`

func main() {
	// authctl runs $BROWSER, which is this program with "browse" first.
	if len(os.Args) > 1 && os.Args[1] == "browse" {
		os.Exit(testbrowser.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	runs := flag.Int("runs", 200, "timed runs of each binary for the cached path")
	procs := flag.Int("parallel", 50, "parallel token prints after expiry")
	flag.Parse()
	if err := run(*runs, *procs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(runs, procs int, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "authctl-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	authctl := filepath.Join(tmp, "authctl")
	hello := filepath.Join(tmp, "hello")
	if err := goBuild(ctx, authctl, "github.com/authctl/authctl", ""); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "hello.go"), []byte(helloSource), 0o600); err != nil {
		return err
	}
	if err := goBuild(ctx, hello, filepath.Join(tmp, "hello.go"), tmp); err != nil {
		return err
	}

	// Tokens live 35 s: fresh for 5 s after they are issued (the 30 s
	// margin), then stale, so one provider serves both measurements.
	var idpLog bytes.Buffer
	idp, err := testidp.Start(ctx, testidp.Options{AccessTTL: 35 * time.Second, Stderr: &idpLog})
	if err != nil {
		return fmt.Errorf("test provider: %w\n%s", err, idpLog.String())
	}
	defer idp.Close()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	profile := "bench-" + hex.EncodeToString(suffix[:])
	env := append(os.Environ(),
		"HOME="+tmp,
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_STATE_HOME="+filepath.Join(tmp, "state"),
		"XDG_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"BROWSER="+self+" browse",
		"AUTHCTL_PROFILE="+profile,
	)
	authctlRun := func(args ...string) ([]byte, error) {
		c := exec.CommandContext(ctx, authctl, args...)
		c.Env = env
		var stderr bytes.Buffer
		c.Stderr = &stderr
		b, err := c.Output()
		if err != nil {
			return nil, fmt.Errorf("authctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return b, nil
	}
	if _, err := authctlRun("login", "--issuer", idp.Issuer, "--client-id", "authctl-test"); err != nil {
		return err
	}
	defer authctlRun("logout", "--no-revoke")

	// The access token lives 35 s and counts as fresh for its first 5 s
	// only. To keep every timed run on the cached path, time in batches
	// of at most 3 s, each right after a forced refresh, and check that
	// the provider saw no token request during the batch.
	keychain, err := authctlRun("status", "--json")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "authctl benchmark (%s)\n", backendOf(keychain))

	timeOne := func(bin string, args ...string) (time.Duration, error) {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env
		c.Stdout = io.Discard
		start := time.Now()
		err := c.Run()
		return time.Since(start), err
	}
	var helloTimes, printTimes, versionTimes []time.Duration
	for len(printTimes) < runs {
		// Refresh so the next few seconds are on the cached path.
		if _, err := authctlRun("token", "print", "--min-ttl", "1h"); err != nil {
			return err
		}
		batchStart := time.Now()
		if err := idp.Reset(ctx); err != nil {
			return err
		}
		for len(printTimes) < runs && time.Since(batchStart) < 3*time.Second {
			h, err := timeOne(hello)
			if err != nil {
				return err
			}
			p, err := timeOne(authctl, "token", "print")
			if err != nil {
				return err
			}
			v, err := timeOne(authctl, "version")
			if err != nil {
				return err
			}
			helloTimes, printTimes, versionTimes = append(helloTimes, h), append(printTimes, p), append(versionTimes, v)
		}
		st, err := idp.Stats(ctx)
		if err != nil {
			return err
		}
		if st.Token != 0 {
			return fmt.Errorf("a cached token print made %d token requests", st.Token)
		}
	}
	mh, mp := median(helloTimes), median(printTimes)
	fmt.Fprintf(out, "cached token print:   median %v over %d runs\n", mp.Round(10*time.Microsecond), len(printTimes))
	fmt.Fprintf(out, "hello-world Go:       median %v over %d runs\n", mh.Round(10*time.Microsecond), len(helloTimes))
	fmt.Fprintf(out, "ratio:                %.1fx\n", float64(mp)/float64(mh))
	mv := median(versionTimes)
	fmt.Fprintf(out, "authctl version:      median %v (%.1fx): start-up without config or keychain\n", mv.Round(10*time.Microsecond), float64(mv)/float64(mh))

	// Fifty processes right after the token went stale.
	time.Sleep(6 * time.Second)
	if err := idp.Reset(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, procs)
	outs := make([]string, procs)
	start := time.Now()
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := authctlRun("token", "print")
			outs[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	failed := 0
	for i, err := range errs {
		if err != nil || outs[i] != outs[0] {
			failed++
		}
	}
	st, err := idp.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d parallel token print after expiry: %v wall, %d refresh request(s), %d failed or differed\n",
		procs, wall.Round(time.Millisecond), st.RefreshToken, failed)
	return nil
}

func goBuild(ctx context.Context, out, pkg, dir string) error {
	// Built as releases are: static, without cgo.
	c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	c.Dir = dir
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	c.Stderr = os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func backendOf(statusJSON []byte) string {
	const key = `"storage": "`
	i := bytes.Index(statusJSON, []byte(key))
	if i < 0 {
		return "unknown storage"
	}
	rest := statusJSON[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return "unknown storage"
}
