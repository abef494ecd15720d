// Package cmd is authctl's command line: cobra commands turned into plain
// Options structs, a Factory that resolves the profile a command works
// on, the run functions that do the work with no cobra in sight, and the
// one place where errors become exit codes.
//
// Each command has the shape NewCmdX(f, runF) + xRun(ctx, opts):
// NewCmdX binds flags into an XOptions, resolves what the command needs
// through the Factory, and calls runF (tests) or xRun.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/login"
	"github.com/authctl/authctl/tokencache"
)

// Deps are the parts of the world authctl touches. main builds the real
// ones; tests pass their own.
type Deps struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv looks up an environment variable.
	Getenv func(string) string
	// Environ lists the environment as KEY=VALUE pairs, to find AUTHCTL_*
	// variables that mean nothing. Nil means none are checked.
	Environ func() []string
	// GOOS is the operating system paths and the browser follow.
	GOOS string
	// HTTPClient talks to the provider. main gives it an
	// endpoint.Transport: the endpoint rule on every request and redirect,
	// and a size limit on every answer. authctl curl's API requests use a
	// transport of their own.
	HTTPClient *http.Client
	// Now is the clock.
	Now func() time.Time
	// Keychain opens the OS keychain with a time limit per call. Nil means
	// keychain.DefaultStore.
	Keychain func(timeout time.Duration) keychain.Store
	// Open overrides the browser opener (tests); nil means login.Opener.
	Open login.OpenFunc
	// TokenCache keeps access tokens for PrintCached (the kernel
	// keyring); nil means no cache.
	TokenCache *tokencache.Cache
	// SystemBrowser opens a URL with the operating system's opener, its
	// output going to the writer given (stderr with --verbose, nowhere
	// otherwise). Nil means there is none: only $BROWSER opens a browser.
	SystemBrowser login.SystemOpenFunc
	// StdinIsTerminal reports whether Stdin is a terminal (a login then
	// takes a pasted redirect URL even while a browser is open). Nil means
	// it is not.
	StdinIsTerminal func() bool
	// Version describes this build.
	Version Version
	// ReleaseSignals ends main's own handling of SIGINT, SIGTERM, SIGHUP
	// and SIGQUIT (a first one cancels the run, a second ends the process)
	// for a command that takes them over: authctl exec passes them to its
	// command and exits only when that command does. Nil: nothing to
	// release.
	ReleaseSignals func()
}

// Main runs authctl with args (without the program name) and returns the
// process's exit code. Cancelling ctx (Ctrl-C) makes it return 130.
func Main(ctx context.Context, args []string, deps Deps) int {
	f := NewFactory(deps)
	root := NewCmdRoot(f)
	root.SetArgs(hoistGlobalFlags(root, args))
	root.SetIn(deps.Stdin)
	root.SetOut(deps.Stdout)
	root.SetErr(deps.Stderr)
	c, err := root.ExecuteContextC(ctx)
	var usage *usageError
	var silent *silentError
	if err != nil && !errors.As(err, &usage) && !errors.As(err, &silent) && !f.ran {
		// cobra failed before any command ran: a wrong flag, argument or
		// command name.
		err = &usageError{msg: tidyCobraError(err.Error()) + " (see: " + strings.TrimSpace(c.CommandPath()+" --help") + ")"}
	}
	interrupted := ctx.Err() != nil
	err = inWords(err, f.HTTPClient().Timeout)
	if msg := message(err, interrupted); msg != "" {
		fmt.Fprintln(deps.Stderr, msg)
	}
	return exitCode(err, interrupted)
}

// hoistGlobalFlags parses the global flags given before the name of a
// command that reads its arguments itself (authctl -v curl URL: -v is
// authctl's --verbose, where curl's own -v comes after the name), and
// returns the arguments without them. cobra would hand them to the
// command among its own. Arguments it cannot read are left as they are,
// for cobra to report.
func hoistGlobalFlags(root *cobra.Command, args []string) []string {
	pf := root.PersistentFlags()
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" && args[i] != "-" {
		fl, inline := globalFlag(pf, args[i])
		if fl == nil {
			return args
		}
		i++
		if !inline && fl.NoOptDefVal == "" {
			i++ // the value is the next argument
		}
	}
	if i == 0 || i >= len(args) {
		return args
	}
	c, _, err := root.Find(args[i : i+1])
	if err != nil || c == root || !c.DisableFlagParsing || pf.Parse(args[:i]) != nil {
		return args
	}
	return args[i:]
}

// globalFlag finds the flag of pf that arg names (--name, --name=value,
// -n or -nvalue) and reports whether arg holds its value; nil when arg
// is no single flag of pf.
func globalFlag(pf *pflag.FlagSet, arg string) (fl *pflag.Flag, inline bool) {
	if name, ok := strings.CutPrefix(arg, "--"); ok {
		name, _, inline = strings.Cut(name, "=")
		return pf.Lookup(name), inline
	}
	short := arg[1:2]
	fl = pf.ShorthandLookup(short)
	if fl == nil || (len(arg) > 2 && fl.NoOptDefVal != "") {
		return nil, false // unknown, or bools run together (-vx): left to cobra
	}
	return fl, len(arg) > 2
}

// NewRoot returns authctl's command tree wired to deps, for tools that
// generate documentation and shell completions from it. Running it
// directly skips Main's exit-code mapping.
func NewRoot(deps Deps) *cobra.Command { return NewCmdRoot(NewFactory(deps)) }

// NewCmdRoot returns the root command with every subcommand, its global
// flags bound to f.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "authctl",
		Short: "Sign in to an OAuth 2.0 / OpenID Connect provider and use the tokens from scripts",
		Long: `authctl signs you in to an OAuth 2.0 / OpenID Connect provider in your browser,
keeps the refresh token in the OS keychain, and hands fresh access tokens to
scripts and tools: authctl token print, authctl curl URL, authctl exec -- CMD,
kubectl (authctl setup kubectl) and git (authctl git-credential).

Exit codes: 0 ok, 1 failure, 2 usage or config error, 4 login required,
5 an API asks for a stronger login (step-up), 22 curl --fail got a status
of 400 or more, 130 interrupted (see: authctl help exit-codes).`,
		SilenceUsage:     true,
		SilenceErrors:    true,
		Version:          f.deps.Version.String(),
		PersistentPreRun: func(*cobra.Command, []string) { f.ran = true },
	}
	root.SetVersionTemplate("authctl {{.Version}}\n")
	root.SetUsageTemplate(usageTemplate())
	root.SetHelpCommand(newCmdHelp(root))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see: %s --help)", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&f.profileFlag, "profile", "p", "", "profile to use (default: $AUTHCTL_PROFILE, the config's default_profile, or \"default\")")
	pf.StringVar(&f.configFlag, "config", "", "config file (default: $AUTHCTL_CONFIG or ~/.config/authctl/config.yaml)")
	pf.BoolVarP(&f.verbose, "verbose", "v", false, "say on stderr what authctl does (never shows a token)")
	_ = root.RegisterFlagCompletionFunc("profile", f.completeProfiles)

	root.AddCommand(
		NewCmdLogin(f, nil),
		NewCmdToken(f, nil),
		NewCmdCurl(f, nil),
		NewCmdDPoPProof(f, nil),
		NewCmdLogout(f, nil),
		NewCmdStatus(f, nil),
		NewCmdWhoami(f, nil),
		NewCmdExec(f, nil),
		NewCmdGitCredential(f, nil),
		NewCmdSetup(f),
		NewCmdProfile(f),
		NewCmdVersion(f, nil),
	)
	addHelpTopics(root)
	// cobra's completion commands keep the output stream they see when
	// they are made: set the streams first.
	root.SetIn(f.deps.Stdin)
	root.SetOut(f.deps.Stdout)
	root.SetErr(f.deps.Stderr)
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		rewrapLong(c)
	}
	return root
}

// completeProfiles completes profile names from the config file; a
// config that cannot be read completes nothing.
func (f *Factory) completeProfiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cf, err := f.Config(true)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return profileNames(cf), cobra.ShellCompDirectiveNoFileComp
}
