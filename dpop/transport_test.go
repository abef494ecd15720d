package dpop

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// seen is one request as a server of these tests received it.
type seen struct {
	proof  verified
	body   string
	method string
}

// server answers each request with the next of answers (the last one
// again when they run out) and records what it got.
type server struct {
	t       *testing.T
	mu      sync.Mutex
	got     []seen
	answers []func(w http.ResponseWriter)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, seen{proof: verify(s.t, r.Header.Get("DPoP")), body: string(b), method: r.Method})
	answer := s.answers[min(len(s.got), len(s.answers))-1]
	s.mu.Unlock()
	answer(w)
}

func ok(w http.ResponseWriter) { io.WriteString(w, "fine") }

func apiWantsNonce(nonce string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
		w.Header().Set("DPoP-Nonce", nonce)
		w.WriteHeader(http.StatusUnauthorized)
	}
}

func providerWantsNonce(nonce string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("DPoP-Nonce", nonce)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"use_dpop_nonce","error_description":"nonce is required in the DPoP proof"}`)
	}
}

func start(t *testing.T, answers ...func(http.ResponseWriter)) (*server, string) {
	s := &server{t: t, answers: answers}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func roundTrip(t *testing.T, tr *Transport, method, target, auth, body string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if req.Header.Get("DPoP") != "" {
		t.Error("the caller's request was modified")
	}
	return resp, string(b)
}

func TestTransportProofPerRequest(t *testing.T) {
	k, _ := NewKey()
	s, base := start(t, ok)
	tr := &Transport{Key: k, Nonces: &Nonces{}}
	roundTrip(t, tr, "GET", base+"/items?page=2", "DPoP the-token", "")
	roundTrip(t, tr, "DELETE", base+"/items/1", "Bearer not-bound", "")
	if len(s.got) != 2 {
		t.Fatalf("%d requests", len(s.got))
	}
	first, second := s.got[0].proof.claims, s.got[1].proof.claims
	if first.HTM != "GET" || first.HTU != base+"/items" || first.ATH != ATH("the-token") {
		t.Errorf("first proof %+v", first)
	}
	if second.HTM != "DELETE" || second.HTU != base+"/items/1" || second.ATH != "" {
		t.Errorf("second proof %+v: no ath for a Bearer header", second)
	}
	if first.JTI == second.JTI {
		t.Error("two requests, one jti")
	}
}

func TestTransportAPINonce(t *testing.T) {
	k, _ := NewKey()
	s, base := start(t, apiWantsNonce("n-1"), ok)
	nonces := &Nonces{}
	tr := &Transport{Key: k, Nonces: nonces}
	resp, body := roundTrip(t, tr, "POST", base+"/echo", "DPoP tok", "a=1")
	if resp.StatusCode != 200 || body != "fine" {
		t.Fatalf("after the nonce retry: %d %q", resp.StatusCode, body)
	}
	if len(s.got) != 2 || s.got[0].proof.claims.Nonce != "" || s.got[1].proof.claims.Nonce != "n-1" {
		t.Fatalf("requests %+v; want one without a nonce, then one with n-1", s.got)
	}
	if s.got[1].body != "a=1" || s.got[1].proof.claims.ATH != ATH("tok") || s.got[1].proof.claims.JTI == s.got[0].proof.claims.JTI {
		t.Errorf("retry %+v: want the body again and a new proof for the same token", s.got[1])
	}
	// The nonce is remembered for the next request to that server.
	roundTrip(t, tr, "GET", base+"/hello", "DPoP tok", "")
	if len(s.got) != 3 || s.got[2].proof.claims.Nonce != "n-1" {
		t.Errorf("the next request: %d requests, nonce %q; want n-1 at once", len(s.got), s.got[len(s.got)-1].proof.claims.Nonce)
	}
}

func TestTransportProviderNonce(t *testing.T) {
	k, _ := NewKey()
	s, base := start(t, providerWantsNonce("as-nonce"), ok)
	tr := &Transport{Key: k}
	resp, body := roundTrip(t, tr, "POST", base+"/token", "", "grant_type=refresh_token")
	if resp.StatusCode != 200 || body != "fine" || len(s.got) != 2 {
		t.Fatalf("%d %q after %d requests", resp.StatusCode, body, len(s.got))
	}
	if s.got[1].proof.claims.Nonce != "as-nonce" || s.got[1].body != "grant_type=refresh_token" {
		t.Errorf("retry %+v", s.got[1])
	}
}

func TestTransportRetriesOnce(t *testing.T) {
	k, _ := NewKey()
	s, base := start(t, providerWantsNonce("a"), providerWantsNonce("b"))
	resp, body := roundTrip(t, &Transport{Key: k}, "POST", base+"/token", "", "x=1")
	if len(s.got) != 2 {
		t.Fatalf("%d requests; want 2", len(s.got))
	}
	if resp.StatusCode != 400 || !strings.Contains(body, "use_dpop_nonce") {
		t.Errorf("the second answer reaches the caller whole: %d %q", resp.StatusCode, body)
	}
}

func TestTransportNoRetry(t *testing.T) {
	other400 := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("DPoP-Nonce", "n")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant"}`)
	}
	sameNonce := func(w http.ResponseWriter) { apiWantsNonce("same")(w) }
	badNonce := apiWantsNonce(`a "quoted" nonce`)
	bearer401 := func(w http.ResponseWriter) {
		w.Header().Set("WWW-Authenticate", `Bearer error="use_dpop_nonce"`)
		w.Header().Set("DPoP-Nonce", "n")
		w.WriteHeader(http.StatusUnauthorized)
	}
	for name, answer := range map[string]func(http.ResponseWriter){
		"another error": other400, "an invalid nonce": badNonce, "a Bearer challenge": bearer401,
	} {
		t.Run(name, func(t *testing.T) {
			k, _ := NewKey()
			s, base := start(t, answer, ok)
			resp, body := roundTrip(t, &Transport{Key: k}, "POST", base+"/x", "DPoP t", "b=1")
			if len(s.got) != 1 || resp.StatusCode < 400 {
				t.Errorf("%d requests, status %d; want the first answer, not retried", len(s.got), resp.StatusCode)
			}
			if name == "another error" && body != `{"error":"invalid_grant"}` {
				t.Errorf("body %q: the peeked body must reach the caller", body)
			}
		})
	}
	t.Run("the nonce just sent", func(t *testing.T) {
		k, _ := NewKey()
		s, base := start(t, sameNonce)
		tr := &Transport{Key: k, Nonces: &Nonces{}}
		roundTrip(t, tr, "GET", base+"/x", "DPoP t", "")
		roundTrip(t, tr, "GET", base+"/x", "DPoP t", "")
		// The first request learns "same" and retries with it; the
		// second sends it at once, is refused with it again, and stops.
		if len(s.got) != 3 {
			t.Errorf("%d requests; want 3", len(s.got))
		}
	})
	t.Run("a body that cannot be read again", func(t *testing.T) {
		k, _ := NewKey()
		s, base := start(t, apiWantsNonce("n"), ok)
		req, _ := http.NewRequest("POST", base+"/x", io.NopCloser(strings.NewReader("once")))
		req.Header.Set("Authorization", "DPoP t")
		resp, err := (&Transport{Key: k}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(s.got) != 1 || resp.StatusCode != 401 {
			t.Errorf("%d requests, status %d; want the 401, not retried", len(s.got), resp.StatusCode)
		}
	})
}

func TestNonces(t *testing.T) {
	var n Nonces
	a, _ := url.Parse("https://API.example.com/x")
	b, _ := url.Parse("https://api.example.com/other?q")
	c, _ := url.Parse("https://api.example.com:8443/x")
	n.Set(a, "n1")
	if n.Get(b) != "n1" || n.Get(c) != "" {
		t.Errorf("nonces are per origin: %q %q", n.Get(b), n.Get(c))
	}
	n.Set(a, "bad nonce")
	n.Set(a, strings.Repeat("x", maxNonce+1))
	if n.Get(a) != "n1" {
		t.Errorf("an invalid nonce replaced a good one: %q", n.Get(a))
	}
}
