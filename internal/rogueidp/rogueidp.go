// Package rogueidp is a misbehaving OpenID provider for end-to-end tests of
// the faults a real provider cannot be made to show.
//
// Left alone it is a small, correct provider: discovery, an authorization
// endpoint that redirects straight back with code, state and iss (no login
// page), a token endpoint (authorization code with PKCE S256, rotating
// refresh tokens, device code), RS256 ID and access tokens, JWKS, userinfo,
// revocation (RFC 7009) and device authorization (RFC 8628). Knobs (Set),
// changed while it runs, make it misbehave: endpoints on plain http
// elsewhere, a discovery that redirects to plain http, huge answers,
// escape sequences in the strings it sends, odd expires_in and token_type,
// a token answer without an access token.
//
// It serves https with a CA generated at start (CAPEM), or plain http, on
// 127.0.0.1; it also serves the same endpoints on a second, plain-http
// listener (PlainAddr), the address a test proxy sends "the network" to.
package rogueidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Subject is the one user every login signs in as.
const Subject = "alice"

// Options configure Start.
type Options struct {
	// TLS serves the issuer over https with a certificate for 127.0.0.1,
	// ::1 and localhost signed by a CA made at start; false serves plain
	// http.
	TLS bool
}

// IdP is a running provider. Close it when done.
type IdP struct {
	// Issuer is https://127.0.0.1:PORT (or http://… without TLS).
	Issuer string
	// PlainAddr is host:port of the plain-http listener serving the same
	// endpoints.
	PlainAddr string
	// CAPEM is the PEM certificate of the CA that signed the https
	// certificate; empty without TLS.
	CAPEM []byte

	key     *rsa.PrivateKey
	servers []*http.Server

	mu      sync.Mutex
	knobs   map[string]string
	counts  map[string]int
	codes   map[string]authorization // code → the authorization it answers
	refresh map[string]grant         // live refresh tokens
	access  map[string]bool          // access tokens issued
	current string                   // the newest refresh token issued
}

// authorization is what an authorization request asked for.
type authorization struct {
	clientID, redirectURI, challenge, nonce, scope string
}

// grant is what a refresh token was issued for.
type grant struct {
	clientID, scope string
}

// Start runs a provider on free ports of 127.0.0.1.
func Start(o Options) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &IdP{
		key: key, knobs: map[string]string{}, counts: map[string]int{},
		codes: map[string]authorization{}, refresh: map[string]grant{}, access: map[string]bool{},
	}
	main, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		main.Close()
		return nil, err
	}
	scheme := "http"
	if o.TLS {
		cert, caPEM, err := newCertificate()
		if err != nil {
			main.Close()
			plain.Close()
			return nil, err
		}
		main = tls.NewListener(main, &tls.Config{Certificates: []tls.Certificate{cert}})
		scheme, p.CAPEM = "https", caPEM
	}
	p.Issuer = scheme + "://" + main.Addr().String()
	p.PlainAddr = plain.Addr().String()
	for _, ln := range []net.Listener{main, plain} {
		srv := &http.Server{Handler: p.routes(), ReadHeaderTimeout: 10 * time.Second}
		p.servers = append(p.servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	return p, nil
}

// Close stops the provider.
func (p *IdP) Close() error {
	var errs []error
	for _, s := range p.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Knobs are the names Set takes, with what each does while set:
//
//	discovery.FIELD          VALUE replaces FIELD of the discovery document (an endpoint URL)
//	discovery-redirect       discovery answers 302 to VALUE
//	jwks-error-bytes         JWKS answers 500 with a body of VALUE bytes that starts with
//	                         escape sequences and a token-shaped string
//	token-bytes              successful token answers are padded to VALUE bytes
//	userinfo-bytes           userinfo answers are padded to VALUE bytes
//	token-error-description  the token endpoint answers 400 invalid_request with VALUE
//	                         as error_description
//	verification-uri         the device answer's verification_uri
//	verification-uri-complete  the device answer's verification_uri_complete
//	user-code                the device answer's user_code
//	expires-in               the raw JSON of expires_in in token answers (default 3600)
//	token-type               token_type in token answers (default "Bearer")
//	no-access-token          any VALUE: token answers carry a rotated refresh token but no
//	                         access token
var Knobs = []string{
	"discovery-redirect", "jwks-error-bytes", "token-bytes", "userinfo-bytes",
	"token-error-description", "verification-uri", "verification-uri-complete", "user-code",
	"expires-in", "token-type", "no-access-token",
}

// Set turns knob to value; an empty value turns it off.
func (p *IdP) Set(knob, value string) error {
	if !strings.HasPrefix(knob, "discovery.") && !slices.Contains(Knobs, knob) {
		return fmt.Errorf("unknown knob %q (known: discovery.FIELD, %s)", knob, strings.Join(Knobs, ", "))
	}
	if strings.HasSuffix(knob, "-bytes") && value != "" {
		if _, err := strconv.Atoi(value); err != nil {
			return fmt.Errorf("knob %s: %q is not a number", knob, value)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if value == "" {
		delete(p.knobs, knob)
	} else {
		p.knobs[knob] = value
	}
	return nil
}

// Reset turns every knob off and zeroes the counts.
func (p *IdP) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.knobs = map[string]string{}
	p.counts = map[string]int{}
}

func (p *IdP) knob(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.knobs[name]
}

func (p *IdP) count(kind string) {
	p.mu.Lock()
	p.counts[kind]++
	p.mu.Unlock()
}

// Count returns how many requests of kind the provider received since
// start or Reset: discovery, authorization, authorization_code,
// refresh_token, device_code, token_errors, jwks, userinfo, revocation,
// device_authorization.
func (p *IdP) Count(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[kind]
}

// Counts lists every non-zero count, "kind=n" sorted, for messages.
func (p *IdP) Counts() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s []string
	for k, v := range p.counts {
		s = append(s, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// RefreshToken returns the newest refresh token issued: the only one a
// refresh can still use.
func (p *IdP) RefreshToken() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}
