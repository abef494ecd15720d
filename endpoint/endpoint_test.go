package endpoint

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://idp.example.test/token", true},
		{"HTTPS://idp.example.test/token", true},
		{"https://203.0.113.7:8443/token", true},
		{"http://127.0.0.1:8080/token", true},
		{"http://127.1.2.3/token", true},
		{"http://[::1]:9000/token", true},
		{"http://localhost/token", true},
		{"http://LOCALHOST:8080/token", true},
		{"http://x.localhost/token", true},
		{"http://idp.X.LocalHost./token", true},
		{"http://idp.example.test/token", false},
		{"http://idp-token.example.test/token", false},
		{"http://localhost.example.test/token", false},
		{"http://notlocalhost/token", false},
		{"http://10.0.0.1/token", false},
		{"http://0.0.0.0/token", false},
		{"http://[::]/token", false},
		{"http://2130706433/token", false}, // 127.0.0.1 as one number: not a literal loopback address
		{"http://127.1/token", false},      // nor abbreviated
		{"ftp://idp.example.test/token", false},
		{"javascript:alert(1)", false},
		{"/token", false},
		{"https:///token", false},
		{"http://user:pw@idp.example.test/", false},
		{"https://idp.example.test/\x1b[2J", false},
		{"https://idp.example.test/\u009b2J", false},
		{"https://idp.example.test/device\u202e", false},
		{"https://idp.example.test/Jürgen", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := Check(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("Check(%q) = %v, want ok=%v", tt.url, err, tt.ok)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrRefused) {
				t.Errorf("error %v does not match ErrRefused", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "https only") || strings.ContainsAny(msg, "\x1b\n") {
				t.Errorf("message %q does not state the rule on one printable line", msg)
			}
			if strings.Contains(msg, "pw@") {
				t.Errorf("message %q shows the URL's password", msg)
			}
		})
	}
}
