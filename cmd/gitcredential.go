package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/token"
)

// GitCredentialOptions is one `authctl git-credential OPERATION`.
type GitCredentialOptions struct {
	IO      IOStreams
	Profile *Profile
	// Operation is get, store or erase; git asks helpers to ignore any
	// other, for operations it may add.
	Operation string
	// MinTTL: get refreshes unless the token stays valid this long.
	MinTTL time.Duration
}

// gitMinTTL is how long a token handed to git stays valid at least: a
// clone or push uses the one credential for all its requests.
const gitMinTTL = 5 * time.Minute

// NewCmdGitCredential returns `authctl git-credential`; runF, when not
// nil, receives the options instead of gitCredentialRun (tests).
func NewCmdGitCredential(f *Factory, runF func(context.Context, *GitCredentialOptions) error) *cobra.Command {
	opts := &GitCredentialOptions{IO: f.IO()}
	c := &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "A git credential helper: the access token as the password",
		Long: `A git credential helper (git's credential-helper protocol on stdin and
stdout; git runs it, you do not). get answers with the profile's git_username
(default oauth2) and a fresh access token as the password, with its expiry
(password_expiry_utc); to a git that announces capability[]=authtype, also
authtype=Bearer and credential=<token>. erase, which git sends when the
server refused the token, makes the next get refresh even though the token
looked valid; the refresh token is never deleted. store does nothing.

The token goes to https servers only (plain http only to this machine). A
missing login is exit 4, and git shows the next step.`,
		Example: `  git config --global credential.https://git.example.com.helper ''
  git config --global --add \
    credential.https://git.example.com.helper '!authctl git-credential -p work'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("git-credential takes one operation: get, store or erase (git runs it; see: authctl git-credential --help)")
			}
			return nil
		},
		ValidArgs: []string{"get", "store", "erase"},
		RunE: func(c *cobra.Command, args []string) error {
			if opts.MinTTL < 0 {
				return usageErrorf("--min-ttl must not be negative")
			}
			opts.Operation = args[0]
			p, err := f.Profile(nil, false)
			if err != nil {
				return err
			}
			opts.Profile = p
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return gitCredentialRun(c.Context(), opts)
		},
	}
	c.Flags().DurationVar(&opts.MinTTL, "min-ttl", gitMinTTL, "get refreshes unless the token stays valid at least this long")
	return c
}

// gitCredentialRun answers one request of git's.
func gitCredentialRun(ctx context.Context, opts *GitCredentialOptions) error {
	switch opts.Operation {
	case "get", "store", "erase":
	default:
		return nil
	}
	req, err := readGitRequest(opts.IO.In)
	if err != nil {
		return err
	}
	switch opts.Operation {
	case "get":
		return gitGet(ctx, opts, req)
	case "erase":
		return gitErase(ctx, opts, req)
	}
	return nil
}

// gitRequest is what git sends: attributes, each with one value or, for
// keys ending in [], a list.
type gitRequest map[string][]string

// get returns the last value of key, or "".
func (r gitRequest) get(key string) string {
	v := r[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// has reports whether list key holds value.
func (r gitRequest) has(key, value string) bool {
	for _, v := range r[key] {
		if v == value {
			return true
		}
	}
	return false
}

// maxGitRequest bounds what authctl reads from git (git's own lines are
// at most 64 KiB; a request has a few of them).
const maxGitRequest = 1 << 20

var gitKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]+(\[\])?$`) })

// readGitRequest reads key=value lines until a blank line or the end of
// the input. Anything else is a usage error naming the line.
func readGitRequest(in io.Reader) (gitRequest, error) {
	if in == nil {
		in = strings.NewReader("")
	}
	br := bufio.NewReader(io.LimitReader(in, maxGitRequest+1))
	req := gitRequest{}
	read := 0
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		read += len(line)
		if read > maxGitRequest {
			return nil, usageErrorf("git-credential: the input is over %d bytes; it is not git's credential protocol", maxGitRequest)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("git-credential: read the input: %w", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return req, nil
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !gitKey().MatchString(k) || strings.ContainsRune(v, 0) {
			return nil, usageErrorf("git-credential: line %d of the input is not key=value (git's credential protocol; git runs this helper, see: authctl git-credential --help)", n)
		}
		req[k] = append(req[k], v)
		if err != nil {
			return req, nil
		}
	}
}

// gitGet answers get with a fresh access token.
func gitGet(ctx context.Context, opts *GitCredentialOptions, req gitRequest) error {
	if err := gitCanReceive(req.get("protocol"), req.get("host")); err != nil {
		return err
	}
	p := opts.Profile
	if err := p.RequireLoggedIn(); err != nil {
		return err
	}
	p.WarnInsecure(opts.IO.ErrOut)
	cred, err := p.Source.Token(ctx, opts.MinTTL)
	if err != nil {
		return needLogin(err, p)
	}
	if strings.ContainsAny(cred.AccessToken, "\x00\r\n") {
		return errors.New("the access token has a line break, which git's credential protocol cannot carry")
	}
	var b strings.Builder
	if req.has("capability[]", "authtype") {
		fmt.Fprintf(&b, "capability[]=authtype\nauthtype=%s\ncredential=%s\n", cred.Type(), cred.AccessToken)
	}
	fmt.Fprintf(&b, "username=%s\npassword=%s\n", orDefault(req.get("username"), p.GitUsername), cred.AccessToken)
	if !cred.Expiry.IsZero() {
		fmt.Fprintf(&b, "password_expiry_utc=%s\n", strconv.FormatInt(cred.Expiry.Unix(), 10))
	}
	if _, err := io.WriteString(opts.IO.Out, b.String()); err != nil {
		return fmt.Errorf("git-credential: write the answer: %w", err)
	}
	return nil
}

// gitCanReceive refuses to hand a bearer token to a server git would
// reach over plain http, unless it is on this machine.
func gitCanReceive(protocol, host string) error {
	switch protocol {
	case "https":
		return nil
	case "":
		return usageErrorf("git-credential: the input names no protocol (git's credential protocol sends protocol=https)")
	case "http":
		h := host
		if hn, _, err := net.SplitHostPort(host); err == nil {
			h = hn
		}
		if endpoint.IsLoopback(strings.Trim(h, "[]")) {
			return nil
		}
	}
	return fmt.Errorf("git-credential: refusing to send the token to %q over %q: a bearer token goes over https only (or plain http to this machine)", host, protocol)
}

// gitErase forgets the access token git says the server refused, when it
// is still the stored one; the next get then refreshes. Nothing stored,
// or another token stored meanwhile, is nothing to do.
func gitErase(ctx context.Context, opts *GitCredentialOptions, req gitRequest) error {
	p := opts.Profile
	if !p.hasProvider() {
		return nil
	}
	for _, refused := range []string{req.get("password"), req.get("credential")} {
		forgot, err := p.Source.Invalidate(ctx, refused)
		if errors.Is(err, token.ErrLoginRequired) {
			return nil
		}
		if err != nil {
			return err
		}
		if forgot {
			return nil
		}
	}
	return nil
}
