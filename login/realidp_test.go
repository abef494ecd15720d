package login_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
	"github.com/authctl/authctl/login"
)

// These tests run the flows against the real test provider
// (node-oidc-provider in testdata/idp), with the headless test browser
// playing the user. They skip when the provider cannot run here, and
// fail instead when AUTHCTL_TEST_REQUIRE_REAL=1.

// realOptions discovers the provider as authctl's cmd does and returns
// login options for it.
func realOptions(t *testing.T, idp *testidp.IdP, stderr io.Writer) login.Options {
	t.Helper()
	resp, err := http.Get(idp.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		JWKSURI       string `json:"jwks_uri"`
		IssSupported  bool   `json:"authorization_response_iss_parameter_supported"`
		DeviceAuthURL string `json:"device_authorization_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if !d.IssSupported || d.JWKSURI == "" {
		t.Fatalf("discovery lacks iss support or jwks_uri: %+v", d)
	}
	return login.Options{
		OAuth2:                idp.Config(),
		Issuer:                idp.Issuer,
		IssParameterSupported: d.IssSupported,
		JWKSURL:               d.JWKSURI,
		Timeout:               time.Minute,
		Stderr:                stderr,
	}
}

func TestRealProviderBrowserLogin(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	ctx := context.Background()

	t.Run("loopback", func(t *testing.T) {
		var stderr syncBuffer
		o := realOptions(t, idp, &stderr)
		pages := make(chan testbrowser.Result, 1)
		o.Open = func(ctx context.Context, u string) error {
			page, err := testbrowser.Visit(ctx, nil, u, testbrowser.Follow)
			pages <- page
			return err
		}
		res, err := login.Browser(ctx, o)
		if err != nil {
			t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
		}
		if res.Token.AccessToken == "" || res.Token.RefreshToken == "" || res.Token.Expiry.IsZero() {
			t.Errorf("token lacks access token, refresh token or expiry (refresh %v)", res.Token.RefreshToken != "")
		}
		if res.Claims.Subject != testidp.Subject || res.Claims.Issuer != idp.Issuer || res.IDToken == "" {
			t.Errorf("claims %+v", res.Claims)
		}
		page := <-pages
		if page.Status != 200 || !strings.Contains(page.Text, "Return to your terminal") {
			t.Errorf("browser page %d %q", page.Status, page.Text)
		}
		assertUserinfo(t, idp, res.Token.AccessToken)
	})

	t.Run("pasted URL, no callback", func(t *testing.T) {
		var stderr syncBuffer
		o := realOptions(t, idp, &stderr)
		o.NoBrowser = true
		pr, pw := io.Pipe()
		defer pw.Close()
		o.Stdin = pr
		go func() {
			u := waitForLine(t, &stderr, "  "+idp.Issuer+"/auth?")
			r, err := testbrowser.Visit(ctx, nil, u, testbrowser.Print)
			if err != nil || r.Callback == nil {
				t.Errorf("print-mode visit: %v, %+v", err, r)
				return
			}
			io.WriteString(pw, r.Callback.String()+"\n")
		}()
		res, err := login.Browser(ctx, o)
		if err != nil {
			t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
		}
		if res.Claims.Subject != testidp.Subject || res.Token.RefreshToken == "" {
			t.Errorf("claims %+v, refresh token %v", res.Claims, res.Token.RefreshToken != "")
		}
		if !strings.Contains(stderr.String(), "ssh -L ") {
			t.Errorf("no ssh -L line:\n%s", stderr.String())
		}
	})

	// A response with another state is refused with a page and the login
	// waits on: the browser's real response then completes it, and only
	// that code is exchanged.
	t.Run(string(testbrowser.ForgeState), func(t *testing.T) {
		if err := idp.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		o := realOptions(t, idp, &stderr)
		forged := make(chan testbrowser.Result, 1)
		o.Open = func(ctx context.Context, u string) error {
			page, err := testbrowser.Visit(ctx, nil, u, testbrowser.ForgeState)
			forged <- page
			if err != nil {
				return err
			}
			_, err = testbrowser.Visit(ctx, nil, u, testbrowser.Follow)
			return err
		}
		res, err := login.Browser(ctx, o)
		if err != nil {
			t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
		}
		if res.Claims.Subject != testidp.Subject {
			t.Errorf("claims %+v", res.Claims)
		}
		if page := <-forged; page.Status != 400 || !strings.Contains(page.Text, "does not belong") {
			t.Errorf("forged callback: page %d %q", page.Status, page.Text)
		}
		st, err := idp.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.AuthorizationCode != 1 {
			t.Errorf("%d code exchanges reached the provider, want 1", st.AuthorizationCode)
		}
	})

	refused := []struct {
		mode testbrowser.Mode
		want error
	}{
		{testbrowser.ForeignIss, login.ErrIssuerMismatch},
		{testbrowser.DropIss, login.ErrIssuerMismatch},
		{testbrowser.Deny, &login.ProviderError{Code: "access_denied"}},
	}
	for _, tt := range refused {
		t.Run(string(tt.mode), func(t *testing.T) {
			if err := idp.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			o := realOptions(t, idp, io.Discard)
			o.Open = func(ctx context.Context, u string) error {
				_, err := testbrowser.Visit(ctx, nil, u, tt.mode)
				return err
			}
			res, err := login.Browser(ctx, o)
			var pe *login.ProviderError
			if want, ok := tt.want.(*login.ProviderError); ok {
				if !errors.As(err, &pe) || pe.Code != want.Code {
					t.Fatalf("got %v, want provider error %s", err, want.Code)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if res != nil {
				t.Error("a result came back with the error")
			}
			st, err := idp.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.AuthorizationCode != 0 {
				t.Errorf("%d code exchanges reached the provider, want 0", st.AuthorizationCode)
			}
		})
	}
}

func TestRealProviderDeviceLogin(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	ctx := context.Background()
	var stderr syncBuffer
	o := realOptions(t, idp, &stderr)
	go func() {
		u := waitForLine(t, &stderr, "  "+idp.Issuer+"/device?user_code=")
		if u == "" {
			u = waitForLine(t, &stderr, "  "+idp.Issuer+"/device")
		}
		if err := testbrowser.ApproveDevice(ctx, nil, u); err != nil {
			t.Errorf("approve: %v", err)
		}
	}()
	res, err := login.Device(ctx, o)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	if res.Claims.Subject != testidp.Subject || res.Token.AccessToken == "" {
		t.Errorf("claims %+v", res.Claims)
	}
	if res.Token.RefreshToken == "" {
		t.Errorf("no refresh token from the device flow; stderr:\n%s", stderr.String())
	}
	assertUserinfo(t, idp, res.Token.AccessToken)
}

// assertUserinfo proves the access token works where it is meant to.
func assertUserinfo(t *testing.T, idp *testidp.IdP, accessToken string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, idp.UserinfoURL(), nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ui struct {
		Sub string `json:"sub"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ui); err != nil || resp.StatusCode != 200 || ui.Sub != testidp.Subject {
		t.Errorf("userinfo: %d %+v %v", resp.StatusCode, ui, err)
	}
}

// waitForLine waits for a stderr line starting with prefix and returns it
// trimmed, or "" after 10 s.
func waitForLine(t *testing.T, stderr *syncBuffer, prefix string) string {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(l)
			}
		}
	}
	t.Errorf("no line starting %q on stderr:\n%s", prefix, stderr.String())
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
