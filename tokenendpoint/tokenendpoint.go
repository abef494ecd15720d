// Package tokenendpoint stands between x/oauth2 and a provider's token
// endpoint (and its device authorization endpoint). It turns a successful
// answer with an odd field into one x/oauth2 accepts, rather than let
// x/oauth2 refuse the whole answer and with it a rotated refresh token, and
// it remembers the refresh token an answer carried even when x/oauth2 goes
// on to refuse the answer. It is the one place where requests to the token
// endpoint are shaped, so that proofs such as DPoP's can be added here.
package tokenendpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/safetext"
)

// MaxExpiresIn is the longest access-token lifetime believed. A longer
// expires_in (1e20, say) is dropped like a malformed one.
const MaxExpiresIn = 366 * 24 * time.Hour

// maxAnswer bounds how much of one answer is read.
const maxAnswer = 1 << 20

// Transport is an http.RoundTripper for requests to a token endpoint. In a
// successful (2xx) answer, JSON or form-encoded, it
//   - keeps expires_in only when it is a whole number of seconds from 1 to
//     MaxExpiresIn (a string holding one counts), and drops it otherwise, so
//     that the expiry comes from the token itself or stays unknown;
//   - makes token_type usable: any case of "bearer" becomes "Bearer" and of
//     "dpop" "DPoP"; a type that is not an RFC 7235 token becomes "Bearer"
//     (see TokenType);
//   - records refresh_token, unless the answer names an OAuth error (see
//     RefreshToken).
//
// With DPoP set, every request carries a DPoP proof signed by that key
// (RFC 9449 §5), so that the provider binds the tokens it issues to it,
// and a provider's use_dpop_nonce is answered with one retry carrying its
// nonce (see dpop.Transport).
//
// Everything it changes is said through Log. Use a Transport for one
// exchange (a refresh, a login), not shared between profiles.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Log, when set, receives one line per change to an answer. Never a
	// token.
	Log func(format string, args ...any)
	// DPoP, when set, is the key the tokens are to be bound to.
	DPoP *dpop.Key

	mu           sync.Mutex
	refreshToken string
	nonces       dpop.Nonces
}

// Client returns a copy of c (nil means http.DefaultClient) whose requests
// go through a new Transport on c's transport, and that Transport. Put the
// client in the context under oauth2.HTTPClient for x/oauth2 to use it.
func Client(c *http.Client, log func(string, ...any)) (*http.Client, *Transport) {
	if c == nil {
		c = http.DefaultClient
	}
	t := &Transport{Base: c.Transport, Log: log}
	cc := *c
	cc.Transport = t
	return &cc, t
}

// RefreshToken returns the refresh token of the last successful answer,
// or "" if none carried one. It is set even when x/oauth2 refused that
// answer (no access_token, say): a rotating provider has then already
// retired the refresh token that was sent, and this one must be kept.
func (t *Transport) RefreshToken() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refreshToken
}

func (t *Transport) logf(format string, args ...any) {
	if t.Log != nil {
		t.Log(format, args...)
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.DPoP != nil {
		base = &dpop.Transport{Base: base, Key: t.DPoP, Nonces: &t.nonces}
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxAnswer {
		return nil, fmt.Errorf("the provider's answer from %s is larger than 1 MiB", req.URL.Host)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		body = t.fixForm(body)
	} else {
		body = t.fixJSON(body)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// fixJSON applies the rules to a JSON answer, the way x/oauth2 reads it.
// An answer that is not a JSON object is left for x/oauth2 to refuse.
func (t *Transport) fixJSON(body []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	var rt, oauthErr string
	_ = json.Unmarshal(m["error"], &oauthErr)
	if json.Unmarshal(m["refresh_token"], &rt) == nil && rt != "" && oauthErr == "" {
		t.setRefreshToken(rt)
	}
	changed := false
	if raw, ok := m["expires_in"]; ok && string(raw) != "null" {
		v := string(raw)
		var s string
		if json.Unmarshal(raw, &s) == nil {
			v = s
		}
		if secs, ok := expiresIn(v); !ok {
			delete(m, "expires_in")
			t.dropExpiresIn(v)
			changed = true
		} else if n := strconv.FormatInt(secs, 10); n != string(raw) {
			m["expires_in"] = json.RawMessage(n)
			changed = true
		}
	}
	if raw, ok := m["token_type"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			t.badTokenType(string(raw))
			m["token_type"] = json.RawMessage(`"Bearer"`)
			changed = true
		} else if typ := t.tokenType(s); typ != s {
			m["token_type"], _ = json.Marshal(typ)
			changed = true
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// fixForm applies the rules to a form-encoded answer (GitHub's default).
func (t *Transport) fixForm(body []byte) []byte {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return body
	}
	if rt := v.Get("refresh_token"); rt != "" && v.Get("error") == "" {
		t.setRefreshToken(rt)
	}
	if v.Has("expires_in") {
		if secs, ok := expiresIn(v.Get("expires_in")); ok {
			v.Set("expires_in", strconv.FormatInt(secs, 10))
		} else {
			t.dropExpiresIn(v.Get("expires_in"))
			v.Del("expires_in")
		}
	}
	if v.Has("token_type") {
		v.Set("token_type", t.tokenType(v.Get("token_type")))
	}
	return []byte(v.Encode())
}

func (t *Transport) setRefreshToken(rt string) {
	t.mu.Lock()
	t.refreshToken = rt
	t.mu.Unlock()
}

func (t *Transport) dropExpiresIn(v string) {
	t.logf("the provider's expires_in %q is not a whole number of seconds up to %d; the expiry comes from the token itself, or stays unknown",
		safetext.Clean(v, 40), int64(MaxExpiresIn/time.Second))
}

func (t *Transport) tokenType(s string) string {
	typ, ok := TokenType(s)
	if !ok {
		t.badTokenType(s)
	}
	return typ
}

func (t *Transport) badTokenType(s string) {
	t.logf("the provider's token_type %q is not a token type; using Bearer", safetext.Redact(s, 40))
}

// expiresIn parses an expires_in value: a whole number of seconds (written
// as an integer, or as a number with no fraction) from 1 to MaxExpiresIn.
func expiresIn(v string) (int64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f != math.Trunc(f) || f < 1 || f > MaxExpiresIn.Seconds() {
		return 0, false
	}
	return int64(f), true
}

// TokenType returns the token type to put in an Authorization header for
// the token_type typ of a token response, and whether typ was usable: any
// case of "bearer" is "Bearer" (RFC 6750), any case of "dpop" is "DPoP"
// (RFC 9449), "" is "Bearer" (many providers leave it out), any other
// RFC 7235 token is kept as it is; anything else (spaces, control
// characters, a header injection) is not a type, and "Bearer" is returned
// with ok false.
func TokenType(typ string) (_ string, ok bool) {
	switch {
	case typ == "", strings.EqualFold(typ, "bearer"):
		return "Bearer", true
	case strings.EqualFold(typ, "dpop"):
		return "DPoP", true
	case isToken(typ):
		return typ, true
	}
	return "Bearer", false
}

// isToken reports RFC 9110 §5.6.2 token syntax (one or more tchar), up to
// a sane length.
func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
