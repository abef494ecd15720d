package dpop

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authctl/authctl/wwwauth"
)

// Nonces remembers the latest DPoP-Nonce each server sent, by origin
// (RFC 9449 §8 for a provider, §9 for an API). The zero value is ready to
// use; it is safe for concurrent use.
type Nonces struct {
	mu sync.Mutex
	m  map[string]string
}

// Get returns the nonce to send to u's server, or "".
func (n *Nonces) Get(u *url.URL) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[origin(u)]
}

// Set remembers nonce for u's server. A value that is not a nonce (see
// ValidNonce) is ignored.
func (n *Nonces) Set(u *url.URL, nonce string) {
	if !ValidNonce(nonce) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[string]string{}
	}
	n.m[origin(u)] = nonce
}

func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// maxNonce bounds a nonce taken from a server.
const maxNonce = 1024

// validNonce reports NQCHAR syntax: printable ASCII but '"' and '\'.
func ValidNonce(s string) bool {
	if s == "" || len(s) > maxNonce {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Transport is an http.RoundTripper that sends every request through Base
// with a fresh proof signed by Key in its DPoP header. A request whose
// Authorization is "DPoP <token>" gets the token's hash (ath) in the
// proof. The nonce the server last sent (kept in Nonces) goes in the
// proof; an answer that asks for a new one, and sends it, is answered
// with one retry:
//
//   - a provider's 400 with the OAuth error use_dpop_nonce (RFC 9449 §8);
//   - an API's 401 whose DPoP challenge has error use_dpop_nonce (§9).
//
// A request with a body is retried only if it has GetBody. The caller's
// request is never modified.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	Key  *Key
	// Nonces is shared by the requests of one run; nil keeps none
	// beyond the retry.
	Nonces *Nonces
	// Now is the clock for iat; nil means time.Now.
	Now func() time.Time
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	nonces := t.Nonces
	if nonces == nil {
		nonces = &Nonces{}
	}
	sent := nonces.Get(req.URL)
	resp, err := t.send(req, req.Body, sent)
	if err != nil {
		return nil, err
	}
	fresh := resp.Header.Get(NonceHeader)
	nonces.Set(req.URL, fresh)
	if fresh == "" || fresh == sent || !ValidNonce(fresh) || !asksForNonce(resp) {
		return resp, nil
	}
	body := req.Body
	if body != nil && body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil
		}
		if body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxPeek))
	resp.Body.Close()
	return t.send(req, body, fresh)
}

// send sends a copy of req with body and a new proof carrying nonce.
func (t *Transport) send(req *http.Request, body io.ReadCloser, nonce string) (*http.Response, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	proof, err := t.Key.Proof(Request{Method: req.Method, URL: req.URL, AccessToken: boundToken(req.Header), Nonce: nonce}, now())
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set(HeaderName, proof)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// boundToken returns the token of an "Authorization: DPoP <token>"
// header, or "".
func boundToken(h http.Header) string {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, HeaderName) {
		return ""
	}
	return strings.TrimSpace(tok)
}

// maxPeek bounds how much of an error answer is read to find its OAuth
// error code.
const maxPeek = 64 << 10

// asksForNonce reports whether resp asks for a (new) nonce: an API's 401
// with a DPoP challenge whose error is use_dpop_nonce, or a provider's
// 400 whose JSON error is. A 400's body is read to find out, and put back
// for the caller.
func asksForNonce(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return NonceChallenge(resp)
	case http.StatusBadRequest:
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
			return false
		}
		peek, err := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
		if err != nil {
			return false
		}
		var e struct {
			Error string `json:"error"`
		}
		return json.Unmarshal(peek, &e) == nil && e.Error == "use_dpop_nonce"
	}
	return false
}

// NonceChallenge reports whether resp is an API's 401 whose DPoP
// challenge has the error use_dpop_nonce (RFC 9449 §9): the API refused
// the proof's nonce, not the token, so no new token can help.
func NonceChallenge(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	ch, ok := wwwauth.Find(resp.Header.Values("Www-Authenticate"), HeaderName)
	return ok && ch.Params["error"] == "use_dpop_nonce"
}
