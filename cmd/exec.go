package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// ExecOptions is one `authctl exec`.
type ExecOptions struct {
	IO      IOStreams
	Profile *Profile
	Now     func() time.Time

	// Env names the variables that get the access token.
	Env []string
	// IDTokenEnv names the variable that gets the ID token ("" for none).
	IDTokenEnv string
	// MinTTL: the token handed over stays valid at least this long.
	MinTTL time.Duration
	// Command is the program to run and its arguments.
	Command []string
	// Environ is the environment the command inherits, before authctl
	// adds the tokens.
	Environ []string
	// SentToChild says whether a signal authctl got has reached the
	// command too (the terminal signals the whole foreground group), so
	// that it is not delivered twice.
	SentToChild func(os.Signal) bool
	// ReleaseSignals, when set, hands the signals over to exec once it
	// catches them itself: from then on a signal is passed on, never the
	// end of authctl while its command winds down.
	ReleaseSignals func()
}

// execMinTTL is the default --min-ttl of exec: the token should outlive
// a short command.
const execMinTTL = 5 * time.Minute

// NewCmdExec returns `authctl exec`; runF, when not nil, receives the
// options instead of execRun (tests).
func NewCmdExec(f *Factory, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IO(), Now: f.Now, SentToChild: sentToForegroundGroup, ReleaseSignals: f.deps.ReleaseSignals}
	c := &cobra.Command{
		Use:   "exec [--env NAME]... [--id-token-env NAME] -- CMD [ARGS...]",
		Short: "Run a command with a fresh access token in its environment",
		Long: `Run CMD with a fresh access token in the environment variable
AUTHCTL_ACCESS_TOKEN (or each --env NAME), and the ID token in --id-token-env
NAME if asked: never in an argument, where other users of the machine could
read it. The token stays valid for at least --min-ttl.

CMD gets authctl's stdin, stdout and stderr; SIGINT, SIGTERM, SIGHUP and
SIGQUIT sent to authctl are passed on (those the terminal sends reach CMD
directly and are not sent twice). authctl exits with CMD's status, 128+N
when CMD died of signal N, 127 when CMD is not found and 126 when it cannot
be run; the client secret ($AUTHCTL_CLIENT_SECRET) is not passed on.`,
		Example: `  authctl exec -- sh -c \
    'curl -H "Authorization: Bearer $AUTHCTL_ACCESS_TOKEN" https://api.example/'
  authctl -p work exec --env GITHUB_TOKEN -- gh repo list
  authctl exec --id-token-env ID_TOKEN --min-ttl 30m -- ./deploy.sh`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("missing the command to run: authctl exec [flags] -- CMD [ARGS...]")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkExecFlags(opts); err != nil {
				return err
			}
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile, opts.Command = p, args
			if f.deps.Environ != nil {
				opts.Environ = f.deps.Environ()
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return execRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	// Flags after CMD are CMD's.
	fl.SetInterspersed(false)
	fl.StringArrayVar(&opts.Env, "env", []string{"AUTHCTL_ACCESS_TOKEN"}, "variable that gets the access token (repeatable)")
	fl.StringVar(&opts.IDTokenEnv, "id-token-env", "", "variable that gets the ID token")
	fl.DurationVar(&opts.MinTTL, "min-ttl", execMinTTL, "refresh unless the token stays valid at least this long")
	return c
}

var envName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// checkExecFlags refuses variable names that cannot hold a token or that
// mean something else to authctl.
func checkExecFlags(opts *ExecOptions) error {
	if opts.MinTTL < 0 {
		return usageErrorf("--min-ttl must not be negative")
	}
	names := slices.Clone(opts.Env)
	if opts.IDTokenEnv != "" {
		names = append(names, opts.IDTokenEnv)
	}
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case !envName().MatchString(n):
			return usageErrorf("%q is not an environment variable name (letters, digits and _, not starting with a digit)", n)
		case seen[n]:
			return usageErrorf("$%s is given twice (--env, --id-token-env)", n)
		case slices.Contains(Environment(), n) || strings.HasPrefix(n, "AUTHCTL_") && !slices.Contains(outputEnvironment, n):
			return usageErrorf("$%s means something to authctl itself; choose another name for the token", n)
		}
		seen[n] = true
	}
	return nil
}

// execRun fetches the tokens and runs the command with them.
func execRun(ctx context.Context, opts *ExecOptions) error {
	p := opts.Profile
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	env, err := execEnvironment(ctx, opts)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return runChild(opts, env)
}

// execEnvironment is the command's environment: authctl's, less its
// secrets and any old values of the token variables, plus the tokens.
func execEnvironment(ctx context.Context, opts *ExecOptions) ([]string, error) {
	p := opts.Profile
	cred, err := p.Source.Token(ctx, opts.MinTTL)
	if err != nil {
		return nil, needLogin(err, p)
	}
	if len(opts.Env) > 0 {
		warnBound(opts.IO.ErrOut, p, cred)
	}
	add := map[string]string{}
	for _, n := range opts.Env {
		add[n] = cred.AccessToken
	}
	if opts.IDTokenEnv != "" {
		t, err := idTokenOf(ctx, p, cred, opts.MinTTL, opts.Now())
		if err != nil {
			return nil, needLogin(err, p)
		}
		add[opts.IDTokenEnv] = t.Value
	}
	env := []string{}
	for _, kv := range opts.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := add[k]; ok || slices.Contains(SecretEnvironment(), k) {
			continue
		}
		env = append(env, kv)
	}
	for _, n := range append(slices.Clone(opts.Env), opts.IDTokenEnv) {
		if n != "" {
			env = append(env, n+"="+add[n])
		}
	}
	return env, nil
}

// runChild runs the command with env and returns its exit status as an
// error carrying the exit code (nil for 0).
func runChild(opts *ExecOptions, env []string) error {
	name := opts.Command[0]
	c := exec.Command(name, opts.Command[1:]...)
	c.Env = env
	c.Stdin, c.Stdout, c.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if opts.ReleaseSignals != nil {
		opts.ReleaseSignals()
	}
	if err := c.Start(); err != nil {
		return startError(name, err)
	}
	done := make(chan struct{})
	go forwardSignals(c.Process, sigs, done, opts.SentToChild)
	err := c.Wait()
	close(done)
	return childStatus(name, err)
}

// forwardSignals passes the signals authctl gets on to p until done,
// except those that reached p already.
func forwardSignals(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}, sentToChild func(os.Signal) bool) {
	for {
		select {
		case s := <-sigs:
			if sentToChild == nil || !sentToChild(s) {
				_ = p.Signal(s)
			}
		case <-done:
			return
		}
	}
}

// startError is the shell's answer to a command that cannot be started:
// 127 when it is not found, 126 when it cannot be run.
func startError(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, exec.ErrDot) || errors.Is(err, fs.ErrNotExist) {
		return &exitError{code: 127, err: fmt.Errorf("%s: command not found", name)}
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &exitError{code: 126, err: fmt.Errorf("%s: cannot run it: %w", name, err)}
}

// childStatus turns the command's end into authctl's exit code: its own
// status, or 128+N when signal N ended it.
func childStatus(name string, err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			return fmt.Errorf("run %s: %w", name, err)
		}
		return nil
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &silentError{code: 128 + int(ws.Signal())}
	}
	return &silentError{code: ee.ExitCode()}
}
