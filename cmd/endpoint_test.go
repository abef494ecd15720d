package cmd

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// An issuer or endpoint set to plain http elsewhere is a usage error, at
// login and, for a token_url from the config or the environment, at every
// refresh: no request is made and the credential stays.
func TestEndpointSettingsBreakingTheRule(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"login --issuer", nil, []string{"login", "--no-browser", "--issuer", "http://idp.example.test", "--client-id", "cli"}},
		{"login --token-url", nil, []string{"login", "--no-browser", "--token-url", "http://idp.example.test/token", "--auth-url", "https://idp.example.test/auth", "--client-id", "cli"}},
		{"login --jwks-url", nil, []string{"login", "--no-browser", "--jwks-url", "http://idp.example.test/jwks"}},
		{"refresh with AUTHCTL_TOKEN_URL", map[string]string{"AUTHCTL_TOKEN_URL": "http://idp-token.example.test/token"}, []string{"token", "print"}},
		{"refresh with AUTHCTL_REVOCATION_URL", map[string]string{"AUTHCTL_REVOCATION_URL": "http://idp.example.test/revoke"}, []string{"token", "print"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.loggedIn(w.now.Add(-time.Minute))
			before := w.store.Items()["default"]
			for k, v := range tt.env {
				w.env[k] = v
			}
			if code := w.run(tt.args...); code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, w.stderr.String())
			}
			e := w.stderr.String()
			if !strings.Contains(e, "plain http to a host that is not this machine") || !strings.Contains(e, "https only") || strings.Count(e, "\n") != 1 {
				t.Errorf("stderr = %q, want one line naming the URL and the rule", e)
			}
			if n := len(w.idp.requests()); n != 0 {
				t.Errorf("%d requests made", n)
			}
			if !bytes.Equal(w.store.Items()["default"], before) {
				t.Error("the credential changed")
			}
		})
	}
}

// What the provider says about the user reaches the terminal printable.
func TestStatusShowsClaimsPrintable(t *testing.T) {
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	c := w.storedCredential()
	c.IDToken = unsignedJWT(map[string]any{"sub": "user-1\x1b[2J", "email": "u@example.com\x1b]8;;https://evil.example/\x07"})
	b, _ := c.Encode()
	w.store.Set(t.Context(), "default", b)
	if code := w.run("status"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	out := w.stdout.String()
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, "user-1[2J") {
		t.Errorf("status output %q", out)
	}
}
