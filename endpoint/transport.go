package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// MaxProviderBody is the most authctl reads of any one answer from a
// provider (discovery, JWKS, token, userinfo, device, revocation).
const MaxProviderBody = 1 << 20

// Options configure NewTransport. The zero value gives a transport for
// API requests: the rule, no body limit, the environment's proxy for https.
type Options struct {
	// MaxBody, when positive, bounds every response body: reading more
	// than MaxBody bytes of one fails with a *TooLargeError, never a silent
	// truncation (see TooLargeError).
	MaxBody int64
	// Proxy chooses the proxy of an https request; nil means
	// http.ProxyFromEnvironment. A plain-http request never uses one.
	Proxy func(*http.Request) (*url.URL, error)
	// TLSClientConfig, when set, configures TLS (tests trust their own CA
	// with it); nil means the system's roots.
	TLSClientConfig *tls.Config
	// DisableCompression asks for no gzip, so that a body is shown as the
	// server sent it (authctl curl -i).
	DisableCompression bool
}

// Transport is an http.RoundTripper that sends only requests the rule
// allows (Check), so that every redirect an http.Client follows is checked
// too. https requests go through the environment's proxy; plain-http
// requests go straight to a loopback address (see NewTransport).
type Transport struct {
	https, plain *http.Transport
	maxBody      int64
}

// NewTransport returns a Transport with its own connection pools.
func NewTransport(o Options) *Transport {
	base := http.DefaultTransport.(*http.Transport)
	https := base.Clone()
	https.Proxy = o.Proxy
	if https.Proxy == nil {
		https.Proxy = http.ProxyFromEnvironment
	}
	plain := base.Clone()
	// A proxy would see a plain-http request, token and all, in the clear;
	// and the rule is about where the bytes go, which only the dialer knows.
	plain.Proxy = nil
	plain.DialContext = (&loopbackDialer{dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}).DialContext
	for _, t := range []*http.Transport{https, plain} {
		t.DisableCompression = o.DisableCompression
		if o.TLSClientConfig != nil {
			t.TLSClientConfig = o.TLSClientConfig.Clone()
		}
	}
	return &Transport{https: https, plain: plain, maxBody: o.MaxBody}
}

// RoundTrip implements http.RoundTripper. A request the rule refuses is
// not sent: the error is an *Error naming its URL.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := CheckURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	rt := t.https
	if req.URL.Scheme == "http" {
		rt = t.plain
	}
	resp, err := rt.RoundTrip(req)
	if err != nil || t.maxBody <= 0 {
		return resp, err
	}
	resp.Body = &limitedBody{body: resp.Body, left: t.maxBody, err: &TooLargeError{Host: req.URL.Host, Max: t.maxBody}}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of both pools.
func (t *Transport) CloseIdleConnections() {
	t.https.CloseIdleConnections()
	t.plain.CloseIdleConnections()
}

// loopbackDialer connects plain-http requests, and only to this machine:
// a literal loopback address as it is, a localhost name to the loopback
// addresses (RFC 6761 §6.3: no resolver is asked, so neither /etc/hosts
// nor DNS can send it elsewhere), anything else not at all.
type loopbackDialer struct {
	dialer net.Dialer
}

// DialContext dials addr (host:port) on a loopback address.
func (d *loopbackDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := loopbackAddrs(host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		c, err := d.dialer.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// loopbackAddrs returns the addresses a plain-http connection to host may
// dial: host itself when it is a loopback address, the loopback addresses
// for a localhost name, and otherwise an error.
func loopbackAddrs(host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, &Error{URL: "http://" + host, Why: "plain http to an address that is not this machine"}
		}
		return []string{host}, nil
	}
	if IsLocalhostName(host) {
		return []string{"127.0.0.1", "::1"}, nil
	}
	return nil, &Error{URL: "http://" + host, Why: "plain http to a host that is not this machine"}
}

// TooLargeError is the error of reading more than the limit of one
// response body (Options.MaxBody). A reader that stops at exactly the
// limit gets it too when more follows, so that a caller's own
// io.LimitReader cannot turn an oversized answer into a truncated one.
type TooLargeError struct {
	Host string // the server that sent the body
	Max  int64  // the limit, in bytes
}

// Error says whose answer was too large.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the provider's response from %s is larger than %s", e.Host, size(e.Max))
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitedBody is a response body that fails once more than left bytes
// would be read.
type limitedBody struct {
	body io.ReadCloser
	left int64
	err  error // the error to return past the limit

	tripped bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.tripped {
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := 0, error(nil)
	if len(p) > 0 {
		n, err = b.body.Read(p)
		b.left -= int64(n)
	}
	if b.left == 0 && err == nil {
		// At the limit, the body must end here: look one byte ahead.
		var one [1]byte
		m, perr := io.ReadFull(b.body, one[:])
		switch {
		case m > 0:
			b.tripped = true
			return n, b.err
		case errors.Is(perr, io.EOF), errors.Is(perr, io.ErrUnexpectedEOF):
			err = io.EOF
		default:
			err = perr
		}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }
