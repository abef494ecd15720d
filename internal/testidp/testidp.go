// Package testidp runs the test OpenID provider in testdata/idp (node-oidc-provider)
// as a child process, for end-to-end tests that need a real provider.
//
// The provider has two native public clients, "authctl-test" and "authctl-other",
// one user (sub "alice", email "alice@example.test"), rotating refresh tokens, PKCE
// S256, device flow, revocation, introspection (a client may introspect its own
// tokens) and userinfo. Every login and consent is granted as soon as a browser
// reaches the interaction page; see package testbrowser.
package testidp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client IDs registered at the provider: native public clients whose loopback
// redirect URIs are http://{127.0.0.1,localhost,[::1]}:ANYPORT/{callback,cb}.
const (
	ClientID      = "authctl-test"
	OtherClientID = "authctl-other"
	// SecretClientID is a client that was issued ClientSecret, which the
	// provider wants in the form body (client_secret_post) at its token
	// and revocation endpoints.
	SecretClientID = "authctl-secret"
	ClientSecret   = "authctl-test-secret"
)

// The one user every login signs in as.
const (
	Subject = "alice"
	Email   = "alice@example.test"
	Name    = "Alice Example"
)

// EnvRequireReal is the environment variable that turns "skip, the provider
// cannot run here" into a test failure (CI sets it to 1).
const EnvRequireReal = "AUTHCTL_TEST_REQUIRE_REAL"

// Options configure Start. The zero value is usable.
type Options struct {
	// AccessTTL is the access-token lifetime; zero means one hour. It is
	// rounded down to whole seconds and must be at least one second.
	AccessTTL time.Duration
	// RefreshTTL is the refresh-token lifetime; zero means the provider's default (14 days).
	RefreshTTL time.Duration
	// Dir is the directory holding server.js and node_modules. Empty means
	// testdata/idp under the module root, found by walking up from the
	// working directory to go.mod.
	Dir string
	// Stderr receives the provider's diagnostics; nil discards them.
	Stderr io.Writer
	// IDTokenPadding, when positive, adds a claim of that many characters
	// to every ID token, for credentials larger than a keychain item.
	IDTokenPadding int
	// DPoP turns on DPoP (RFC 9449), with a nonce required in every proof
	// (RFC 9449 §8). Otherwise discovery names no DPoP algorithm and the
	// provider issues bearer tokens only.
	DPoP bool
}

// Stats counts the requests the provider received since start or the last
// Reset, counted before the provider handled them (failed requests included).
type Stats struct {
	AuthorizationCode   int `json:"authorization_code"`   // token requests with grant_type=authorization_code
	RefreshToken        int `json:"refresh_token"`        // token requests with grant_type=refresh_token
	DeviceCode          int `json:"device_code"`          // token requests with the device_code grant type
	OtherGrant          int `json:"other_grant"`          // token requests with any other or no grant_type
	Token               int `json:"token"`                // all token-endpoint requests
	TokenErrors         int `json:"token_errors"`         // token-endpoint answers with status >= 400
	DPoPProofs          int `json:"dpop_proofs"`          // token-endpoint requests with a DPoP proof
	UseDPoPNonce        int `json:"use_dpop_nonce"`       // token-endpoint answers asking for a DPoP nonce
	Revocation          int `json:"revocation"`           // revocation-endpoint requests
	Introspection       int `json:"introspection"`        // introspection-endpoint requests
	Userinfo            int `json:"userinfo"`             // userinfo-endpoint requests
	DeviceAuthorization int `json:"device_authorization"` // device-authorization requests
	Authorization       int `json:"authorization"`        // authorization-endpoint requests
	JWKS                int `json:"jwks"`                 // requests for the provider's signing keys
	HeldRefresh         int `json:"held_refresh"`         // refresh answers SlowRefresh began to hold (a Release after this sends them)
	HeldJWKS            int `json:"held_jwks"`            // JWKS answers SlowJWKS began to hold
}

// IdP is a running provider. Close it when done.
type IdP struct {
	// Issuer is the provider's issuer URL, http://127.0.0.1:PORT with no trailing slash.
	Issuer string

	cmd    *exec.Cmd
	client *http.Client
	once   sync.Once
	done   chan struct{}
	err    error
}

// FindDir returns testdata/idp under the module root, found by walking up
// from the working directory to the first go.mod.
func FindDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "idp"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Available reports why the provider in testdata/idp (see FindDir) cannot
// run here, or nil if it can: node must be on PATH and the directory must
// hold server.js and an installed node_modules.
func Available() error {
	dir, err := FindDir()
	if err != nil {
		return err
	}
	return availableIn(dir)
}

func availableIn(dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not installed (Node 20 or later is needed for the test provider; Debian: apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "server.js")); err != nil {
		return fmt.Errorf("test provider not found: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		return fmt.Errorf("test provider dependencies are not installed; run: npm ci --prefix %s", fromModuleRoot(dir))
	}
	return nil
}

// fromModuleRoot names dir relative to the module root when it lies inside
// it (as "testdata/idp"), since the README's commands run from there.
func fromModuleRoot(dir string) string {
	if def, err := FindDir(); err == nil {
		root := filepath.Dir(filepath.Dir(def))
		if rel, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return dir
}

// Start runs the provider on a free port of 127.0.0.1 and returns once it
// serves requests. Cancelling ctx before then aborts the start; afterwards
// the provider runs until Close.
func Start(ctx context.Context, opts Options) (*IdP, error) {
	// A start that hangs (seen once in a while on a busy CI machine, with
	// node printing nothing after its first warning) gets one more try.
	var idp *IdP
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		idp, err = startOnce(ctx, opts)
		if !errors.Is(err, errNotReady) || ctx.Err() != nil {
			break
		}
		if opts.Stderr != nil {
			fmt.Fprintf(opts.Stderr, "testidp: attempt %d: %v; trying again\n", attempt, err)
		}
	}
	return idp, err
}

// errNotReady means the provider did not say it was listening in time.
var errNotReady = errors.New("not ready")

func startOnce(ctx context.Context, opts Options) (*IdP, error) {
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = FindDir(); err != nil {
			return nil, err
		}
	}
	if err := availableIn(dir); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PORT=0")
	if opts.AccessTTL != 0 {
		secs := int64(opts.AccessTTL / time.Second)
		if secs < 1 {
			return nil, fmt.Errorf("access ttl %v: must be at least 1s", opts.AccessTTL)
		}
		env = append(env, "ACCESS_TTL="+strconv.FormatInt(secs, 10))
	}
	if opts.RefreshTTL != 0 {
		secs := int64(opts.RefreshTTL / time.Second)
		if secs < 1 {
			return nil, fmt.Errorf("refresh ttl %v: must be at least 1s", opts.RefreshTTL)
		}
		env = append(env, "REFRESH_TTL="+strconv.FormatInt(secs, 10))
	}

	if opts.IDTokenPadding > 0 {
		env = append(env, "ID_TOKEN_PADDING="+strconv.Itoa(opts.IDTokenPadding))
	}
	if opts.DPoP {
		env = append(env, "DPOP=1")
	}

	cmd := exec.Command("node", "server.js")
	cmd.Dir = dir
	cmd.Env = env
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start test provider: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start test provider: %w", err)
	}
	idp := &IdP{cmd: cmd, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}, done: make(chan struct{})}

	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if iss, ok := strings.CutPrefix(sc.Text(), "ISSUER "); ok {
				issuer <- iss
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // keep the pipe drained
		close(issuer)
	}()
	go func() {
		idp.err = cmd.Wait()
		close(idp.done)
	}()

	timeout := time.NewTimer(readyWithin)
	defer timeout.Stop()
	select {
	case iss, ok := <-issuer:
		if !ok {
			<-idp.done
			return nil, fmt.Errorf("start test provider: exited before it was ready: %v", idp.err)
		}
		idp.Issuer = iss
		return idp, nil
	case <-ctx.Done():
		_ = idp.Close()
		return nil, fmt.Errorf("start test provider: %w", ctx.Err())
	case <-timeout.C:
		state := processState(cmd.Process.Pid)
		_ = idp.Close()
		return nil, fmt.Errorf("start test provider: %w after %v (node was %s)", errNotReady, readyWithin, state)
	}
}

// readyWithin bounds one try at starting the provider. It takes about
// half a second on an idle machine and 3 to 4 s with sixteen starting at
// once; a start that takes longer has hung (seen now and then in CI).
const readyWithin = 20 * time.Second

// processState describes what a process is doing, from /proc where there
// is one, for the message of a start that hangs.
func processState(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "in an unknown state"
	}
	state := "in state ?"
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			state = "in state " + strings.TrimSpace(v)
		}
	}
	if wchan, err := os.ReadFile(fmt.Sprintf("/proc/%d/wchan", pid)); err == nil && len(wchan) > 0 {
		state += ", waiting in " + string(wchan)
	}
	return state
}

// Stats returns the request counts since start or the last Reset.
func (p *IdP) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Issuer+"/test/stats", nil)
	if err != nil {
		return s, fmt.Errorf("provider stats: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return s, fmt.Errorf("provider stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("provider stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("provider stats: %w", err)
	}
	return s, nil
}

// Reset zeroes the request counts.
func (p *IdP) Reset(ctx context.Context) error {
	return p.post(ctx, "reset", "/test/reset")
}

// SlowRefresh makes the provider hold each answer to a refresh request
// for d, or until Release: the refresh token is rotated (the old one
// retired) at once, and the client hears of it late. Zero ends it.
func (p *IdP) SlowRefresh(ctx context.Context, d time.Duration) error {
	return p.post(ctx, "slow refresh", "/test/slow?refresh="+strconv.FormatInt(d.Milliseconds(), 10))
}

// SlowJWKS makes the provider hold each answer to a request for its
// signing keys (which verifying an ID token needs) for d, or until
// Release. Zero ends it.
func (p *IdP) SlowJWKS(ctx context.Context, d time.Duration) error {
	return p.post(ctx, "slow jwks", "/test/slow?jwks="+strconv.FormatInt(d.Milliseconds(), 10))
}

// Release sends every answer that SlowRefresh or SlowJWKS holds now.
func (p *IdP) Release(ctx context.Context) error {
	return p.post(ctx, "release", "/test/release")
}

// Tamper says how the provider alters the ID token of its refresh answers.
type Tamper string

// The ways TamperIDToken can alter an ID token.
const (
	// TamperOff leaves ID tokens as the provider issues them.
	TamperOff Tamper = "off"
	// TamperSignature signs the ID token with a key the provider does not
	// publish, so its signature fails.
	TamperSignature Tamper = "signature"
	// TamperSubject names another subject ("mallory") in a token signed
	// with the provider's own key, so only the subject check catches it.
	TamperSubject Tamper = "subject"
)

// TamperIDToken makes the provider alter the ID token of every later
// refresh answer as mode says.
func (p *IdP) TamperIDToken(ctx context.Context, mode Tamper) error {
	return p.post(ctx, "tamper", "/test/tamper?id_token="+string(mode))
}

// post sends an empty POST to one of the provider's test routes.
func (p *IdP) post(ctx context.Context, what, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+path, nil)
	if err != nil {
		return fmt.Errorf("provider %s: %w", what, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("provider %s: %w", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("provider %s: %s", what, resp.Status)
	}
	return nil
}

// closeGrace is how long Close waits for the provider to exit on SIGTERM
// before it kills it. The provider exits at once on SIGTERM; the grace is
// long so that a loaded machine never reaches it.
const closeGrace = 30 * time.Second

// Close stops the provider (SIGTERM, then SIGKILL after 30 s) and waits for
// it to exit. It returns an error when the provider had to be killed: it
// did not exit on SIGTERM, as it promises to. It is safe to call more than
// once; later calls return nil.
func (p *IdP) Close() error {
	var err error
	p.once.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		if runtime.GOOS == "windows" {
			_ = p.cmd.Process.Kill()
			<-p.done
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(closeGrace):
			_ = p.cmd.Process.Kill()
			<-p.done
			err = fmt.Errorf("test provider did not exit within %s of SIGTERM, so it was killed", closeGrace)
		}
	})
	return err
}
