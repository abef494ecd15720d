package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/safetext"
)

// verifyIDToken checks the ID token in tok: signature against the JWKS,
// issuer, audience (the client id), expiry, the nonce when one was sent,
// and at_hash when present. Every error wraps ErrIDToken.
func (o Options) verifyIDToken(ctx context.Context, tok *oauth2.Token, nonce string) (string, IDClaims, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", IDClaims{}, fmt.Errorf("%w: the provider returned none though openid was requested", ErrIDToken)
	}
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(ctx, o.HTTPClient), o.JWKSURL)
	multiTenant := strings.Contains(o.Issuer, provider.TenantPlaceholder)
	v := oidc.NewVerifier(o.Issuer, keys, &oidc.Config{
		ClientID:             o.OAuth2.ClientID,
		SupportedSigningAlgs: o.SigningAlgs,
		Now:                  o.Now,
		// A multi-tenant issuer is checked below, against the token's tid.
		SkipIssuerCheck: multiTenant,
	})
	idt, err := v.Verify(ctx, raw)
	if err == nil && multiTenant {
		err = checkTenantIssuer(o.Issuer, idt)
	}
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return "", IDClaims{}, fmt.Errorf("%w: expired at %s (is this machine's clock right?)", ErrIDToken, exp.Expiry.UTC().Truncate(time.Second).Format(time.RFC3339))
		}
		// go-oidc's message can hold the provider's answer (a JWKS error
		// page): keep it to one printable line.
		return "", IDClaims{}, fmt.Errorf("%w: %s", ErrIDToken, safetext.Redact(err.Error(), 300))
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return "", IDClaims{}, fmt.Errorf("%w: nonce does not match the one this login sent", ErrIDToken)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return "", IDClaims{}, fmt.Errorf("%w: at_hash does not match the access token", ErrIDToken)
		}
	}
	var rc struct {
		Email             string  `json:"email"`
		EmailVerified     any     `json:"email_verified"` // some providers send "true"
		Name              string  `json:"name"`
		PreferredUsername string  `json:"preferred_username"`
		ACR               string  `json:"acr"`
		AuthTime          float64 `json:"auth_time"`
	}
	if err := idt.Claims(&rc); err != nil {
		return "", IDClaims{}, fmt.Errorf("%w: read claims: %v", ErrIDToken, err)
	}
	c := IDClaims{
		Issuer: idt.Issuer, Subject: idt.Subject, Audience: idt.Audience,
		Expiry: idt.Expiry, IssuedAt: idt.IssuedAt,
		Email: rc.Email, Name: rc.Name, PreferredUsername: rc.PreferredUsername, ACR: rc.ACR,
		EmailVerified: rc.EmailVerified == true || rc.EmailVerified == "true",
	}
	if rc.AuthTime > 0 {
		c.AuthTime = time.Unix(int64(rc.AuthTime), 0)
	}
	return raw, c, nil
}

// checkTenantIssuer checks the iss of an ID token from a multi-tenant
// issuer template the way Microsoft documents it: iss must be the template
// with the token's own tid claim in place of {tenantid}.
func checkTenantIssuer(template string, idt *oidc.IDToken) error {
	var c struct {
		TenantID string `json:"tid"`
	}
	if err := idt.Claims(&c); err != nil {
		return fmt.Errorf("read claims: %v", err)
	}
	want := provider.TenantIssuer(template, c.TenantID)
	if want == "" {
		return fmt.Errorf("the issuer %s is multi-tenant but the token has no usable tid claim", template)
	}
	if !provider.IssuerMatches(want, idt.Issuer) {
		return fmt.Errorf("id token issued by %s, not %s (the issuer of its tenant %s)", idt.Issuer, want, c.TenantID)
	}
	return nil
}

// VerifyIDToken checks an ID token obtained outside a login, such as one
// returned by a refresh: signature against JWKSURL, issuer, audience (the
// client id), expiry, and at_hash against accessToken when the token has
// one. Refresh responses carry no nonce, so none is checked. It uses
// o.Issuer, o.OAuth2.ClientID, o.JWKSURL, o.SigningAlgs, o.HTTPClient and
// o.Now. Every error wraps ErrIDToken.
func (o Options) VerifyIDToken(ctx context.Context, raw, accessToken string) (IDClaims, error) {
	if o.JWKSURL == "" {
		return IDClaims{}, fmt.Errorf("%w: the provider's jwks_uri is unknown", ErrIDToken)
	}
	o, err := o.withDefaults()
	if err != nil {
		return IDClaims{}, err
	}
	tok := (&oauth2.Token{AccessToken: accessToken}).WithExtra(map[string]any{"id_token": raw})
	_, c, err := o.verifyIDToken(ctx, tok, "")
	return c, err
}
