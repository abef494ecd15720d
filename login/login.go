// Package login runs authctl's interactive sign-in flows: the authorization
// code flow with PKCE in a browser, caught on a loopback redirect or pasted
// by hand, and the device authorization grant (RFC 8628). It returns the
// tokens it obtained and stores nothing; every setting, the browser opener,
// the terminal's streams and the HTTP client are passed in.
package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/tokenendpoint"
)

// OpenFunc opens url in a web browser. It may return before the page has
// loaded; an error means the browser could not be started.
type OpenFunc func(ctx context.Context, url string) error

// Options configure one login. The zero value of each optional field
// selects the documented default.
type Options struct {
	// OAuth2 holds the client id, the endpoints (AuthURL, TokenURL and,
	// for Device, DeviceAuthURL) and the scopes. RedirectURL is ignored:
	// the browser flow sets it to its loopback listener. Set
	// Endpoint.AuthStyle to oauth2.AuthStyleInParams for a public client.
	OAuth2 oauth2.Config

	// Issuer is the provider's issuer identifier. It is compared with the
	// `iss` parameter of the authorization response (RFC 9207) and with
	// the ID token's `iss` claim.
	Issuer string
	// IssParameterSupported is discovery's
	// authorization_response_iss_parameter_supported: when true, an
	// authorization response without `iss` is refused.
	IssParameterSupported bool
	// JWKSURL is the provider's jwks_uri. It is required when the scopes
	// contain "openid": the ID token is verified against these keys.
	JWKSURL string
	// SigningAlgs are the accepted ID-token signature algorithms
	// (discovery's id_token_signing_alg_values_supported). Default: the
	// RSA, ECDSA and EdDSA families; symmetric algorithms are never
	// accepted unless listed here.
	SigningAlgs []string

	// RedirectHost is the host of the redirect URI and the address the
	// listener binds: "127.0.0.1" (default), "localhost" (binds 127.0.0.1
	// and ::1 on the same port, ::1 only where the machine has IPv6) or
	// "[::1]". Requests whose Host header is not the redirect URI's host
	// and port are refused.
	RedirectHost string
	// Port is the listener's port; 0 picks a free one.
	Port int
	// CallbackPath is the redirect URI's path. Default "/callback".
	CallbackPath string

	// Prompt is the OIDC `prompt` parameter ("login" forces a fresh
	// authentication). When the scopes contain offline_access, "consent"
	// is added (OIDC Core §11) unless Prompt is "none" or
	// NoOfflineConsent is set.
	Prompt string
	// NoOfflineConsent keeps offline_access from adding prompt=consent,
	// for providers that issue refresh tokens without it and where a
	// forced consent page is a burden (Microsoft Entra ID).
	NoOfflineConsent bool
	// MaxAge, when positive, is sent as `max_age` in whole seconds.
	MaxAge time.Duration
	// ACRValues, when not empty, are sent as `acr_values`.
	ACRValues []string
	// DPoP, when set, is the key the tokens are to be bound to (RFC 9449):
	// the authorization request names its thumbprint (dpop_jkt), every
	// token request carries a proof of it, and tokens of another type than
	// DPoP are refused.
	DPoP *dpop.Key
	// ExtraParams are added to the authorization (and device
	// authorization) request, for providers that need more, such as an
	// `audience`. Parameters the flow sets itself are refused
	// (ErrBadOptions).
	ExtraParams map[string]string

	// Timeout bounds the whole wait for the user. Default 5 minutes.
	Timeout time.Duration

	// Open opens the login page in a browser (see Opener). Nil means no
	// browser can be opened here: the flow then behaves as NoBrowser and
	// says so in one line, giving NoBrowserReason.
	Open OpenFunc
	// NoBrowserReason says why Open is nil ("no display"), for the line
	// printed when the flow falls back to NoBrowser.
	NoBrowserReason string
	// NoBrowser prints the URL instead of opening a browser and waits for
	// either the loopback callback or the redirected URL pasted on Stdin.
	NoBrowser bool

	// Stdin is read for a pasted redirect URL (NoBrowser, when the
	// browser could not be opened, or always when StdinIsTerminal). A
	// goroutine may stay blocked reading it after the flow returns; do not
	// read Stdin afterwards.
	Stdin io.Reader
	// StdinIsTerminal says that Stdin is a terminal: a redirect URL pasted
	// there is then taken in every mode, also while a browser is open, so
	// that a line the person pastes is used rather than left for the
	// shell to run when authctl exits.
	StdinIsTerminal bool
	// Stderr receives every word meant for the person at the terminal.
	Stderr io.Writer
	// HTTPClient makes the token, device and JWKS requests. Default
	// http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock used to check the ID token's expiry. Default
	// time.Now.
	Now func() time.Time
	// Log, when set, receives a line for --verbose per step (the
	// listener's address and redirect URI, the answer received) and when
	// the provider's answer had to be mended (an odd expires_in or
	// token_type). Never a token.
	Log func(format string, args ...any)
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// Result is what a successful login obtained.
type Result struct {
	// Token holds the access token, its expiry, and the refresh token
	// when the provider issued one. It may be empty (some providers drop
	// offline_access); the caller should then warn that the session ends
	// when the access token expires.
	Token *oauth2.Token
	// IDToken is the raw ID token, set only when "openid" was requested;
	// it has been verified (signature against the JWKS, iss, aud, exp,
	// and nonce for the browser flow).
	IDToken string
	// Claims are the identity claims of the verified ID token.
	Claims IDClaims
}

// IDClaims are the identity claims of a verified ID token. Which of the
// optional ones are present depends on the provider and the scopes (many
// providers put email and name only in userinfo).
type IDClaims struct {
	Issuer            string    // iss
	Subject           string    // sub: the stable user id at this issuer
	Audience          []string  // aud
	Expiry            time.Time // exp
	IssuedAt          time.Time // iat
	AuthTime          time.Time // auth_time, zero when absent
	Email             string    // email, may be empty
	EmailVerified     bool      // email_verified (true or "true")
	Name              string    // name, may be empty
	PreferredUsername string    // preferred_username, may be empty
	ACR               string    // acr, may be empty
}

// Errors a caller can match with errors.Is to choose an exit code and a
// next step. None of them ever carries a code or a token.
var (
	// ErrTimeout: the user did not finish within Options.Timeout.
	ErrTimeout = errors.New("login timed out")
	// ErrIssuerMismatch: the authorization response's `iss` was not the
	// expected issuer, or was missing though the provider advertises it
	// (RFC 9207 mix-up defence). No code was exchanged.
	ErrIssuerMismatch = errors.New("issuer mismatch in the authorization response")
	// ErrPortBusy: the listener's port is in use, on 127.0.0.1 or (for
	// redirect host localhost) on ::1. The error is a *PortBusyError
	// naming the address and port.
	ErrPortBusy = errors.New("port in use")
	// ErrIDToken: the ID token was missing or failed verification.
	ErrIDToken = errors.New("invalid ID token")
	// ErrMissingCode: the redirect carried neither a code nor an error.
	ErrMissingCode = errors.New("the redirect carried no authorization code")
	// ErrDeviceExpired: the device code expired before it was approved.
	ErrDeviceExpired = errors.New("the device code expired before the sign-in was approved")
	// ErrBadOptions: the options cannot work (a usage or configuration
	// error, not a failure of the provider).
	ErrBadOptions = errors.New("invalid login options")
	// ErrNotBound: DPoP was asked for, and the provider issued tokens not
	// bound to the key.
	ErrNotBound = errors.New("the provider did not bind the tokens to the DPoP key")
	// ErrAuthentication: the ID token says the sign-in was not what was
	// asked for (acr_values, max_age).
	ErrAuthentication = errors.New("the sign-in is not the one asked for")
)

// ProviderError is an OAuth error reported by the provider, in the
// authorization response or by its token or device authorization
// endpoint: provider.Error, whose message is one printable line.
type ProviderError = provider.Error

// PortBusyError reports that the listener could not bind its port because
// another program holds it.
type PortBusyError struct {
	Host string // the address: "127.0.0.1" or "::1"
	Port int
}

// Error names the busy address and port.
func (e *PortBusyError) Error() string {
	host := e.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("port %d on %s is already in use; choose another with --port, or 0 for any free port", e.Port, host)
}

// Is reports ErrPortBusy.
func (e *PortBusyError) Is(target error) bool { return target == ErrPortBusy }

const (
	defaultTimeout      = 5 * time.Minute
	defaultCallbackPath = "/callback"
	defaultRedirectHost = "127.0.0.1"
)

// defaultSigningAlgs are the asymmetric JWS algorithms accepted for ID
// tokens when the caller names none.
var defaultSigningAlgs = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
}

// withDefaults returns a copy of o with every default filled in, or an
// error wrapping ErrBadOptions.
func (o Options) withDefaults() (Options, error) {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.CallbackPath == "" {
		o.CallbackPath = defaultCallbackPath
	}
	if !strings.HasPrefix(o.CallbackPath, "/") {
		o.CallbackPath = "/" + o.CallbackPath
	}
	switch o.RedirectHost {
	case "":
		o.RedirectHost = defaultRedirectHost
	case "::1":
		o.RedirectHost = "[::1]"
	case "127.0.0.1", "localhost", "[::1]":
	default:
		return o, fmt.Errorf("%w: redirect host %q: use 127.0.0.1, localhost or [::1]", ErrBadOptions, o.RedirectHost)
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("%w: port %d out of range", ErrBadOptions, o.Port)
	}
	if o.OAuth2.ClientID == "" {
		return o, fmt.Errorf("%w: no client id", ErrBadOptions)
	}
	if o.wantsOpenID() && o.JWKSURL == "" {
		return o, fmt.Errorf("%w: scope openid needs the provider's jwks_uri to verify the ID token", ErrBadOptions)
	}
	for k := range o.ExtraParams {
		if k == "" || slices.Contains(reservedParams, k) {
			return o, fmt.Errorf("%w: extra parameter %q is set by authctl itself", ErrBadOptions, k)
		}
	}
	if len(o.SigningAlgs) == 0 {
		o.SigningAlgs = defaultSigningAlgs
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func (o Options) wantsOpenID() bool { return slices.Contains(o.OAuth2.Scopes, "openid") }

func (o Options) wantsOffline() bool { return slices.Contains(o.OAuth2.Scopes, "offline_access") }

// prompt returns the `prompt` value to send, or "".
func (o Options) prompt() string {
	p := strings.Fields(o.Prompt)
	if o.wantsOffline() && !o.NoOfflineConsent && !slices.Contains(p, "none") && !slices.Contains(p, "consent") {
		p = append(p, "consent")
	}
	return strings.Join(p, " ")
}

// requestOptions are the extra authorization (or device authorization)
// request parameters shared by both flows.
func (o Options) requestOptions() []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	if p := o.prompt(); p != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	if o.MaxAge > 0 {
		secs := int64(o.MaxAge / time.Second)
		if secs == 0 {
			secs = 1
		}
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(secs, 10)))
	}
	if len(o.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(o.ACRValues, " ")))
	}
	keys := make([]string, 0, len(o.ExtraParams))
	for k := range o.ExtraParams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, oauth2.SetAuthURLParam(k, o.ExtraParams[k]))
	}
	return opts
}

// reservedParams are the authorization request parameters the flows set
// themselves; ExtraParams may not replace them.
var reservedParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "acr_values",
	"dpop_jkt",
}

// client is how the OAuth client authenticates, as OAuth2 says: its ID,
// its secret, and whether the secret goes in a Basic header.
func (o Options) client() provider.Client {
	return provider.Client{ID: o.OAuth2.ClientID, Secret: o.OAuth2.ClientSecret, Basic: o.OAuth2.ClientSecret != "" && o.OAuth2.Endpoint.AuthStyle == oauth2.AuthStyleInHeader}
}

// httpContext returns ctx carrying the HTTP client for x/oauth2, whose
// answers from the token and device endpoints go through
// tokenendpoint.Transport.
func (o Options) httpContext(ctx context.Context) context.Context {
	client, te := tokenendpoint.Client(o.HTTPClient, o.Log)
	te.DPoP = o.DPoP
	return context.WithValue(ctx, oauth2.HTTPClient, client)
}

// tokenError turns an error from the token or device endpoint into one
// that is safe to show: a *ProviderError (its status and the OAuth error
// it named), never the response body.
func tokenError(err error) error { return provider.ErrorFrom(err) }

// finish verifies the ID token when openid was asked for. A missing
// refresh token is not an error: the caller warns that the session ends
// when the access token expires.
func (o Options) finish(ctx context.Context, tok *oauth2.Token, nonce string) (*Result, error) {
	if o.DPoP != nil && !strings.EqualFold(tok.TokenType, "DPoP") {
		return nil, fmt.Errorf("%w: it issued a token of type %q, not DPoP", ErrNotBound, safetext.Clean(tok.TokenType, 40))
	}
	res := &Result{Token: tok}
	if o.wantsOpenID() {
		raw, claims, err := o.verifyIDToken(ctx, tok, nonce)
		if err != nil {
			return nil, err
		}
		if err := o.checkAuthentication(claims); err != nil {
			return nil, err
		}
		res.IDToken, res.Claims = raw, claims
	}
	return res, nil
}

// authTimeLeeway allows for the provider's clock and the time between
// the sign-in and the check.
const authTimeLeeway = time.Minute

// checkAuthentication checks the ID token's acr and auth_time against
// ACRValues and MaxAge, the way an API asking for a step-up (RFC 9470)
// will: the acr must be one of ACRValues, and the authentication no
// older than MaxAge (OIDC Core §3.1.2.1 makes auth_time required then).
func (o Options) checkAuthentication(c IDClaims) error {
	if len(o.ACRValues) > 0 && !slices.Contains(o.ACRValues, c.ACR) {
		got := "no acr"
		if c.ACR != "" {
			got = "acr " + safetext.Clean(c.ACR, 100)
		}
		return fmt.Errorf("%w: the provider signed you in with %s, not %s", ErrAuthentication, got, strings.Join(o.ACRValues, " or "))
	}
	if o.MaxAge <= 0 {
		return nil
	}
	if c.AuthTime.IsZero() {
		return fmt.Errorf("%w: max_age was asked for, and the ID token has no auth_time", ErrAuthentication)
	}
	if age := o.Now().Sub(c.AuthTime); age > o.MaxAge+authTimeLeeway {
		return fmt.Errorf("%w: the provider's last sign-in was %s ago, more than the max_age of %s", ErrAuthentication, age.Round(time.Second), o.MaxAge)
	}
	return nil
}
