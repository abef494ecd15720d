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
	"time"
)

// server serves the given documents by path and counts requests.
func server(t *testing.T, docs func(base string) map[string]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, ok := docs(srv.URL)[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(body, "status:") {
			var code int
			fmt.Sscanf(body, "status:%d", &code)
			w.WriteHeader(code)
			return
		}
		if strings.HasPrefix(body, "html:") {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func doc(issuer string) string {
	return fmt.Sprintf(`{"issuer":%q,"authorization_endpoint":"%[1]s/auth","token_endpoint":"%[1]s/token",
		"revocation_endpoint":"%[1]s/revoke","jwks_uri":"%[1]s/jwks","userinfo_endpoint":"%[1]s/me",
		"code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}`, issuer)
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name    string
		path    string // the issuer's path
		docs    func(base string) map[string]string
		wantErr string
	}{
		{
			name: "OpenID Connect discovery",
			docs: func(b string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": doc(b)}
			},
		},
		{
			name: "RFC 8414 when there is no OIDC document, with the issuer's path appended",
			path: "/tenant/a",
			docs: func(b string) map[string]string {
				return map[string]string{"/.well-known/oauth-authorization-server/tenant/a": doc(b + "/tenant/a")}
			},
		},
		{
			name: "OIDC document under the issuer's path",
			path: "/realms/dev",
			docs: func(b string) map[string]string {
				return map[string]string{"/realms/dev/.well-known/openid-configuration": doc(b + "/realms/dev")}
			},
		},
		{
			name: "a document naming another issuer is refused",
			docs: func(b string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": doc("https://evil.example")}
			},
			wantErr: `names issuer "https://evil.example"`,
		},
		{
			name:    "no document at all",
			docs:    func(string) map[string]string { return nil },
			wantErr: "no discovery document",
		},
		{
			name: "a provider error is not mistaken for a missing document",
			docs: func(string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": "status:503"}
			},
			wantErr: "503",
		},
		{
			name: "HTML instead of JSON",
			docs: func(string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": "html:<html>login</html>"}
			},
			wantErr: "not JSON",
		},
		{
			name: "garbled JSON",
			docs: func(string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": `{"issuer":`}
			},
			wantErr: "malformed JSON",
		},
		{
			name: "no token endpoint",
			docs: func(b string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": fmt.Sprintf(`{"issuer":%q}`, b)}
			},
			wantErr: "no token_endpoint",
		},
		{
			name: "an endpoint that is not an http(s) URL",
			docs: func(b string) map[string]string {
				return map[string]string{"/.well-known/openid-configuration": fmt.Sprintf(`{"issuer":%q,"token_endpoint":"javascript:alert(1)"}`, b)}
			},
			wantErr: "token_endpoint javascript:alert(1): not an absolute URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, tt.docs)
			issuer := srv.URL + tt.path
			m, err := Discover(context.Background(), srv.Client(), issuer)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.TokenEndpoint != issuer+"/token" || !m.IssParameterSupported || !m.SupportsS256() {
				t.Errorf("metadata = %+v", m)
			}
		})
	}
}

func TestDiscoverRefusesBadIssuers(t *testing.T) {
	for _, issuer := range []string{"", "example.com", "ftp://example.com", "https://example.com/?x=1", "https://example.com/#f"} {
		if _, err := Discover(context.Background(), http.DefaultClient, issuer); err == nil {
			t.Errorf("Discover(%q) succeeded", issuer)
		}
	}
}

func TestSupportsS256(t *testing.T) {
	for _, tt := range []struct {
		methods []string
		want    bool
	}{{nil, true}, {[]string{"plain"}, false}, {[]string{"plain", "S256"}, true}} {
		if got := (&Metadata{CodeChallengeMethods: tt.methods}).SupportsS256(); got != tt.want {
			t.Errorf("SupportsS256(%v) = %v", tt.methods, got)
		}
	}
}

func TestSupportsDPoP(t *testing.T) {
	var m Metadata
	if err := json.Unmarshal([]byte(`{"dpop_signing_alg_values_supported":["ES256","EdDSA"]}`), &m); err != nil {
		t.Fatal(err)
	}
	if !m.SupportsDPoP() {
		t.Error("ES256 listed: no DPoP")
	}
	for _, algs := range [][]string{nil, {"EdDSA", "PS256"}} {
		if (&Metadata{DPoPSigningAlgs: algs}).SupportsDPoP() {
			t.Errorf("DPoP with %v", algs)
		}
	}
}

func TestCache(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Cache{Dir: filepath.Join(t.TempDir(), "cache"), Now: func() time.Time { return now }}
	m := &Metadata{Issuer: "https://id.example", TokenEndpoint: "https://id.example/token"}
	if _, ok := c.Load("work", m.Issuer); ok {
		t.Fatal("hit on an empty cache")
	}
	if err := c.Save("work", m.Issuer, m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v %v", fi.Mode(), err)
	}
	if got, ok := c.Load("work", "https://id.example/"); !ok || got.TokenEndpoint != m.TokenEndpoint {
		t.Fatalf("Load = %+v, %v", got, ok)
	}
	if _, ok := c.Load("work", "https://other.example"); ok {
		t.Error("hit for another issuer")
	}
	if _, ok := c.Load("other", m.Issuer); ok {
		t.Error("hit for another profile")
	}
	now = now.Add(DefaultCacheTTL + time.Second)
	if _, ok := c.Load("work", m.Issuer); ok {
		t.Error("hit after the lifetime")
	}
	if err := c.Delete("work"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("work"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if entries, _ := os.ReadDir(c.Dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestCacheIgnoresGarbage(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(c.Dir, "discovery-work.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Load("work", "https://id.example"); ok {
		t.Error("garbage counted as a hit")
	}
}

func TestResolver(t *testing.T) {
	srv, requests := server(t, func(b string) map[string]string {
		return map[string]string{"/.well-known/openid-configuration": doc(b)}
	})
	r := Resolver{Client: srv.Client(), Cache: Cache{Dir: t.TempDir()}}
	ctx := context.Background()
	for range 3 {
		m, err := r.Resolve(ctx, "work", srv.URL, Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		if m.TokenEndpoint != srv.URL+"/token" {
			t.Fatalf("token endpoint %q", m.TokenEndpoint)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("three resolves made %d requests, want 1 (the rest from the cache)", n)
	}

	// Explicit endpoints skip discovery altogether.
	m, err := r.Resolve(ctx, "plain", "", Metadata{TokenEndpoint: "https://auth.example/token", AuthorizationEndpoint: "https://auth.example/authorize"})
	if err != nil || m.TokenEndpoint != "https://auth.example/token" {
		t.Fatalf("explicit: %+v, %v", m, err)
	}
	if _, err := r.Resolve(ctx, "plain", "", Metadata{TokenEndpoint: "not a url"}); err == nil {
		t.Error("a bad explicit endpoint was accepted")
	}
	if _, err := r.Resolve(ctx, "none", "", Metadata{}); err == nil {
		t.Error("no issuer and no endpoints was accepted")
	}
}

func TestResolverProviderDown(t *testing.T) {
	srv, _ := server(t, func(string) map[string]string { return nil })
	url := srv.URL
	srv.Close()
	r := Resolver{Client: http.DefaultClient, Cache: Cache{Dir: t.TempDir()}}
	_, err := r.Resolve(context.Background(), "work", url, Metadata{})
	if err == nil || errors.Is(err, ErrNoDiscovery) {
		t.Fatalf("err = %v, want a connection error", err)
	}
}

func TestResolverOverlaysExplicitEndpoints(t *testing.T) {
	srv, _ := server(t, func(b string) map[string]string {
		return map[string]string{"/.well-known/openid-configuration": doc(b)}
	})
	r := Resolver{Client: srv.Client(), Cache: Cache{Dir: t.TempDir()}}
	m, err := r.Resolve(context.Background(), "work", srv.URL, Metadata{RevocationEndpoint: "https://elsewhere.example/revoke"})
	if err != nil {
		t.Fatal(err)
	}
	if m.RevocationEndpoint != "https://elsewhere.example/revoke" || m.TokenEndpoint != srv.URL+"/token" {
		t.Errorf("metadata = %+v: want the explicit revocation endpoint over the discovered one, the rest discovered", m)
	}
	if _, err := r.Resolve(context.Background(), "work", srv.URL, Metadata{UserinfoEndpoint: "nonsense"}); err == nil {
		t.Error("a bad explicit endpoint was accepted")
	}
}

func TestSecretInHeader(t *testing.T) {
	for _, tt := range []struct {
		methods []string
		want    bool
	}{
		{nil, true}, // RFC 8414's default
		{[]string{"client_secret_post"}, false},
		{[]string{"client_secret_basic", "client_secret_post"}, false},
		{[]string{"client_secret_basic"}, true},
		{[]string{"none", "client_secret_basic", "private_key_jwt"}, true},
	} {
		if got := (&Metadata{TokenEndpointAuthMethods: tt.methods}).SecretInHeader(); got != tt.want {
			t.Errorf("SecretInHeader(%v) = %v, want %v", tt.methods, got, tt.want)
		}
	}
}

func TestIssuerMatches(t *testing.T) {
	const tmpl = "https://login.example/{tenantid}/v2.0"
	for _, tt := range []struct {
		want, issuer string
		match        bool
	}{
		{"https://idp.example", "https://idp.example", true},
		{"https://idp.example/", "https://idp.example", true},
		{"https://idp.example", "https://idp.example/other", false},
		{tmpl, "https://login.example/common/v2.0", true},
		{tmpl, "https://login.example/organizations/v2.0/", true},
		{tmpl, "https://login.example/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", true},
		{tmpl, "https://login.example/v2.0", false},
		{tmpl, "https://login.example//v2.0", false},
		{tmpl, "https://login.example/a/b/v2.0", false},
		{tmpl, "https://login.example/common/v1.0", false},
		{tmpl, "https://evil.example/common/v2.0", false},
		{tmpl, "https://login.example.evil/common/v2.0", false},
		{"https://login.example/x{tenantid}/v2.0", "https://login.example/xcommon/v2.0", false},
		// The placeholder never stands for a host.
		{"https://{tenantid}/v2.0", "https://evil.example/v2.0", false},
		{"https://{tenantid}", "https://evil.example", false},
		{"{tenantid}/v2.0", "evil/v2.0", false},
	} {
		if got := IssuerMatches(tt.want, tt.issuer); got != tt.match {
			t.Errorf("IssuerMatches(%q, %q) = %v, want %v", tt.want, tt.issuer, got, tt.match)
		}
	}
}

func TestTenantIssuer(t *testing.T) {
	const tmpl = "https://login.example/{tenantid}/v2.0"
	for _, tt := range []struct{ template, tid, want string }{
		{tmpl, "72f988bf", "https://login.example/72f988bf/v2.0"},
		{tmpl, "", ""},
		{tmpl, "72f988bf-86f1-41af-91ab-2d7cd011db47", "https://login.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"},
		{tmpl, "a/b", ""},
		{tmpl, "..", ""},
		{tmpl, "a%2Fb", ""},
		{tmpl, "a b", ""},
		{tmpl, "{tenantid}", ""},
		{"https://idp.example", "72f988bf", "https://idp.example"},
	} {
		if got := TenantIssuer(tt.template, tt.tid); got != tt.want {
			t.Errorf("TenantIssuer(%q, %q) = %q, want %q", tt.template, tt.tid, got, tt.want)
		}
	}
}

// TestDiscoverMultiTenant: a /common issuer whose document names the
// {tenantid} template (Microsoft Entra ID) is accepted, the template kept
// for the ID-token check; the cache accepts it again.
func TestDiscoverMultiTenant(t *testing.T) {
	srv, _ := server(t, func(b string) map[string]string {
		return map[string]string{
			"/common/v2.0/.well-known/openid-configuration": fmt.Sprintf(`{"issuer":"%[1]s/{tenantid}/v2.0",
				"authorization_endpoint":"%[1]s/common/oauth2/v2.0/authorize","token_endpoint":"%[1]s/common/oauth2/v2.0/token",
				"jwks_uri":"%[1]s/common/discovery/v2.0/keys"}`, b),
			"/other/v2.0/.well-known/openid-configuration": fmt.Sprintf(`{"issuer":"%[1]s/{tenantid}/v1.0","token_endpoint":"%[1]s/t"}`, b),
		}
	})
	m, err := Discover(context.Background(), srv.Client(), srv.URL+"/common/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	if m.Issuer != srv.URL+"/{tenantid}/v2.0" || m.TokenEndpoint != srv.URL+"/common/oauth2/v2.0/token" {
		t.Errorf("metadata = %+v, want the template issuer and the /common endpoints", m)
	}
	if _, err := Discover(context.Background(), srv.Client(), srv.URL+"/other/v2.0"); err == nil || !strings.Contains(err.Error(), "names issuer") {
		t.Errorf("a template that does not fit the issuer: err = %v, want it refused", err)
	}
	c := Cache{Dir: t.TempDir()}
	if err := c.Save("p", srv.URL+"/common/v2.0", m); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Load("p", srv.URL+"/common/v2.0"); !ok || got.Issuer != m.Issuer {
		t.Errorf("cache Load = %+v, %v; want the template metadata back", got, ok)
	}
	// A profile moved to one tenant does not get /common's document.
	if got, ok := c.Load("p", srv.URL+"/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"); ok {
		t.Errorf("cache Load for one tenant = %+v; want a miss", got)
	}
}
