package curl

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds hostile command lines to the curl flag parser (one
// argument per NUL-separated part of the input). It must never panic;
// every error is a *UsageError; a command line it accepts has a URL, and
// nothing it will put in a request header (-H, -A, -e) contains CR or LF,
// nor a header name a space, tab or colon. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		o, err := Parse(args)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || o != nil {
				t.Fatalf("Parse(%q) = %v, %T %v: want nil and a *UsageError", args, o, err, err)
			}
			return
		}
		if o.URL == "" {
			t.Fatalf("Parse(%q) accepted a command line without a URL", args)
		}
		for _, h := range o.Headers {
			if h.Name == "" || strings.ContainsAny(h.Name, " \t:\r\n") {
				t.Fatalf("Parse(%q): header name %q", args, h.Name)
			}
			if strings.ContainsAny(h.Value, "\r\n") {
				t.Fatalf("Parse(%q): header %s has a line break in %q", args, h.Name, h.Value)
			}
		}
		for name, v := range map[string]string{"-A/--user-agent": o.UserAgent, "-e/--referer": o.Referer} {
			if strings.ContainsAny(v, "\r\n") {
				t.Fatalf("Parse(%q): %s %q has a line break, and goes into a header", args, name, v)
			}
		}
	})
}
