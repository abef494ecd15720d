package testidp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// The provider's endpoints; they match its discovery document.

// Endpoint returns the provider's OAuth endpoints with AuthStyleInParams, as
// a public client must use (see facts.md on auto-detect replaying refreshes).
func (p *IdP) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       p.Issuer + "/auth",
		TokenURL:      p.Issuer + "/token",
		DeviceAuthURL: p.Issuer + "/device/auth",
		AuthStyle:     oauth2.AuthStyleInParams,
	}
}

// Config returns an oauth2.Config for client ID ClientID with the given
// scopes (default openid and offline_access) and no RedirectURL.
func (p *IdP) Config(scopes ...string) oauth2.Config {
	if len(scopes) == 0 {
		scopes = []string{"openid", "offline_access"}
	}
	return oauth2.Config{ClientID: ClientID, Endpoint: p.Endpoint(), Scopes: scopes}
}

// UserinfoURL returns the provider's userinfo endpoint.
func (p *IdP) UserinfoURL() string { return p.Issuer + "/me" }

// RevocationURL returns the provider's revocation endpoint (RFC 7009).
func (p *IdP) RevocationURL() string { return p.Issuer + "/token/revocation" }

// IntrospectionURL returns the provider's introspection endpoint (RFC 7662).
func (p *IdP) IntrospectionURL() string { return p.Issuer + "/token/introspection" }

// Introspect asks the provider's introspection endpoint (RFC 7662) about
// tok as client clientID (a public client may ask about its own tokens)
// and returns its answer: active, and for an active token sub, client_id,
// token_type, cnf.jkt for a DPoP-bound one, acr and auth_time.
func (p *IdP) Introspect(ctx context.Context, clientID, tok string) (map[string]any, error) {
	form := url.Values{"token": {tok}, "client_id": {clientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.IntrospectionURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspect: %s: %s", resp.Status, body)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	return v, nil
}
