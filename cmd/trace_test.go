package cmd

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestVerboseTracesRefresh: -v shows the refresh decision and its reason,
// the discovery (a miss, then a hit), each request to the provider with
// its status and time, the lock and every keychain call with its backend
// and time; never a token.
func TestVerboseTracesRefresh(t *testing.T) {
	w := newWorld(t)
	w.now = time.Now() // the refreshed token's expiry is on x/oauth2's clock
	w.loggedIn(w.now.Add(10 * time.Second))
	if code := w.run("-v", "token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	got := w.stderr.String()
	for _, want := range []string{
		`(?m)^authctl: keychain \(keychaintest\): read "default" in \d+(\.\d+)?[µn]?s: done$`,
		`(?m)^authctl: access token valid for 10s, not more than the refresh margin of 30s: refreshing$`,
		`(?m)^authctl: refresh lock taken in \S+$`,
		`(?m)^authctl: discovery: cache miss \(no usable \S+discovery-default.json\)$`,
		`(?m)^authctl: discovery: asking http://127\.0\.0\.1:\d+/\.well-known/openid-configuration$`,
		`(?m)^authctl: GET http://127\.0\.0\.1:\d+/\.well-known/openid-configuration: 200 OK in \S+$`,
		`(?m)^authctl: POST http://127\.0\.0\.1:\d+/token: 200 OK in \S+$`,
		`(?m)^authctl: keychain \(keychaintest\): write "default" in \S+: done$`,
		`(?m)^authctl: refreshed; new access token valid for (59m59s|1h0m0s)$`,
	} {
		if !regexp.MustCompile(want).MatchString(got) {
			t.Errorf("-v output lacks %s:\n%s", want, got)
		}
	}
	assertNoSecret(t, got, "AT0", "RT0", "AT1", "RT1")

	w.now = w.now.Add(2 * time.Hour)
	if code := w.run("-v", "token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	if got := w.stderr.String(); !regexp.MustCompile(`(?m)^authctl: discovery: cache hit, \S+discovery-default.json$`).MatchString(got) {
		t.Errorf("second refresh: no cache hit in -v output:\n%s", got)
	}
	w.now = w.storedCredential().Expiry.Add(-45 * time.Minute)
	if code := w.run("-v", "token", "print"); code != 0 {
		t.Fatalf("exit %d: %s", code, w.stderr.String())
	}
	if got := w.stderr.String(); !strings.Contains(got, "authctl: access token valid for 45m0s, more than the refresh margin of 30s: no refresh\n") {
		t.Errorf("a cached token: no decision in -v output:\n%s", got)
	}
	// Without -v: nothing.
	if code := w.run("token", "print"); code != 0 || w.stderr.Len() != 0 {
		t.Errorf("without -v: exit %d, stderr %q; want 0 and nothing", code, w.stderr.String())
	}
}

// TestVerboseBeforeCurl: authctl -v curl URL is authctl's -v (its trace,
// and no curl headers); authctl curl -v URL is curl's.
func TestVerboseBeforeCurl(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) }))
	t.Cleanup(api.Close)
	w := newWorld(t)
	w.loggedIn(w.now.Add(time.Hour))
	if code := w.run("-v", "curl", api.URL+"/items"); code != 0 {
		t.Fatalf("-v curl: exit %d: %s", code, w.stderr.String())
	}
	if got := w.stderr.String(); !strings.Contains(got, "authctl: keychain (") || strings.Contains(got, "> GET") {
		t.Errorf("authctl -v curl: stderr %q, want authctl's trace and no curl headers", got)
	}
	if code := w.run("--profile", "default", "-v", "curl", api.URL+"/items"); code != 0 || !strings.Contains(w.stderr.String(), "authctl: keychain (") {
		t.Errorf("--profile default -v curl: exit %d, stderr %q", code, w.stderr.String())
	}
	if code := w.run("curl", "-v", api.URL+"/items"); code != 0 {
		t.Fatalf("curl -v: exit %d: %s", code, w.stderr.String())
	}
	if got := w.stderr.String(); strings.Contains(got, "authctl: keychain (") || !strings.Contains(got, "> GET /items") {
		t.Errorf("authctl curl -v: stderr %q, want curl's headers and no authctl trace", got)
	}
	assertNoSecret(t, w.stderr.String(), "AT0", "RT0")
}

func assertNoSecret(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if regexp.MustCompile(`\b` + s + `\b`).MatchString(out) {
			t.Errorf("output shows the secret %s:\n%s", s, out)
		}
	}
}
