package rogueidp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// client trusts p's CA and follows no redirects.
func client(t *testing.T, p *IdP) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CAPEM) {
		t.Fatal("no CA certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func start(t *testing.T) (*IdP, *http.Client, *oauth2.Config, context.Context) {
	t.Helper()
	p, err := Start(Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := client(t, p)
	conf := &oauth2.Config{
		ClientID: "cli", RedirectURL: "http://127.0.0.1:9/callback", Scopes: []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: p.Issuer + "/authorize", TokenURL: p.Issuer + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	return p, c, conf, context.WithValue(context.Background(), oauth2.HTTPClient, c)
}

// authorize returns the code the authorization endpoint redirects back with.
func authorize(t *testing.T, p *IdP, c *http.Client, conf *oauth2.Config, verifier string) string {
	t.Helper()
	resp, err := c.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != "st" || loc.Query().Get("iss") != p.Issuer {
		t.Fatalf("redirect %q", resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// A login and refreshes work as at a real provider: PKCE is checked, a
// code works once, refresh tokens rotate and an old one is refused.
func TestBehaves(t *testing.T) {
	p, c, conf, ctx := start(t)
	verifier := oauth2.GenerateVerifier()
	if _, err := conf.Exchange(ctx, authorize(t, p, c, conf, verifier), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("a wrong PKCE verifier was accepted")
	}
	code := authorize(t, p, c, conf, verifier)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.Extra("id_token").(string); !ok || tok.RefreshToken != p.RefreshToken() {
		t.Fatalf("token %+v", tok)
	}
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("a code was accepted twice")
	}
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v, %v", fresh, err)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("reused refresh token: %v, want invalid_grant", err)
	}
	if n := p.Count("refresh_token"); n != 2 {
		t.Errorf("refresh_token count %d, want 2", n)
	}
}

// A padded answer is exactly the size asked for, and still JSON.
func TestPadding(t *testing.T) {
	p, c, conf, _ := start(t)
	if err := p.Set("token-bytes", "100000"); err != nil {
		t.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {"cli"}, "redirect_uri": {conf.RedirectURL},
		"code": {authorize(t, p, c, conf, verifier)}, "code_verifier": {verifier}}
	resp, err := c.PostForm(p.Issuer+"/token", v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) != 100000 || json.Unmarshal(b, &m) != nil || m["access_token"] == nil {
		t.Errorf("answer of %d bytes, JSON error %v", len(b), json.Unmarshal(b, &m))
	}
}

func TestSetRefusesUnknownKnobs(t *testing.T) {
	p, _, _, _ := start(t)
	for _, k := range []string{"tokenbytes", "token-bytes=1"} {
		if err := p.Set(k, "1"); err == nil || !strings.Contains(err.Error(), "unknown knob") {
			t.Errorf("Set(%q): %v", k, err)
		}
	}
	if err := p.Set("token-bytes", "many"); err == nil {
		t.Error("a size that is not a number was accepted")
	}
}
