package safetext

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain text stays", "invalid_grant: the code has expired", 0, "invalid_grant: the code has expired"},
		{"clear screen and title", "\x1b[2J\x1b]0;pwned\x07bad", 0, "[2J]0;pwnedbad"},
		{"8-bit CSI as UTF-8", "a\u009b31mred", 0, "a31mred"},
		{"8-bit CSI as a raw byte", "a\x9b31mred", 0, "a31mred"},
		{"OSC 8 link", "\x1b]8;;https://evil.example/\x1b\\https://idp.example/device\x1b]8;;\x1b\\", 0,
			"]8;;https://evil.example/\\https://idp.example/device]8;;\\"},
		{"DEL, NUL and BEL", "a\x7fb\x00c\x07d", 0, "abcd"},
		{"line breaks and tabs become spaces", "one\ntwo\r\nthree\tfour\u2028five", 0, "one two  three four five"},
		{"bidirectional override", "user\u202egpj.exe", 0, "usergpj.exe"},
		{"letters beyond ASCII stay", "Jürgen Åström, 東京", 0, "Jürgen Åström, 東京"},
		{"capped with an ellipsis", "abcdefghij", 4, "abcd..."},
		{"cap counts runes, not bytes", "ééééé", 3, "ééé..."},
		{"exactly at the cap", "abcd", 4, "abcd"},
		{"Clean leaves tokens", "sub 0123456789abcdef0123456789abcdef", 0, "sub 0123456789abcdef0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in, tt.max); got != tt.want {
				t.Errorf("Clean(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"
	tests := []struct {
		name, in, want string
	}{
		{"a JWT", "invalid token " + jwt + " given", "invalid token [redacted] given"},
		{"a JWT in quotes with a trailing dot", `refresh failed for "` + jwt + `".`, `refresh failed for "[redacted]".`},
		{"an opaque base64url token", "unknown refresh_token=Xw2iQk8_vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7", "unknown refresh_token=[redacted]"},
		{"a hex digest", "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ok", "sha [redacted] ok"},
		{"an escape sequence hiding a token", "\x1b[8mXw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7\x1b[0m", "[[redacted][0m"},
		{"a hyphenated word stays", "authorization_response_iss_parameter_supported", "authorization_response_iss_parameter_supported"},
		{"a long profile name stays", `profile "t1a2b3c-endpoint-poisoned-cache-refresh"`, `profile "t1a2b3c-endpoint-poisoned-cache-refresh"`},
		{"a UUID stays", "tenant 3fa85f64-5717-4562-b3fc-2c963f66afa6", "tenant 3fa85f64-5717-4562-b3fc-2c963f66afa6"},
		{"a host name stays", "http://idp-token.example.test/token", "http://idp-token.example.test/token"},
		{"letters only stay", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"},
		{"a test's temporary directory stays", "config /tmp/TestBrokenConfigFileThroughMain2873645/001/config.yaml", "config /tmp/TestBrokenConfigFileThroughMain2873645/001/config.yaml"},
		{"a short code stays", "code ABCD-EFGH, status 400", "code ABCD-EFGH, status 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in, 0); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// The cap applies after redaction, so a token cut in two by the cap
// cannot escape as a prefix too short to be recognised.
func TestRedactCapsAfterRedacting(t *testing.T) {
	tok := "Xw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7"
	got := Redact("token "+tok+" refused", 20)
	if strings.Contains(got, tok[:10]) {
		t.Errorf("Redact = %q: a part of the token is left", got)
	}
	if got != "token [redacted] ref..." {
		t.Errorf("Redact = %q", got)
	}
}
