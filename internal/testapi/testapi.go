// Package testapi is a small protected HTTP API for end-to-end tests of
// "authctl curl": it accepts a bearer token when the provider's userinfo
// endpoint accepts it, and a DPoP-bound token (RFC 9449) with a valid proof
// of its key, checked by the API itself and with the provider's
// introspection (see dpop.go). It has switches to refuse tokens the provider
// still honours (an API that stopped accepting a token; revoking it at the
// provider would kill the whole grant, see facts.md), to ask for DPoP
// nonces, and a route that asks for a step-up (RFC 9470).
//
// Routes:
//
//	GET  /hello             auth; 200 {"sub": "..."} (the token's subject)
//	GET  /stepup?acr=A&max_age=N
//	                        auth; 200 {"sub", "acr", "auth_time"} when the token's sign-in (from
//	                        introspection) had acr A and was at most N seconds ago (each when
//	                        given), else 401 with error="insufficient_user_authentication",
//	                        acr_values="A", max_age="N"
//	ANY  /echo              auth; 200 {"method", "content_type", "query", "body"}
//	GET  /status/{code}     auth; answers with that status and {"status": code}
//	GET  /redirect?to=URL   no auth; 302 (or &code=301|303|307|308) to URL
//	GET  /seen              no auth; {"authorization": bool, "authorization_sha256": hex}: was an
//	                        Authorization header sent, and the SHA-256 of its values (joined by
//	                        newlines; "" when none), so a test can tell which without seeing it
//	POST /test/refuse       form token=T: refuse T from now on; current=1: refuse the next token seen
//	POST /test/refuse-all   refuse every token
//	POST /test/reset        accept tokens again and zero the stats (the nonce switch stays)
//	POST /test/dpop-nonce   form on=1: ask for a nonce of the API's own in every DPoP proof; on=0: stop
//	GET  /test/stats        JSON Stats
//
// A refused, missing or invalid bearer token gets 401 with
// WWW-Authenticate: Bearer error="invalid_token", error_description="...";
// a refused DPoP request gets a DPoP challenge (error invalid_dpop_proof,
// invalid_token, or use_dpop_nonce with a DPoP-Nonce header).
// If the provider cannot be asked, the API answers 502. Every authenticated
// request costs one userinfo request at the provider (nothing is cached).
package testapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stats counts the requests the API received since start or the last reset.
type Stats struct {
	// Routes counts requests per route pattern, e.g. "GET /hello", "/echo";
	// requests no route matched count under "".
	Routes map[string]int `json:"routes"`
	// Unauthorized counts 401 answers.
	Unauthorized int `json:"unauthorized"`
	// Authorized counts requests whose token was accepted.
	Authorized int `json:"authorized"`
	// DPoP counts requests accepted with a DPoP-bound token and its proof.
	DPoP int `json:"dpop"`
	// UseDPoPNonce counts 401 answers asking for a DPoP nonce.
	UseDPoPNonce int `json:"use_dpop_nonce"`
	// InsufficientAuth counts 401 answers asking for a step-up.
	InsufficientAuth int `json:"insufficient_user_authentication"`
	// Introspections counts the API's requests to the provider's
	// introspection endpoint.
	Introspections int `json:"introspections"`
}

// API is the protected API. Create it with New; serve it with Start or
// StartOn, or use it as an http.Handler.
type API struct {
	// Now is the API's clock, for proofs' iat and step-up's max_age; nil
	// means time.Now. Set it while no request is being served.
	Now func() time.Time

	issuer string
	client *http.Client
	mux    *http.ServeMux

	mu         sync.Mutex
	discovery  map[string]any    // the provider's discovery document
	refused    map[[32]byte]bool // sha256 of refused tokens
	refuseNext bool
	refuseAll  bool
	stats      Stats
	wantNonce  bool            // ask for nonce in every DPoP proof
	nonce      string          // the API's current DPoP nonce
	jtis       map[string]bool // the key and jti of every proof seen

	srv *http.Server
	url string
}

// New returns an API that checks tokens at the userinfo endpoint of issuer,
// discovered from issuer + "/.well-known/openid-configuration" on first use.
func New(issuer string) *API {
	a := &API{
		issuer:  strings.TrimSuffix(issuer, "/"),
		client:  &http.Client{Timeout: 10 * time.Second},
		refused: map[[32]byte]bool{},
		stats:   Stats{Routes: map[string]int{}},
		jtis:    map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hello", a.auth(a.hello))
	mux.Handle("/echo", a.auth(echo))
	mux.Handle("GET /status/{code}", a.auth(status))
	mux.Handle("GET /stepup", a.auth(a.stepUp))
	mux.HandleFunc("GET /redirect", redirect)
	mux.HandleFunc("GET /seen", seen)
	mux.HandleFunc("POST /test/refuse", a.refuse)
	mux.HandleFunc("POST /test/refuse-all", a.refuseEvery)
	mux.HandleFunc("POST /test/reset", a.reset)
	mux.HandleFunc("GET /test/stats", a.getStats)
	mux.HandleFunc("POST /test/dpop-nonce", a.dpopNonce)
	a.mux = mux
	return a
}

// ServeHTTP serves the routes listed in the package documentation.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := a.mux.Handler(r)
	if !strings.HasPrefix(pattern, "GET /test/") && !strings.HasPrefix(pattern, "POST /test/") {
		a.mu.Lock()
		a.stats.Routes[pattern]++
		a.mu.Unlock()
	}
	a.mux.ServeHTTP(w, r)
}

// Start serves the API on a free port of 127.0.0.1.
func (a *API) Start() error { return a.StartOn("127.0.0.1:0") }

// StartOn serves the API on addr (host:port; port 0 picks a free one), for
// example "127.0.0.2:0" or "localhost:0" for a second host in cross-host
// redirect tests. URL then names the host as given in addr.
func (a *API) StartOn(addr string) error {
	if a.srv != nil {
		return errors.New("test api: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("test api: listen: %w", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	a.url = "http://" + net.JoinHostPort(host, port)
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return nil
}

// StartT starts an API on 127.0.0.1 for the test t and closes it when t ends.
func StartT(t testing.TB, issuer string) *API {
	t.Helper()
	a := New(issuer)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// URL returns the base URL (no trailing slash) once started, else "".
func (a *API) URL() string { return a.url }

// Close stops serving. It is safe to call on an API never started.
func (a *API) Close() error {
	if a.srv == nil {
		return nil
	}
	return a.srv.Close()
}

// Stats returns a copy of the request counts.
func (a *API) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Routes = make(map[string]int, len(a.stats.Routes))
	for k, v := range a.stats.Routes {
		s.Routes[k] = v
	}
	return s
}

// Refuse makes the API refuse token from now on, whatever the provider says.
func (a *API) Refuse(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refused[sha256.Sum256([]byte(token))] = true
}

// RefuseNext makes the API refuse the next token it sees, and that token
// from then on.
func (a *API) RefuseNext() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refuseNext = true
}

// RefuseAll makes the API refuse every token until Reset.
func (a *API) RefuseAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refuseAll = true
}

// Reset accepts tokens again and zeroes the stats.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refused = map[[32]byte]bool{}
	a.refuseNext, a.refuseAll = false, false
	a.stats = Stats{Routes: map[string]int{}}
}

type tokenKey struct{}

// accepted is the token of a request the API accepted.
type accepted struct {
	scheme string // "Bearer" or "DPoP"
	value  string
	sub    string
	info   *introspection // for a DPoP token, what introspection said
}

func tokenOf(ctx context.Context) *accepted {
	t, _ := ctx.Value(tokenKey{}).(*accepted)
	return t
}

// auth wraps h so that it runs only with a token the provider and the API
// accept; h finds it with tokenOf.
func (a *API) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		dpop := strings.EqualFold(scheme, "DPoP")
		if !ok || !(dpop || strings.EqualFold(scheme, "Bearer")) || token == "" {
			a.unauthorized(w, "missing bearer token")
			return
		}
		if a.isRefused(token) {
			if dpop {
				a.refuseDPoP(w, &proofError{"invalid_token", "token refused by the test API"})
			} else {
				a.unauthorized(w, "token refused by the test API")
			}
			return
		}
		t := &accepted{scheme: "Bearer", value: token}
		var err error
		if dpop {
			t.scheme = "DPoP"
			if t.info, err = a.checkDPoP(r, token); err == nil {
				t.sub = t.info.Sub
			}
		} else {
			t.sub, err = a.check(r.Context(), token)
		}
		var bad badToken
		var perr *proofError
		switch {
		case errors.As(err, &perr):
			a.refuseDPoP(w, perr)
			return
		case errors.As(err, &bad):
			a.unauthorized(w, string(bad))
			return
		case err != nil:
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		a.mu.Lock()
		a.stats.Authorized++
		if dpop {
			a.stats.DPoP++
		}
		a.mu.Unlock()
		h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

func (a *API) isRefused(token string) bool {
	h := sha256.Sum256([]byte(token))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refuseNext {
		a.refuseNext = false
		a.refused[h] = true
	}
	return a.refuseAll || a.refused[h]
}

func (a *API) unauthorized(w http.ResponseWriter, why string) {
	a.mu.Lock()
	a.stats.Unauthorized++
	a.mu.Unlock()
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", error_description=%q`, why))
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": why})
}

// badToken is a reason the provider gave for rejecting a token.
type badToken string

func (e badToken) Error() string { return string(e) }

// check asks the provider's userinfo endpoint about token and returns its subject.
func (a *API) check(ctx context.Context, token string) (string, error) {
	endpoint, err := a.endpoint(ctx, "userinfo_endpoint")
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", fmt.Errorf("userinfo: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("userinfo: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", badToken("the provider rejected the token")
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("userinfo: %s", resp.Status)
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&claims); err != nil {
		return "", fmt.Errorf("userinfo: %w", err)
	}
	return claims.Sub, nil
}

// endpoint returns the endpoint the provider's discovery document names
// under name (userinfo_endpoint, introspection_endpoint).
func (a *API) endpoint(ctx context.Context, name string) (string, error) {
	a.mu.Lock()
	doc := a.discovery
	a.mu.Unlock()
	if doc == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.issuer+"/.well-known/openid-configuration", nil)
		if err != nil {
			return "", fmt.Errorf("discovery: %w", err)
		}
		resp, err := a.client.Do(req)
		if err != nil {
			return "", fmt.Errorf("discovery: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("discovery: %s", resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			return "", fmt.Errorf("discovery: %w", err)
		}
		a.mu.Lock()
		a.discovery = doc
		a.mu.Unlock()
	}
	u, _ := doc[name].(string)
	if u == "" {
		return "", fmt.Errorf("discovery: no %s", name)
	}
	return u, nil
}

func (a *API) hello(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"sub": tokenOf(r.Context()).sub})
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"method":       r.Method,
		"content_type": r.Header.Get("Content-Type"),
		"query":        r.URL.RawQuery,
		"body":         string(body),
	})
}

func status(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 200 || code > 599 {
		http.Error(w, "status must be 200-599", http.StatusBadRequest)
		return
	}
	writeJSON(w, code, map[string]int{"status": code})
}

func redirect(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to == "" {
		http.Error(w, "missing to", http.StatusBadRequest)
		return
	}
	code := http.StatusFound
	if c := r.URL.Query().Get("code"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 300 || n > 399 {
			http.Error(w, "code must be 3xx", http.StatusBadRequest)
			return
		}
		code = n
	}
	w.Header().Set("Location", to)
	w.WriteHeader(code)
}

func seen(w http.ResponseWriter, r *http.Request) {
	vals := r.Header.Values("Authorization")
	sum := ""
	if len(vals) > 0 {
		sum = fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(vals, "\n"))))
	}
	writeJSON(w, http.StatusOK, map[string]any{"authorization": r.Header.Get("Authorization") != "", "authorization_sha256": sum})
}

func (a *API) refuse(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch {
	case r.PostForm.Get("current") == "1":
		a.RefuseNext()
	case r.PostForm.Get("token") != "":
		a.Refuse(r.PostForm.Get("token"))
	default:
		http.Error(w, "need form value token=T or current=1", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) refuseEvery(w http.ResponseWriter, _ *http.Request) {
	a.RefuseAll()
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) reset(w http.ResponseWriter, _ *http.Request) {
	a.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) dpopNonce(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || (r.PostForm.Get("on") != "1" && r.PostForm.Get("on") != "0") {
		http.Error(w, "need form value on=1 or on=0", http.StatusBadRequest)
		return
	}
	a.RequireDPoPNonce(r.PostForm.Get("on") == "1")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) getStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.Stats())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
