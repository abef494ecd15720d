package testbrowser_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
)

// callbackListener serves /callback on a free loopback port and hands over
// each query it receives.
func callbackListener(t *testing.T) (redirectURL string, got <-chan url.Values) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan url.Values, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- r.URL.Query()
		w.Write([]byte("<p>Login complete.</p>"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/callback", ch
}

func authURL(cfg *oauth2.Config, state string) string {
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("prompt", "consent"))
}

func TestRealProviderLoginDeliversCodeWithStateAndIss(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config()
	var got <-chan url.Values
	cfg.RedirectURL, got = callbackListener(t)
	res, err := testbrowser.Visit(context.Background(), nil, authURL(&cfg, "st-1"), testbrowser.Follow)
	if err != nil {
		t.Fatal(err)
	}
	if res.Callback == nil || res.Status != 200 || res.Text != "Login complete." {
		t.Errorf("result = %+v, want the callback page", res)
	}
	select {
	case q := <-got:
		if q.Get("code") == "" || q.Get("state") != "st-1" || q.Get("iss") != idp.Issuer {
			t.Errorf("callback query keys %v state %q iss %q, want a code, st-1 and the issuer", keys(q), q.Get("state"), q.Get("iss"))
		}
	default:
		t.Fatal("no callback received")
	}
}

func TestRealProviderDenyGivesAccessDenied(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config()
	var got <-chan url.Values
	cfg.RedirectURL, got = callbackListener(t)
	if _, err := testbrowser.Visit(context.Background(), nil, authURL(&cfg, "st-2"), testbrowser.Deny); err != nil {
		t.Fatal(err)
	}
	select {
	case q := <-got:
		if q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != "st-2" || q.Get("iss") != idp.Issuer {
			t.Errorf("callback query %v, want error=access_denied with state and iss", q)
		}
	default:
		t.Fatal("no callback received")
	}
}

func TestRealProviderMainPrintsCallbackURLWithoutCallingIt(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config()
	var got <-chan url.Values
	cfg.RedirectURL, got = callbackListener(t)
	out := filepath.Join(t.TempDir(), "callback-url")
	t.Setenv("TESTBROWSER_MODE", "print")
	t.Setenv("TESTBROWSER_OUT", out)
	var stdout, stderr strings.Builder
	if code := testbrowser.Main([]string{authURL(&cfg, "st-3")}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(strings.TrimSpace(string(b)))
	if err != nil || !strings.HasPrefix(u.String(), cfg.RedirectURL+"?") || u.Query().Get("code") == "" || u.Query().Get("state") != "st-3" {
		t.Errorf("printed %q, want the callback URL with a code", b)
	}
	select {
	case q := <-got:
		t.Errorf("callback called with %v in print mode", keys(q))
	case <-time.After(100 * time.Millisecond):
	}
}

func TestLoginGetsRefreshTokenAndUserinfoWorks(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config("openid", "offline_access", "email", "profile")
	tok, err := testbrowser.Login(context.Background(), cfg, idp.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatalf("token has access %t refresh %t id %t, want all three", tok.AccessToken != "", tok.RefreshToken != "", tok.Extra("id_token") != nil)
	}
	claims := userinfo(t, idp, tok.AccessToken)
	if claims["sub"] != testidp.Subject || claims["email"] != testidp.Email || claims["name"] != testidp.Name {
		t.Errorf("userinfo = %v, want alice's claims", claims)
	}
}

func TestApproveDeviceAgainstRealProvider(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := testbrowser.ApproveDevice(ctx, nil, da.VerificationURIComplete); err != nil {
		t.Fatal(err)
	}
	da.Interval = 1
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Error("device login gave no refresh token")
	}
}

func TestMainDeviceModeAgainstRealProvider(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TESTBROWSER_MODE", "")
	var stdout, stderr strings.Builder
	if code := testbrowser.Main([]string{"device", da.VerificationURIComplete}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	da.Interval = 1
	if _, err := cfg.DeviceAccessToken(ctx, da); err != nil {
		t.Fatal(err)
	}
}

func TestDenyModeRefusesARealDeviceLogin(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg := idp.Config()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testbrowser.Visit(ctx, nil, da.VerificationURIComplete, testbrowser.Deny); err != nil {
		t.Fatal(err)
	}
	da.Interval = 1
	_, err = cfg.DeviceAccessToken(ctx, da)
	var re *oauth2.RetrieveError
	if !errorsAs(err, &re) || re.ErrorCode != "access_denied" {
		t.Errorf("device token after deny: %v, want access_denied", err)
	}
}

func userinfo(t *testing.T, idp *testidp.IdP, access string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, idp.UserinfoURL(), nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("userinfo: %s", resp.Status)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(q url.Values) []string {
	var k []string
	for key := range q {
		k = append(k, key)
	}
	return k
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
