package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
)

func TestDevice(t *testing.T) {
	tests := []struct {
		name    string
		result  string
		timeout time.Duration
		want    error
	}{
		{name: "approved", result: ""},
		{name: "denied", result: "access_denied", want: &ProviderError{}},
		{name: "expired", result: "expired_token", want: ErrDeviceExpired},
		{name: "timeout", result: "pending", timeout: 300 * time.Millisecond, want: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIdP(t)
			f.deviceResult = tt.result
			o := f.options()
			o.Open = func(context.Context, string) error { t.Error("device flow opened a browser"); return nil }
			if tt.timeout > 0 {
				o.Timeout = tt.timeout
			}
			var stderr syncBuffer
			o.Stderr = &stderr
			res, err := Device(context.Background(), o)
			out := stderr.String()
			for _, want := range []string{f.srv.URL + "/activate\n", "WDJB-MJHT", f.srv.URL + "/activate?user_code=WDJB-MJHT"} {
				if !strings.Contains(out, want) {
					t.Errorf("stderr lacks %q:\n%s", want, out)
				}
			}
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.Claims.Subject != "alice" || res.Token.RefreshToken == "" {
					t.Errorf("result %+v", res)
				}
				return
			}
			var pe *ProviderError
			if _, ok := tt.want.(*ProviderError); ok {
				if !errors.As(err, &pe) || pe.Code != tt.result || !strings.Contains(err.Error(), "denied") {
					t.Errorf("got %v, want %s", err, tt.result)
				}
			} else if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if res != nil {
				t.Errorf("result %+v with error", res)
			}
		})
	}
}

func TestDeviceNeedsEndpoint(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	o.OAuth2.Endpoint.DeviceAuthURL = ""
	if _, err := Device(context.Background(), o); !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), "device") {
		t.Errorf("got %v", err)
	}
}

func TestDeviceCancel(t *testing.T) {
	f := newFakeIdP(t)
	f.deviceResult = "pending"
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Device(ctx, f.options())
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, want the context's error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestOpener(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		goos    string
		getenv  func(string) string
		canOpen bool
		reason  string
	}{
		{"linux desktop", "linux", env("DISPLAY", ":0"), true, ""},
		{"wayland", "linux", env("WAYLAND_DISPLAY", "wayland-0"), true, ""},
		{"linux console", "linux", env(), false, "no display"},
		{"ssh", "linux", env("DISPLAY", "localhost:10", "SSH_CONNECTION", "1.2.3.4 5 6.7.8.9 22"), false, "SSH"},
		{"mac", "darwin", env(), true, ""},
		{"ssh with BROWSER", "linux", env("SSH_CONNECTION", "x", "BROWSER", "w3m"), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, reason := Opener(tt.getenv, tt.goos, io.Discard, func(string, io.Writer) error { return nil })
			if (open != nil) != tt.canOpen || !strings.Contains(reason, tt.reason) {
				t.Errorf("Opener = %v, %q; want can open %v, reason %q", open != nil, reason, tt.canOpen, tt.reason)
			}
		})
	}
	if open, reason := Opener(env("DISPLAY", ":0"), "linux", io.Discard, nil); open != nil || reason == "" {
		t.Errorf("no system opener: Opener = %v, %q; want none and a reason", open != nil, reason)
	}
}

// TestOpenerOutput: what the browser prints goes where the caller says
// (the terminal only with --verbose), never to authctl's own stderr by
// itself; a failing system opener's last line ends the error.
func TestOpenerOutput(t *testing.T) {
	display := func(k string) string { return map[string]string{"DISPLAY": ":0"}[k] }
	var out syncBuffer
	open, _ := Opener(display, "linux", &out, func(url string, w io.Writer) error {
		fmt.Fprintf(w, "[1:2:ERROR:zygote_host_impl_linux.cc(100)] Running as root without --no-sandbox is not supported.\n")
		return nil
	})
	if err := open(context.Background(), "http://x/"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Running as root") {
		t.Errorf("the system browser's output did not reach the writer given: %q", out.String())
	}
	open, _ = Opener(display, "linux", io.Discard, func(url string, w io.Writer) error {
		fmt.Fprintf(w, "first\nxdg-open: no method available for opening '%s'\n\n", url)
		return errors.New("exit status 3")
	})
	err := open(context.Background(), "http://x/")
	if err == nil || err.Error() != "system browser: exit status 3 (xdg-open: no method available for opening 'http://x/')" {
		t.Errorf("err = %v, want the opener's status and last line", err)
	}

	dir := t.TempDir()
	script := filepath.Join(dir, "chatty-browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'Running as root without --no-sandbox' >&2\necho stdout-chatter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var cmdOut syncBuffer
	open, _ = Opener(func(k string) string { return map[string]string{"BROWSER": script}[k] }, "linux", &cmdOut, nil)
	if err := open(context.Background(), "http://x/"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(cmdOut.String(), "stdout-chatter"); time.Sleep(10 * time.Millisecond) {
	}
	if got := cmdOut.String(); !strings.Contains(got, "Running as root") || !strings.Contains(got, "stdout-chatter") {
		t.Errorf("$BROWSER's output = %q, want both its streams in the writer given", got)
	}
}

// TestBrowserEnvCommand: $BROWSER is run with the URL as its last argument
// (or in place of %s) and not waited for.
func TestBrowserEnvCommand(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "fake-browser")
	out := filepath.Join(dir, "args")
	body := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + out + ".tmp && mv " + out + ".tmp " + out + "\nsleep 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ browser, want string }{
		{script + " --new-window", "--new-window\nhttp://x/?a=1&b=2\n"},
		{script + " --url=%s --flag", "--url=http://x/?a=1&b=2\n--flag\n"},
	} {
		os.Remove(out)
		open, _ := Opener(func(k string) string {
			if k == "BROWSER" {
				return tt.browser
			}
			return ""
		}, "linux", io.Discard, nil)
		start := time.Now()
		if err := open(context.Background(), "http://x/?a=1&b=2"); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("waited for the browser to exit")
		}
		var got []byte
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b, err := os.ReadFile(out); err == nil {
				got = b
				break
			}
		}
		if string(got) != tt.want {
			t.Errorf("BROWSER=%q got args %q, want %q", tt.browser, got, tt.want)
		}
	}
	open, _ := Opener(func(k string) string {
		if k == "BROWSER" {
			return filepath.Join(dir, "missing")
		}
		return ""
	}, "linux", io.Discard, nil)
	if err := open(context.Background(), "http://x/"); err == nil || !strings.Contains(err.Error(), "$BROWSER") {
		t.Errorf("missing $BROWSER: %v", err)
	}
}

// TestDeviceClientSecret: a client with a secret authenticates at the
// device authorization endpoint the way it does at the token endpoint.
func TestDeviceClientSecret(t *testing.T) {
	for _, tt := range []struct {
		name  string
		style oauth2.AuthStyle
		want  string
	}{
		{"form body", oauth2.AuthStyleInParams, "post s3cr:t"},
		// Form-encoded before the Basic encoding (RFC 6749 §2.3.1).
		{"Basic header", oauth2.AuthStyleInHeader, "basic cli:s3cr%3At"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			o := f.options()
			o.OAuth2.ClientSecret = "s3cr:t"
			o.OAuth2.Endpoint.AuthStyle = tt.style
			if _, err := Device(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			got := f.deviceAuth
			f.mu.Unlock()
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("device authorization requests authenticated as %q, want [%q]", got, tt.want)
			}
		})
	}
	f := newFakeIdP(t)
	if _, err := Device(context.Background(), f.options()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := f.deviceAuth; len(got) != 1 || got[0] != "none" {
		t.Errorf("a public client authenticated as %q, want [none]", got)
	}
}

// The addresses and the code a device sign-in shows come from the
// provider: an address that would show one place and open another (an
// OSC 8 link), or send the person over plain http elsewhere, is refused;
// the code is shown without control characters.
func TestDeviceShowsOnlyPrintableSafeText(t *testing.T) {
	tests := []struct {
		name    string
		fields  func(base string) map[string]any
		wantErr string
		shown   string
	}{
		{
			name: "OSC 8 link in verification_uri",
			fields: func(b string) map[string]any {
				return map[string]any{"verification_uri": "\x1b]8;;https://evil.example/\x07" + b + "/activate\x1b]8;;\x07"}
			},
			wantErr: "verification_uri",
		},
		{
			name: "8-bit CSI in verification_uri_complete",
			fields: func(b string) map[string]any {
				return map[string]any{"verification_uri_complete": b + "/activate?user_code=\u009b2J"}
			},
			wantErr: "verification_uri_complete",
		},
		{
			name: "plain http elsewhere",
			fields: func(string) map[string]any {
				return map[string]any{"verification_uri": "http://idp.example.test/activate"}
			},
			wantErr: "verification_uri http://idp.example.test/activate: plain http",
		},
		{
			name: "escape sequences in the user code",
			fields: func(string) map[string]any {
				return map[string]any{"user_code": "\x1b[2J\x1b]0;title\x07WDJB\u009b-MJHT"}
			},
			shown: "and enter the code:  [2J]0;titleWDJB-MJHT\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIdP(t)
			f.deviceFields = tt.fields(f.srv.URL)
			o := f.options()
			var stderr syncBuffer
			o.Stderr = &stderr
			_, err := Device(context.Background(), o)
			out := stderr.String()
			if strings.ContainsAny(out, "\x1b\x07\u009b") {
				t.Errorf("stderr holds a control character: %q", out)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.ContainsAny(err.Error(), "\x1b\x07\u009b") {
					t.Fatalf("err = %q, want a printable one naming %q", err, tt.wantErr)
				}
				if f.polls != 0 || out != "" {
					t.Errorf("after a refused answer: %d polls, stderr %q", f.polls, out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tt.shown) {
				t.Errorf("stderr lacks %q:\n%s", tt.shown, out)
			}
		})
	}
}

// TestDeviceDPoP: the device flow's token request carries a proof too, so
// the provider binds the tokens.
func TestDeviceDPoP(t *testing.T) {
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeIdP(t)
	f.dpop = true
	o := f.options()
	o.DPoP = key
	res, err := Device(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.TokenType != "DPoP" {
		t.Errorf("token type %q; want DPoP", res.Token.TokenType)
	}
	if jkt, err := proofKey(f.proofs[len(f.proofs)-1]); err != nil || jkt != key.Thumbprint() {
		t.Errorf("the device token request's proof: %v, key %s", err, jkt)
	}
}

func TestDeviceWaitingLine(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		expiry time.Time
		want   string
	}{
		{now.Add(10 * time.Minute), "Waiting for you to approve (the code expires in 10m0s; Ctrl-C to cancel)…"},
		{now.Add(90*time.Second + 400*time.Millisecond), "Waiting for you to approve (the code expires in 1m30s; Ctrl-C to cancel)…"},
		{time.Time{}, "Waiting for you to approve (Ctrl-C to cancel)…"},
	}
	for _, tt := range tests {
		if got := deviceWaitingLine(tt.expiry, now); got != tt.want {
			t.Errorf("deviceWaitingLine(%v) = %q, want %q", tt.expiry, got, tt.want)
		}
	}
}
