package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authctl/authctl/endpoint"
)

// tlsServer serves an OIDC discovery document over https whose endpoint
// field (if any) is replaced by value, and counts the requests.
func tlsServer(t *testing.T, field, value string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(doc(srv.URL)), &m)
		if field != "" {
			m[field] = value
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// Every endpoint of a discovered document is held to the endpoint rule:
// under an https issuer, one on plain http elsewhere is an error naming
// the field and the URL.
func TestDiscoverAppliesTheEndpointRule(t *testing.T) {
	for _, field := range []string{"token_endpoint", "authorization_endpoint", "device_authorization_endpoint", "revocation_endpoint", "userinfo_endpoint", "jwks_uri"} {
		t.Run(field, func(t *testing.T) {
			bad := "http://idp-token.example.test/" + field
			srv, _ := tlsServer(t, field, bad)
			_, err := Discover(context.Background(), srv.Client(), srv.URL)
			if !errors.Is(err, endpoint.ErrRefused) || !strings.Contains(err.Error(), field+" "+bad+": ") {
				t.Fatalf("err = %v, want a refusal naming %s and %s", err, field, bad)
			}
		})
	}
	t.Run("plain http to this machine is allowed", func(t *testing.T) {
		srv, _ := tlsServer(t, "token_endpoint", "http://127.0.0.1:9/token")
		if _, err := Discover(context.Background(), srv.Client(), srv.URL); err != nil {
			t.Fatal(err)
		}
	})
}

// An issuer on plain http elsewhere is a settings error, before any request.
func TestIssuerSettingAppliesTheEndpointRule(t *testing.T) {
	for _, issuer := range []string{"http://idp.example.test", "http://idp.example.test/realms/x"} {
		_, err := Discover(context.Background(), http.DefaultClient, issuer)
		var se *SettingsError
		if !errors.As(err, &se) || !errors.Is(err, endpoint.ErrRefused) {
			t.Errorf("Discover(%q): %v, want a *SettingsError with a refusal", issuer, err)
		}
	}
}

// A cache file edited to name another, plain-http token endpoint is a miss:
// the document is discovered anew and the refresh goes to the provider's
// own endpoint.
func TestCacheEntryBreakingTheRuleIsAMiss(t *testing.T) {
	srv, requests := tlsServer(t, "", "")
	r := Resolver{Client: srv.Client(), Cache: Cache{Dir: t.TempDir()}}
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "work", srv.URL, Metadata{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(r.Cache.Dir, "discovery-work.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	poisoned := strings.Replace(string(b), srv.URL+"/token", "http://idp-token.example.test/token", 1)
	if poisoned == string(b) {
		t.Fatal("the cache file does not hold the token endpoint")
	}
	if err := os.WriteFile(path, []byte(poisoned), 0o600); err != nil {
		t.Fatal(err)
	}
	if m, ok := r.Cache.Load("work", srv.URL); ok {
		t.Fatalf("Load = %+v: a poisoned entry was a hit", m)
	}
	m, err := r.Resolve(ctx, "work", srv.URL, Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	if m.TokenEndpoint != srv.URL+"/token" {
		t.Errorf("token endpoint %s, want the discovered %s/token", m.TokenEndpoint, srv.URL)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d discovery requests, want 2 (the poisoned entry a miss)", n)
	}

	// An entry whose document names another issuer is a miss too.
	other := strings.Replace(string(b), fmt.Sprintf("%q", srv.URL), `"https://evil.example"`, 1)
	if err := os.WriteFile(path, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Cache.Load("work", srv.URL); ok {
		t.Error("an entry naming another issuer was a hit")
	}
}

// Endpoints set by hand (token_url in the config, AUTHCTL_TOKEN_URL) are
// checked wherever they are used: Resolve runs at every refresh.
func TestExplicitEndpointsAreChecked(t *testing.T) {
	r := Resolver{Cache: Cache{Dir: t.TempDir()}}
	for _, explicit := range []Metadata{
		{TokenEndpoint: "http://idp-token.example.test/token"},
		{TokenEndpoint: "https://idp.example.test/token", RevocationEndpoint: "http://idp.example.test/revoke"},
		{UserinfoEndpoint: "http://idp.example.test/me"},
	} {
		_, err := r.Resolve(context.Background(), "work", "https://idp.example.test", explicit)
		var se *SettingsError
		if !errors.As(err, &se) || !errors.Is(err, endpoint.ErrRefused) {
			t.Errorf("Resolve(%+v) = %v, want a *SettingsError with a refusal", explicit, err)
		}
	}
	if _, err := Overlay(&Metadata{TokenEndpoint: "https://idp.example.test/token"}, Metadata{JWKSURI: "http://idp.example.test/jwks"}); err == nil {
		t.Error("Overlay accepted a plain-http jwks_uri")
	}
}
