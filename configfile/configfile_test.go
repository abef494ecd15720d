package configfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const commented = `# ~/.config/authctl/config.yaml   (my dotfiles)
default_profile: work

profiles:
  work:
    issuer: https://id.example.com          # discovery
    client_id: authctl
    scopes: [openid, offline_access, email] # more than the default
    port: 0                                 # any free port

  # a server without discovery
  plain-oauth:
    client_id: "cli"
    scopes:
      - read
    auth_params:
      Resource: https://api.example.org
    token_url: 'https://auth.example.org/token'
`

type op struct {
	del   bool
	keys  []string
	value any
}

func set(v any, keys ...string) op { return op{keys: keys, value: v} }
func del(keys ...string) op        { return op{del: true, keys: keys} }

func TestEditsKeepEverythingElse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ops  []op
		want string
	}{
		{"same value: nothing changes", commented, []op{set("authctl", "profiles", "work", "client_id"), set([]string{"read"}, "profiles", "plain-oauth", "scopes")}, commented},
		{"a plain scalar, comment kept", commented, []op{set("https://new.example.com", "profiles", "work", "issuer")},
			strings.Replace(commented, "issuer: https://id.example.com          #", "issuer: https://new.example.com          #", 1)},
		{"a quoted scalar", commented, []op{set("other", "profiles", "plain-oauth", "client_id")},
			strings.Replace(commented, `client_id: "cli"`, `client_id: other`, 1)},
		{"a flow list stays flow", commented, []op{set([]string{"openid"}, "profiles", "work", "scopes")},
			strings.Replace(commented, "scopes: [openid, offline_access, email] #", "scopes: [openid] #", 1)},
		{"a block list stays block", commented, []op{set([]string{"read", "write"}, "profiles", "plain-oauth", "scopes")},
			strings.Replace(commented, "      - read\n", "      - read\n      - write\n", 1)},
		{"map keys keep their case", commented, []op{set(map[string]string{"Resource": "https://api2.example.org"}, "profiles", "plain-oauth", "auth_params")},
			strings.Replace(commented, "Resource: https://api.example.org", "Resource: https://api2.example.org", 1)},
		{"a new key goes after the mapping's last", commented, []op{set("5m", "profiles", "work", "timeout")},
			strings.Replace(commented, "    port: 0                                 # any free port\n", "    port: 0                                 # any free port\n    timeout: 5m\n", 1)},
		{"a new profile", commented, []op{set("https://x.example", "profiles", "new", "issuer"), set("c", "profiles", "new", "client_id")},
			commented + "  new:\n    issuer: https://x.example\n    client_id: c\n"},
		{"default_profile", commented, []op{set("plain-oauth", "default_profile")},
			strings.Replace(commented, "default_profile: work", "default_profile: plain-oauth", 1)},
		{"delete a profile with its comment", commented, []op{del("profiles", "plain-oauth")},
			commented[:strings.Index(commented, "  # a server")]},
		{"delete a profile in the middle", commented, []op{del("profiles", "work")},
			strings.Replace(commented, commented[strings.Index(commented, "  work:"):strings.Index(commented, "\n  # a server")+1], "", 1)},
		{"delete default_profile", commented, []op{del("default_profile")},
			strings.Replace(commented, "default_profile: work\n", "", 1)},
		{"empty file", "", []op{set("https://x", "profiles", "default", "issuer")},
			"profiles:\n  default:\n    issuer: https://x\n"},
		{"only a comment, no final newline", "# mine", []op{set("a", "default_profile")},
			"# mine\ndefault_profile: a\n"},
		{"four-space indentation", "profiles:\n    work:\n        issuer: x\n", []op{set("c", "profiles", "work", "client_id"), set("y", "profiles", "p2", "issuer")},
			"profiles:\n    work:\n        issuer: x\n        client_id: c\n    p2:\n        issuer: \"y\"\n"},
		{"flow mapping", "profiles: {work: {issuer: x}}\n", []op{set("c", "profiles", "work", "client_id")},
			"profiles: {work: {issuer: x, client_id: c}}\n"},
		{"null profile", "profiles:\n  work:\n", []op{set("x", "profiles", "work", "issuer")},
			"profiles:\n  work:\n    issuer: x\n"},
		{"CRLF line breaks", "profiles:\r\n  work:\r\n    issuer: x\r\n", []op{set("c", "profiles", "work", "client_id")},
			"profiles:\r\n  work:\r\n    issuer: x\r\n    client_id: c\r\n"},
		{"indentless block list", "profiles:\n  w:\n    scopes:\n    - a\n    - b\n    port: 1\n", []op{set([]string{"c"}, "profiles", "w", "scopes")},
			"profiles:\n  w:\n    scopes:\n    - c\n    port: 1\n"},
		{"block list to empty list", "profiles:\n  w:\n    scopes: # mine\n      - a\n    port: 1\n", []op{set([]string{}, "profiles", "w", "scopes")},
			"profiles:\n  w:\n    scopes: [] # mine\n    port: 1\n"},
		{"values that need quotes", "profiles:\n  w:\n    port: 1\n", []op{set("yes", "profiles", "w", "client_id"), set("a: b", "profiles", "w", "issuer")},
			"profiles:\n  w:\n    port: 1\n    client_id: \"yes\"\n    issuer: 'a: b'\n"},
		{"bool and int", "profiles:\n  w:\n    port: 1\n    device: false\n", []op{set(8080, "profiles", "w", "port"), set(true, "profiles", "w", "device")},
			"profiles:\n  w:\n    port: 8080\n    device: true\n"},
		{"a new mapping is written in block style", "profiles:\n  w:\n    port: 1\n", []op{set(map[string]string{"audience": "https://api", "Resource": "r"}, "profiles", "w", "auth_params")},
			"profiles:\n  w:\n    port: 1\n    auth_params:\n      Resource: r\n      audience: https://api\n"},
		{"non-ASCII before a value", "profiles:\n  w:\n    client_id: é # ü\n", []op{set("x", "profiles", "w", "client_id")},
			"profiles:\n  w:\n    client_id: x # ü\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("c.yaml", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.ops {
				if o.del {
					err = f.Delete(o.keys...)
				} else {
					err = f.Set(o.value, o.keys...)
				}
				if err != nil {
					t.Fatalf("%v: %v", o.keys, err)
				}
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if f.Changed() != (tt.in != tt.want) {
				t.Errorf("Changed() = %v", f.Changed())
			}
		})
	}
}

func TestSyntaxErrorNamesTheBrokenLine(t *testing.T) {
	tests := []struct {
		in   string
		line int
	}{
		{"profiles:\n  work:\n    issuer: x\n   client_id: y\n", 4},
		{"profiles:\n  work:\n    issuer: x\n  client_id: y\n    port: 3\n", 5},
		{"profiles:\n  w:\n    issuer: \"x\n", 3},
		{"a: 1\na: 2\n", 2},
		{"profiles:\r\n  w:\r\n    issuer: x\r    port: 3\r\n", 3}, // a lone CR
		{"\r\r ", 1},
	}
	for _, tt := range tests {
		_, err := Parse("c.yaml", []byte(tt.in))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("%q: err = %v", tt.in, err)
		}
		if ce.Line != tt.line {
			t.Errorf("%q: line %d, want %d (%v)", tt.in, ce.Line, tt.line, err)
		}
		if !strings.HasPrefix(err.Error(), "config c.yaml:") {
			t.Errorf("error %q does not name the file and line", err)
		}
	}
}

func TestNotAMapping(t *testing.T) {
	if _, err := Parse("c.yaml", []byte("- a\n- b\n")); err == nil {
		t.Error("a list was accepted as a config file")
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil || f.Exists() || f.Lookup("profiles") != nil {
		t.Fatalf("f=%v err=%v", f, err)
	}
}

func TestSaveWritesOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "config.yaml")
	f, _ := Load(p)
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("an unchanged, missing file was created")
	}
	if err := f.Set("x", "profiles", "w", "issuer"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("new config mode %v, want 0600", fi.Mode().Perm())
	}
	g, err := Load(p)
	if err != nil || g.Lookup("profiles", "w", "issuer").Value != "x" {
		t.Fatalf("reloaded: %v", err)
	}
}

func TestSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "authctl.yaml")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte(commented), 0o644)
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	f, err := Load(link)
	if err != nil {
		t.Fatal(err)
	}
	f.Set("plain-oauth", "default_profile")
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
	b, _ := os.ReadFile(real)
	if want := strings.Replace(commented, "default_profile: work", "default_profile: plain-oauth", 1); string(b) != want {
		t.Errorf("target:\n%s", b)
	}
	if fi, _ := os.Stat(real); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want the file's own 0644", fi.Mode().Perm())
	}
}

func TestEditRefusesWhatItCannotDoSafely(t *testing.T) {
	// A value that spans lines cannot be replaced in place; the file is
	// left as it was.
	in := "profiles:\n  w:\n    issuer: \"https://a\n      b\"\n"
	f, err := Parse("c.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("x", "profiles", "w", "issuer"); err == nil {
		t.Error("edited a multi-line value")
	}
	if string(f.Bytes()) != in {
		t.Error("a failed edit changed the contents")
	}
	if err := f.Set("line\nbreak", "profiles", "w", "client_id"); err == nil {
		t.Error("wrote a value with a line break")
	}
}
