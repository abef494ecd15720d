package tokenendpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
)

// exchange makes one refresh request to a token endpoint that answers
// body with contentType, through a Transport, and returns what x/oauth2
// made of it, the Transport, what it logged and x/oauth2's error.
func exchange(t *testing.T, contentType, body string) (*oauth2.Token, *Transport, []string, error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	var logged []string
	client, tr := Client(srv.Client(), func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	conf := &oauth2.Config{ClientID: "cli", Endpoint: oauth2.Endpoint{TokenURL: srv.URL, AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: "old", Expiry: time.Unix(1, 0)}).Token()
	return tok, tr, logged, err
}

// An odd expires_in no longer costs the whole answer: it is dropped, and
// the rotated refresh token comes through.
func TestExpiresIn(t *testing.T) {
	tests := []struct {
		raw        string
		wantExpiry time.Duration // 0: none
	}{
		{`3600`, time.Hour},
		{`"3600"`, time.Hour},
		{`3600.0`, time.Hour},
		{`1e3`, 1000 * time.Second},
		{`1e20`, 0},
		{`3600.5`, 0},
		{`-1`, 0},
		{`0`, 0},
		{`"soon"`, 0},
		{`true`, 0},
		{`{}`, 0},
		{`null`, 0},
		{`31622401`, 0}, // a day more than MaxExpiresIn
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			body := `{"access_token":"AT","token_type":"Bearer","refresh_token":"RT2","expires_in":` + tt.raw + `}`
			tok, _, logged, err := exchange(t, "application/json", body)
			if err != nil {
				t.Fatalf("x/oauth2 refused the answer: %v", err)
			}
			if tok.RefreshToken != "RT2" || tok.AccessToken != "AT" {
				t.Fatalf("token %+v", tok)
			}
			if tt.wantExpiry == 0 {
				if !tok.Expiry.IsZero() {
					t.Errorf("expiry %v, want none", tok.Expiry)
				}
				if tt.raw != "null" && (len(logged) != 1 || !strings.Contains(logged[0], "expires_in")) {
					t.Errorf("logged %q, want one line about expires_in", logged)
				}
				return
			}
			if d := time.Until(tok.Expiry); d < tt.wantExpiry-time.Minute || d > tt.wantExpiry {
				t.Errorf("expires in %v, want %v", d, tt.wantExpiry)
			}
			if len(logged) != 0 {
				t.Errorf("logged %q for a good value", logged)
			}
		})
	}
}

// The same holds for a form-encoded answer, where x/oauth2 would turn -1
// into an access token that expired a second ago.
func TestExpiresInForm(t *testing.T) {
	for _, raw := range []string{"-1", "1e20", "3600.5"} {
		tok, _, _, err := exchange(t, "application/x-www-form-urlencoded", "access_token=AT&refresh_token=RT2&token_type=bearer&expires_in="+raw)
		if err != nil || !tok.Expiry.IsZero() || tok.RefreshToken != "RT2" || tok.TokenType != "Bearer" {
			t.Errorf("expires_in=%s: %+v, %v; want no expiry, RT2, Bearer", raw, tok, err)
		}
	}
}

func TestTokenType(t *testing.T) {
	tests := []struct {
		raw, want string
		warn      bool
	}{
		{`"Bearer"`, "Bearer", false},
		{`"bearer"`, "Bearer", false},
		{`"BEARER"`, "Bearer", false},
		{`"dpop"`, "DPoP", false},
		{`"DPoP"`, "DPoP", false},
		{`"N_A"`, "N_A", false},
		{`"Bearer x"`, "Bearer", true},
		{`"Bearer\r\nX-Injected: 1"`, "Bearer", true},
		{`"\u001b[2J"`, "Bearer", true},
		{`""`, "Bearer", false},
		{`42`, "Bearer", true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			tok, _, logged, err := exchange(t, "application/json", `{"access_token":"AT","expires_in":60,"token_type":`+tt.raw+`}`)
			if err != nil {
				t.Fatalf("x/oauth2 refused the answer: %v", err)
			}
			if tok.TokenType != tt.want {
				t.Errorf("token type %q, want %q", tok.TokenType, tt.want)
			}
			if warned := len(logged) == 1 && strings.Contains(logged[0], "token_type"); warned != tt.warn {
				t.Errorf("logged %q, want a warning: %v", logged, tt.warn)
			}
			for _, l := range logged {
				if strings.ContainsAny(l, "\x1b\r\n") {
					t.Errorf("log line %q is not printable", l)
				}
			}
		})
	}
}

// An answer x/oauth2 refuses still gives up the refresh token it carried.
func TestRefreshTokenOfARefusedAnswer(t *testing.T) {
	_, tr, _, err := exchange(t, "application/json", `{"refresh_token":"RT2","token_type":"Bearer"}`)
	if err == nil {
		t.Fatal("x/oauth2 accepted an answer without access_token")
	}
	if got := tr.RefreshToken(); got != "RT2" {
		t.Errorf("RefreshToken() = %q, want RT2", got)
	}
}

// An error answer is x/oauth2's to read, untouched.
func TestErrorAnswerUntouched(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","refresh_token":"nope"}`)
	}))
	defer srv.Close()
	client, tr := Client(srv.Client(), nil)
	conf := &oauth2.Config{ClientID: "cli", Endpoint: oauth2.Endpoint{TokenURL: srv.URL, AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	_, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: "old"}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
	if tr.RefreshToken() != "" {
		t.Error("a refresh token was taken from an error answer")
	}
}

// With a DPoP key, each token request carries a proof of it, and the
// provider's use_dpop_nonce is answered with one retry under the nonce:
// the refresh token is sent twice, but the provider refused the first
// request before looking at it.
func TestDPoP(t *testing.T) {
	key, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	var proofs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proofs = append(proofs, r.Header.Get("DPoP"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("DPoP-Nonce", "nonce-1")
		if len(proofs) == 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"use_dpop_nonce"}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"AT","token_type":"dpop","refresh_token":"RT2","expires_in":60}`)
	}))
	defer srv.Close()
	client, tr := Client(srv.Client(), nil)
	tr.DPoP = key
	conf := &oauth2.Config{ClientID: "cli", Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	tok, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: "old", Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" || tr.RefreshToken() != "RT2" {
		t.Errorf("token type %q, refresh token %q", tok.TokenType, tr.RefreshToken())
	}
	if len(proofs) != 2 {
		t.Fatalf("%d requests; want 2", len(proofs))
	}
	for i, p := range proofs {
		jws, err := jose.ParseSigned(p, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatalf("request %d: proof %q: %v", i+1, p, err)
		}
		payload, err := jws.Verify(jws.Signatures[0].Protected.JSONWebKey)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ HTM, HTU, Nonce, ATH string }
		_ = json.Unmarshal(payload, &c)
		want := struct{ HTM, HTU, Nonce, ATH string }{"POST", srv.URL + "/token", []string{"", "nonce-1"}[i], ""}
		if c != want {
			t.Errorf("request %d: proof claims %+v; want %+v", i+1, c, want)
		}
	}
}

// Without a key, no proof.
func TestNoDPoP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("DPoP") != "" {
			t.Error("a proof without a key")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"AT","token_type":"Bearer"}`)
	}))
	defer srv.Close()
	client, _ := Client(srv.Client(), nil)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("a=b"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
