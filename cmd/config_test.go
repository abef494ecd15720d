package cmd

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/configfile"
)

// writeConfig writes body to a config file in a fresh directory and
// returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// resolve resolves profile "default" from the config body, the
// environment env and the login flags args, as authctl login does.
func resolve(t *testing.T, body string, env map[string]string, args ...string) (*resolved, error) {
	t.Helper()
	cf, err := configfile.Parse("config.yaml", []byte(body))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	login := NewCmdLogin(NewFactory(Deps{}), nil)
	if err := login.Flags().Parse(args); err != nil {
		t.Fatalf("flags %v: %v", args, err)
	}
	return resolveSettings("default", cf, login.Flags(), func(k string) string { return env[k] })
}

// loadConfig reads the config file at path and resolves its default
// profile as commands do.
func loadConfig(path string) (*configfile.File, error) {
	f := NewFactory(Deps{GOOS: "linux", Getenv: func(k string) string {
		return map[string]string{"AUTHCTL_CONFIG": path, "HOME": "/nonexistent"}[k]
	}})
	cf, err := f.Config(false)
	if err != nil {
		return nil, err
	}
	_, err = f.profileNamed(cf, "default", "", nil)
	return cf, err
}

func TestProfilePrecedence(t *testing.T) {
	const file = `
profiles:
  default:
    issuer: https://file.example
    client_id: file-client
    scopes: [openid, email]
    port: 8080
    timeout: 30s
    insecure_storage: true
`
	tests := []struct {
		name  string
		body  string
		env   map[string]string
		args  []string
		check func(p *resolved) string
	}{
		{"defaults", "", nil, nil, func(p *resolved) string {
			if !slices.Equal(p.Scopes, []string{"openid", "offline_access"}) || p.Port != 0 || p.Timeout != 5*time.Minute ||
				p.InsecureStorage || p.RedirectHost != "127.0.0.1" || p.CallbackPath != "/callback" || p.KeychainTimeout != 5*time.Second {
				return "not the documented defaults"
			}
			return ""
		}},
		{"file", file, nil, nil, func(p *resolved) string {
			if p.Issuer != "https://file.example" || p.ClientID != "file-client" || !slices.Equal(p.Scopes, []string{"openid", "email"}) ||
				p.Port != 8080 || p.Timeout != 30*time.Second || !p.InsecureStorage {
				return "not the file's values"
			}
			return ""
		}},
		{"env beats file", file, map[string]string{
			"AUTHCTL_ISSUER": "https://env.example", "AUTHCTL_CLIENT_ID": "env-client", "AUTHCTL_SCOPES": "openid,profile",
			"AUTHCTL_PORT": "9000", "AUTHCTL_TIMEOUT": "2m", "AUTHCTL_INSECURE_STORAGE": "false",
		}, nil, func(p *resolved) string {
			if p.Issuer != "https://env.example" || p.ClientID != "env-client" || !slices.Equal(p.Scopes, []string{"openid", "profile"}) ||
				p.Port != 9000 || p.Timeout != 2*time.Minute || p.InsecureStorage {
				return "not the environment's values"
			}
			return ""
		}},
		{"flag beats env and file", file, map[string]string{
			"AUTHCTL_ISSUER": "https://env.example", "AUTHCTL_SCOPES": "openid,profile", "AUTHCTL_PORT": "9000", "AUTHCTL_TIMEOUT": "2m",
		}, []string{"--issuer", "https://flag.example", "--scopes", "a,b", "--scopes", "c", "--port", "7000", "--timeout", "10s", "--insecure-storage=false"}, func(p *resolved) string {
			if p.Issuer != "https://flag.example" || !slices.Equal(p.Scopes, []string{"a", "b", "c"}) || p.Port != 7000 ||
				p.Timeout != 10*time.Second || p.InsecureStorage || p.ClientID != "file-client" {
				return "not the flags' values (client_id from the file)"
			}
			return ""
		}},
		{"empty env var is unset", file, map[string]string{"AUTHCTL_ISSUER": ""}, nil, func(p *resolved) string {
			if p.Issuer != "https://file.example" {
				return "empty $AUTHCTL_ISSUER hid the file's issuer"
			}
			return ""
		}},
		{"scopes as a comma string in the file", "profiles: {default: {scopes: 'openid,offline_access, email'}}", nil, nil, func(p *resolved) string {
			if !slices.Equal(p.Scopes, []string{"openid", "offline_access", "email"}) {
				return "comma list not split"
			}
			return ""
		}},
		{"scopes as a space string in the env", "", map[string]string{"AUTHCTL_SCOPES": "openid email"}, nil, func(p *resolved) string {
			if !slices.Equal(p.Scopes, []string{"openid", "email"}) {
				return "space list not split"
			}
			return ""
		}},
		{"timeout as a number of seconds in the file", "profiles: {default: {timeout: 45}}", nil, nil, func(p *resolved) string {
			if p.Timeout != 45*time.Second {
				return "timeout: 45 is not 45s"
			}
			return ""
		}},
		{"timeout as a number of seconds in the env", "", map[string]string{"AUTHCTL_TIMEOUT": "45"}, nil, func(p *resolved) string {
			if p.Timeout != 45*time.Second {
				return "AUTHCTL_TIMEOUT=45 is not 45s"
			}
			return ""
		}},
		{"keychain_timeout from the file", "profiles: {default: {keychain_timeout: 2s}}", nil, nil, func(p *resolved) string {
			if p.KeychainTimeout != 2*time.Second {
				return "keychain_timeout not read"
			}
			return ""
		}},
		{"boolean from the env", "", map[string]string{"AUTHCTL_INSECURE_STORAGE": "true"}, nil, func(p *resolved) string {
			if !p.InsecureStorage {
				return "AUTHCTL_INSECURE_STORAGE=true not applied"
			}
			return ""
		}},
		{"boolean flag", "", nil, []string{"--insecure-storage"}, func(p *resolved) string {
			if !p.InsecureStorage || p.fromFlags["insecure_storage"] != true {
				return "--insecure-storage not applied or not recorded as from a flag"
			}
			return ""
		}},
		{"only flags are saved", file, map[string]string{"AUTHCTL_CLIENT_ID": "env-client"}, []string{"--issuer", "https://flag.example"}, func(p *resolved) string {
			if len(p.fromFlags) != 1 || p.fromFlags["issuer"] != "https://flag.example" {
				return "fromFlags holds more than the flags given"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := resolve(t, tt.body, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(p); msg != "" {
				t.Errorf("%s: %+v", msg, *p)
			}
		})
	}
}

func TestProfileBadValues(t *testing.T) {
	tests := []struct {
		name string
		body string
		env  map[string]string
		args []string
		want []string // substrings of the error
	}{
		{"port out of range in the file", "profiles: {default: {port: 70000}}", nil, nil, []string{"profiles.default.port", "70000"}},
		{"port not a number in the env", "", map[string]string{"AUTHCTL_PORT": "eighty"}, nil, []string{"$AUTHCTL_PORT"}},
		{"timeout not a duration", "", map[string]string{"AUTHCTL_TIMEOUT": "soon"}, nil, []string{"$AUTHCTL_TIMEOUT", "soon"}},
		{"boolean not a boolean", "profiles: {default: {insecure_storage: maybe}}", nil, nil, []string{"insecure_storage"}},
		{"redirect host not loopback", "", nil, []string{"--redirect-host", "example.com"}, []string{"--redirect-host", "example.com"}},
		{"callback path without slash", "profiles: {default: {callback_path: cb}}", nil, nil, []string{"callback_path", "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolve(t, tt.body, tt.env, tt.args...)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"broken YAML", "profiles:\n  default:\n    issuer: https://x\n   client_id: [oops\n", []string{"config.yaml:4: "}},
		{"tab indentation", "profiles:\n\tdefault: {}\n", []string{"config.yaml:2: "}},
		{"unknown top-level key", "defualt_profile: work\n", []string{`"defualt_profile"`}},
		{"unknown profile setting", "profiles:\n  default:\n    client_secret: s3cr3t\n", []string{`"client_secret"`, `"default"`}},
		{"invalid profile name", "profiles:\n  my work:\n    issuer: https://x\n", []string{"invalid profile name", `"my work"`}},
		{"invalid default_profile", "default_profile: ../etc\n", []string{"default_profile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			_, err := loadConfig(path)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if exitCode(err, false) != exitUsage {
				t.Errorf("exit code %d, want 2", exitCode(err, false))
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error repeats a value from the file: %q", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoadConfigMissingFileIsEmpty(t *testing.T) {
	cf, err := loadConfig(filepath.Join(t.TempDir(), "nope", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cf.Exists() || len(profileNames(cf)) != 0 {
		t.Errorf("missing file: profiles %v", profileNames(cf))
	}
}

func TestValidProfileName(t *testing.T) {
	for _, ok := range []string{"default", "work", "team-a_2", "0"} {
		if err := validProfileName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Work", "a.b", "../x", "a/b", "-x", "_x", "with space", strings.Repeat("a", 65)} {
		if err := validProfileName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
