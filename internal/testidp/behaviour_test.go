package testidp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
)

// These tests pin the provider behaviours that authctl's tests rely on
// (facts.md): if a provider upgrade changes one, they say which.

func login(t *testing.T, idp *testidp.IdP) (oauth2.Config, *oauth2.Token) {
	t.Helper()
	cfg := idp.Config()
	tok, err := testbrowser.Login(context.Background(), cfg, idp.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("login gave no refresh token (offline_access not granted?)")
	}
	return cfg, tok
}

func refresh(cfg oauth2.Config, rt string) (*oauth2.Token, error) {
	return cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
}

func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

func TestRefreshTokensRotateAndReuseRevokesTheGrant(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg, tok := login(t, idp)
	if err := idp.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	next, err := refresh(cfg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	if _, err := refresh(cfg, tok.RefreshToken); !isInvalidGrant(err) {
		t.Fatalf("reusing the old refresh token: %v, want invalid_grant", err)
	}
	if _, err := refresh(cfg, next.RefreshToken); !isInvalidGrant(err) {
		t.Errorf("newest refresh token after reuse: %v, want invalid_grant (grant revoked)", err)
	}
	s, err := idp.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.RefreshToken != 3 || s.TokenErrors != 2 {
		t.Errorf("stats = %+v, want 3 refresh requests, 2 failed (AuthStyleInParams sends each once)", s)
	}
}

func TestAccessTTLExpiresTokensAtUserinfoWithoutTolerance(t *testing.T) {
	// Five seconds: long enough that a loaded machine still asks userinfo
	// while the token is fresh, short enough to wait for.
	idp := testidp.StartT(t, testidp.Options{AccessTTL: 5 * time.Second})
	_, tok := login(t, idp)
	if d := time.Until(tok.Expiry); d > 6*time.Second {
		t.Errorf("token expires in %v, want about 5s", d)
	}
	if code := userinfoStatus(t, idp, tok.AccessToken); code != http.StatusOK {
		t.Fatalf("fresh token at userinfo: %d, want 200", code)
	}
	time.Sleep(time.Until(tok.Expiry) + 1100*time.Millisecond)
	if code := userinfoStatus(t, idp, tok.AccessToken); code != http.StatusUnauthorized {
		t.Errorf("expired token at userinfo: %d, want 401 (clockTolerance 0)", code)
	}
}

func TestRevokingTheAccessTokenKillsTheRefreshToken(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	cfg, tok := login(t, idp)
	resp, err := http.PostForm(idp.RevocationURL(), url.Values{"token": {tok.AccessToken}, "client_id": {testidp.ClientID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %s", resp.Status)
	}
	if _, err := refresh(cfg, tok.RefreshToken); !isInvalidGrant(err) {
		t.Errorf("refresh after revoking the access token: %v, want invalid_grant", err)
	}
}

func TestPublicClientsIntrospectOnlyTheirOwnTokens(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	_, tok := login(t, idp)
	for _, tc := range []struct {
		client string
		active bool
	}{{testidp.ClientID, true}, {testidp.OtherClientID, false}} {
		resp, err := http.PostForm(idp.IntrospectionURL(), url.Values{"token": {tok.AccessToken}, "client_id": {tc.client}})
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Active bool   `json:"active"`
			Sub    string `json:"sub"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || body.Active != tc.active {
			t.Errorf("introspection by %s: %s active=%t err=%v, want active=%t", tc.client, resp.Status, body.Active, err, tc.active)
		}
	}
}

func userinfoStatus(t *testing.T, idp *testidp.IdP, access string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, idp.UserinfoURL(), nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("401 without invalid_token: %q", resp.Header.Get("WWW-Authenticate"))
	}
	return resp.StatusCode
}
