package cmd

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/token"
)

const dpopProfile = "profiles:\n  work:\n    issuer: https://idp.example\n    client_id: cli\n    dpop: true\n    base_url: https://api.example/v1\n  plain:\n    issuer: https://idp.example\n    client_id: cli\n"

// storeBound stores a DPoP-bound credential with access token AT for
// profile and returns its key.
func (b *bench) storeBound(profile string) *dpop.Key {
	b.t.Helper()
	k, err := dpop.NewKey()
	if err != nil {
		b.t.Fatal(err)
	}
	c := &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", TokenType: "DPoP", Expiry: b.now.Add(time.Hour)}
	if err := c.SetProofKey(k); err != nil {
		b.t.Fatal(err)
	}
	b.storeCred(profile, c)
	return k
}

func TestDPoPProofFlagsToOptions(t *testing.T) {
	tests := []struct {
		args   []string
		method string
		url    string
		nonce  string
		err    string
	}{
		{args: []string{"--url", "https://api.example/x"}, method: "GET", url: "https://api.example/x"},
		{args: []string{"--method", "PATCH", "--url", "/x", "--nonce", "abc.DEF-1"}, method: "PATCH", url: "/x", nonce: "abc.DEF-1"},
		{args: nil, err: "--url is required"},
		{args: []string{"--url", "https://x", "--method", "GET X"}, err: `--method "GET X" is not an HTTP method`},
		{args: []string{"--url", "https://x", "--nonce", `a"b`}, err: "is not a DPoP nonce"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			b := newBench(t, dpopProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			o, err := capture(t, b, tt.args, NewCmdDPoPProof)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || exitCode(err, false) != exitUsage {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Method != tt.method || o.URL != tt.url || o.Nonce != tt.nonce || o.Profile.Name != "work" || !o.Profile.DPoP {
				t.Errorf("options %+v", *o)
			}
		})
	}
}

func TestDPoPProofRun(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		bound   bool
		opts    DPoPProofOptions
		code    int
		htu     string
		stderr  string
	}{
		{"absolute URL", "work", true, DPoPProofOptions{Method: "POST", URL: "https://api.example/items?page=2#x", Nonce: "n1"}, 0, "https://api.example/items", ""},
		{"a path under base_url", "work", true, DPoPProofOptions{Method: "GET", URL: "/items"}, 0, "https://api.example/v1/items", ""},
		{"a path without base_url", "plain", false, DPoPProofOptions{Method: "GET", URL: "/items"}, 2, "", "authctl: --url \"/items\" is a path: give a full URL or set base_url in the profile\n"},
		{"not bound", "plain", false, DPoPProofOptions{Method: "GET", URL: "https://api.example/x"}, 2, "",
			"authctl: the tokens of profile \"plain\" are not DPoP-bound, and need no proof: use authctl -p plain token print --format header (or log in with --dpop)\n"},
		{"not logged in", "work", false, DPoPProofOptions{Method: "GET", URL: "https://api.example/x"}, 4, "", "authctl: not logged in (profile \"work\"); run: authctl login -p work\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, dpopProfile)
			b.env["AUTHCTL_PROFILE"] = tt.profile
			var key *dpop.Key
			switch {
			case tt.bound:
				key = b.storeBound(tt.profile)
			case tt.profile == "plain":
				b.storeCred("plain", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour)})
			}
			opts := tt.opts
			opts.IO, opts.Profile, opts.Now = b.factory().IO(), b.profile(), func() time.Time { return b.now }
			err := dpopProofRun(context.Background(), &opts)
			if tt.code != 0 {
				b.assertRun(err, tt.code, "", tt.stderr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(b.out.String(), "\n")
			if len(lines) != 3 || lines[0] != "Authorization: DPoP AT" || !strings.HasPrefix(lines[1], "DPoP: ") || lines[2] != "" || b.err.Len() != 0 {
				t.Fatalf("stdout %q, stderr %q", b.out.String(), b.err.String())
			}
			jws, err := jose.ParseSigned(strings.TrimPrefix(lines[1], "DPoP: "), []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(jws.Signatures[0].Protected.JSONWebKey)
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				HTM, HTU, ATH, Nonce string
				IAT                  int64
			}
			_ = json.Unmarshal(payload, &c)
			if c.HTM != opts.Method || c.HTU != tt.htu || c.ATH != dpop.ATH("AT") || c.Nonce != opts.Nonce || c.IAT != b.now.Unix() {
				t.Errorf("proof claims %+v", c)
			}
			sum, _ := jws.Signatures[0].Protected.JSONWebKey.Thumbprint(crypto.SHA256)
			if base64.RawURLEncoding.EncodeToString(sum) != key.Thumbprint() {
				t.Error("the proof is signed with another key than the profile's")
			}
		})
	}
}

func TestTokenPrintWarnsOfBoundToken(t *testing.T) {
	b := newBench(t, dpopProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	b.storeBound("work")
	opts := TokenPrintOptions{Format: "header", IO: b.factory().IO(), Profile: b.profile(), Now: func() time.Time { return b.now }}
	b.assertRun(tokenPrintRun(context.Background(), &opts), 0, "Authorization: DPoP AT\n",
		"authctl: warning: the access token of profile \"work\" is DPoP-bound: a server takes it only with a DPoP proof signed by the profile's key, one per request; use authctl -p work curl, or authctl -p work dpop-proof --method M --url U for the two headers of one request\n")
}

func TestStepUpCommand(t *testing.T) {
	tests := []struct {
		profile string
		e       token.StepUpError
		want    string
	}{
		{"work", token.StepUpError{ACRValues: []string{"urn:example:mfa", "phr"}, MaxAge: 5 * time.Minute, MaxAgeSet: true},
			"authctl login -p work --prompt login --acr-values urn:example:mfa,phr --max-age 5m"},
		{"default", token.StepUpError{MaxAge: 90 * time.Second, MaxAgeSet: true}, "authctl login --prompt login --max-age 1m30s"},
		{"default", token.StepUpError{MaxAgeSet: true}, "authctl login --prompt login"},
		{"work", token.StepUpError{ACRValues: []string{"$(id)", "a&b"}}, "authctl login -p work --prompt login --acr-values '$(id),a&b'"},
	}
	for _, tt := range tests {
		if got := testProfileNamed(tt.profile).stepUpCommand(&tt.e); got != tt.want {
			t.Errorf("stepUpCommand(%+v) = %q; want %q", tt.e, got, tt.want)
		}
	}
}

// stepUpAPI answers a step-up challenge to every token but AT-strong.
type stepUpAPI struct{ auths []string }

func (a *stepUpAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	resp := &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("secret data\n")), Request: r}
	if r.Header.Get("Authorization") != "Bearer AT-strong" {
		resp.StatusCode, resp.Status = 401, "401 Unauthorized"
		resp.Header.Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="MFA needed", acr_values="urn:example:mfa", max_age="300"`)
		resp.Body = io.NopCloser(strings.NewReader("no"))
	}
	return resp, nil
}

func TestCurlRunStepUp(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		interactive bool
		code        int
		stdout      string
		stderr      string
		logins      int
	}{
		{"no --step-up", nil, true, 5, "",
			"authctl: the API needs a stronger or more recent login than the token's (insufficient_user_authentication: MFA needed); it asks for acr_values urn:example:mfa and max_age 300; run: authctl login -p work --prompt login --acr-values urn:example:mfa --max-age 5m\n", 0},
		{"--step-up without a terminal", []string{"--step-up"}, false, 5, "",
			"authctl: the API needs a stronger or more recent login than the token's (insufficient_user_authentication: MFA needed); it asks for acr_values urn:example:mfa and max_age 300 (--step-up logs in only at a terminal); run: authctl login -p work --prompt login --acr-values urn:example:mfa --max-age 5m\n", 0},
		{"--step-up at a terminal", []string{"--step-up"}, true, 0, "secret data\n",
			"authctl: the API needs a stronger or more recent login than the token's (insufficient_user_authentication: MFA needed); it asks for acr_values urn:example:mfa and max_age 300; signing in again (profile \"work\")\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(t, oneProfile)
			b.env["AUTHCTL_PROFILE"] = "work"
			b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT", RefreshToken: "RT", Expiry: b.now.Add(time.Hour),
				Minted: &token.Minted{Scopes: []string{"openid", "email"}}})
			o, err := capture(t, b, append(tt.args, "https://api.example/items"), NewCmdCurl)
			if err != nil {
				t.Fatal(err)
			}
			api := &stepUpAPI{}
			o.IO, o.Plain, o.Authed, o.Interactive = b.factory().IO(), api, api, tt.interactive
			var logins []*token.StepUpError
			o.StepUpLogin = func(_ context.Context, e *token.StepUpError) error {
				logins = append(logins, e)
				b.storeCred("work", &token.Credential{Issuer: "https://idp.example", ClientID: "cli", AccessToken: "AT-strong", Expiry: b.now.Add(time.Hour)})
				return nil
			}
			b.assertRun(curlRun(context.Background(), o), tt.code, tt.stdout, tt.stderr)
			if len(logins) != tt.logins {
				t.Errorf("%d logins; want %d", len(logins), tt.logins)
			}
			if len(logins) == 1 && (strings.Join(logins[0].ACRValues, " ") != "urn:example:mfa" || logins[0].MaxAge != 5*time.Minute) {
				t.Errorf("the login was asked for %+v", logins[0])
			}
		})
	}
}

func TestStepUpLoginOptions(t *testing.T) {
	b := newBench(t, oneProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	o := b.factory().stepUpLogin(b.profile(), &token.StepUpError{ACRValues: []string{"urn:x"}, MaxAge: time.Minute, MaxAgeSet: true})
	if o.Prompt != "login" || strings.Join(o.ACRValues, ",") != "urn:x" || o.MaxAge != time.Minute || o.Profile.Name != "work" {
		t.Errorf("login options %+v", o)
	}
}

func TestLoginRefusesDPoPWithoutProviderSupport(t *testing.T) {
	b := newBench(t, "")
	f := b.factory()
	f.deps.HTTPClient = &http.Client{Transport: &fakeProvider{t: t}}
	f.deps.Open = func(context.Context, string) error { t.Error("the browser opened"); return nil }
	var opts *LoginOptions
	c := NewCmdRoot(f)
	c.RemoveCommand(findCmd(c, "login"))
	c.AddCommand(NewCmdLogin(f, func(_ context.Context, o *LoginOptions) error { opts = o; return nil }))
	c.SetArgs([]string{"login", "-p", "work", "--issuer", "https://idp.example", "--client-id", "cli", "--dpop"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !opts.Profile.DPoP || opts.Profile.FromFlags["dpop"] != true {
		t.Fatalf("--dpop: profile %+v, saved %v", opts.Profile.Settings, opts.Profile.FromFlags)
	}
	b.assertRun(loginRun(context.Background(), opts), 2, "",
		"authctl: the provider at https://idp.example does not support DPoP (its discovery lists no dpop_signing_alg_values_supported with ES256); log in with --dpop=false\n")
	if len(b.store.Items()) != 0 {
		t.Error("a credential was stored")
	}
	if _, err := os.Stat(b.env["AUTHCTL_CONFIG"]); !os.IsNotExist(err) {
		t.Errorf("the config was written: %v", err)
	}
}

func TestStatusShowsTheDPoPKey(t *testing.T) {
	b := newBench(t, dpopProfile)
	b.env["AUTHCTL_PROFILE"] = "work"
	key := b.storeBound("work")
	opts := StatusOptions{IO: b.factory().IO(), Profile: b.profile(), Now: func() time.Time { return b.now }, JSON: true}
	if err := statusRun(context.Background(), &opts); err != nil {
		t.Fatal(err)
	}
	var r struct {
		JKT string `json:"dpop_jkt"`
	}
	if err := json.Unmarshal(b.out.Bytes(), &r); err != nil || r.JKT != key.Thumbprint() {
		t.Errorf("status %s; want dpop_jkt %s", b.out.String(), key.Thumbprint())
	}
}
