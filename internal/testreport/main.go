// Command testreport runs `go test -json` with its arguments and prints
// what go test would print, then a closing summary: how many tests ran,
// and which failed or skipped, with each skip's reason. While a test with
// subtests runs for long (the end-to-end scripts), it prints a progress
// line every few seconds. It exits with go test's exit status.
//
//	go run ./internal/testreport -race -count=1 ./...
//
// scripts/test runs it; it needs nothing but Go.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"
)

// progressEvery is how often progress lines are printed, and how long a
// test runs before it gets one.
const progressEvery = 10 * time.Second

func main() {
	os.Exit(run("go", os.Args[1:], os.Stdout, os.Stderr, progressEvery))
}

// run runs goCmd test -json args, reports on out, and returns go test's
// exit status (1 if it could not be started).
func run(goCmd string, args []string, out, errOut io.Writer, every time.Duration) int {
	// Ctrl-C reaches go test too (same process group); keep reading until
	// it has finished, so the summary says what ran. (Not signal.Ignore:
	// go test would inherit it.)
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	c := exec.Command(goCmd, append([]string{"test", "-json"}, args...)...)
	c.Stderr = errOut
	stdout, err := c.StdoutPipe()
	if err != nil {
		fmt.Fprintln(errOut, "testreport:", err)
		return 1
	}
	if err := c.Start(); err != nil {
		fmt.Fprintln(errOut, "testreport:", err)
		return 1
	}
	r := NewReport(out, verbose(args), module())
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				mu.Lock()
				r.Progress(now, every)
				mu.Unlock()
			}
		}
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		mu.Lock()
		r.Line(sc.Text())
		mu.Unlock()
	}
	close(done)
	readErr := sc.Err()
	if readErr != nil {
		// Drain, so that go test is not blocked writing.
		_, _ = io.Copy(io.Discard, stdout)
	}
	err = c.Wait()
	mu.Lock()
	defer mu.Unlock()
	r.Summary()
	if readErr != nil {
		fmt.Fprintln(errOut, "testreport: reading go test's output:", readErr)
	}
	var exit *exec.ExitError
	switch {
	case err == nil && readErr != nil:
		return 1
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		fmt.Fprintln(errOut, "testreport: go test:", err)
		return 1
	}
}

// verbose reports whether args ask go test for -v output.
func verbose(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		return a == "v" || a == "v=true" || a == "test.v" || a == "test.v=true"
	})
}

// module is the main module's path, from go.mod in the working
// directory, or "" (package paths are then shown whole).
func module() string {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
