package testapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/internal/testapi"
	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
	"github.com/authctl/authctl/tokenendpoint"
)

// dpopLogin signs in at a DPoP provider with key and returns the access
// token, bound to it.
func dpopLogin(t *testing.T, idp *testidp.IdP, key *dpop.Key) string {
	t.Helper()
	client, te := tokenendpoint.Client(nil, nil)
	te.DPoP = key
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	tok, err := testbrowser.Login(ctx, idp.Config(), idp.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token type %q; want DPoP", tok.TokenType)
	}
	return tok.AccessToken
}

// send makes one request with header values as given (no proof unless
// one is in h) and returns the status and WWW-Authenticate.
func send(t *testing.T, method, u string, h http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func proofFor(t *testing.T, key *dpop.Key, method, u, tok string) string {
	t.Helper()
	pu, _ := url.Parse(u)
	p, err := key.Proof(dpop.Request{Method: method, URL: pu, AccessToken: tok}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDPoPBoundTokens(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{DPoP: true})
	api := testapi.StartT(t, idp.Issuer)
	key, _ := dpop.NewKey()
	tok := dpopLogin(t, idp, key)
	hello := api.URL() + "/hello"

	good := proofFor(t, key, "GET", hello, tok)
	if code, wa := send(t, "GET", hello, http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {good}}); code != 200 {
		t.Fatalf("a good proof: %d %s", code, wa)
	}
	other, _ := dpop.NewKey()
	for name, h := range map[string]http.Header{
		"the proof again (replay)":   {"Authorization": {"DPoP " + tok}, "Dpop": {good}},
		"as a bearer token":          {"Authorization": {"Bearer " + tok}},
		"DPoP without a proof":       {"Authorization": {"DPoP " + tok}},
		"a proof for another URL":    {"Authorization": {"DPoP " + tok}, "Dpop": {proofFor(t, key, "GET", api.URL()+"/echo", tok)}},
		"a proof for another method": {"Authorization": {"DPoP " + tok}, "Dpop": {proofFor(t, key, "POST", hello, tok)}},
		"a proof for another token":  {"Authorization": {"DPoP " + tok}, "Dpop": {proofFor(t, key, "GET", hello, tok+"x")}},
		"a proof of another key":     {"Authorization": {"DPoP " + tok}, "Dpop": {proofFor(t, other, "GET", hello, tok)}},
		"two proofs":                 {"Authorization": {"DPoP " + tok}, "Dpop": {proofFor(t, key, "GET", hello, tok), proofFor(t, key, "GET", hello, tok)}},
	} {
		if code, wa := send(t, "GET", hello, h); code != 401 || wa == "" {
			t.Errorf("%s: %d %q; want 401 with a challenge", name, code, wa)
		}
	}
	s := api.Stats()
	if s.DPoP != 1 || s.Authorized != 1 {
		t.Errorf("stats %+v; want one accepted DPoP request", s)
	}
	res, err := idp.Introspect(context.Background(), testidp.ClientID, tok)
	if err != nil {
		t.Fatal(err)
	}
	if cnf, _ := res["cnf"].(map[string]any); cnf["jkt"] != key.Thumbprint() {
		t.Errorf("introspection %v; want cnf.jkt %s", res, key.Thumbprint())
	}
}

func TestDPoPNonce(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{DPoP: true})
	api := testapi.StartT(t, idp.Issuer)
	key, _ := dpop.NewKey()
	tok := dpopLogin(t, idp, key)
	api.RequireDPoPNonce(true)
	hello := api.URL() + "/hello"
	code, wa := send(t, "GET", hello, http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {proofFor(t, key, "GET", hello, tok)}})
	if code != 401 || !strings.Contains(wa, `error="use_dpop_nonce"`) {
		t.Fatalf("no nonce: %d %q; want use_dpop_nonce", code, wa)
	}
	// authctl's transport answers with the nonce.
	req, _ := http.NewRequest("GET", hello, nil)
	req.Header.Set("Authorization", "DPoP "+tok)
	resp, err := (&dpop.Transport{Key: key}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the nonce: %d", resp.StatusCode)
	}
	if s := api.Stats(); s.UseDPoPNonce != 2 || s.DPoP != 1 {
		t.Errorf("stats %+v; want two nonce challenges, one success", s)
	}
}

func TestStepUp(t *testing.T) {
	idp := testidp.StartT(t, testidp.Options{})
	api := testapi.StartT(t, idp.Issuer)
	basic := loginToken(t, idp)
	strong, err := testbrowser.Login(context.Background(), idp.Config(), idp.Issuer, oauth2.SetAuthURLParam("acr_values", "urn:example:mfa"))
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, "GET", api.URL()+"/stepup?acr=urn:example:mfa&max_age=600", basic, "", "")
	wa := r.header.Get("WWW-Authenticate")
	if r.code != 401 || !strings.Contains(wa, `Bearer error="insufficient_user_authentication"`) || !strings.Contains(wa, `acr_values="urn:example:mfa"`) || !strings.Contains(wa, `max_age="600"`) {
		t.Errorf("without the acr: %d %q", r.code, wa)
	}
	r = call(t, "GET", api.URL()+"/stepup?acr=urn:example:mfa&max_age=600", strong.AccessToken, "", "")
	if r.code != 200 || r.body["acr"] != "urn:example:mfa" {
		t.Errorf("with the acr: %d %v", r.code, r.body)
	}
	// Two hours later, max_age=3600 wants a new sign-in.
	api.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	r = call(t, "GET", api.URL()+"/stepup?max_age=3600", strong.AccessToken, "", "")
	if wa := r.header.Get("WWW-Authenticate"); r.code != 401 || !strings.Contains(wa, `max_age="3600"`) || strings.Contains(wa, "acr_values") {
		t.Errorf("too old: %d %q", r.code, wa)
	}
	if s := api.Stats(); s.InsufficientAuth != 2 {
		t.Errorf("stats %+v", s)
	}
}
