package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// NewCmdSetup returns `authctl setup` and its subcommands.
func NewCmdSetup(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "setup",
		Short: "Make another tool (kubectl) take its tokens from authctl",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageErrorf("missing subcommand: kubectl (see: authctl setup --help)")
		},
	}
	c.AddCommand(NewCmdSetupKubectl(f, nil))
	return c
}

// SetupKubectlOptions is one `authctl setup kubectl`.
type SetupKubectlOptions struct {
	IO      IOStreams
	Profile *Profile
	// User is the kubeconfig user entry to write.
	User string
	// IDToken makes kubectl send the ID token (OIDC API servers).
	IDToken bool
	// Apply runs the kubectl command instead of printing it.
	Apply bool
	// Command is how kubectl starts authctl: "authctl" when that is this
	// program on $PATH, else this program's absolute path.
	Command string
	// Config is the --config of this run, pinned in the entry ("" if none).
	Config string
	// Kubectl runs kubectl with args, its output going to stderr.
	Kubectl func(ctx context.Context, args []string) error
}

// NewCmdSetupKubectl returns `authctl setup kubectl`; runF, when not nil,
// receives the options instead of setupKubectlRun (tests).
func NewCmdSetupKubectl(f *Factory, runF func(context.Context, *SetupKubectlOptions) error) *cobra.Command {
	opts := &SetupKubectlOptions{IO: f.IO()}
	c := &cobra.Command{
		Use:   "kubectl",
		Short: "Print (or --apply) the kubectl command that sets authctl up",
		Long: `Print the kubectl config set-credentials command that makes authctl the exec
credential plugin of a kubeconfig user, for the current profile (pinned with
--profile, so a later change of the default profile does not change the
cluster's credentials). With --apply, run it. Then point a context at the
user: kubectl config set-context --current --user=NAME.

kubectl then runs authctl token print --format exec-credential, caches the
token until just before it expires and runs authctl again. With --id-token
it sends the ID token, for API servers that authenticate OIDC ID tokens.
The user entry's interactiveMode is IfAvailable: with the profile's
login_on_demand set, kubectl at a terminal logs you in when needed.`,
		Example: `  authctl setup kubectl -p work
  authctl setup kubectl -p work --user oidc --id-token --apply
  kubectl config set-context --current --user=authctl-work`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			if opts.User == "" {
				opts.User = "authctl-" + p.Name
			}
			if opts.Config, err = absConfig(f.configFlag); err != nil {
				return err
			}
			opts.Command = selfCommand()
			opts.Kubectl = runKubectl(opts.IO.ErrOut)
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return setupKubectlRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.User, "user", "", "kubeconfig user entry to write (default authctl-PROFILE)")
	fl.BoolVar(&opts.IDToken, "id-token", false, "send the ID token instead of the access token (Kubernetes OIDC authentication)")
	fl.BoolVar(&opts.Apply, "apply", false, "run the command (writes $KUBECONFIG or ~/.kube/config) instead of printing it")
	return c
}

// setupKubectlRun prints or runs the kubectl command.
func setupKubectlRun(ctx context.Context, opts *SetupKubectlOptions) error {
	args, err := kubectlSetCredentials(opts)
	if err != nil {
		return err
	}
	if !opts.Apply {
		fmt.Fprintln(opts.IO.Out, shellJoin(append([]string{"kubectl"}, args...)))
		fmt.Fprintf(opts.IO.ErrOut, "Run it (or authctl setup kubectl --apply), then use the user in a context: kubectl config set-context --current --user=%s\n", shellQuote(opts.User))
		return nil
	}
	if err := opts.Kubectl(ctx, args); err != nil {
		return fmt.Errorf("kubectl config set-credentials: %w", err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "kubeconfig user %q now runs authctl (profile %q). Use it in a context: kubectl config set-context --current --user=%s\n", opts.User, opts.Profile.Name, shellQuote(opts.User))
	return nil
}

// kubectlSetCredentials returns the arguments of kubectl that write the
// user entry.
func kubectlSetCredentials(opts *SetupKubectlOptions) ([]string, error) {
	plugin := []string{"token", "print", "--format=exec-credential", "--profile=" + opts.Profile.Name}
	if opts.Config != "" {
		plugin = append(plugin, "--config="+opts.Config)
	}
	if opts.IDToken {
		plugin = append(plugin, "--id-token")
	}
	if strings.TrimSpace(opts.User) == "" {
		return nil, usageErrorf("--user must not be empty")
	}
	args := []string{"config", "set-credentials", opts.User,
		"--exec-api-version=" + execAPIv1,
		"--exec-command=" + opts.Command,
		"--exec-interactive-mode=IfAvailable",
	}
	for _, a := range plugin {
		// kubectl splits --exec-arg at commas.
		if strings.Contains(a, ",") {
			return nil, usageErrorf("%q contains a comma, which kubectl config set-credentials would split: choose a path without one", a)
		}
		args = append(args, "--exec-arg="+a)
	}
	return args, nil
}

// runKubectl returns a function that runs kubectl with its output on w.
func runKubectl(w io.Writer) func(ctx context.Context, args []string) error {
	return func(ctx context.Context, args []string) error {
		c := exec.CommandContext(ctx, "kubectl", args...)
		c.Stdout, c.Stderr = w, w
		return c.Run()
	}
}

// selfCommand is how another program should start this one: "authctl"
// when that name on $PATH is this program (so an upgrade that moves the
// binary keeps working), else this program's absolute path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "authctl"
	}
	if onPath, err := exec.LookPath("authctl"); err == nil {
		a, errA := os.Stat(onPath)
		b, errB := os.Stat(exe)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return "authctl"
		}
	}
	return exe
}

// absConfig makes a --config path absolute, since kubectl runs authctl
// from whatever directory it was started in.
func absConfig(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("config path: %w", err)
	}
	return abs, nil
}

var shellSafe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`) })

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if shellSafe().MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin quotes and joins a command line.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
