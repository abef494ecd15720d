package testidp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authctl/authctl/internal/testidp"
)

func TestDiscoveryAdvertisesWhatAuthctlNeeds(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	if !strings.HasPrefix(idp.Issuer, "http://127.0.0.1:") {
		t.Fatalf("issuer = %q, want http://127.0.0.1:PORT", idp.Issuer)
	}
	resp, err := http.Get(idp.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != idp.Issuer {
		t.Errorf("discovery issuer = %v, want %s", doc["issuer"], idp.Issuer)
	}
	if doc["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v, want true", doc["authorization_response_iss_parameter_supported"])
	}
	for _, key := range []string{"device_authorization_endpoint", "revocation_endpoint", "userinfo_endpoint", "introspection_endpoint", "token_endpoint"} {
		v, _ := doc[key].(string)
		if !strings.HasPrefix(v, idp.Issuer+"/") {
			t.Errorf("%s = %v, want a URL under the issuer", key, doc[key])
		}
	}
	ep := idp.Endpoint()
	for key, want := range map[string]string{
		"authorization_endpoint":        ep.AuthURL,
		"token_endpoint":                ep.TokenURL,
		"device_authorization_endpoint": ep.DeviceAuthURL,
		"userinfo_endpoint":             idp.UserinfoURL(),
		"revocation_endpoint":           idp.RevocationURL(),
		"introspection_endpoint":        idp.IntrospectionURL(),
	} {
		if doc[key] != want {
			t.Errorf("%s = %v, but IdP says %s", key, doc[key], want)
		}
	}
	if got := doc["code_challenge_methods_supported"]; len(got.([]any)) != 1 || got.([]any)[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", got)
	}
}

// Stats must count failed token requests by grant type, since tests use
// them to prove "exactly one refresh request".
func TestStatsCountFailedRequestsAndReset(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	ctx := context.Background()
	post := func(path string, form url.Values) int {
		t.Helper()
		resp, err := http.PostForm(idp.Issuer+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus"}, "client_id": {testidp.ClientID}}); code != http.StatusBadRequest {
		t.Errorf("refresh with a bogus token: status %d, want 400", code)
	}
	post("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus2"}, "client_id": {testidp.ClientID}})
	post("/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {testidp.ClientID}})
	if code := post("/token/revocation", url.Values{"token": {"unknown"}, "client_id": {testidp.ClientID}}); code != http.StatusOK {
		t.Errorf("revoking an unknown token: status %d, want 200", code)
	}
	resp, err := http.Get(idp.Issuer + "/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got, err := idp.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := testidp.Stats{RefreshToken: 2, AuthorizationCode: 1, Token: 3, TokenErrors: 3, Revocation: 1, Userinfo: 1}
	if got != want {
		t.Errorf("stats = %+v\nwant    %+v", got, want)
	}
	if err := idp.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := idp.Stats(ctx); err != nil || got != (testidp.Stats{}) {
		t.Errorf("after reset: stats = %+v, %v; want zero", got, err)
	}
}

// TestCloseStopsTheProviderPromptly: the provider exits on SIGTERM, so
// Close never has to wait out its grace and kill it (which it reports).
func TestCloseStopsTheProviderPromptly(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{AccessTTL: 2 * time.Second})
	if err := idp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(idp.Issuer + "/.well-known/openid-configuration"); err == nil {
		t.Error("provider still answers after Close")
	}
}

func TestStartRejectsSubSecondTTL(t *testing.T) {
	if err := testidp.Available(); err != nil {
		testidp.SkipOrFail(t, err.Error())
	}
	_, err := testidp.Start(context.Background(), testidp.Options{AccessTTL: time.Millisecond})
	if err == nil {
		t.Fatal("Start accepted a 1ms access ttl")
	}
}

func TestAvailableNamesTheFix(t *testing.T) {
	t.Chdir(t.TempDir())
	err := testidp.Available()
	if err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Errorf("Available outside the module = %v, want an error naming go.mod", err)
	}
}

func TestAvailableSaysToInstallDependencies(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed, so Available reports that first")
	}
	root := t.TempDir()
	for name, body := range map[string]string{"go.mod": "module x\n", "testdata/idp/server.js": ""} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(filepath.Join(root, "testdata"))
	err := testidp.Available()
	if err == nil || !strings.Contains(err.Error(), "run: npm ci --prefix testdata/idp") {
		t.Errorf("Available without node_modules = %v, want the npm ci command", err)
	}
}
