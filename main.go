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
	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/keychain"
)

// Stamped by release builds with -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version string
	commit  string
	date    string
)

func main() {
	os.Exit(run(nil))
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

// run runs authctl on the process's arguments and environment. openKeychain
// is cmd.Deps.Keychain: nil for the OS keychain (the end-to-end tests pass
// a file-backed store on machines without one).
func run(openKeychain func(time.Duration) keychain.Store) int {
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
		// (authctl curl bounds API requests with --max-time instead.) Every
		// request and redirect is held to the endpoint rule, and no answer
		// is read past endpoint.MaxProviderBody.
		HTTPClient: &http.Client{
			Timeout:   30 * time.Second,
			Transport: endpoint.NewTransport(endpoint.Options{MaxBody: endpoint.MaxProviderBody}),
		},
		Version:  cmd.Version{Version: version, Commit: commit, Date: date}.FromBuildInfo(info, ok),
		Keychain: openKeychain,
	})
}
