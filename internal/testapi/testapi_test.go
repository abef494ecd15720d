package testapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/authctl/authctl/internal/testapi"
	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
)

type reply struct {
	code   int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, method, u, token, ctype, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{code: resp.StatusCode, header: resp.Header}
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &r.body)
	return r
}

func loginToken(t *testing.T, idp *testidp.IdP) string {
	t.Helper()
	tok, err := testbrowser.Login(context.Background(), idp.Config(), idp.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func TestHelloNeedsATokenTheProviderAccepts(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	api := testapi.StartT(t, idp.Issuer)
	token := loginToken(t, idp)

	if r := call(t, "GET", api.URL()+"/hello", token, "", ""); r.code != 200 || r.body["sub"] != testidp.Subject {
		t.Errorf("hello with a good token: %d %v, want 200 sub alice", r.code, r.body)
	}
	for name, tok := range map[string]string{"no token": "", "bogus token": "not-a-token"} {
		r := call(t, "GET", api.URL()+"/hello", tok, "", "")
		wa := r.header.Get("WWW-Authenticate")
		if r.code != 401 || !strings.HasPrefix(wa, `Bearer error="invalid_token", error_description="`) {
			t.Errorf("%s: %d %q, want 401 with a Bearer invalid_token challenge", name, r.code, wa)
		}
		if tok != "" && strings.Contains(wa, tok) {
			t.Errorf("%s: challenge echoes the token", name)
		}
	}
	s := api.Stats()
	if s.Routes["GET /hello"] != 3 || s.Unauthorized != 2 || s.Authorized != 1 {
		t.Errorf("stats = %+v, want 3 hello, 2 unauthorized, 1 authorized", s)
	}
}

func TestRefuseSwitchesRefuseTokensTheProviderStillAccepts(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	api := testapi.StartT(t, idp.Issuer)
	first, second := loginToken(t, idp), loginToken(t, idp)
	hello := func(tok string) int { return call(t, "GET", api.URL()+"/hello", tok, "", "").code }

	// current=1: the next token seen is refused, then and afterwards; others still pass.
	if r := call(t, "POST", api.URL()+"/test/refuse", "", "application/x-www-form-urlencoded", "current=1"); r.code != 204 {
		t.Fatalf("refuse current: %d", r.code)
	}
	// The refused token stays refused: ask twice.
	firstCode, againCode := hello(first), hello(first)
	if firstCode != 401 || againCode != 401 || hello(second) != 200 {
		t.Error("refuse current=1: want the next token refused for good and others accepted")
	}
	// token=T
	form := url.Values{"token": {second}}.Encode()
	call(t, "POST", api.URL()+"/test/refuse", "", "application/x-www-form-urlencoded", form)
	if hello(second) != 401 {
		t.Error("refuse token=T: token still accepted")
	}
	call(t, "POST", api.URL()+"/test/reset", "", "", "")
	third := loginToken(t, idp)
	if hello(first) != 200 || hello(third) != 200 {
		t.Error("after reset: tokens still refused")
	}
	call(t, "POST", api.URL()+"/test/refuse-all", "", "", "")
	if hello(third) != 401 {
		t.Error("refuse-all: token accepted")
	}
	// The provider itself still honours the token: only the API refuses it.
	req, _ := http.NewRequest("GET", idp.UserinfoURL(), nil)
	req.Header.Set("Authorization", "Bearer "+third)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("provider userinfo after refuse-all: %d, want 200", resp.StatusCode)
	}
}

func TestEchoStatusAndStats(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	api := testapi.StartT(t, idp.Issuer)
	token := loginToken(t, idp)

	r := call(t, "POST", api.URL()+"/echo?x=1", token, "application/json", `{"a":1}`)
	if r.code != 200 || r.body["method"] != "POST" || r.body["content_type"] != "application/json" || r.body["body"] != `{"a":1}` || r.body["query"] != "x=1" {
		t.Errorf("echo: %d %v", r.code, r.body)
	}
	if r := call(t, "PUT", api.URL()+"/echo", token, "text/plain", "hi"); r.body["method"] != "PUT" || r.body["body"] != "hi" {
		t.Errorf("echo PUT: %d %v", r.code, r.body)
	}
	if r := call(t, "POST", api.URL()+"/echo", "", "text/plain", "hi"); r.code != 401 {
		t.Errorf("echo without token: %d, want 401", r.code)
	}
	for _, code := range []int{404, 418, 500, 503} {
		if r := call(t, "GET", api.URL()+"/status/"+strconv.Itoa(code), token, "", ""); r.code != code {
			t.Errorf("status/%d answered %d", code, r.code)
		}
	}
	var s testapi.Stats
	resp, err := http.Get(api.URL() + "/test/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Routes["/echo"] != 3 || s.Routes["GET /status/{code}"] != 4 || s.Unauthorized != 1 {
		t.Errorf("stats over HTTP = %+v", s)
	}
}

// The routes below need no provider.

func TestSeenAndRedirectNeedNoToken(t *testing.T) {
	api := testapi.New("http://127.0.0.1:1")
	srv := httptest.NewServer(api)
	defer srv.Close()
	if r := call(t, "GET", srv.URL+"/seen", "", "", ""); r.code != 200 || r.body["authorization"] != false {
		t.Errorf("seen without header: %d %v", r.code, r.body)
	}
	r := call(t, "GET", srv.URL+"/seen", "secret-value", "", "")
	if r.code != 200 || r.body["authorization"] != true {
		t.Errorf("seen with header: %d %v", r.code, r.body)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte("Bearer secret-value"))); len(r.body) != 2 || r.body["authorization_sha256"] != want {
		t.Errorf("seen answered more than the flag and the hash %s: %v", want, r.body)
	}
	r = call(t, "GET", srv.URL+"/redirect?to="+url.QueryEscape("http://localhost:9/seen"), "", "", "")
	if r.code != 302 || r.header.Get("Location") != "http://localhost:9/seen" {
		t.Errorf("redirect: %d %q", r.code, r.header.Get("Location"))
	}
	r = call(t, "GET", srv.URL+"/redirect?code=307&to=/echo", "", "", "")
	if r.code != 307 || r.header.Get("Location") != "/echo" {
		t.Errorf("redirect 307: %d %q", r.code, r.header.Get("Location"))
	}
}

func TestUnreachableProviderIsNotAnAuthFailure(t *testing.T) {
	api := testapi.New("http://127.0.0.1:1")
	srv := httptest.NewServer(api)
	defer srv.Close()
	if r := call(t, "GET", srv.URL+"/hello", "some-token", "", ""); r.code != http.StatusBadGateway {
		t.Errorf("hello with the provider down: %d, want 502", r.code)
	}
}

func TestStartOnASecondHost(t *testing.T) {
	for _, addr := range []string{"127.0.0.2:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			api := testapi.New("http://127.0.0.1:1")
			if err := api.StartOn(addr); err != nil {
				if ln, lerr := net.Listen("tcp", addr); lerr != nil {
					t.Skipf("this machine cannot listen on %s: %v", addr, lerr)
				} else {
					ln.Close()
				}
				t.Fatal(err)
			}
			defer api.Close()
			host, _, _ := net.SplitHostPort(addr)
			if !strings.HasPrefix(api.URL(), "http://"+host+":") {
				t.Errorf("URL = %q, want host %s", api.URL(), host)
			}
			if r := call(t, "GET", api.URL()+"/seen", "", "", ""); r.code != 200 {
				t.Errorf("seen on %s: %d", api.URL(), r.code)
			}
		})
	}
}
