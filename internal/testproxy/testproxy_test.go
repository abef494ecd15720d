package testproxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A plain-http request through the proxy is recorded, with its headers and
// body, and forwarded to the upstream whatever host it names; CONNECT is
// recorded and refused.
func TestRecordsAndForwards(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.Host, r.URL.Path, b)
	}))
	defer up.Close()
	p, err := Start(strings.TrimPrefix(up.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	proxyURL, _ := url.Parse(p.URL)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}

	req, _ := http.NewRequest(http.MethodPost, "http://idp-token.example.test/token", strings.NewReader("refresh_token=RT1"))
	req.Header.Set("Authorization", "Bearer AT1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "POST idp-token.example.test /token refresh_token=RT1" {
		t.Errorf("upstream saw %q", b)
	}
	if _, err := c.Get("https://idp.example.test/"); err == nil {
		t.Error("an https request went through")
	}
	reqs := p.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests recorded, want 2", len(reqs))
	}
	if r := reqs[0]; r.URL != "http://idp-token.example.test/token" || r.Body != "refresh_token=RT1" || r.Header.Get("Authorization") != "Bearer AT1" {
		t.Errorf("recorded %+v", r)
	}
	if r := reqs[1]; r.Method != http.MethodConnect || r.URL != "idp.example.test:443" {
		t.Errorf("recorded %+v", r)
	}
}
