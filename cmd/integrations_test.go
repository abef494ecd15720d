package cmd

// The two tables (command line → Options, Options → what the user sees)
// of the integrations: kubectl's exec credential plugin (token print
// --format exec-credential, setup kubectl), git's credential helper
// (git-credential) and authctl exec.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/token"
)

// wantUsageError fails t unless err is a usage error containing want,
// or nil when want is empty; it reports whether the command went on.
func wantUsageError(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatal(err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want) || exitCode(err, false) != exitUsage):
		t.Fatalf("err = %v, want a usage error containing %q", err, want)
	}
	return want == ""
}

const execInfoV1Interactive = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`

func TestExecCredentialFlagsToOptions(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		execInfo string
		want     *ExecInfo
		login    bool
		err      string
	}{
		{"unset: v1, not interactive", []string{"--format", "exec-credential"}, "", &ExecInfo{APIVersion: execAPIv1}, false, ""},
		{"v1 interactive", []string{"--format", "exec-credential"}, execInfoV1Interactive, &ExecInfo{APIVersion: execAPIv1, Interactive: true}, false, ""},
		{"v1beta1", []string{"--format=exec-credential", "--login"}, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}`, &ExecInfo{APIVersion: execAPIv1beta1}, true, ""},
		{"ignored by other formats", []string{"--format", "raw"}, `{"apiVersion":"nonsense"}`, nil, false, ""},
		{"v1alpha1", []string{"--format", "exec-credential"}, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}`, nil, false, `apiVersion "client.authentication.k8s.io/v1alpha1"`},
		{"not JSON", []string{"--format", "exec-credential"}, `apiVersion: v1`, nil, false, "is not an ExecCredential"},
		{"another kind", []string{"--format", "exec-credential"}, `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}`, nil, false, `kind "Pod"`},
		{"--login without exec-credential", []string{"--login"}, "", nil, false, "--login goes with --format exec-credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env[execInfoEnv] = tt.execInfo
			o, err := capture(t, b, tt.args, NewCmdTokenPrint)
			if !wantUsageError(t, err, tt.err) {
				return
			}
			if (o.Exec == nil) != (tt.want == nil) || o.Exec != nil && *o.Exec != *tt.want || o.Login != tt.login || o.SignIn == nil {
				t.Errorf("exec %+v, login %v; want %+v, %v", o.Exec, o.Login, tt.want, tt.login)
			}
		})
	}
}

func TestExecCredentialRun(t *testing.T) {
	idToken := unsignedJWT(map[string]any{"sub": "alice", "exp": time.Date(2031, 5, 6, 7, 38, 9, 0, time.UTC).Unix()})
	fresh := func(b *bench) {
		b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour), IDToken: idToken})
	}
	noExpiry := func(b *bench) {
		b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT"})
	}
	none := func(*bench) {}
	v1 := &ExecInfo{APIVersion: execAPIv1}
	v1i := &ExecInfo{APIVersion: execAPIv1, Interactive: true}
	const notLoggedIn = "authctl: not logged in (profile \"work\"); run: authctl login -p work\n"
	tests := []struct {
		name     string
		setup    func(b *bench)
		opts     TokenPrintOptions
		onDemand bool
		code     int
		stdout   string
		stderr   string
		signedIn bool
	}{
		{"v1: expires 30s before the token", fresh, TokenPrintOptions{Exec: v1}, false, 0,
			`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false},"status":{"expirationTimestamp":"2031-05-06T08:07:39Z","token":"AT"}}` + "\n", "", false},
		{"v1beta1, --min-ttl 5m", fresh, TokenPrintOptions{Exec: &ExecInfo{APIVersion: execAPIv1beta1}, MinTTL: 5 * time.Minute}, false, 0,
			`{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false},"status":{"expirationTimestamp":"2031-05-06T08:03:09Z","token":"AT"}}` + "\n", "", false},
		{"ID token: its own exp", fresh, TokenPrintOptions{Exec: v1, IDToken: true}, false, 0,
			`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false},"status":{"expirationTimestamp":"2031-05-06T07:37:39Z","token":"` + idToken + `"}}` + "\n", "", false},
		{"unknown expiry: none", noExpiry, TokenPrintOptions{Exec: v1}, false, 0,
			`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false},"status":{"token":"AT"}}` + "\n", "", false},
		{"not logged in, not interactive, login on demand", none, TokenPrintOptions{Exec: v1, Login: true}, true, 4, "", notLoggedIn, false},
		{"not logged in, interactive, no consent", none, TokenPrintOptions{Exec: v1i}, false, 4, "", notLoggedIn, false},
		{"not logged in, interactive, login_on_demand", none, TokenPrintOptions{Exec: v1i}, true, 0,
			`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true},"status":{"expirationTimestamp":"2031-05-06T08:07:39Z","token":"AT"}}` + "\n",
			"authctl: not logged in (profile \"work\"); logging in for kubectl (profile \"work\")\n", true},
		{"not logged in, interactive, --login", none, TokenPrintOptions{Exec: v1i, Login: true}, false, 0,
			`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true},"status":{"expirationTimestamp":"2031-05-06T08:07:39Z","token":"AT"}}` + "\n",
			"authctl: not logged in (profile \"work\"); logging in for kubectl (profile \"work\")\n", true},
		{"raw never logs in", none, TokenPrintOptions{Format: "raw", Exec: nil, Login: true}, true, 4, "", notLoggedIn, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			if tt.onDemand {
				b.env["AUTHCTL_LOGIN_ON_DEMAND"] = "true"
			}
			tt.setup(b)
			opts := tt.opts
			if opts.Format == "" {
				opts.Format = "exec-credential"
			}
			signedIn := false
			opts.IO, opts.Profile, opts.Now = b.factory().IO(), b.profile(), func() time.Time { return b.now }
			opts.SignIn = func(context.Context) error { signedIn = true; fresh(b); return nil }
			b.assertRun(tokenPrintRun(context.Background(), &opts), tt.code, tt.stdout, tt.stderr)
			if signedIn != tt.signedIn {
				t.Errorf("login ran: %v, want %v", signedIn, tt.signedIn)
			}
		})
	}

	// A login that fails prints nothing on stdout and exits as login does.
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	opts := TokenPrintOptions{Format: "exec-credential", Exec: v1i, Login: true, IO: b.factory().IO(), Profile: b.profile(), Now: func() time.Time { return b.now },
		SignIn: func(context.Context) error { return errors.New("login failed: access_denied") }}
	b.assertRun(tokenPrintRun(context.Background(), &opts), 1, "",
		"authctl: not logged in (profile \"work\"); logging in for kubectl (profile \"work\")\nauthctl: login failed: access_denied\n")
}

func TestSetupKubectlFlagsToOptions(t *testing.T) {
	b := newBench(t, oneProfile)
	o, err := capture(t, b, nil, NewCmdSetupKubectl)
	if err != nil || o.User != "authctl-default" || o.Profile.Name != "default" || o.Apply || o.IDToken || o.Config != "" || o.Command == "" || o.Kubectl == nil {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	b = newBench(t, oneProfile)
	o, err = capture(t, b, []string{"-p", "work", "--user", "oidc", "--id-token", "--apply"}, NewCmdSetupKubectl)
	if err != nil || o.User != "oidc" || o.Profile.Name != "work" || !o.Apply || !o.IDToken {
		t.Fatalf("flags: %+v, %v", o, err)
	}
	b = newBench(t, oneProfile)
	rel, _ := filepath.Rel(must(os.Getwd()), b.env["AUTHCTL_CONFIG"])
	o, err = capture(t, b, []string{"--config", rel}, NewCmdSetupKubectl)
	if err != nil || o.Config != b.env["AUTHCTL_CONFIG"] {
		t.Fatalf("--config %s: pinned %q, %v; want the absolute path", rel, o.Config, err)
	}
	if _, err := capture(t, b, []string{"-p", "nosuch"}, NewCmdSetupKubectl); exitCode(err, false) != exitUsage {
		t.Errorf("unknown profile: %v, want exit 2", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSetupKubectlRun(t *testing.T) {
	const hint = "Run it (or authctl setup kubectl --apply), then use the user in a context: kubectl config set-context --current --user=authctl-work\n"
	tests := []struct {
		name   string
		opts   SetupKubectlOptions
		code   int
		stdout string
		stderr string
		ran    []string
	}{
		{"print", SetupKubectlOptions{User: "authctl-work", Command: "authctl"}, 0,
			"kubectl config set-credentials authctl-work --exec-api-version=client.authentication.k8s.io/v1 --exec-command=authctl --exec-interactive-mode=IfAvailable --exec-arg=token --exec-arg=print --exec-arg=--format=exec-credential --exec-arg=--profile=work\n", hint, nil},
		{"ID token, config, a path that needs quoting", SetupKubectlOptions{User: "authctl-work", Command: "/opt/my tools/authctl", Config: "/home/a/c.yaml", IDToken: true}, 0,
			"kubectl config set-credentials authctl-work --exec-api-version=client.authentication.k8s.io/v1 '--exec-command=/opt/my tools/authctl' --exec-interactive-mode=IfAvailable --exec-arg=token --exec-arg=print --exec-arg=--format=exec-credential --exec-arg=--profile=work --exec-arg=--config=/home/a/c.yaml --exec-arg=--id-token\n", hint, nil},
		{"apply", SetupKubectlOptions{User: "it's", Command: "authctl", Apply: true}, 0, "",
			"kubeconfig user \"it's\" now runs authctl (profile \"work\"). Use it in a context: kubectl config set-context --current --user='it'\\''s'\n",
			[]string{"config", "set-credentials", "it's", "--exec-api-version=client.authentication.k8s.io/v1", "--exec-command=authctl", "--exec-interactive-mode=IfAvailable",
				"--exec-arg=token", "--exec-arg=print", "--exec-arg=--format=exec-credential", "--exec-arg=--profile=work"}},
		{"a comma kubectl would split", SetupKubectlOptions{User: "u", Command: "authctl", Config: "/a,b.yaml"}, 2, "",
			"authctl: \"--config=/a,b.yaml\" contains a comma, which kubectl config set-credentials would split: choose a path without one\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			var ran []string
			opts := tt.opts
			opts.IO, opts.Profile = b.factory().IO(), b.profile()
			opts.Kubectl = func(_ context.Context, args []string) error { ran = args; return nil }
			b.assertRun(setupKubectlRun(context.Background(), &opts), tt.code, tt.stdout, tt.stderr)
			if !slices.Equal(ran, tt.ran) {
				t.Errorf("ran kubectl %q, want %q", ran, tt.ran)
			}
		})
	}
	b := newBench(t, oneProfile)
	opts := SetupKubectlOptions{IO: b.factory().IO(), Profile: b.profile(), User: "u", Command: "authctl", Apply: true,
		Kubectl: func(context.Context, []string) error {
			return errors.New(`exec: "kubectl": executable file not found in $PATH`)
		}}
	b.assertRun(setupKubectlRun(context.Background(), &opts), 1, "", "authctl: kubectl config set-credentials: exec: \"kubectl\": executable file not found in $PATH\n")
}

func TestGitCredentialFlagsToOptions(t *testing.T) {
	tests := []struct {
		args   []string
		op     string
		minTTL time.Duration
		err    bool
	}{
		{[]string{"get"}, "get", 5 * time.Minute, false},
		{[]string{"-p", "work", "--min-ttl", "10m", "erase"}, "erase", 10 * time.Minute, false},
		{[]string{"store"}, "store", 5 * time.Minute, false},
		{[]string{"some-future-operation"}, "some-future-operation", 5 * time.Minute, false},
		{nil, "", 0, true},
		{[]string{"get", "extra"}, "", 0, true},
		{[]string{"--min-ttl", "-1s", "get"}, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			b := newBench(t, oneProfile)
			o, err := capture(t, b, tt.args, NewCmdGitCredential)
			if tt.err {
				if exitCode(err, false) != exitUsage {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil || o.Operation != tt.op || o.MinTTL != tt.minTTL {
				t.Fatalf("options %+v, %v", o, err)
			}
		})
	}
}

func TestGitCredentialRun(t *testing.T) {
	fresh := func(b *bench) {
		b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour)})
	}
	none := func(*bench) {}
	const https = "protocol=https\nhost=git.example.com\n"
	const answer = "username=oauth2\npassword=AT\npassword_expiry_utc=1935821289\n"
	tests := []struct {
		name   string
		setup  func(b *bench)
		op     string
		in     string
		code   int
		stdout string
		stderr string
		stored string // the access token stored afterwards
	}{
		{"get", fresh, "get", https + "\n", 0, answer, "", "AT"},
		{"get, input ended by EOF", fresh, "get", https, 0, answer, "", "AT"},
		{"get, CRLF", fresh, "get", "protocol=https\r\nhost=git.example.com\r\n\r\n", 0, answer, "", "AT"},
		{"get with authtype", fresh, "get", "capability[]=authtype\ncapability[]=state\n" + https + "wwwauth[]=Bearer realm=\"git\"\n\n", 0,
			"capability[]=authtype\nauthtype=Bearer\ncredential=AT\n" + answer, "", "AT"},
		{"get keeps git's user name", fresh, "get", https + "username=bob\n", 0, "username=bob\npassword=AT\npassword_expiry_utc=1935821289\n", "", "AT"},
		{"get over http to this machine", fresh, "get", "protocol=http\nhost=127.0.0.1:8080\n", 0, answer, "", "AT"},
		{"get over http elsewhere", fresh, "get", "protocol=http\nhost=git.example.com\n", 1, "",
			"authctl: git-credential: refusing to send the token to \"git.example.com\" over \"http\": a bearer token goes over https only (or plain http to this machine)\n", "AT"},
		{"get without a protocol", fresh, "get", "host=git.example.com\n", 2, "",
			"authctl: git-credential: the input names no protocol (git's credential protocol sends protocol=https)\n", "AT"},
		{"get, not logged in", none, "get", https, 4, "", "authctl: not logged in (profile \"work\"); run: authctl login -p work\n", ""},
		{"not the protocol", fresh, "get", "hello world\n", 2, "",
			"authctl: git-credential: line 1 of the input is not key=value (git's credential protocol; git runs this helper, see: authctl git-credential --help)\n", "AT"},
		{"a NUL byte", fresh, "get", "protocol=https\nhost=a\x00b\n", 2, "",
			"authctl: git-credential: line 2 of the input is not key=value (git's credential protocol; git runs this helper, see: authctl git-credential --help)\n", "AT"},
		{"too much", fresh, "get", "protocol=https\nx=" + strings.Repeat("a", maxGitRequest) + "\n", 2, "",
			"authctl: git-credential: the input is over 1048576 bytes; it is not git's credential protocol\n", "AT"},
		{"erase the current token", fresh, "erase", https + "username=oauth2\npassword=AT\n\n", 0, "", "", ""},
		{"erase through credential=", fresh, "erase", "capability[]=authtype\nauthtype=Bearer\ncredential=AT\n" + https, 0, "", "", ""},
		{"erase another token", fresh, "erase", https + "password=OLD\n", 0, "", "", "AT"},
		{"erase, not logged in", none, "erase", https + "password=AT\n", 0, "", "", ""},
		{"erase garbage", fresh, "erase", "password\n", 2, "",
			"authctl: git-credential: line 1 of the input is not key=value (git's credential protocol; git runs this helper, see: authctl git-credential --help)\n", "AT"},
		{"store", fresh, "store", https + "username=oauth2\npassword=AT\n", 0, "", "", "AT"},
		{"an operation git may add one day", fresh, "frobnicate", "anything at all", 0, "", "", "AT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			tt.setup(b)
			b.in.Reset(tt.in)
			opts := &GitCredentialOptions{IO: b.factory().IO(), Profile: b.profile(), Operation: tt.op, MinTTL: gitMinTTL}
			b.assertRun(gitCredentialRun(context.Background(), opts), tt.code, tt.stdout, tt.stderr)
			if _, ok := b.store.Items()["work"]; !ok {
				if tt.stored != "" {
					t.Fatalf("nothing stored, want access token %q", tt.stored)
				}
				return
			}
			c := decodeStored(t, b, "work")
			if c.AccessToken != tt.stored || c.RefreshToken != "RT" {
				t.Errorf("stored access %q, refresh %q; want %q and RT", c.AccessToken, c.RefreshToken, tt.stored)
			}
		})
	}

	// git_username from the profile.
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	b.env["AUTHCTL_GIT_USERNAME"] = "x-access-token"
	fresh(b)
	b.in.Reset(https)
	opts := &GitCredentialOptions{IO: b.factory().IO(), Profile: b.profile(), Operation: "get", MinTTL: gitMinTTL}
	b.assertRun(gitCredentialRun(context.Background(), opts), 0, "username=x-access-token\npassword=AT\npassword_expiry_utc=1935821289\n", "")
}

func TestExecFlagsToOptions(t *testing.T) {
	tests := []struct {
		args    []string
		env     []string
		idEnv   string
		minTTL  time.Duration
		command []string
		profile string
		err     string
	}{
		{[]string{"--", "sh", "-c", "echo"}, []string{"AUTHCTL_ACCESS_TOKEN"}, "", 5 * time.Minute, []string{"sh", "-c", "echo"}, "default", ""},
		{[]string{"--env", "A", "--env", "B", "--id-token-env", "ID", "--min-ttl", "1h", "-p", "work", "--", "cmd"}, []string{"A", "B"}, "ID", time.Hour, []string{"cmd"}, "work", ""},
		{[]string{"ls", "-p", "work", "--env", "X"}, []string{"AUTHCTL_ACCESS_TOKEN"}, "", 5 * time.Minute, []string{"ls", "-p", "work", "--env", "X"}, "default", ""},
		{nil, nil, "", 0, nil, "", "missing the command to run"},
		{[]string{"--"}, nil, "", 0, nil, "", "missing the command to run"},
		{[]string{"--env", "1X", "--", "cmd"}, nil, "", 0, nil, "", `"1X" is not an environment variable name`},
		{[]string{"--env", "A=B", "--", "cmd"}, nil, "", 0, nil, "", `"A=B" is not an environment variable name`},
		{[]string{"--env", "T", "--id-token-env", "T", "--", "cmd"}, nil, "", 0, nil, "", "$T is given twice"},
		{[]string{"--env", "HOME", "--", "cmd"}, nil, "", 0, nil, "", "$HOME means something to authctl itself"},
		{[]string{"--env", "AUTHCTL_PROFILE", "--", "cmd"}, nil, "", 0, nil, "", "$AUTHCTL_PROFILE means something"},
		{[]string{"--env", "AUTHCTL_TOKEN", "--", "cmd"}, nil, "", 0, nil, "", "$AUTHCTL_TOKEN means something"},
		{[]string{"--min-ttl", "-1m", "--", "cmd"}, nil, "", 0, nil, "", "--min-ttl must not be negative"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			b := newBench(t, oneProfile)
			o, err := capture(t, b, tt.args, NewCmdExec)
			if !wantUsageError(t, err, tt.err) {
				return
			}
			if !slices.Equal(o.Env, tt.env) || o.IDTokenEnv != tt.idEnv || o.MinTTL != tt.minTTL || !slices.Equal(o.Command, tt.command) || o.Profile.Name != tt.profile || o.SentToChild == nil {
				t.Errorf("options %+v (profile %q)", o, o.Profile.Name)
			}
		})
	}
}

func TestExecRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs sh")
	}
	idToken := unsignedJWT(map[string]any{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	fresh := func(b *bench) {
		b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour), IDToken: idToken})
	}
	dir := t.TempDir()
	notExecutable := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "ran")
	tests := []struct {
		name    string
		setup   func(b *bench)
		env     []string
		idEnv   string
		command []string
		code    int
		stdout  string
		stderr  string
	}{
		{"the token in the environment", fresh, []string{"AUTHCTL_ACCESS_TOKEN"}, "",
			[]string{"sh", "-c", `printf '%s|%s|%s|%s' "$AUTHCTL_ACCESS_TOKEN" "${AUTHCTL_CLIENT_SECRET-unset}" "$KEEP" "$#"`, "sh", "arg"}, 0, "AT|unset|kept|1", ""},
		// An AUTHCTL_ACCESS_TOKEN from the environment (an outer authctl
		// exec) is not authctl's to take away when --env names others.
		{"named variables and the ID token", fresh, []string{"A", "B"}, "ID",
			[]string{"sh", "-c", `printf '%s %s %s %s' "$A" "$B" "$ID" "${AUTHCTL_ACCESS_TOKEN-unset}"`}, 0, "AT AT " + idToken + " stale", ""},
		{"stdin passes through", fresh, []string{"T"}, "", []string{"sh", "-c", "cat"}, 0, "typed", ""},
		{"exit status", fresh, []string{"T"}, "", []string{"sh", "-c", "echo oops >&2; exit 3"}, 3, "", "oops\n"},
		{"killed by a signal", fresh, []string{"T"}, "", []string{"sh", "-c", "kill -TERM $$"}, 143, "", ""},
		{"not found", fresh, []string{"T"}, "", []string{"no-such-command-authctl"}, 127, "", "authctl: no-such-command-authctl: command not found\n"},
		{"not executable", fresh, []string{"T"}, "", []string{notExecutable}, 126, "", "authctl: " + notExecutable + ": cannot run it: permission denied\n"},
		{"not logged in: nothing runs", func(*bench) {}, []string{"T"}, "", []string{"touch", marker}, 4, "", "authctl: not logged in (profile \"work\"); run: authctl login -p work\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			tt.setup(b)
			b.in.Reset("typed")
			opts := &ExecOptions{IO: b.factory().IO(), Profile: b.profile(), Now: time.Now, Env: tt.env, IDTokenEnv: tt.idEnv, MinTTL: execMinTTL, Command: tt.command,
				Environ: []string{"PATH=" + os.Getenv("PATH"), "KEEP=kept", "AUTHCTL_CLIENT_SECRET=s3cret", "AUTHCTL_ACCESS_TOKEN=stale", "B=old"}}
			b.assertRun(execRun(context.Background(), opts), tt.code, tt.stdout, tt.stderr)
		})
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran without a login")
	}
}
