package tokenendpoint

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// answer is a RoundTripper that answers every request with 200 and body.
type answer struct {
	contentType string
	body        []byte
}

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {a.contentType}},
		Body: io.NopCloser(bytes.NewReader(a.body)), Request: r}, nil
}

// FuzzTokenResponse feeds arbitrary token-endpoint answers through the
// Transport: nothing panics; what comes out holds an expires_in that
// x/oauth2 can read (a whole number of seconds from 1 to MaxExpiresIn) or
// none, and a usable token_type; and a refresh token the answer carried
// is remembered.
func FuzzTokenResponse(f *testing.F) {
	f.Add(`{"access_token":"AT","refresh_token":"RT","token_type":"bearer","expires_in":3600}`, false)
	f.Add(`{"access_token":"AT","refresh_token":"RT","expires_in":1e20}`, false)
	f.Add(`{"access_token":"AT","expires_in":"3600.5","token_type":"Bearer\r\nX: y"}`, false)
	f.Add(`{"refresh_token":"RT","expires_in":-1,"token_type":7}`, false)
	f.Add(`{"error":"invalid_grant","refresh_token":"RT"}`, false)
	f.Add(`access_token=AT&refresh_token=RT&expires_in=3600&token_type=bearer`, true)
	f.Add(`access_token=AT&expires_in=1e9`, true)
	f.Fuzz(func(t *testing.T, body string, form bool) {
		ct := "application/json"
		if form {
			ct = "application/x-www-form-urlencoded"
		}
		tr := &Transport{Base: answer{ct, []byte(body)}}
		req, _ := http.NewRequest(http.MethodPost, "https://idp.example/token", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return
		}
		out, _ := io.ReadAll(resp.Body)
		var expiresIn, tokenType, refreshToken, oauthErr string
		if form {
			v, err := url.ParseQuery(string(out))
			if err != nil {
				return
			}
			expiresIn, tokenType, refreshToken, oauthErr = v.Get("expires_in"), v.Get("token_type"), v.Get("refresh_token"), v.Get("error")
			if !v.Has("token_type") {
				tokenType = "Bearer"
			}
		} else {
			var m map[string]json.RawMessage
			if json.Unmarshal(out, &m) != nil {
				return
			}
			if raw, ok := m["expires_in"]; ok && string(raw) != "null" {
				expiresIn = string(raw)
			}
			tokenType = "Bearer"
			if raw, ok := m["token_type"]; ok {
				if json.Unmarshal(raw, &tokenType) != nil {
					t.Fatalf("token_type %s is not a string after the fix", raw)
				}
			}
			_ = json.Unmarshal(m["refresh_token"], &refreshToken)
			_ = json.Unmarshal(m["error"], &oauthErr)
		}
		if expiresIn != "" {
			n, err := strconv.ParseInt(expiresIn, 10, 64)
			if err != nil || n < 1 || time.Duration(n)*time.Second > MaxExpiresIn {
				t.Fatalf("expires_in %q passed through from %q", expiresIn, body)
			}
		}
		if tokenType != "" {
			if typ, ok := TokenType(tokenType); !ok || typ != tokenType {
				t.Fatalf("token_type %q passed through from %q", tokenType, body)
			}
		}
		if refreshToken != "" && oauthErr == "" && tr.RefreshToken() != refreshToken {
			t.Fatalf("refresh token %q not remembered (got %q)", refreshToken, tr.RefreshToken())
		}
	})
}
