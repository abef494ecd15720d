// Command authctl signs developers and scripts in to an OAuth 2.0 /
// OpenID Connect provider and hands out fresh access tokens.
package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/browser"
	"golang.org/x/term"

	"github.com/authctl/authctl/cmd"
	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/tokencache"
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
	// A plain token print is answered from the kernel keyring cache
	// before anything else is set up (see cmd.PrintCached).
	cache := tokencache.New()
	if code, done := printCached(cache); done {
		return code
	}
	ctx, release, stop := interruptible(context.Background())
	defer stop()
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
		Version:         cmd.Version{Version: version, Commit: commit, Date: date}.FromBuildInfo(info, ok),
		Keychain:        openKeychain,
		SystemBrowser:   openBrowser,
		StdinIsTerminal: func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		TokenCache:      cache,
		ReleaseSignals:  release,
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

// openBrowser opens url with the system's opener (pkg/browser), what it
// prints going to out. pkg/browser takes its output streams from package
// variables: this, the one place that uses it, sets them just before its
// one call of the process, so stdout stays for machine output.
func openBrowser(url string, out io.Writer) error {
	browser.Stdout, browser.Stderr = out, out
	return browser.OpenURL(url)
}

// interruptible returns a context that the first SIGINT (Ctrl-C), SIGTERM,
// SIGHUP (the terminal closed) or SIGQUIT cancels: authctl then winds down,
// and a refresh request already sent is answered and saved first, so that
// a rotated refresh token is never lost. A later SIGINT, SIGTERM or SIGQUIT
// ends the process at once, as if authctl did not handle it; a later SIGHUP
// does not, since a closing terminal may send more than one. From the first
// signal on, a write to a pipe whose reader is gone fails instead of ending
// the process. Signals ignored when authctl started (nohup, a background
// job of a script) stay ignored. release stops this handling without
// cancelling ctx, for a command that takes the signals over (authctl exec
// passes them to its command and waits for it); stop releases the signals
// and cancels ctx.
func interruptible(parent context.Context) (ctx context.Context, release, stop func()) {
	var sigs []os.Signal
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, len(sigs))
	signal.Notify(ch, sigs...)
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ch:
		case <-stopped:
			return
		}
		// The reader of stderr may be gone with the terminal: the words
		// said while winding down must not end the process before its
		// refresh is saved.
		signal.Ignore(syscall.SIGPIPE)
		cancel()
		for {
			select {
			case s := <-ch:
				if s != syscall.SIGHUP {
					signal.Reset(sigs...)
					raise(s)
					return
				}
			case <-stopped:
				return
			}
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			signal.Stop(ch)
			close(stopped)
		})
	}
	return ctx, release, func() {
		release()
		cancel()
	}
}

// raise ends the process by s, which authctl no longer handles, the way s
// ends a program by default; where a process cannot signal itself
// (Windows), it exits with 128 + the signal's number, as shells report it.
func raise(s os.Signal) {
	if p, err := os.FindProcess(os.Getpid()); err == nil && p.Signal(s) == nil {
		return
	}
	code := 2
	if n, ok := s.(syscall.Signal); ok {
		code = int(n)
	}
	os.Exit(128 + code)
}
