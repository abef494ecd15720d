package testidp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/internal/testidp"
)

// waitStats polls the provider's counts until ok accepts them.
func waitStats(t *testing.T, idp *testidp.IdP, ok func(testidp.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := idp.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v not reached within 30s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSlowRefreshRotatesAndAnswersOnRelease: a held refresh answer has
// already rotated the refresh token (reusing the old one fails), and it
// comes on Release with the new one.
func TestSlowRefreshRotatesAndAnswersOnRelease(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	ctx := context.Background()
	cfg, tok := login(t, idp)
	if err := idp.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := idp.SlowRefresh(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	held := make(chan result, 1)
	go func() {
		next, err := refresh(cfg, tok.RefreshToken)
		held <- result{next, err}
	}()
	waitStats(t, idp, func(s testidp.Stats) bool { return s.RefreshToken == 1 && s.HeldRefresh == 1 })
	select {
	case r := <-held:
		t.Fatalf("refresh answered while held: %v", r.err)
	default:
	}
	if err := idp.Release(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-held
	if r.err != nil || r.tok.RefreshToken == "" || r.tok.RefreshToken == tok.RefreshToken {
		t.Fatalf("held refresh: %v; want a rotated refresh token", r.err)
	}
	if err := idp.SlowRefresh(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(cfg, r.tok.RefreshToken); err != nil {
		t.Errorf("refresh after SlowRefresh(0): %v", err)
	}
}

// TestSlowJWKSAnswersOnRelease: a held JWKS request is counted at once and
// answered on Release.
func TestSlowJWKSAnswersOnRelease(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	ctx := context.Background()
	if err := idp.SlowJWKS(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() {
		resp, err := http.Get(idp.Issuer + "/jwks")
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	waitStats(t, idp, func(s testidp.Stats) bool { return s.JWKS == 1 && s.HeldJWKS == 1 })
	select {
	case err := <-held:
		t.Fatalf("JWKS answered while held: %v", err)
	default:
	}
	if err := idp.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// TestTamperIDToken: refreshed ID tokens fail their signature check, or
// pass it naming another subject, as asked.
func TestTamperIDToken(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	ctx := context.Background()
	cfg, tok := login(t, idp)
	verifier := oidc.NewVerifier(idp.Issuer, oidc.NewRemoteKeySet(ctx, idp.Issuer+"/jwks"), &oidc.Config{ClientID: testidp.ClientID})
	for _, tc := range []struct {
		mode    testidp.Tamper
		sub     string // "" when the signature must fail
		wantErr bool
	}{
		{testidp.TamperSubject, "mallory", false},
		{testidp.TamperSignature, "", true},
		{testidp.TamperOff, testidp.Subject, false},
	} {
		if err := idp.TamperIDToken(ctx, tc.mode); err != nil {
			t.Fatal(err)
		}
		next, err := refresh(cfg, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		tok = next
		raw, _ := next.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: verify: %v, want error %t", tc.mode, err, tc.wantErr)
			continue
		}
		if err == nil && idt.Subject != tc.sub {
			t.Errorf("%s: sub %q, want %q", tc.mode, idt.Subject, tc.sub)
		}
	}
}
