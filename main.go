// Command authctl signs developers and scripts in to an OAuth 2.0 /
// OpenID Connect provider and hands out fresh access tokens.
package main

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/pkg/browser"

	"github.com/authctl/authctl/cmd"
	"github.com/authctl/authctl/tokencache"
)

// Stamped by release builds with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version string
	commit  string
	date    string
)

func main() {
	os.Exit(run())
}

// withoutSecretsForChildren takes authctl's secret variables (the client
// secret) out of the process environment, so that no program authctl
// starts (the browser) inherits them, and returns a Getenv that still
// sees them.
func withoutSecretsForChildren() func(string) string {
	secrets := map[string]string{}
	for _, k := range cmd.SecretEnvironment() {
		if v, ok := os.LookupEnv(k); ok {
			secrets[k] = v
			os.Unsetenv(k)
		}
	}
	return func(k string) string {
		if v, ok := secrets[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

func run() int {
	// A plain token print is answered from the kernel keyring cache
	// before anything else is set up (see cmd.PrintCached).
	cache := tokencache.New()
	if code, done := printCached(cache); done {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C cancels ctx, and authctl winds down (a refresh under
	// way gets a moment to save its rotated token); a second one ends the
	// process at once, as the default handling does.
	go func() {
		<-ctx.Done()
		stop()
	}()
	// pkg/browser writes what the opener says to its own Stdout: keep
	// stdout for machine output.
	browser.Stdout, browser.Stderr = os.Stderr, os.Stderr
	info, ok := debug.ReadBuildInfo()
	return cmd.Main(ctx, os.Args[1:], cmd.Deps{
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Getenv:  withoutSecretsForChildren(),
		Environ: os.Environ,
		GOOS:    runtime.GOOS,
		// A provider that accepts the connection and never answers must
		// not hang a script: every request to it gives up after this.
		// (authctl curl bounds API requests with --max-time instead.)
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
		Version:    cmd.Version{Version: version, Commit: commit, Date: date}.FromBuildInfo(info, ok),
		TokenCache: cache,
	})
}

// printCached runs cmd.PrintCached with the process's streams and
// environment.
func printCached(cache *tokencache.Cache) (int, bool) {
	return cmd.PrintCached(os.Args[1:], cmd.Deps{
		Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ,
		GOOS: runtime.GOOS, TokenCache: cache,
	})
}
