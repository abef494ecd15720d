package cmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
	"github.com/authctl/authctl/tokencache"
)

// fakeIdP is an httptest provider with a discovery document, a token
// endpoint that rotates (or answers tokenAnswer) and a revocation
// endpoint. It records the form of every POST.
type fakeIdP struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []url.Values
	paths []string
	// tokenAnswer, when set, answers token requests instead of rotating.
	tokenAnswer func(w http.ResponseWriter)
}

func newFakeIdP(t testing.TB) *fakeIdP {
	p := &fakeIdP{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		u := p.srv.URL
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
			"revocation_endpoint": u + "/revoke", "jwks_uri": u + "/jwks",
		})
	})
	mux.HandleFunc("POST /{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		p.posts = append(p.posts, r.PostForm)
		p.paths = append(p.paths, r.URL.Path)
		n := len(p.posts)
		answer := p.tokenAnswer
		p.mu.Unlock()
		switch r.URL.Path {
		case "/token":
			if answer != nil {
				answer(w)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"AT%d","refresh_token":"RT%d","token_type":"Bearer","expires_in":3600}`, n, n)
		case "/revoke":
			w.WriteHeader(http.StatusOK)
		default:
			http.NotFound(w, r)
		}
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// requests returns the paths of the POSTs received so far.
func (p *fakeIdP) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// world is one user's machine: a home directory, an environment, a
// keychain and a provider.
type world struct {
	t      testing.TB
	home   string
	env    map[string]string
	store  *keychaintest.Store
	idp    *fakeIdP
	now    time.Time
	stdout bytes.Buffer
	stderr bytes.Buffer
	// environ is what Deps.Environ lists.
	environ []string
	// cache is Deps.TokenCache (nil: none).
	cache *tokencache.Cache
}

func newWorld(t testing.TB) *world {
	home := t.TempDir()
	w := &world{
		t:     t,
		home:  home,
		store: keychaintest.New(),
		idp:   newFakeIdP(t),
		now:   time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC),
	}
	w.env = map[string]string{
		"HOME":           home,
		"XDG_STATE_HOME": filepath.Join(home, "state"),
		"XDG_CACHE_HOME": filepath.Join(home, "cache"),
		"AUTHCTL_CONFIG": filepath.Join(home, "config.yaml"),
	}
	return w
}

// config writes the config file.
func (w *world) config(body string) {
	w.t.Helper()
	if err := os.WriteFile(w.env["AUTHCTL_CONFIG"], []byte(body), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// loggedIn configures profile "default" for the fake provider and stores
// a credential whose access token expires at exp.
func (w *world) loggedIn(exp time.Time) {
	w.t.Helper()
	w.config(fmt.Sprintf("profiles:\n  default:\n    issuer: %s\n    client_id: cli\n", w.idp.srv.URL))
	c := &token.Credential{
		Issuer: w.idp.srv.URL, ClientID: "cli", AccessToken: "AT0", RefreshToken: "RT0", TokenType: "Bearer", Expiry: exp,
		IDToken: unsignedJWT(map[string]any{"sub": "user-1", "email": "u@example.com"}),
	}
	b, err := c.Encode()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.store.Set(context.Background(), "default", b); err != nil {
		w.t.Fatal(err)
	}
}

func unsignedJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(b) + ".sig"
}

func (w *world) deps() Deps {
	return Deps{
		Stdin:      strings.NewReader(""),
		Stdout:     &w.stdout,
		Stderr:     &w.stderr,
		Getenv:     func(k string) string { return w.env[k] },
		Environ:    func() []string { return w.environ },
		GOOS:       "linux",
		HTTPClient: w.idp.srv.Client(),
		Now:        func() time.Time { return w.now },
		Keychain:   func(time.Duration) keychain.Store { return w.store },
		TokenCache: w.cache,
		Version:    Version{Version: "v1.2.3", Commit: "abcdef1234567890", Date: "2031-01-01T00:00:00Z", Go: "go1.26", OS: "linux", Arch: "amd64"},
	}
}

// run runs authctl args and returns the exit code; stdout and stderr are
// reset first.
func (w *world) run(args ...string) int {
	return w.runContext(context.Background(), args...)
}

func (w *world) runContext(ctx context.Context, args ...string) int {
	w.stdout.Reset()
	w.stderr.Reset()
	return Main(ctx, args, w.deps())
}

// storedCredential returns the credential of profile "default", or nil.
func (w *world) storedCredential() *token.Credential {
	b, ok := w.store.Items()["default"]
	if !ok {
		return nil
	}
	c, err := token.Decode(b)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func TestTokenPrintFormats(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "AT0\n"},
		{[]string{"--format", "raw"}, "AT0\n"},
		{[]string{"--format", "header"}, "Authorization: Bearer AT0\n"},
		{[]string{"--format=json"}, `{"access_token":"AT0","token_type":"Bearer","expiry":"2031-05-06T08:08:09Z","expires_in":3600}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			w := newWorld(t)
			w.loggedIn(w.now.Add(time.Hour))
			code := w.run(append([]string{"token", "print"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, w.stderr.String())
			}
			if got := w.stdout.String(); got != tt.want {
				t.Errorf("stdout = %q, want %q", got, tt.want)
			}
			if w.stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", w.stderr.String())
			}
			if n := len(w.idp.requests()); n != 0 {
				t.Errorf("%d requests for a cached token", n)
			}
		})
	}
}

func TestTokenPrintJSONExpiresIn(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(90*time.Second + 500*time.Millisecond))
	if code := w.run("token", "print", "--format", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	var v struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Expiry      string `json:"expiry"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(w.stdout.Bytes(), &v); err != nil {
		t.Fatalf("stdout %q: %v", w.stdout.String(), err)
	}
	exp, err := time.Parse(time.RFC3339, v.Expiry)
	if err != nil {
		t.Errorf("expiry %q is not RFC 3339: %v", v.Expiry, err)
	}
	if v.ExpiresIn != 90 || !exp.Equal(w.now.Add(90*time.Second)) || v.AccessToken != "AT0" || v.TokenType != "Bearer" {
		t.Errorf("json = %+v, want expires_in 90 from the injected clock", v)
	}
}

func TestTokenPrintRefreshesThroughDiscovery(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(10 * time.Second)) // under the 30s floor
	if code := w.run("token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	if got := w.stdout.String(); got != "AT1\n" {
		t.Errorf("stdout = %q, want AT1", got)
	}
	if got := w.idp.requests(); len(got) != 1 || got[0] != "/token" {
		t.Errorf("requests = %v, want one to /token", got)
	}
	if c := w.storedCredential(); c == nil || c.RefreshToken != "RT1" {
		t.Errorf("stored = %+v, want the rotated RT1", c)
	}
	// The discovery document is cached: the next refresh is one request.
	w.now = w.now.Add(2 * time.Hour)
	if code := w.run("token", "print", "--min-ttl", "5m"); code != 0 || w.stdout.String() != "AT2\n" {
		t.Fatalf("second refresh: exit %d, stdout %q, stderr %q", code, w.stdout.String(), w.stderr.String())
	}
}

func TestTokenPrintMinTTL(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(4 * time.Minute))
	if code := w.run("token", "print"); code != 0 || w.stdout.String() != "AT0\n" {
		t.Fatalf("without --min-ttl: exit %d, stdout %q", code, w.stdout.String())
	}
	if code := w.run("token", "print", "--min-ttl", "5m"); code != 0 || w.stdout.String() != "AT1\n" {
		t.Fatalf("--min-ttl 5m: exit %d, stdout %q, want the refreshed AT1", code, w.stdout.String())
	}
}

func TestTokenPrintNotLoggedIn(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
		args  []string
		hint  string
	}{
		{"no config at all", func(w *world) {}, nil, "run: authctl login --issuer URL --client-id ID"},
		{"scopes changed since login", func(w *world) {
			w.loggedIn(w.now.Add(time.Hour))
			c := w.storedCredential()
			c.Minted = &token.Minted{Scopes: []string{"openid", "offline_access"}}
			b, _ := c.Encode()
			w.store.Set(context.Background(), "default", b)
			w.config("profiles:\n  default:\n    issuer: " + w.idp.srv.URL + "\n    client_id: cli\n    scopes: [openid, offline_access, email]\n")
		}, nil, "run: authctl login"},
		{"auth_params changed since login", func(w *world) {
			w.loggedIn(w.now.Add(time.Hour))
			c := w.storedCredential()
			c.Minted = &token.Minted{Scopes: []string{"openid", "offline_access"}}
			b, _ := c.Encode()
			w.store.Set(context.Background(), "default", b)
			w.config("profiles:\n  default:\n    issuer: " + w.idp.srv.URL + "\n    client_id: cli\n    auth_params: {audience: https://api}\n")
		}, nil, "run: authctl login"},
		{"profile configured, nothing stored", func(w *world) {
			w.config("profiles:\n  default:\n    issuer: " + w.idp.srv.URL + "\n    client_id: cli\n")
		}, nil, "run: authctl login"},
		{"another profile", func(w *world) {
			w.config("profiles:\n  work:\n    issuer: " + w.idp.srv.URL + "\n    client_id: cli\n")
		}, []string{"-p", "work"}, "run: authctl login -p work"},
		{"credential of another client", func(w *world) {
			w.loggedIn(w.now.Add(time.Hour))
			w.config("profiles:\n  default:\n    issuer: " + w.idp.srv.URL + "\n    client_id: other\n")
		}, nil, "run: authctl login"},
		{"refresh token rejected", func(w *world) {
			w.loggedIn(w.now.Add(-time.Minute))
			w.idp.tokenAnswer = func(rw http.ResponseWriter) {
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusBadRequest)
				rw.Write([]byte(`{"error":"invalid_grant"}`))
			}
		}, nil, "run: authctl login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.setup(w)
			code := w.run(append([]string{"token", "print"}, tt.args...)...)
			if code != 4 {
				t.Errorf("exit %d, want 4 (stderr %q)", code, w.stderr.String())
			}
			if w.stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", w.stdout.String())
			}
			errOut := w.stderr.String()
			if !strings.HasPrefix(errOut, "authctl: ") || !strings.HasSuffix(errOut, tt.hint+"\n") || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr = %q, want one line 'authctl: …; %s'", errOut, tt.hint)
			}
		})
	}
}

func TestTokenPrintRejectedRefreshDeletesCredential(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(-time.Minute))
	w.idp.tokenAnswer = func(rw http.ResponseWriter) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusBadRequest)
		rw.Write([]byte(`{"error":"invalid_grant"}`))
	}
	if code := w.run("token", "print"); code != 4 {
		t.Fatalf("exit %d, want 4", code)
	}
	if w.storedCredential() != nil {
		t.Error("rejected credential still stored")
	}
}

func TestTokenPrintProviderDownKeepsCredential(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(-time.Minute))
	before := w.store.Items()["default"]
	w.idp.tokenAnswer = func(rw http.ResponseWriter) { http.Error(rw, "down", http.StatusServiceUnavailable) }
	if code := w.run("token", "print"); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if w.stdout.Len() != 0 {
		t.Errorf("stdout = %q", w.stdout.String())
	}
	if !bytes.Equal(w.store.Items()["default"], before) {
		t.Error("credential changed after a 503")
	}
	if strings.Contains(w.stderr.String(), "RT0") {
		t.Errorf("stderr shows the refresh token: %q", w.stderr.String())
	}
}

func TestTokenPrintInvalidClientKeepsCredential(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(-time.Minute))
	before := w.store.Items()["default"]
	w.idp.tokenAnswer = func(rw http.ResponseWriter) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(rw, `{"error":"invalid_client","error_description":"client authentication failed"}`)
	}
	if code := w.run("token", "print"); code != 1 {
		t.Errorf("exit %d, want 1: the refresh token itself was not refused", code)
	}
	if !bytes.Equal(w.store.Items()["default"], before) {
		t.Error("credential changed after invalid_client")
	}
	if e := w.stderr.String(); !strings.Contains(e, "invalid_client") || !strings.Contains(e, "AUTHCTL_CLIENT_SECRET") || strings.Count(strings.TrimSpace(e), "\n") != 0 {
		t.Errorf("stderr = %q, want one line naming invalid_client and the way out", e)
	}
}

func TestTokenPrintKeychainLocked(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	w.store.SetHook(func(keychaintest.Op, string) error {
		return fmt.Errorf("keychaintest: %w", keychain.ErrLocked)
	})
	if code := w.run("token", "print"); code != 1 {
		t.Errorf("exit %d, want 1 for a locked keychain (stderr %q)", code, w.stderr.String())
	}
	if w.stdout.Len() != 0 {
		t.Errorf("stdout = %q", w.stdout.String())
	}
}

// TestTokenPrintInterrupted: Ctrl-C while the refresh request is with the
// provider. authctl says it is finishing the refresh, waits for the
// answer (here a 503, so nothing changes), and exits 130.
func TestTokenPrintInterrupted(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(-time.Minute))
	before := w.store.Items()["default"]
	ctx, cancel := context.WithCancel(context.Background())
	finishing := &notifyWriter{want: "finishing the refresh", seen: make(chan struct{})}
	w.idp.tokenAnswer = func(rw http.ResponseWriter) {
		cancel() // Ctrl-C while the refresh is under way
		select {
		case <-finishing.seen:
		case <-time.After(30 * time.Second):
			t.Error("authctl did not say it was finishing the refresh")
		}
		http.Error(rw, "late", http.StatusServiceUnavailable)
	}
	w.stdout.Reset()
	w.stderr.Reset()
	d := w.deps()
	d.Stderr = io.MultiWriter(&w.stderr, finishing)
	if code := Main(ctx, []string{"token", "print"}, d); code != 130 {
		t.Errorf("exit %d, want 130 (stderr %q)", code, w.stderr.String())
	}
	if w.stdout.Len() != 0 {
		t.Errorf("stdout = %q", w.stdout.String())
	}
	if !bytes.Equal(w.store.Items()["default"], before) {
		t.Error("credential changed by an interrupted refresh that failed")
	}
}

// notifyWriter closes seen the first time a write contains want.
type notifyWriter struct {
	want string
	seen chan struct{}
	once sync.Once
}

func (n *notifyWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), n.want) {
		n.once.Do(func() { close(n.seen) })
	}
	return len(p), nil
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"token", "print", "--format", "yaml"}, `"yaml"`},
		{"unknown flag", []string{"token", "print", "--nope"}, "--nope"},
		{"negative min-ttl", []string{"token", "print", "--min-ttl", "-1s"}, "--min-ttl"},
		{"unknown command", []string{"tokn"}, "tokn"},
		{"extra argument", []string{"token", "print", "extra"}, "extra"},
		{"missing subcommand", []string{"profile"}, "subcommand"},
		{"profile not in the config", []string{"-p", "wrok", "token", "print"}, `no profile "wrok"`},
		{"default_profile not in the config", []string{"--config", "DEFAULT_WROK", "token", "print"}, `no profile "wrok"`},
		{"unknown AUTHCTL_ variable", []string{"--config", "ENV_TYPO", "token", "print"}, "$AUTHCTL_ISUER"},
		{"invalid --profile", []string{"-p", "Bad.Name", "token", "print"}, "invalid profile name"},
		{"invalid AUTHCTL_PROFILE", nil, "invalid profile name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.loggedIn(w.now.Add(time.Hour))
			args := tt.args
			if args == nil {
				w.env["AUTHCTL_PROFILE"] = "../x"
				args = []string{"token", "print"}
			}
			switch {
			case slices.Contains(args, "DEFAULT_WROK"):
				args = []string{"token", "print"}
				w.config("default_profile: wrok\nprofiles:\n  work:\n    issuer: " + w.idp.srv.URL + "\n")
			case slices.Contains(args, "ENV_TYPO"):
				args = []string{"token", "print"}
				w.environ = []string{"AUTHCTL_ISUER=https://x"}
			}
			if code := w.run(args...); code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, w.stderr.String())
			}
			if w.stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", w.stdout.String())
			}
			if e := w.stderr.String(); !strings.HasPrefix(e, "authctl: ") || !strings.Contains(e, tt.want) {
				t.Errorf("stderr = %q, want 'authctl: …' naming %q", e, tt.want)
			}
		})
	}
}

func TestBrokenConfigFileThroughMain(t *testing.T) {
	w := newWorld(t)
	w.config("profiles:\n  default:\n    issuer: x\n   client_id: [\n")
	if code := w.run("token", "print"); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if e := w.stderr.String(); !strings.Contains(e, w.env["AUTHCTL_CONFIG"]+":4: ") {
		t.Errorf("stderr = %q, want the file and its line 4", e)
	}
	// --config overrides AUTHCTL_CONFIG.
	good := filepath.Join(w.home, "other.yaml")
	os.WriteFile(good, []byte("profiles:\n  default:\n    issuer: "+w.idp.srv.URL+"\n"), 0o600)
	if code := w.run("--config", good, "status", "--json"); code != 4 {
		t.Errorf("with --config: exit %d, want 4 (not logged in); stderr %q", code, w.stderr.String())
	}
}

func TestMissingConfigFlagFile(t *testing.T) {
	w := newWorld(t)
	missing := filepath.Join(w.home, "typo.yaml")
	for _, args := range [][]string{{"token", "print"}, {"status"}, {"logout"}, {"profile", "list"}} {
		if code := w.run(append([]string{"--config", missing}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if e := w.stderr.String(); !strings.Contains(e, missing) || !strings.Contains(e, "no such file") {
			t.Errorf("%v: stderr = %q, want the missing file named", args, e)
		}
	}
	for _, args := range [][]string{{"version"}, {"completion", "bash"}} {
		if code := w.run(append([]string{"--config", missing}, args...)...); code != 0 {
			t.Errorf("%v: exit %d, want 0: it reads no settings; stderr %q", args, code, w.stderr.String())
		}
	}
	// AUTHCTL_CONFIG naming no file yet is an empty config, as before the
	// first login.
	w.env["AUTHCTL_CONFIG"] = missing
	if code := w.run("status"); code != 4 {
		t.Errorf("AUTHCTL_CONFIG missing: exit %d, want 4 (not logged in); stderr %q", code, w.stderr.String())
	}
}

const fourProfiles = "profiles: {fromfile: {}, fromenv: {}, fromflag: {}, short: {}}\n"

func TestProfileResolutionOrder(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		env  string
		args []string
		want string
	}{
		{"nothing set", "", "", nil, "default"},
		{"default_profile", "default_profile: fromfile\n" + fourProfiles, "", nil, "fromfile"},
		{"env beats default_profile", "default_profile: fromfile\n" + fourProfiles, "fromenv", nil, "fromenv"},
		{"--profile beats env", "default_profile: fromfile\n" + fourProfiles, "fromenv", []string{"--profile", "fromflag"}, "fromflag"},
		{"-p", fourProfiles, "fromenv", []string{"-p", "short"}, "short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.config(tt.cfg)
			w.env["AUTHCTL_PROFILE"] = tt.env
			w.run(append(tt.args, "status", "--json")...)
			var r statusReport
			if err := json.Unmarshal(w.stdout.Bytes(), &r); err != nil {
				t.Fatalf("stdout %q: %v (stderr %q)", w.stdout.String(), err, w.stderr.String())
			}
			if r.Profile != tt.want {
				t.Errorf("profile = %q, want %q", r.Profile, tt.want)
			}
		})
	}
}

func TestLogoutTwice(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	if code := w.run("logout"); code != 0 {
		t.Fatalf("first logout: exit %d, stderr %q", code, w.stderr.String())
	}
	if got := w.idp.requests(); len(got) != 2 || got[0] != "/revoke" || got[1] != "/revoke" {
		t.Errorf("requests = %v, want two revocations", got)
	}
	if w.storedCredential() != nil {
		t.Error("credential stored after logout")
	}
	if w.stdout.Len() != 0 {
		t.Errorf("stdout = %q; logout's words belong on stderr", w.stdout.String())
	}
	if code := w.run("logout"); code != 0 {
		t.Errorf("second logout: exit %d, stderr %q", code, w.stderr.String())
	}
	if code := w.run("token", "print"); code != 4 {
		t.Errorf("token print after logout: exit %d, want 4", code)
	}
}

func TestLogoutProviderDown(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	w.idp.srv.Close()
	if code := w.run("logout"); code != 0 {
		t.Errorf("exit %d, want 0: the local secrets go all the same (stderr %q)", code, w.stderr.String())
	}
	if w.storedCredential() != nil {
		t.Error("credential kept when the provider was down")
	}
	if !strings.Contains(w.stderr.String(), "warning") {
		t.Errorf("stderr = %q, want a warning that the tokens may stay valid", w.stderr.String())
	}
}

// TestLogoutRequireRevoke: with the provider down, --require-revoke exits
// 1 and keeps the credential, so that a script can tell and a later
// logout can revoke it; once the provider answers, it logs out.
func TestLogoutRequireRevoke(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	up := w.idp.srv.Listener.Addr().String()
	w.idp.srv.Listener.Close()
	if code := w.run("logout", "--require-revoke"); code != 1 {
		t.Errorf("provider down: exit %d, want 1 (stderr %q)", code, w.stderr.String())
	}
	if w.storedCredential() == nil {
		t.Fatal("credential deleted though nothing was revoked")
	}
	want := `authctl: logout of profile "default": not logged out: the tokens could not be revoked (cannot reach the provider: discovery: ` + up + ` refused the connection; check the issuer URL`
	if got := w.stderr.String(); !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "; the credential is kept for a later logout to revoke (logout without --require-revoke deletes it anyway)\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q", got, want)
	}
	if code := w.run("logout"); code != 0 || w.storedCredential() != nil {
		t.Errorf("plain logout after: exit %d, stored %v; want 0 and nothing", code, w.storedCredential())
	}
}

func TestStatusJSON(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	if code := w.run("status", "--json"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, w.stderr.String())
	}
	var r map[string]any
	if err := json.Unmarshal(w.stdout.Bytes(), &r); err != nil {
		t.Fatalf("stdout %q: %v", w.stdout.String(), err)
	}
	want := map[string]any{
		"profile": "default", "issuer": w.idp.srv.URL, "client_id": "cli", "logged_in": true,
		"subject": "user-1", "email": "u@example.com", "access_token_expiry": "2031-05-06T08:08:09Z",
		"refresh_token": true, "storage": "keychaintest",
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("%s = %v, want %v", k, r[k], v)
		}
	}
	if strings.Contains(w.stdout.String(), "AT0") || strings.Contains(w.stdout.String(), "RT0") {
		t.Errorf("status shows a token: %s", w.stdout.String())
	}
	if len(w.idp.requests()) != 0 {
		t.Error("status made a request; it is offline")
	}
}

func TestStatusNotLoggedIn(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
	}{
		{"never configured", func(*world) {}},
		{"configured, nothing stored", func(w *world) {
			w.config("profiles:\n  default:\n    issuer: " + w.idp.srv.URL + "\n    client_id: cli\n")
		}},
		{"expired without a refresh token", func(w *world) {
			w.loggedIn(w.now.Add(-time.Minute))
			c := w.storedCredential()
			c.RefreshToken = ""
			b, _ := c.Encode()
			w.store.Set(context.Background(), "default", b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.setup(w)
			if code := w.run("status", "--json"); code != 4 {
				t.Errorf("exit %d, want 4", code)
			}
			var r statusReport
			if err := json.Unmarshal(w.stdout.Bytes(), &r); err != nil {
				t.Fatalf("stdout %q: %v", w.stdout.String(), err)
			}
			if r.LoggedIn == nil || *r.LoggedIn || r.Reason == "" {
				t.Errorf("report = %+v, want not logged in with a reason", r)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	w := newWorld(t)
	if code := w.run("version", "--json"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var v Version
	if err := json.Unmarshal(w.stdout.Bytes(), &v); err != nil {
		t.Fatalf("stdout %q: %v", w.stdout.String(), err)
	}
	if v != w.deps().Version {
		t.Errorf("version = %+v, want %+v", v, w.deps().Version)
	}
	if code := w.run("version"); code != 0 || !strings.HasPrefix(w.stdout.String(), "authctl v1.2.3 (commit abcdef123456") {
		t.Errorf("version: exit %d, stdout %q", code, w.stdout.String())
	}
	if code := w.run("--version"); code != 0 || !strings.Contains(w.stdout.String(), "v1.2.3") {
		t.Errorf("--version: exit %d, stdout %q", code, w.stdout.String())
	}
}

// TestTokenPrintIDTokenRefreshesAnExpiredIDToken: kubectl's OIDC mode
// needs a live ID token, which can run out before the access token does.
func TestTokenPrintIDTokenRefreshesAnExpiredIDToken(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	c := w.storedCredential()
	c.IDToken = unsignedJWT(map[string]any{"sub": "user-1", "exp": w.now.Add(-time.Minute).Unix()})
	b, _ := c.Encode()
	if err := w.store.Set(context.Background(), "default", b); err != nil {
		t.Fatal(err)
	}
	if code := w.run("token", "print"); code != 0 || len(w.idp.requests()) != 0 {
		t.Fatalf("access token print: exit %d, %d requests; want 0 and none", code, len(w.idp.requests()))
	}
	w.run("token", "print", "--id-token")
	if got := w.idp.requests(); len(got) != 1 || got[0] != "/token" {
		t.Fatalf("token print --id-token with an expired ID token made requests %v, want one refresh", got)
	}
}
