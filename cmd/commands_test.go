package cmd

// Two tables per command, in the shape of NewCmdX(f, runF) + xRun: one
// from a command line to the Options the command runs with (runF
// captures them; nothing runs), one from Options to what the user sees
// (output and exit code), with an in-memory keychain and no network.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// noNetwork fails every request: the Options → output tests make none.
type noNetwork struct{ t testing.TB }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("unexpected request: %s %s", r.Method, r.URL)
	return nil, errors.New("no network in this test")
}

// bench is one test's machine: config file, environment, keychain, clock
// and streams, without a network.
type bench struct {
	t        testing.TB
	dir      string
	env      map[string]string
	store    *keychaintest.Store
	now      time.Time
	in       strings.Reader
	out, err bytes.Buffer
}

func newBench(t testing.TB, config string) *bench {
	dir := t.TempDir()
	b := &bench{t: t, dir: dir, store: keychaintest.New(), now: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
	b.env = map[string]string{"HOME": dir, "AUTHCTL_CONFIG": filepath.Join(dir, "config.yaml")}
	if config != "" {
		if err := os.WriteFile(b.env["AUTHCTL_CONFIG"], []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *bench) factory() *Factory {
	return NewFactory(Deps{
		Stdin: &b.in, Stdout: &b.out, Stderr: &b.err,
		Getenv:     func(k string) string { return b.env[k] },
		GOOS:       "linux",
		HTTPClient: &http.Client{Transport: noNetwork{b.t}},
		Now:        func() time.Time { return b.now },
		Keychain:   func(time.Duration) keychain.Store { return b.store },
		Version:    Version{Version: "1.2.3", Commit: "abc", Go: "go1.26", OS: "linux", Arch: "amd64"},
	})
}

// profile resolves the current profile as a command would.
func (b *bench) profile() *Profile {
	b.t.Helper()
	p, err := b.factory().Profile(nil, false)
	if err != nil {
		b.t.Fatal(err)
	}
	return p
}

// store saves a credential for profile.
func (b *bench) storeCred(profile string, c *token.Credential) {
	b.t.Helper()
	enc, err := c.Encode()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.store.Set(context.Background(), profile, enc); err != nil {
		b.t.Fatal(err)
	}
}

// capture runs args (global flags included) through the root command,
// with the command that build returns in place of the one of the same
// name, and returns the Options its runF received.
func capture[O any](t *testing.T, b *bench, args []string, build func(f *Factory, runF func(context.Context, *O) error) *cobra.Command) (*O, error) {
	t.Helper()
	var got *O
	f := b.factory()
	root := NewCmdRoot(f)
	c := build(f, func(_ context.Context, o *O) error { got = o; return nil })
	parent, path := root, []string{c.Name()}
	if p := parentName(c.Name()); p != "" {
		parent, path = findCmd(root, p), []string{p, c.Name()}
	}
	parent.RemoveCommand(findCmd(parent, c.Name()))
	parent.AddCommand(c)
	root.SetArgs(append(path, args...))
	root.SetOut(&b.out)
	root.SetErr(&b.err)
	err := root.Execute()
	return got, err
}

// parentName is the command a subcommand belongs to ("" for the root).
func parentName(name string) string {
	switch name {
	case "list", "use", "remove":
		return "profile"
	case "kubectl":
		return "setup"
	}
	return ""
}

const oneProfile = "profiles:\n  work:\n    issuer: https://idp.example\n    client_id: cli\n    scopes: [openid, email]\n  other:\n    issuer: https://other.example\n"

func TestTokenPrintFlagsToOptions(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		format  string
		minTTL  time.Duration
		idToken bool
		profile string
		err     string
	}{
		{args: nil, format: "raw", minTTL: 0, profile: "default"},
		{args: []string{"--format", "header", "--min-ttl", "5m"}, format: "header", minTTL: 5 * time.Minute, profile: "default"},
		{args: []string{"--json", "--id-token"}, format: "json", minTTL: 0, idToken: true, profile: "default"},
		{args: []string{"--json", "--format", "header"}, err: "exclude each other"},
		{args: []string{"--format", "yaml"}, err: `unknown --format "yaml"`},
		{args: []string{"--min-ttl", "-1s"}, err: "--min-ttl"},
		{args: nil, env: map[string]string{"AUTHCTL_PROFILE": "work"}, format: "raw", minTTL: 0, profile: "work"},
		{args: nil, env: map[string]string{"AUTHCTL_PROFILE": "wrok"}, err: `did you mean "work"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" "+tt.env["AUTHCTL_PROFILE"], func(t *testing.T) {
			b := newBench(t, oneProfile)
			for k, v := range tt.env {
				b.env[k] = v
			}
			o, err := capture(t, b, tt.args, NewCmdTokenPrint)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || exitCode(err, false) != exitUsage {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Format != tt.format || o.MinTTL != tt.minTTL || o.IDToken != tt.idToken || o.Profile.Name != tt.profile {
				t.Errorf("options = %+v (profile %q)", *o, o.Profile.Name)
			}
		})
	}
}

func TestTokenPrintRun(t *testing.T) {
	fresh := func(b *bench) {
		b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour)})
	}
	tests := []struct {
		name   string
		setup  func(b *bench)
		opts   TokenPrintOptions
		code   int
		stdout string
		stderr string
	}{
		{"raw", fresh, TokenPrintOptions{Format: "raw"}, 0, "AT\n", ""},
		{"header", fresh, TokenPrintOptions{Format: "header"}, 0, "Authorization: Bearer AT\n", ""},
		{"json", fresh, TokenPrintOptions{Format: "json"}, 0, `{"access_token":"AT","token_type":"Bearer","expiry":"2031-05-06T08:08:09Z","expires_in":3600}` + "\n", ""},
		{"not logged in", func(*bench) {}, TokenPrintOptions{Format: "raw"}, 4, "", "authctl: not logged in (profile \"work\"); run: authctl login -p work\n"},
		{"no ID token", fresh, TokenPrintOptions{Format: "raw", IDToken: true}, 1, "", "authctl: profile \"work\" holds no ID token (log in with the openid scope)\n"},
		{"scopes changed", func(b *bench) {
			b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", Expiry: b.now.Add(time.Hour),
				Minted: &token.Minted{Scopes: []string{"openid"}}})
		}, TokenPrintOptions{Format: "raw"}, 4, "", "authctl: the profile's scopes changed since login (openid, now openid,email); run: authctl login -p work\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			tt.setup(b)
			opts := tt.opts
			opts.IO, opts.Profile, opts.Now = b.factory().IO(), b.profile(), func() time.Time { return b.now }
			b.assertRun(tokenPrintRun(context.Background(), &opts), tt.code, tt.stdout, tt.stderr)
		})
	}
}

// assertRun checks what a run function's error means to the user.
func (b *bench) assertRun(err error, code int, stdout, stderr string) {
	b.t.Helper()
	if msg := message(err, false); msg != "" {
		b.err.WriteString(msg + "\n")
	}
	if got := exitCode(err, false); got != code {
		b.t.Errorf("exit %d, want %d (err %v)", got, code, err)
	}
	if b.out.String() != stdout {
		b.t.Errorf("stdout = %q, want %q", b.out.String(), stdout)
	}
	if b.err.String() != stderr {
		b.t.Errorf("stderr = %q, want %q", b.err.String(), stderr)
	}
}

func TestStatusFlagsAndRun(t *testing.T) {
	b := newBench(t, oneProfile)
	o, err := capture(t, b, []string{"--json", "-p", "work"}, NewCmdStatus)
	if err != nil || !o.JSON || o.Profile.Name != "work" {
		t.Fatalf("options %+v, err %v", o, err)
	}

	tests := []struct {
		name   string
		setup  func(b *bench)
		json   bool
		code   int
		stdout string
	}{
		{"logged in", func(b *bench) {
			b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour)})
		}, false, 0, "profile:       work\nissuer:        https://idp.example\nclient:        cli\nlogged in:     yes\naccess token:  expires 2031-05-06T08:08:09Z (in 1h0m0s)\nrefresh token: held\nstorage:       keychaintest\n"},
		{"not logged in", func(*bench) {}, false, 4, "profile:       work\nissuer:        https://idp.example\nclient:        cli\nlogged in:     no\nstorage:       keychaintest\n"},
		{"keychain unreadable", func(b *bench) {
			b.store.SetHook(func(keychaintest.Op, string) error { return errors.New("keychain unavailable: no Secret Service") })
		}, false, 1, "profile:       work\nissuer:        https://idp.example\nclient:        cli\nlogged in:     unknown (read credential: keychain unavailable: no Secret Service)\nstorage:       keychaintest\n"},
		{"json", func(b *bench) {
			b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", Expiry: b.now.Add(-time.Minute)})
		}, true, 4, "{\n  \"profile\": \"work\",\n  \"issuer\": \"https://idp.example\",\n  \"client_id\": \"cli\",\n  \"logged_in\": false,\n  \"access_token_expiry\": \"2031-05-06T07:07:09Z\",\n  \"access_token_expired\": true,\n  \"refresh_token\": false,\n  \"storage\": \"keychaintest\",\n  \"reason\": \"the access token has expired and there is no refresh token\"\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			tt.setup(b)
			opts := &StatusOptions{IO: b.factory().IO(), Profile: b.profile(), Now: func() time.Time { return b.now }, JSON: tt.json}
			stderr := ""
			if tt.code == 1 {
				stderr = "authctl: cannot tell whether profile \"work\" is logged in: read credential: keychain unavailable: no Secret Service\n"
			}
			b.assertRun(statusRun(context.Background(), opts), tt.code, tt.stdout, stderr)
		})
	}
}

func findCmd(root *cobra.Command, name string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func TestLogoutFlagsToOptions(t *testing.T) {
	b := newBench(t, oneProfile)
	o, err := capture(t, b, []string{"--all", "--no-revoke"}, NewCmdLogout)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range o.Profiles {
		names = append(names, p.Name)
	}
	if !o.NoRevoke || !slices.Equal(names, []string{"other", "work"}) {
		t.Errorf("options: no-revoke %v, profiles %v", o.NoRevoke, names)
	}

	// A profile that cannot be read is reported, the others logged out.
	b = newBench(t, oneProfile+"  broken:\n    port: eighty\n")
	o, err = capture(t, b, []string{"--all"}, NewCmdLogout)
	if err != nil || len(o.Profiles) != 2 || len(o.Unreadable) != 1 || !strings.Contains(o.Unreadable[0].Error(), "eighty") {
		t.Errorf("broken profile: %+v, %v", o, err)
	}

	// A config that cannot be read at all: every stored credential.
	b = newBench(t, "profiles:\n  work:\n   issuer: x\n  bad indent\n")
	o, err = capture(t, b, []string{"--all"}, NewCmdLogout)
	if err != nil || o.OrphansWhy == nil || len(o.Orphans) == 0 {
		t.Errorf("unreadable config: %+v, %v", o, err)
	}
	if _, err := capture(t, b, nil, NewCmdLogout); exitCode(err, false) != exitUsage {
		t.Errorf("logout of one profile with an unreadable config: %v, want exit 2", err)
	}

	b = newBench(t, oneProfile)
	if o, err := capture(t, b, []string{"--require-revoke"}, NewCmdLogout); err != nil || !o.RequireRevoke {
		t.Errorf("--require-revoke: %+v, %v", o, err)
	}
	if _, err := capture(t, b, []string{"--require-revoke", "--no-revoke"}, NewCmdLogout); exitCode(err, false) != exitUsage {
		t.Errorf("--require-revoke --no-revoke: %v, want exit 2", err)
	}
}

func TestLogoutRun(t *testing.T) {
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", RefreshToken: "RT"})
	opts := &LogoutOptions{IO: b.factory().IO(), Profiles: []*Profile{b.profile()}, NoRevoke: true}
	b.assertRun(logoutRun(context.Background(), opts), 0, "", "Logged out of profile \"work\".\n")
	if len(b.store.Items()) != 0 {
		t.Errorf("left in the keychain: %v", b.store.Items())
	}
	b.err.Reset()
	b.assertRun(logoutRun(context.Background(), opts), 0, "", "Not logged in (profile \"work\"): nothing to log out of.\n")

	// Orphans: an unreadable config deletes what the keychain lists.
	b = newBench(t, "")
	b.storeCred("a", &token.Credential{RefreshToken: "RT"})
	opts = &LogoutOptions{IO: b.factory().IO(), OrphansWhy: usageErrorf("config x:3: broken"), Orphans: []keychain.Store{b.store}}
	err := logoutRun(context.Background(), opts)
	if exitCode(err, false) != exitUsage || len(b.store.Items()) != 0 || !strings.Contains(b.err.String(), `Deleted the stored credentials of ["a"] without revoking them`) {
		t.Errorf("orphans: err %v, items %v, stderr %q", err, b.store.Items(), b.err.String())
	}
}

func TestProfileCommands(t *testing.T) {
	b := newBench(t, "default_profile: work\n"+oneProfile)
	b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", RefreshToken: "RT"})

	lo, err := capture(t, b, []string{"--json"}, NewCmdProfileList)
	if err != nil || !lo.JSON || lo.Default != "work" || len(lo.Profiles) != 2 {
		t.Fatalf("list options %+v, %v", lo, err)
	}
	b.assertRun(profileListRun(context.Background(), lo), 0,
		"[\n  {\n    \"name\": \"other\",\n    \"issuer\": \"https://other.example\",\n    \"logged_in\": false,\n    \"default\": false\n  },\n  {\n    \"name\": \"work\",\n    \"issuer\": \"https://idp.example\",\n    \"logged_in\": true,\n    \"default\": true\n  }\n]\n", "")

	// A keychain that cannot be read leaves "logged in" unknown.
	b.out.Reset()
	b.store.SetHook(func(op keychaintest.Op, _ string) error {
		if op == keychaintest.OpGet {
			return errors.New("keychain unavailable: locked")
		}
		return nil
	})
	lo.JSON = false
	b.assertRun(profileListRun(context.Background(), lo), 0,
		"NAME   ISSUER                 LOGGED IN  DEFAULT\nother  https://other.example  unknown    \nwork   https://idp.example    unknown    *\n",
		"authctl: profile \"other\": read credential: keychain unavailable: locked\nauthctl: profile \"work\": read credential: keychain unavailable: locked\n")

	b = newBench(t, "default_profile: work\n"+oneProfile)
	uo, err := capture(t, b, []string{"other"}, NewCmdProfileUse)
	if err != nil || uo.Name != "other" {
		t.Fatalf("use options %+v, %v", uo, err)
	}
	b.assertRun(profileUseRun(context.Background(), uo), 0, "", "Default profile is now \"other\".\n")
	if got, _ := os.ReadFile(b.env["AUTHCTL_CONFIG"]); string(got) != "default_profile: other\n"+oneProfile {
		t.Errorf("config after use:\n%s", got)
	}
	if _, err := capture(t, b, []string{"nosuch"}, NewCmdProfileUse); exitCode(err, false) != exitUsage {
		t.Errorf("use nosuch: %v, want exit 2", err)
	}

	b = newBench(t, "default_profile: work\n"+oneProfile)
	b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", RefreshToken: "RT"})
	ro, err := capture(t, b, []string{"work"}, NewCmdProfileRemove)
	if err != nil || ro.Profile.Name != "work" {
		t.Fatalf("remove options %+v, %v", ro, err)
	}
	ro.Profile.Settings.Issuer = "" // nothing to revoke: no network
	b.assertRun(profileRemoveRun(context.Background(), ro), 0, "",
		"Logged out of profile \"work\".\nRemoved profile \"work\".\nIt was the default profile; there is no default now (choose one: authctl profile use other).\n")
	if got, _ := os.ReadFile(b.env["AUTHCTL_CONFIG"]); string(got) != "profiles:\n  other:\n    issuer: https://other.example\n" {
		t.Errorf("config after remove:\n%s", got)
	}
}

func TestVersionFlagsAndRun(t *testing.T) {
	b := newBench(t, "")
	var got *VersionOptions
	c := NewCmdVersion(b.factory(), func(o *VersionOptions) error { got = o; return nil })
	c.SetArgs([]string{"--json"})
	if err := c.Execute(); err != nil || !got.JSON {
		t.Fatalf("options %+v, %v", got, err)
	}
	b.assertRun(versionRun(&VersionOptions{IO: b.factory().IO(), Version: Version{Version: "1.2.3", Go: "go1.26", OS: "linux", Arch: "amd64"}}), 0, "authctl 1.2.3 go1.26 linux/amd64\n", "")
}

func TestCurlFlagsToOptions(t *testing.T) {
	b := newBench(t, oneProfile)
	o, err := capture(t, b, []string{"-p", "work", "-sSf", "-X", "POST", "/items"}, NewCmdCurl)
	if err != nil {
		t.Fatal(err)
	}
	if o.Profile.Name != "work" || o.Curl.Method != "POST" || !o.Curl.Fail || o.Curl.URL != "/items" || o.UserAgent != "authctl/1.2.3" {
		t.Errorf("options %+v, curl %+v", o, o.Curl)
	}
	if _, err := capture(t, b, []string{"-k", "https://x"}, NewCmdCurl); exitCode(err, false) != exitUsage {
		t.Errorf("-k: %v, want exit 2", err)
	}
}

func TestCurlRunNotLoggedIn(t *testing.T) {
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	o, err := capture(t, b, []string{"-s", "https://api.example/items"}, NewCmdCurl)
	if err != nil {
		t.Fatal(err)
	}
	o.IO = b.factory().IO()
	b.assertRun(curlRun(context.Background(), o), 4, "", "authctl: not logged in (profile \"work\"); run: authctl login -p work\n")
}

// TestCurlRunUnusableURL: a path without the profile's base_url, or a URL
// authctl curl cannot use, is a usage error saying what to do, before the
// login is even looked at.
func TestCurlRunUnusableURL(t *testing.T) {
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	o, err := capture(t, b, []string{"/v1/items"}, NewCmdCurl)
	if err != nil {
		t.Fatal(err)
	}
	o.IO = b.factory().IO()
	b.assertRun(curlRun(context.Background(), o), 2, "", fmt.Sprintf("authctl: curl: URL \"/v1/items\" is a path, and no base URL is set; give a full URL, or set the API's address for profile \"work\": base_url: https://api.example.com in %s (or $AUTHCTL_BASE_URL)\n", b.env["AUTHCTL_CONFIG"]))
	b.err.Reset()
	o.Curl.URL = "ftp://x/"
	b.assertRun(curlRun(context.Background(), o), 2, "", "authctl: curl: protocol \"ftp\" not supported: authctl curl speaks http and https\n")
}

func TestWhoamiFlagsAndRun(t *testing.T) {
	b := newBench(t, oneProfile)
	o, err := capture(t, b, []string{"--json"}, NewCmdWhoami)
	if err != nil || !o.JSON || o.Profile.Name != "default" {
		t.Fatalf("options %+v, %v", o, err)
	}
	b.assertRun(whoamiRun(context.Background(), o), 4, "", "authctl: not logged in (profile \"default\" has no issuer set); run: authctl login --issuer URL --client-id ID\n")
}

func TestLoginFlagsToOptions(t *testing.T) {
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_TIMEOUT"] = "2m"
	o, err := capture(t, b, []string{"-p", "work", "--device", "--scopes", "openid", "--auth-param", "Resource=https://api", "--prompt", "login", "--max-age", "5m", "--acr-values", "a,b"}, NewCmdLogin)
	if err != nil {
		t.Fatal(err)
	}
	p := o.Profile
	if p.Name != "work" || !p.Device || !slices.Equal(p.Scopes, []string{"openid"}) || p.AuthParams["Resource"] != "https://api" ||
		p.Timeout != 2*time.Minute || p.ClientID != "cli" || o.Prompt != "login" || o.MaxAge != 5*time.Minute || !slices.Equal(o.ACRValues, []string{"a", "b"}) {
		t.Errorf("options %+v, profile %+v", *o, p.Settings)
	}
	if len(p.FromFlags) != 3 || p.FromFlags["device"] != true {
		t.Errorf("saved would be %v, want device, scopes and auth_params only", p.FromFlags)
	}
	// login creates a profile the config does not have.
	if o, err := capture(t, b, []string{"-p", "new", "--issuer", "https://x", "--client-id", "c"}, NewCmdLogin); err != nil || o.Profile.Name != "new" {
		t.Errorf("new profile: %v", err)
	}
}

func TestLoginRunRefusesBeforeTheBrowser(t *testing.T) {
	tests := []struct {
		name     string
		settings Settings
		store    func(b *bench)
		code     int
		stderr   string
	}{
		{"no issuer", Settings{ClientID: "c"}, nil, 2, "authctl: no issuer for profile \"work\": pass --issuer URL (and --client-id ID)\n"},
		{"no client", Settings{Issuer: "https://idp.example"}, nil, 2, "authctl: no client id for profile \"work\": pass --client-id ID\n"},
		{"device and no browser", Settings{Issuer: "https://idp.example", ClientID: "c", Device: true, NoBrowser: true}, nil, 2,
			"authctl: --device and --no-browser exclude each other (check the profile's device and no_browser settings)\n"},
		{"plain http", Settings{Issuer: "http://idp.example", ClientID: "c"}, nil, 2,
			"authctl: issuer http://idp.example: plain http to a host that is not this machine; authctl sends credentials over https only, and over plain http only to this machine (127.0.0.1, [::1] or localhost)\n"},
		{"keychain locked without a display", Settings{Issuer: "https://idp.example", ClientID: "c"}, func(b *bench) {
			b.store.SetHook(func(keychaintest.Op, string) error {
				return fmt.Errorf("%w: %w", keychain.ErrUnavailable, keychain.ErrLocked)
			})
		}, 1, "authctl: cannot store a credential: keychain unavailable: keychain locked\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			if tt.store != nil {
				tt.store(b)
			}
			p := b.profile()
			p.Settings = tt.settings
			opts := &LoginOptions{IO: b.factory().IO(), Profile: p, Now: func() time.Time { return b.now }, Log: func(string, ...any) {}, Getenv: func(string) string { return "" }}
			b.assertRun(loginRun(context.Background(), opts), tt.code, "", tt.stderr)
		})
	}
}

// fakeProvider answers https://idp.example's discovery, token, userinfo
// and revocation requests in memory: the provider side of the Options →
// output tests of login and whoami.
type fakeProvider struct {
	t     testing.TB
	forms []string
}

func (fp *fakeProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	body := ""
	status := http.StatusOK
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		body = `{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/auth","token_endpoint":"https://idp.example/token",
			"userinfo_endpoint":"https://idp.example/me","revocation_endpoint":"https://idp.example/revoke","code_challenge_methods_supported":["S256"]}`
	case "/token":
		_ = r.ParseForm()
		fp.forms = append(fp.forms, r.PostForm.Encode())
		body = `{"access_token":"AT1","refresh_token":"RT1","token_type":"Bearer","expires_in":3600}`
	case "/me":
		if r.Header.Get("Authorization") != "Bearer AT" {
			status, body = http.StatusUnauthorized, `{"error":"invalid_token"}`
			break
		}
		body = `{"sub":"alice","email":"alice@example.test","groups":["a","b"]}`
	default:
		status = http.StatusNotFound
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestWhoamiRun(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		b := newBench(t, oneProfile)
		b.env["AUTHCTL_PROFILE"] = "work"
		b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour)})
		p := b.profile()
		p.HTTPClient = &http.Client{Transport: &fakeProvider{t: t}, Timeout: time.Second}
		p.Resolver.Client = p.HTTPClient
		want := "email:               alice@example.test\ngroups:              [\"a\",\"b\"]\nsub:                 alice\n"
		if asJSON {
			want = "{\n  \"sub\": \"alice\",\n  \"email\": \"alice@example.test\",\n  \"groups\": [\n    \"a\",\n    \"b\"\n  ]\n}\n"
		}
		b.assertRun(whoamiRun(context.Background(), &WhoamiOptions{IO: b.factory().IO(), Profile: p, JSON: asJSON}), 0, want, "")
	}
}

func TestLoginRunStoresAndSaves(t *testing.T) {
	b := newBench(t, "# my settings\nprofiles:\n  work:\n    issuer: https://idp.example   # the company's\n")
	f := b.factory()
	fp := &fakeProvider{t: t}
	f.deps.HTTPClient = &http.Client{Transport: fp}
	// The browser: follows the authorization URL straight back to the
	// loopback redirect with a code, as a provider that signs the user in
	// at once would.
	f.deps.Open = func(ctx context.Context, authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		q := u.Query()
		cb := q.Get("redirect_uri") + "?code=C&state=" + url.QueryEscape(q.Get("state")) + "&iss=" + url.QueryEscape("https://idp.example")
		go func() {
			resp, err := http.Get(cb)
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	var opts *LoginOptions
	c := NewCmdRoot(f)
	c.RemoveCommand(findCmd(c, "login"))
	c.AddCommand(NewCmdLogin(f, func(_ context.Context, o *LoginOptions) error { opts = o; return nil }))
	c.SetArgs([]string{"login", "-p", "work", "--client-id", "cli", "--scopes", "offline_access"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.err.String(), "Opening your browser") || !strings.HasSuffix(b.err.String(), "\nLogged in to https://idp.example (profile \"work\").\n") || b.out.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", b.out.String(), b.err.String())
	}
	c2 := decodeStored(t, b, "work")
	if c2.RefreshToken != "RT1" || c2.Minted == nil || !slices.Equal(c2.Minted.Scopes, []string{"offline_access"}) {
		t.Errorf("stored %+v", c2)
	}
	if len(fp.forms) != 1 || !strings.Contains(fp.forms[0], "code_verifier=") {
		t.Errorf("token requests %v, want one code exchange with a PKCE verifier", fp.forms)
	}
	want := "# my settings\nprofiles:\n  work:\n    issuer: https://idp.example   # the company's\n    client_id: cli\n    scopes: [offline_access]\ndefault_profile: work\n"
	if got, _ := os.ReadFile(b.env["AUTHCTL_CONFIG"]); string(got) != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
}

func decodeStored(t *testing.T, b *bench, profile string) *token.Credential {
	t.Helper()
	c, err := token.Decode(b.store.Items()[profile])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHelpFitsInEightyColumns renders the help of every command and topic
// and checks that no line is wider than 80 columns.
func TestHelpFitsInEightyColumns(t *testing.T) {
	b := newBench(t, "")
	root := NewCmdRoot(b.factory())
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		var out bytes.Buffer
		c.SetOut(&out)
		c.InitDefaultHelpFlag()
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if n := len([]rune(line)); n > helpWidth {
				t.Errorf("%s --help: a line of %d columns: %q", c.CommandPath(), n, line)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestUnknownTopicsAndSubcommands(t *testing.T) {
	tests := []struct{ args, want string }{
		{"help environmnet", `unknown help topic "environmnet" for "authctl"; did you mean "authctl help environment"?`},
		{"token show", `unknown command "show" for "authctl token"; did you mean "authctl token print"?`},
		{"profile lst", `unknown command "lst" for "authctl profile"; did you mean "authctl profile list"?`},
		{"tokn", `unknown command "tokn" for "authctl"; did you mean "authctl token"?`},
	}
	for _, tt := range tests {
		b := newBench(t, "")
		code := Main(context.Background(), strings.Fields(tt.args), b.factory().deps)
		if code != exitUsage || b.out.Len() != 0 || !strings.Contains(b.err.String(), tt.want) || strings.Count(b.err.String(), "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tt.args, code, b.out.String(), b.err.String(), tt.want)
		}
	}
}
