package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/provider"
)

// Revoke asks the provider to revoke tok at endpoint (RFC 7009) as client.
// hint is "refresh_token" or "access_token". A 200 means revoked or
// already unknown, which RFC 7009 treats alike.
func Revoke(ctx context.Context, client *http.Client, endpoint string, as provider.Client, tok, hint string) error {
	if client == nil {
		client = http.DefaultClient
	}
	form := url.Values{"token": {tok}, "token_type_hint": {hint}}
	h := http.Header{}
	as.Authenticate(h, form)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return fmt.Errorf("revoke %s: %w", hint, provider.ResponseError(resp.Status, resp.Header.Get("Content-Type"), body))
}

// RevokeResult says what Logout managed at the provider.
type RevokeResult struct {
	// Found is true when a credential was stored.
	Found bool
	// Revoked is true when every held token was revoked at the provider.
	Revoked bool
	// Err is the first revocation failure, if any; the local credential is
	// deleted all the same, unless Kept.
	Err error
	// Kept is true when LogoutIfRevoked kept the credential because its
	// tokens could not all be revoked.
	Kept bool
}

// Endpoint finds the revocation endpoint to use, or says why there is
// none. Logout calls it only when a credential is stored, so a profile
// with nothing to revoke costs no request to its provider.
type Endpoint func(context.Context) (string, error)

// Logout revokes the stored tokens at the endpoint that endpoint finds
// (none when endpoint is nil or finds none), refresh token first, then
// deletes the credential, reading the keychain once. The credential is
// deleted even if revocation fails; the returned RevokeResult says
// whether the tokens may stay valid at the provider, and why not (the
// revocation's error, or endpoint's). Logging out when nothing is stored
// is not an error.
func (s *Source) Logout(ctx context.Context, endpoint Endpoint) (RevokeResult, error) {
	return s.logout(ctx, endpoint, false)
}

// LogoutIfRevoked is Logout for a caller that needs the tokens dead at the
// provider: when they cannot all be revoked (no endpoint, the provider
// unreachable or refusing), the credential is kept, so that a later
// logout can still revoke it, and the result says so (Kept, Err).
func (s *Source) LogoutIfRevoked(ctx context.Context, endpoint Endpoint) (RevokeResult, error) {
	return s.logout(ctx, endpoint, true)
}

func (s *Source) logout(ctx context.Context, endpoint Endpoint, requireRevoke bool) (RevokeResult, error) {
	// Under the refresh lock, so that a refresh under way cannot save a
	// credential back after it was deleted.
	unlock, err := s.lock(ctx)
	if err != nil {
		return RevokeResult{}, err
	}
	defer unlock()
	s.ClearCache()
	c, found, err := s.loadAny(ctx)
	if err != nil {
		return RevokeResult{}, err
	}
	url, why := "", error(nil)
	if c != nil && endpoint != nil {
		url, why = endpoint(ctx)
	}
	res := s.revokeAll(ctx, c, url)
	res.Found = found
	if why != nil {
		res.Err = why
	}
	if requireRevoke && found && !res.Revoked {
		if res.Err == nil {
			res.Err = errors.New("the provider has no revocation endpoint")
		}
		res.Kept = true
		return res, nil
	}
	if err := s.Store.Delete(ctx, s.Account); err != nil {
		return res, fmt.Errorf("delete credential: %w", err)
	}
	s.ClearCache()
	return res, nil
}

// revokeAll revokes c's tokens at endpoint, refresh token first, and
// stops at the first failure.
func (s *Source) revokeAll(ctx context.Context, c *Credential, endpoint string) RevokeResult {
	res := RevokeResult{Revoked: c != nil && endpoint != ""}
	if c != nil && s.Issuer != "" && !provider.IssuerMatches(s.Issuer, c.Issuer) {
		// Never show a token to a provider other than the one that issued it.
		return RevokeResult{Err: fmt.Errorf("the stored credential is for issuer %s, not %s; not revoked", c.Issuer, s.Issuer)}
	}
	if c == nil || endpoint == "" {
		return res
	}
	as := s.revocationClient(ctx, c)
	for _, t := range []struct{ tok, hint string }{{c.RefreshToken, "refresh_token"}, {c.AccessToken, "access_token"}} {
		if t.tok == "" {
			continue
		}
		what := strings.ReplaceAll(t.hint, "_", " ")
		if err := Revoke(ctx, s.HTTPClient, endpoint, as, t.tok, t.hint); err != nil {
			s.logf("revocation of the %s at %s failed: %v", what, endpoint, err)
			return RevokeResult{Err: err}
		}
		s.logf("revoked the %s at %s", what, endpoint)
	}
	return res
}

// revocationClient is how c's client authenticates at the revocation
// endpoint: as at the token endpoint (RFC 7009 §2.1).
func (s *Source) revocationClient(ctx context.Context, c *Credential) provider.Client {
	m := &provider.Metadata{}
	if s.Provider != nil {
		if got, err := s.Provider(ctx); err == nil {
			m = got
		}
	}
	return provider.ClientFor(m, c.ClientID, c.ClientSecret)
}

// loadAny reads the stored credential whatever issuer it names, and
// reports whether anything is stored. A credential that cannot be decoded
// is still deleted by Logout, so it is returned as nil without error.
func (s *Source) loadAny(ctx context.Context) (*Credential, bool, error) {
	b, err := s.Store.Get(ctx, s.Account)
	if err != nil {
		if errors.Is(err, keychain.ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read credential: %w", err)
	}
	c, err := Decode(b)
	if err != nil {
		return nil, true, nil
	}
	return c, true, nil
}
