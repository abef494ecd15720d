// Package provider finds an OAuth 2.0 / OpenID Connect provider's endpoints:
// by discovery from its issuer URL (OpenID Connect Discovery, then RFC 8414),
// or from explicit settings, and keeps what discovery found in a small
// per-profile cache so that a refresh costs one request, not three.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/authctl/authctl/endpoint"
	"github.com/authctl/authctl/safetext"
)

// Metadata is the part of a provider's discovery document authctl uses.
// Field names follow OpenID Connect Discovery and RFC 8414.
type Metadata struct {
	Issuer                      string   `json:"issuer"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint,omitempty"`
	RevocationEndpoint          string   `json:"revocation_endpoint,omitempty"`
	UserinfoEndpoint            string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                     string   `json:"jwks_uri,omitempty"`
	CodeChallengeMethods        []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethods    []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// IssParameterSupported is RFC 9207's
	// authorization_response_iss_parameter_supported: when true, every
	// authorization response must carry an `iss` equal to Issuer.
	IssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// DPoPSigningAlgs is RFC 9449's dpop_signing_alg_values_supported:
	// the proof algorithms the provider takes; none means no DPoP.
	DPoPSigningAlgs []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// ErrNoDiscovery means neither discovery document could be found at the
// issuer; the caller can suggest explicit endpoint settings.
var ErrNoDiscovery = errors.New("no discovery document")

// maxDocument bounds how much of a discovery response is read.
const maxDocument = 1 << 20

// Discover fetches the provider's metadata for issuer: first
// {issuer}/.well-known/openid-configuration, then RFC 8414's
// /.well-known/oauth-authorization-server (with the issuer's path appended).
// The document's issuer must equal the one asked for, as both specifications
// require, or a look-alike server could redirect the login elsewhere; the
// one exception is a multi-tenant template (see IssuerMatches), which is
// returned as it is so that ID tokens are checked against it.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	u, _ := url.Parse(issuer)
	oidcURL := DiscoveryURL(issuer)
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	oauthURL := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + path

	var firstErr error
	for _, docURL := range []string{oidcURL, oauthURL} {
		m, err := fetch(ctx, client, docURL)
		if errors.Is(err, errNotThere) {
			continue
		}
		if err != nil {
			firstErr = err
			break
		}
		if !IssuerMatches(m.Issuer, issuer) {
			return nil, fmt.Errorf("discovery at %s names issuer %q, not %q", docURL, m.Issuer, issuer)
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("discovery at %s: %w", docURL, err)
		}
		return m, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w at %s (%s and %s: not found)", ErrNoDiscovery, issuer, oidcURL, oauthURL)
}

var errNotThere = errors.New("not found")

// DiscoveryURL is the OpenID Connect discovery document's URL for issuer,
// the first one Discover asks.
func DiscoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// TenantPlaceholder is the path segment that stands for "any tenant" in the
// issuer of a multi-tenant discovery document: Microsoft Entra ID's
// /common, /organizations and /consumers documents name the issuer
// https://login.microsoftonline.com/{tenantid}/v2.0, and each ID token's
// iss is that with the token's tid claim in its place.
const TenantPlaceholder = "{tenantid}"

// IssuerMatches reports whether issuer is the issuer named by want,
// ignoring a trailing slash. When want is a multi-tenant template, its
// TenantPlaceholder segment matches any one path segment of issuer and the
// rest must be equal. It is authctl's one way of comparing issuers: a
// discovery document's with the one asked for, a cache entry's, a stored
// credential's with its profile's, an authorization response's iss
// (RFC 9207) and an ID token's iss with the provider's.
func IssuerMatches(want, issuer string) bool {
	want, issuer = strings.TrimSuffix(want, "/"), strings.TrimSuffix(issuer, "/")
	before, after, templated := strings.Cut(want, TenantPlaceholder)
	if !templated {
		return want == issuer
	}
	if !strings.HasSuffix(before, "/") || (after != "" && !strings.HasPrefix(after, "/")) {
		return false // the placeholder is not a whole path segment
	}
	if u, err := url.Parse(before); err != nil || u.Host == "" || u.Path == "" {
		return false // the placeholder is not in the path: it must never stand for a host
	}
	if len(issuer) <= len(before)+len(after) || !strings.HasPrefix(issuer, before) || !strings.HasSuffix(issuer, after) {
		return false
	}
	segment := issuer[len(before) : len(issuer)-len(after)]
	return !strings.ContainsAny(segment, "/?#")
}

// TenantIssuer returns the issuer of a token with tenant ID tid under
// template (see TenantPlaceholder), or "" when tid is not a tenant ID
// (Entra's are GUIDs: letters, digits and hyphens only). A template
// without the placeholder is returned as it is.
func TenantIssuer(template, tid string) string {
	if !strings.Contains(template, TenantPlaceholder) {
		return template
	}
	if tid == "" || strings.ContainsFunc(tid, func(r rune) bool {
		return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return ""
	}
	return strings.Replace(template, TenantPlaceholder, tid, 1)
}

func fetch(ctx context.Context, client *http.Client, docURL string) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocument))
		return nil, errNotThere
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: %s answered %s", docURL, safetext.Redact(resp.Status, 60))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return nil, fmt.Errorf("discovery: %s answered %s, not JSON", docURL, mt)
		}
	}
	var m Metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(&m); err != nil {
		return nil, fmt.Errorf("discovery: %s: malformed JSON: %v", docURL, err)
	}
	return &m, nil
}

// Validate checks that the endpoints a login and a refresh need are present
// and that every endpoint passes the endpoint rule (endpoint.Check: https,
// or plain http to this machine only). The error names the first endpoint
// that does not, and its URL.
func (m *Metadata) Validate() error {
	if m.TokenEndpoint == "" {
		return errors.New("no token_endpoint")
	}
	return m.checkEndpoints()
}

// checkEndpoints applies the endpoint rule to every endpoint m sets, in a
// fixed order; the error names the first that breaks it.
func (m *Metadata) checkEndpoints() error {
	for _, f := range []struct{ name, url string }{
		{"token_endpoint", m.TokenEndpoint},
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"jwks_uri", m.JWKSURI},
	} {
		if f.url == "" {
			continue
		}
		if err := endpoint.Check(f.url); err != nil {
			return fmt.Errorf("%s %w", f.name, err)
		}
	}
	return nil
}

// SettingsError is an issuer or endpoint set in the profile (a flag, the
// config file, an AUTHCTL_* variable) that cannot be used: a usage error,
// not a failure of the provider.
type SettingsError struct{ Err error }

// Error is the underlying error's message.
func (e *SettingsError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SettingsError) Unwrap() error { return e.Err }

// checkIssuer checks an issuer setting: an http(s) URL without query or
// fragment, which the endpoint rule allows (discovery asks it).
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		msg := fmt.Sprintf("issuer %q is not an http(s) URL", safetext.Clean(issuer, 200))
		if s := withScheme(issuer); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		return &SettingsError{errors.New(msg)}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return &SettingsError{fmt.Errorf("issuer %q must not have a query or fragment", issuer)}
	}
	if err := endpoint.CheckURL(u); err != nil {
		return &SettingsError{fmt.Errorf("issuer %w", err)}
	}
	return nil
}

// withScheme is issuer with the scheme it lacks (host[:port][/path]):
// http for this machine, https elsewhere; "" when issuer has a scheme or
// is no such thing.
func withScheme(issuer string) string {
	if strings.Contains(issuer, "://") || strings.ContainsAny(issuer, " \t\n?#") {
		return ""
	}
	u, err := url.Parse("https://" + issuer)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	if endpoint.IsLoopback(u.Hostname()) {
		u.Scheme = "http"
	}
	return safetext.Clean(u.String(), 200)
}

// CheckSettings checks an issuer and the endpoints a profile sets by hand
// (explicit) against the endpoint rule, wherever they are about to be
// used: a login, a refresh, a revocation. The error is a *SettingsError.
func CheckSettings(issuer string, explicit Metadata) error {
	if issuer != "" {
		if err := checkIssuer(issuer); err != nil {
			return err
		}
	}
	if err := explicit.checkEndpoints(); err != nil {
		return &SettingsError{fmt.Errorf("endpoint settings: %w", err)}
	}
	return nil
}

// SupportsS256 reports whether the provider accepts PKCE S256. A provider
// that lists no methods is assumed to (RFC 8414 makes the list optional).
func (m *Metadata) SupportsS256() bool {
	if len(m.CodeChallengeMethods) == 0 {
		return true
	}
	for _, c := range m.CodeChallengeMethods {
		if c == "S256" {
			return true
		}
	}
	return false
}

// SupportsDPoP reports whether the provider says it binds tokens to DPoP
// keys (RFC 9449 §5.1) with proofs signed as authctl signs them (ES256).
func (m *Metadata) SupportsDPoP() bool { return slices.Contains(m.DPoPSigningAlgs, "ES256") }

// SecretInHeader reports whether a client secret goes in a Basic
// Authorization header (client_secret_basic) rather than in the form body
// (client_secret_post): when the provider lists basic and not post, or
// lists nothing, for which RFC 8414 and OIDC Discovery make basic the
// default. Google, Microsoft, Okta and Keycloak list post, which is
// preferred; metadata from explicit endpoint settings lists post too
// (GitHub, which has no discovery, takes it).
func (m *Metadata) SecretInHeader() bool {
	if len(m.TokenEndpointAuthMethods) == 0 {
		return true
	}
	return slices.Contains(m.TokenEndpointAuthMethods, "client_secret_basic") &&
		!slices.Contains(m.TokenEndpointAuthMethods, "client_secret_post")
}
