package configfile

import (
	"strings"
	"testing"
)

// FuzzEdit feeds arbitrary text to the config loader and, where it parses,
// sets and deletes settings in it: nothing panics, and an edit that
// succeeds leaves a file that parses and holds exactly the new value.
func FuzzEdit(f *testing.F) {
	f.Add(commented, "work", "issuer", "https://x.example")
	f.Add("profiles:\n  w:\n    scopes:\n    - a\n", "w", "scopes", "b,c")
	f.Add("profiles: {w: {issuer: x}}\n", "w", "client_id", "c")
	f.Add("", "default", "port", "8080")
	f.Add("# only a comment", "p", "auth_params", "Resource=x")
	f.Fuzz(func(t *testing.T, in, profile, key, value string) {
		cf, err := Parse("c.yaml", []byte(in))
		if err != nil {
			return
		}
		var v any = value
		switch key {
		case "scopes":
			v = strings.Split(value, ",")
		case "auth_params":
			k, val, _ := strings.Cut(value, "=")
			v = map[string]string{k: val}
		}
		if err := cf.Set(v, "profiles", profile, key); err == nil {
			again, err := Parse("c.yaml", cf.Bytes())
			if err != nil {
				t.Fatalf("after Set the file no longer parses: %v\n%s", err, cf.Bytes())
			}
			if n := again.Lookup("profiles", profile, key); n == nil || !decodesTo(n, v) {
				t.Fatalf("after Set %s.%s does not hold %q:\n%s", profile, key, v, cf.Bytes())
			}
		}
		before := string(cf.Bytes())
		if err := cf.Delete("profiles", profile); err == nil {
			if again, err := Parse("c.yaml", cf.Bytes()); err != nil || again.Lookup("profiles", profile) != nil {
				t.Fatalf("after Delete: %v\nbefore:\n%s\nafter:\n%s", err, before, cf.Bytes())
			}
		}
	})
}
