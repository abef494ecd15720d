package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/dpop"
)

func TestBrowserLoginSucceeds(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	var stderr syncBuffer
	o.Stderr = &stderr
	var authURL string
	open := f.browser(nil)
	o.Open = func(ctx context.Context, u string) error { authURL = u; return open(ctx, u) }

	res, err := Browser(context.Background(), o)
	if err != nil {
		t.Fatalf("Browser: %v\nstderr:\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(res.Token.AccessToken, "at-") || !strings.HasPrefix(res.Token.RefreshToken, "rt-") {
		t.Errorf("token %+v", res.Token)
	}
	if res.IDToken == "" || res.Claims.Subject != "alice" || res.Claims.Email != "alice@example.test" || !res.Claims.EmailVerified {
		t.Errorf("ID token %q claims %+v", res.IDToken, res.Claims)
	}
	q := mustQuery(t, authURL)
	ru, _ := url.Parse(q.Get("redirect_uri"))
	if ru.Hostname() != "127.0.0.1" || ru.Path != "/callback" || ru.Port() == "0" {
		t.Errorf("redirect_uri %s", ru)
	}
	for k, want := range map[string]string{"prompt": "consent", "code_challenge_method": "S256", "response_type": "code", "client_id": "cli"} {
		if q.Get(k) != want {
			t.Errorf("auth URL %s=%q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("nonce") == "" || len(q.Get("state")) < 20 {
		t.Errorf("auth URL lacks a random nonce or state: %s", authURL)
	}
	if !strings.Contains(stderr.String(), "Opening your browser… if it does not open, visit:\n  "+authURL+"\n") {
		t.Errorf("URL not printed on stderr:\n%s", stderr.String())
	}
	assertPortFree(t, ru.Port())
}

func TestAuthorizationParameters(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		prompt string
		maxAge time.Duration
		acr    []string
		want   url.Values // "" means absent
		// noOfflineConsent sets Options.NoOfflineConsent
		noOfflineConsent bool
	}{
		{"offline asks consent", []string{"openid", "offline_access"}, "", 0, nil, url.Values{"prompt": {"consent"}}, false},
		{"no offline, no prompt", []string{"openid"}, "", 0, nil, url.Values{"prompt": {""}}, false},
		{"step-up with offline", []string{"openid", "offline_access"}, "login", 5 * time.Minute, []string{"urn:mfa", "phr"},
			url.Values{"prompt": {"login consent"}, "max_age": {"300"}, "acr_values": {"urn:mfa phr"}}, false},
		{"prompt none stays none", []string{"offline_access"}, "none", 0, nil, url.Values{"prompt": {"none"}}, false},
		{"consent not doubled", []string{"offline_access"}, "consent", 0, nil, url.Values{"prompt": {"consent"}}, false},
		{"offline without forced consent", []string{"openid", "offline_access"}, "", 0, nil, url.Values{"prompt": {""}}, true},
		{"step-up without forced consent", []string{"offline_access"}, "login", 0, nil, url.Values{"prompt": {"login"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Prompt: tt.prompt, MaxAge: tt.maxAge, ACRValues: tt.acr, NoOfflineConsent: tt.noOfflineConsent}
			o.OAuth2.Scopes = tt.scopes
			q := mustQuery(t, o.OAuth2.AuthCodeURL("s", o.requestOptions()...))
			for k, v := range tt.want {
				if q.Get(k) != v[0] {
					t.Errorf("%s=%q, want %q", k, q.Get(k), v[0])
				}
			}
		})
	}
}

// TestBrowserFailsBeforeExchange: a foreign or missing issuer in the
// login's own response ends the login with no code exchanged.
func TestBrowserFailsBeforeExchange(t *testing.T) {
	tests := []struct {
		name string
		edit func(url.Values)
		want error
	}{
		{"foreign iss", func(q url.Values) { q.Set("iss", "https://evil.example") }, ErrIssuerMismatch},
		{"missing iss", func(q url.Values) { q.Del("iss") }, ErrIssuerMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			o := f.options()
			o.Open = f.browser(tt.edit)
			res, err := Browser(context.Background(), o)
			if !errors.Is(err, tt.want) || res != nil {
				t.Fatalf("got %v, %v; want %v", res, err, tt.want)
			}
			if n := f.exchangeCount(); n != 0 {
				t.Errorf("%d code exchanges, want 0", n)
			}
		})
	}
}

// TestForgedCallbackDoesNotEndLogin: while the login waits, a local
// process sends callbacks with a wrong or no state, with the right state
// to another host name, and a forged error; each is refused with a page,
// none ends the login, and the browser's real response then completes it.
// Only that response's code is exchanged.
func TestForgedCallbackDoesNotEndLogin(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	var stderr syncBuffer
	o.Stderr = &stderr
	open := f.browser(nil)
	var statuses []int
	o.Open = func(ctx context.Context, u string) error {
		state := mustQuery(t, u).Get("state")
		cb, _ := url.Parse(mustQuery(t, u).Get("redirect_uri"))
		forge := func(host string, q url.Values) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cb.String()+"?"+q.Encode(), nil)
			if host != "" {
				req.Host = host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("forged request: %v", err)
				return
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		forge("", url.Values{"code": {"forged-1"}, "state": {"forged"}})
		forge("", url.Values{"code": {"forged-2"}})
		forge("", url.Values{"error": {"access_denied"}, "state": {state + "x"}})
		forge("rebound.example:"+cb.Port(), url.Values{"code": {"forged-3"}, "state": {state}, "iss": {f.issuer}})
		return open(ctx, u)
	}
	res, err := Browser(context.Background(), o)
	if err != nil {
		t.Fatalf("Browser: %v\nstderr:\n%s", err, stderr.String())
	}
	if res.Claims.Subject != "alice" {
		t.Errorf("claims %+v", res.Claims)
	}
	if want := []int{400, 400, 400, 400}; fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("forged requests answered %v, want %v", statuses, want)
	}
	if n := f.exchangeCount(); n != 1 {
		t.Errorf("%d code exchanges, want 1", n)
	}
	if n := strings.Count(stderr.String(), "Ignored a redirect that does not belong to this sign-in"); n != 1 {
		t.Errorf("stderr tells %d times of an ignored redirect, want 1:\n%s", n, stderr.String())
	}
}

func TestBrowserProviderErrorIsTyped(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	o.Open = f.browser(func(q url.Values) {
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", "End-User aborted interaction")
	})
	_, err := Browser(context.Background(), o)
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Code != "access_denied" || pe.Description != "End-User aborted interaction" {
		t.Fatalf("got %v, want a ProviderError access_denied", err)
	}
}

func TestBrowserIgnoresStrayRequests(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	open := f.browser(nil)
	var stray int
	o.Open = func(ctx context.Context, u string) error {
		base, _ := url.Parse(mustQuery(t, u).Get("redirect_uri"))
		for _, p := range []string{"/favicon.ico", "/robots.txt"} {
			resp, err := http.Get("http://" + base.Host + p)
			if err != nil {
				return err
			}
			resp.Body.Close()
			stray = resp.StatusCode
		}
		return open(ctx, u)
	}
	if _, err := Browser(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if stray != http.StatusNotFound {
		t.Errorf("stray request got %d, want 404", stray)
	}
}

func TestTokenEndpointErrorHidesTheCode(t *testing.T) {
	f := newFakeIdP(t)
	f.tokenError = "invalid_grant"
	_, err := Browser(context.Background(), f.options())
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Code != "invalid_grant" {
		t.Fatalf("got %v, want invalid_grant", err)
	}
	if strings.Contains(err.Error(), "code-") {
		t.Errorf("error shows the code: %v", err)
	}
}

func TestIDTokenChecks(t *testing.T) {
	tests := []struct {
		name  string
		fault func(*fakeIdP)
		want  string
	}{
		{"wrong nonce", func(f *fakeIdP) { f.wrongNonce = true }, "nonce"},
		{"bad signature", func(f *fakeIdP) { f.signWithRogue = true }, "signature"},
		{"expired", func(f *fakeIdP) { f.idTokenTTL = -time.Hour }, "expired"},
		{"missing", func(f *fakeIdP) { f.noIDToken = true }, "returned none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			tt.fault(f)
			res, err := Browser(context.Background(), f.options())
			if !errors.Is(err, ErrIDToken) || res != nil {
				t.Fatalf("got %v, %v; want ErrIDToken", res, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestMultiTenantIssuer: with a multi-tenant issuer template (Microsoft
// Entra ID's /common), the ID token's iss must be the template with the
// token's own tid in it; the authorization response's iss may name any
// tenant.
func TestMultiTenantIssuer(t *testing.T) {
	tests := []struct {
		name    string
		tid     string
		wantErr string
	}{
		{"iss is the template with the token's tid", "T1", ""},
		{"iss of another tenant than the token's tid", "T2", "not " + "%s/T2/v2.0"},
		{"no tid claim", "", "no usable tid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.issuer = f.srv.URL + "/T1/v2.0" // in the ID token and the iss parameter
			f.tid = tt.tid
			o := f.options()
			o.Issuer = f.srv.URL + "/{tenantid}/v2.0"
			res, err := Browser(context.Background(), o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Claims.Issuer != f.issuer {
					t.Errorf("issuer claim %q, want %q", res.Claims.Issuer, f.issuer)
				}
				return
			}
			want := tt.wantErr
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, f.srv.URL)
			}
			if !errors.Is(err, ErrIDToken) || res != nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, %v; want ErrIDToken containing %q", res, err, want)
			}
		})
	}
	// The same template refuses an authorization response from another host.
	f := newFakeIdP(t)
	f.issuer = "https://evil.example/T1/v2.0"
	o := f.options()
	o.Issuer = f.srv.URL + "/{tenantid}/v2.0"
	if _, err := Browser(context.Background(), o); !errors.Is(err, ErrIssuerMismatch) {
		t.Errorf("iss from another host: got %v, want ErrIssuerMismatch", err)
	}
}

// TestNoRefreshTokenStillLogsIn: a provider that drops offline_access
// still gives a working login; the caller warns about it.
func TestNoRefreshTokenStillLogsIn(t *testing.T) {
	f := newFakeIdP(t)
	f.noRefresh = true
	res, err := Browser(context.Background(), f.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.RefreshToken != "" || res.Token.AccessToken == "" {
		t.Errorf("token %+v", res.Token)
	}
}

func TestBusyPortIsNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	f := newFakeIdP(t)
	o := f.options()
	o.Port = port
	_, err = Browser(context.Background(), o)
	var pb *PortBusyError
	if !errors.Is(err, ErrPortBusy) || !errors.As(err, &pb) || pb.Port != port {
		t.Fatalf("got %v, want port %d busy", err, port)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error %q does not name port %d", err, port)
	}
}

func TestTimeoutRepeatsURLAndFreesPort(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	o.Port = freePort(t)
	o.Timeout = 300 * time.Millisecond
	var authURL string
	o.Open = func(_ context.Context, u string) error { authURL = u; return nil }
	// Nobody signs in, so only o.Timeout ends the login; were it ignored,
	// this context would, 30 s on, with another error.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Browser(ctx, o)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "login timed out after 300ms") || !strings.Contains(err.Error(), authURL) {
		t.Errorf("error %q lacks the duration or the URL", err)
	}
	assertPortFree(t, strconv.Itoa(o.Port))
}

func TestCancelReturnsPromptlyAndFreesPort(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	o.Port = freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	o.Open = func(context.Context, string) error {
		time.AfterFunc(50*time.Millisecond, cancel)
		return nil
	}
	// Were the cancel missed, the login would end at o.Timeout (10 s) with
	// ErrTimeout instead.
	_, err := Browser(ctx, o)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertPortFree(t, strconv.Itoa(o.Port))
}

// TestCancelWhileBrowserWaits: Ctrl-C while the browser's request is
// waiting for the exchange still returns and frees the port.
func TestCancelDuringExchange(t *testing.T) {
	f := newFakeIdP(t)
	o := f.options()
	o.Port = freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	slow := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		cancel()
		<-r.Context().Done()
		return nil, r.Context().Err()
	})}
	o.HTTPClient = slow
	_, err := Browser(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertPortFree(t, strconv.Itoa(o.Port))
}

func TestRedirectHosts(t *testing.T) {
	for _, host := range []string{"localhost", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			if host == "[::1]" {
				ln, err := net.Listen("tcp", "[::1]:0")
				if err != nil {
					t.Skip("no IPv6 loopback here:", err)
				}
				ln.Close()
			}
			f := newFakeIdP(t)
			o := f.options()
			o.RedirectHost = host
			o.CallbackPath = "/cb"
			var redirect string
			open := f.browser(nil)
			o.Open = func(ctx context.Context, u string) error {
				redirect = mustQuery(t, u).Get("redirect_uri")
				return open(ctx, u)
			}
			if _, err := Browser(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(redirect, "http://"+host+":") || !strings.HasSuffix(redirect, "/cb") {
				t.Errorf("redirect_uri %s", redirect)
			}
		})
	}
	_, err := Browser(context.Background(), Options{RedirectHost: "0.0.0.0"})
	if !errors.Is(err, ErrBadOptions) {
		t.Errorf("0.0.0.0 accepted: %v", err)
	}
}

// pasteSetup returns options in paste mode and a function that waits for
// the printed URL and types line(url) on stdin.
func pasteSetup(t *testing.T, f *fakeIdP) (Options, *syncBuffer, func(lines ...func(authURL string) string)) {
	t.Helper()
	o := f.options()
	stderr := &syncBuffer{}
	o.Stderr = stderr
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	o.Stdin = pr
	typ := func(lines ...func(string) string) {
		go func() {
			u := waitForAuthURL(t, stderr, f)
			for _, l := range lines {
				if _, err := io.WriteString(pw, l(u)+"\n"); err != nil {
					return
				}
			}
		}()
	}
	return o, stderr, typ
}

func TestPastedRedirect(t *testing.T) {
	t.Run("good after garbage", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, typ := pasteSetup(t, f)
		o.NoBrowser = true
		o.Open = func(context.Context, string) error { t.Error("opened a browser in --no-browser mode"); return nil }
		typ(func(string) string { return "   " }, func(string) string { return "hello" }, func(u string) string {
			r, err := f.authorize(u, nil)
			if err != nil {
				t.Error(err)
			}
			return "  " + r + "  "
		})
		res, err := Browser(context.Background(), o)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if res.Claims.Subject != "alice" {
			t.Errorf("claims %+v", res.Claims)
		}
		out := stderr.String()
		port := mustPort(t, out)
		for _, want := range []string{"That is not the address", fmt.Sprintf("ssh -L %s:127.0.0.1:%s HOST", port, port), "paste it here"} {
			if !strings.Contains(out, want) {
				t.Errorf("stderr lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("wrong state asks again", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, typ := pasteSetup(t, f)
		o.NoBrowser = true
		typ(func(u string) string {
			r, _ := f.authorize(u, func(q url.Values) { q.Set("state", "stale") })
			return r
		}, func(u string) string {
			r, _ := f.authorize(u, nil)
			return r
		})
		if _, err := Browser(context.Background(), o); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if n := f.exchangeCount(); n != 1 {
			t.Errorf("%d code exchanges, want 1 (the second paste's)", n)
		}
		if !strings.Contains(stderr.String(), "That address does not belong to this sign-in") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})
	t.Run("opener fails", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, typ := pasteSetup(t, f)
		o.Open = func(context.Context, string) error { return errors.New("xdg-open: not found") }
		typ(func(u string) string { r, _ := f.authorize(u, nil); return r })
		if _, err := Browser(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr.String(), "Could not open a browser (xdg-open: not found)") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})
	t.Run("no browser here", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, typ := pasteSetup(t, f)
		o.Open, o.NoBrowserReason = nil, "signed in over SSH"
		typ(func(u string) string { r, _ := f.authorize(u, nil); return r })
		if _, err := Browser(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		first := strings.SplitN(stderr.String(), "\n", 2)[0]
		if first != "No browser can be opened here (signed in over SSH), so sign in from any browser and paste the address it ends on here: authctl is waiting for it. Or run again with --device to sign in with a code." {
			t.Errorf("first line %q", first)
		}
	})
	t.Run("browser open, stdin a terminal: a paste is taken", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, typ := pasteSetup(t, f)
		o.StdinIsTerminal = true
		o.Timeout = 30 * time.Second
		o.Open = func(context.Context, string) error { return nil } // a browser that never calls back
		typ(func(u string) string { r, _ := f.authorize(u, nil); return r })
		if _, err := Browser(context.Background(), o); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if !strings.Contains(stderr.String(), "Waiting up to 30s for the sign-in in the browser, or for its address pasted here (Ctrl-C to cancel)…\n") {
			t.Errorf("no waiting line that offers the paste:\n%s", stderr)
		}
	})
	t.Run("browser open, stdin not a terminal: stdin is left alone", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, typ := pasteSetup(t, f)
		o.Timeout = 2 * time.Second
		o.Open = func(context.Context, string) error { return nil }
		typ(func(u string) string { r, _ := f.authorize(u, nil); return r })
		if _, err := Browser(context.Background(), o); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want a timeout: a script's stdin is not read while a browser is open\n%s", err, stderr)
		}
		if !strings.Contains(stderr.String(), "Waiting up to 2s for the sign-in in the browser (Ctrl-C to cancel)…\n") {
			t.Errorf("no waiting line:\n%s", stderr)
		}
	})
	t.Run("callback still wins in no-browser mode", func(t *testing.T) {
		f := newFakeIdP(t)
		o, stderr, _ := pasteSetup(t, f)
		o.NoBrowser = true
		go func() {
			u := waitForAuthURL(t, stderr, f)
			_ = f.browser(nil)(context.Background(), u)
		}()
		if _, err := Browser(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	})
}

func waitForAuthURL(t *testing.T, stderr *syncBuffer, f *fakeIdP) string {
	prefix := "  " + f.srv.URL + "/authorize?"
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(l)
			}
		}
	}
	t.Error("the authorization URL was never printed")
	return ""
}

func mustPort(t *testing.T, stderr string) string {
	i := strings.Index(stderr, "sent to http://")
	if i < 0 {
		t.Fatalf("no redirect URI on stderr:\n%s", stderr)
	}
	u, err := url.Parse(strings.Fields(stderr[i:])[2])
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// assertPortFree binds the port again at once, as a second login would.
func assertPortFree(t *testing.T, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Errorf("port %s still taken after the flow returned: %v", port, err)
		return
	}
	ln.Close()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDPoPLogin: with a DPoP key, the authorization request names its
// thumbprint, the code exchange carries a proof of it, and the provider's
// DPoP-bound token is taken; a provider that answers with a Bearer token
// anyway fails the login.
func TestDPoPLogin(t *testing.T) {
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeIdP(t)
	f.dpop = true
	o := f.options()
	o.DPoP = key
	var authURL string
	open := f.browser(nil)
	o.Open = func(ctx context.Context, u string) error { authURL = u; return open(ctx, u) }
	res, err := Browser(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Token.TokenType != "DPoP" {
		t.Errorf("token type %q", res.Token.TokenType)
	}
	if got := mustQuery(t, authURL).Get("dpop_jkt"); got != key.Thumbprint() {
		t.Errorf("dpop_jkt %q; want %q", got, key.Thumbprint())
	}
	if jkt, err := proofKey(f.proofs[0]); err != nil || jkt != key.Thumbprint() {
		t.Errorf("the code exchange's proof: %v, key %s", err, jkt)
	}

	f.dpop = false // answers Bearer
	if _, err := Browser(context.Background(), o); !errors.Is(err, ErrNotBound) {
		t.Errorf("a Bearer token for a DPoP login: %v; want ErrNotBound", err)
	}
}

// TestAuthenticationChecks: the ID token's acr must be one of those asked
// for, and its auth_time within max_age (with a minute's leeway).
func TestAuthenticationChecks(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		acr      string
		authTime time.Time
		asked    []string
		maxAge   time.Duration
		want     string // "" for success
	}{
		{"acr asked and given", "urn:mfa", now, []string{"urn:pwd", "urn:mfa"}, 0, ""},
		{"acr asked, another given", "urn:pwd", now, []string{"urn:mfa"}, 0, "acr urn:pwd, not urn:mfa"},
		{"acr asked, none given", "", now, []string{"urn:mfa"}, 0, "no acr"},
		{"nothing asked", "", time.Time{}, nil, 0, ""},
		{"fresh enough", "", now.Add(-5 * time.Minute), nil, 5 * time.Minute, ""},
		{"too old", "", now.Add(-time.Hour), nil, 5 * time.Minute, "more than the max_age of 5m0s"},
		{"max_age without auth_time", "", time.Time{}, nil, 5 * time.Minute, "no auth_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.acr, f.authTime = tt.acr, tt.authTime
			o := f.options()
			o.ACRValues, o.MaxAge = tt.asked, tt.maxAge
			res, err := Browser(context.Background(), o)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Claims.ACR != tt.acr {
					t.Errorf("acr %q", res.Claims.ACR)
				}
				return
			}
			if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v; want ErrAuthentication saying %q", err, tt.want)
			}
		})
	}
}
