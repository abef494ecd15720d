// Package testproxy is an HTTP proxy for end-to-end tests that stands in
// for "the network": it records every request it receives, so that a test
// can assert that nothing (no code, no verifier, no token) ever went
// through it, and forwards plain-http requests to one upstream address so
// that a flow that wrongly uses it still works as it would in the world.
package testproxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one request the proxy received.
type Request struct {
	Method string
	URL    string // absolute, as a client sends it to a proxy; host:port for CONNECT
	Header http.Header
	Body   string
}

// String is the request's first line, its headers and its body.
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL)
	_ = r.Header.Write(&b)
	b.WriteString(r.Body)
	return b.String()
}

// Proxy is a running proxy. Close it when done.
type Proxy struct {
	// URL is http://127.0.0.1:PORT, for HTTP_PROXY.
	URL string

	upstream string
	srv      *http.Server
	client   *http.Client

	mu   sync.Mutex
	reqs []Request
}

// Start runs a proxy on a free port of 127.0.0.1. Plain-http requests go
// on to upstream (host:port), whatever host they name, or, when upstream
// is empty, are answered 502; CONNECT (https) is always refused.
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		URL:      "http://" + ln.Addr().String(),
		upstream: upstream,
		client: &http.Client{
			Transport:     &http.Transport{Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       30 * time.Second,
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

// Requests returns what the proxy received so far.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	target := r.URL.String()
	if r.Method == http.MethodConnect {
		target = r.Host
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, Request{Method: r.Method, URL: target, Header: r.Header.Clone(), Body: string(body)})
	p.mu.Unlock()
	if r.Method == http.MethodConnect || p.upstream == "" || r.URL.Scheme != "http" {
		http.Error(w, "testproxy: recorded, not forwarded", http.StatusBadGateway)
		return
	}
	u := *r.URL
	u.Host = p.upstream
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	p.forward(w, out)
}

func (p *Proxy) forward(w http.ResponseWriter, out *http.Request) {
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
