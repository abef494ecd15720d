package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/authctl/authctl/curl"
	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

func TestExitCode(t *testing.T) {
	loginReq := &token.LoginRequiredError{Reason: "not logged in"}
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        int
	}{
		{"nil", nil, false, 0},
		{"usage", usageErrorf("unknown --format %q", "yaml"), false, 2},
		{"wrapped usage", fmt.Errorf("config: %w", usageErrorf("bad")), false, 2},
		{"login required", loginReq, false, 4},
		{"login required with next step", needLogin(loginReq, testProfileNamed("work")), false, 4},
		{"wrapped ErrLoginRequired", fmt.Errorf("refresh: %w", token.ErrLoginRequired), false, 4},
		{"login required inside url.Error (curl)", &url.Error{Op: "Get", URL: "https://api", Err: loginReq}, false, 4},
		{"step-up", &url.Error{Op: "Get", URL: "https://api", Err: &token.StepUpError{ACRValues: []string{"mfa"}}}, false, 5},
		{"step-up with next step", needLogin(&token.StepUpError{}, testProfileNamed("work")), false, 5},
		{"step-up --step-up could not run", &stepUpNoTerminal{&token.StepUpError{}}, false, 5},
		{"curl --fail", &curl.ExitError{Code: 22, Msg: "The requested URL returned error: 404"}, false, 22},
		{"curl could not connect", fmt.Errorf("curl: %w", &curl.ExitError{Code: 7}), false, 7},
		{"silent", &silentError{code: 4}, false, 4},
		{"exec: the command's status", &silentError{code: 143}, true, 143},
		{"exec: command not found", &exitError{code: 127, err: errors.New("x: command not found")}, false, 127},
		{"Ctrl-C", context.Canceled, true, 130},
		{"Ctrl-C during a request", fmt.Errorf("refresh: %w", &url.Error{Op: "Post", URL: "https://idp/token", Err: context.Canceled}), true, 130},
		{"canceled without an interrupt", context.Canceled, false, 1},
		{"interrupt but another error", errors.New("boom"), true, 1},
		{"deadline", context.DeadlineExceeded, false, 1},
		{"keychain locked", fmt.Errorf("read credential: %w", keychain.ErrLocked), false, 1},
		{"keychain unavailable", keychain.ErrUnavailable, false, 1},
		{"keychain not found is not login required by itself", keychain.ErrNotFound, false, 1},
		{"save failed after refresh", &token.SaveError{Err: keychain.ErrUnavailable}, false, 1},
		{"lock timeout", fmt.Errorf("%w /x/default.lock", token.ErrLockTimeout), false, 1},
		{"insecure http", token.ErrInsecureHTTP, false, 1},
		{"plain error", errors.New("provider answered 500"), false, 1},
		{"endpoint setting breaking the rule", fmt.Errorf("refresh: %w", &provider.SettingsError{Err: &endpoint.Error{URL: "http://idp.example.test/token"}}), false, 2},
		{"discovered endpoint breaking the rule", fmt.Errorf("discovery: %w", &endpoint.Error{URL: "http://idp.example.test/token"}), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err, tt.interrupted); got != tt.want {
				t.Errorf("exitCode(%v, %v) = %d, want %d", tt.err, tt.interrupted, got, tt.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        string // "" means nothing printed
	}{
		{"nil", nil, false, ""},
		{"curl prints its own", &curl.ExitError{Code: 22}, false, ""},
		{"silent", &silentError{code: 4}, false, ""},
		{"exec: command not found", &exitError{code: 127, err: errors.New("x: command not found")}, false, "authctl: x: command not found"},
		{"interrupted", context.Canceled, true, "authctl: interrupted"},
		{"login required names the next step", needLogin(&token.LoginRequiredError{Reason: "not logged in (profile \"default\")"}, testProfileNamed("default")),
			false, `authctl: not logged in (profile "default"); run: authctl login`},
		{"other profile", needLogin(token.ErrLoginRequired, testProfileNamed("work")), false, "authctl: login required; run: authctl login -p work"},
		{"multi-line error becomes one line", errors.New("first\nsecond"), false, "authctl: first second"},
		{"escape sequences never reach the terminal", errors.New("login failed: \x1b[2J\x1b]0;pwned\x07\u009b31mbad"), false, "authctl: login failed: [2J]0;pwned31mbad"},
		{"a token-shaped string is not printed", errors.New("provider said: unknown token Xw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7"), false, "authctl: provider said: unknown token [redacted]"},
		{"a long error is cut", errors.New(strings.Repeat("a ", 2000)), false, "authctl: " + strings.TrimSpace(strings.Repeat("a ", 500)) + " ..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := message(tt.err, tt.interrupted)
			if got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "\n") {
				t.Errorf("message is not one line: %q", got)
			}
		})
	}
}

// testProfileNamed is a profile with a provider set and nothing else.
func testProfileNamed(name string) *Profile {
	return &Profile{Name: name, Settings: Settings{Issuer: "https://idp.example"}}
}
