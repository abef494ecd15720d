package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// hello answers every request with "hello from PATH".
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello from %s", r.URL.Path)
})

// recordingProxy is an https proxy function that counts its calls and
// sends nothing through a proxy.
type recordingProxy struct{ calls atomic.Int32 }

func (p *recordingProxy) proxy(*http.Request) (*url.URL, error) {
	p.calls.Add(1)
	return nil, nil
}

func get(t *testing.T, c *http.Client, u string) (string, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// The loopback names reach the loopback listener straight, without a
// proxy; a https request asks the proxy function.
func TestPlainHTTPNeverUsesAProxy(t *testing.T) {
	srv := httptest.NewServer(hello)
	defer srv.Close()
	tls := httptest.NewTLSServer(hello)
	defer tls.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var p recordingProxy
	c := &http.Client{Transport: NewTransport(Options{
		Proxy:           p.proxy,
		TLSClientConfig: tls.Client().Transport.(*http.Transport).TLSClientConfig,
	})}
	for _, host := range []string{"127.0.0.1", "LOCALHOST", "x.localhost", "Api.LocalHost."} {
		got, err := get(t, c, "http://"+host+":"+port+"/p")
		if err != nil || got != "hello from /p" {
			t.Errorf("http://%s: %q, %v", host, got, err)
		}
	}
	if n := p.calls.Load(); n != 0 {
		t.Errorf("the proxy was asked %d times about plain-http requests", n)
	}
	if _, err := get(t, c, tls.URL+"/s"); err != nil {
		t.Fatal(err)
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("the proxy was asked %d times about one https request, want 1", n)
	}
}

// The transport refuses what the rule refuses before any connection.
func TestTransportRefusesPlainHTTPElsewhere(t *testing.T) {
	var p recordingProxy
	c := &http.Client{Transport: NewTransport(Options{Proxy: p.proxy})}
	_, err := get(t, c, "http://idp.example.test/token")
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "http://idp.example.test/token") {
		t.Fatalf("got %v, want an *Error naming the URL", err)
	}
	if p.calls.Load() != 0 {
		t.Error("the proxy was asked")
	}
}

// The dialer of plain-http requests never asks a resolver: a localhost
// name dials the loopback addresses, any other name or address is refused.
func TestLoopbackDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := &loopbackDialer{}
	ctx := context.Background()
	for _, host := range []string{"127.0.0.1", "localhost", "nothing-resolves-this.localhost"} {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Errorf("dial %s: %v", host, err)
			continue
		}
		if ip := c.RemoteAddr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			t.Errorf("dial %s connected to %s", host, ip)
		}
		c.Close()
	}
	// The system's resolver sends "vm" and "runsc" to 127.0.0.1 on some
	// machines and anywhere on others: a name is not an address.
	for _, host := range []string{"idp.example.test", "vm", "10.0.0.1", "192.0.2.1", "localhost.example.test"} {
		if c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port)); err == nil {
			c.Close()
			t.Errorf("dial %s: connected", host)
		} else if !errors.Is(err, ErrRefused) {
			t.Errorf("dial %s: %v, want a refusal", host, err)
		}
	}
}

// Every hop of a redirect is held to the rule: an https answer that
// redirects to plain http elsewhere is refused, one that redirects to a
// loopback listener is followed.
func TestRedirectsAreChecked(t *testing.T) {
	local := httptest.NewServer(hello)
	defer local.Close()
	var target string
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}))
	defer tls.Close()
	var p recordingProxy
	c := &http.Client{Transport: NewTransport(Options{
		Proxy:           p.proxy,
		TLSClientConfig: tls.Client().Transport.(*http.Transport).TLSClientConfig,
	})}

	target = "http://idp.example.test/.well-known/openid-configuration"
	_, err := get(t, c, tls.URL+"/.well-known/openid-configuration")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), target) {
		t.Errorf("redirect to %s: %v, want a refusal naming it", target, err)
	}

	target = local.URL + "/doc"
	if got, err := get(t, c, tls.URL+"/x"); err != nil || got != "hello from /doc" {
		t.Errorf("redirect to %s: %q, %v", target, got, err)
	}
}

// body serves n bytes.
func body(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(n))
		chunk := []byte(strings.Repeat("x", 32<<10))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	}
}

func TestMaxBody(t *testing.T) {
	const max = 1 << 20
	tests := []struct {
		name string
		size int
		// read reads the body the way a caller might.
		read    func(io.Reader) ([]byte, error)
		wantErr bool
	}{
		{"exactly the limit", max, io.ReadAll, false},
		{"one byte over", max + 1, io.ReadAll, true},
		{"100 MB", 100 << 20, io.ReadAll, true},
		{"the caller's own limit at the same size", max + 1,
			func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, max)) }, true},
		{"the caller's own limit, body within it", 10,
			func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, max)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(body(tt.size))
			defer srv.Close()
			c := &http.Client{Transport: NewTransport(Options{MaxBody: max})}
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := tt.read(resp.Body)
			if !tt.wantErr {
				if err != nil || len(b) != tt.size {
					t.Fatalf("read %d bytes, %v; want %d", len(b), err, tt.size)
				}
				return
			}
			var tl *TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("read %d bytes, %v; want a *TooLargeError", len(b), err)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			if want := "the provider's response from " + host + " is larger than 1 MiB"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if len(b) > max {
				t.Errorf("read %d bytes past the limit", len(b))
			}
		})
	}
}

// Without MaxBody (authctl curl's API requests) a body of any size streams.
func TestNoMaxBody(t *testing.T) {
	srv := httptest.NewServer(body(3 << 20))
	defer srv.Close()
	c := &http.Client{Transport: NewTransport(Options{})}
	got, err := get(t, c, srv.URL)
	if err != nil || len(got) != 3<<20 {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}
