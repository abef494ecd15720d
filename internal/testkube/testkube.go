// Package testkube is a stand-in for a Kubernetes API server, for
// end-to-end tests of authctl as kubectl's exec credential plugin. It
// serves https on 127.0.0.1 with a certificate of its own (client-go
// hands exec credentials to TLS servers only) and takes bearer tokens
// the way an API server set up for the test provider would:
//
//	GET /hello     an access token, checked at the provider's userinfo
//	               endpoint (as a token-review webhook would)
//	GET /id/hello  an OIDC ID token, verified with the provider's keys,
//	               its issuer and the client ID as audience (as
//	               kube-apiserver's --oidc-* flags do)
//
// Both answer 200 {"sub": SUBJECT, "token": "access"|"id"}, and 401 to
// anything else. While it handles a request, it looks for the token in
// every process's arguments (kubectl's included) and counts a leak if it
// is there.
package testkube

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/internal/procscan"
)

// Stats counts what the stand-in saw since it started.
type Stats struct {
	Access       int // requests let in with an access token
	ID           int // requests let in with an ID token
	Unauthorized int // 401 answers
	// Leaks counts requests whose token was in some process's arguments;
	// Leaked names those processes.
	Leaks  int
	Leaked []string
	// Tokens counts the distinct tokens let in.
	Tokens int
}

// Server is a running stand-in.
type Server struct {
	srv      *httptest.Server
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier

	mu     sync.Mutex
	stats  Stats
	tokens map[[32]byte]bool
}

// Start discovers the provider at issuer and serves the stand-in; ID
// tokens must name clientID as their audience.
func Start(ctx context.Context, issuer, clientID string) (*Server, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("testkube: discover %s: %w", issuer, err)
	}
	s := &Server{provider: p, verifier: p.Verifier(&oidc.Config{ClientID: clientID}), tokens: map[[32]byte]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", s.serve("access"))
	mux.HandleFunc("GET /id/hello", s.serve("id"))
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.StartTLS()
	return s, nil
}

// URL is the server's https URL.
func (s *Server) URL() string { return s.srv.URL }

// CAPEM is the PEM of the certificate that signs the server's own, for a
// kubeconfig's certificate-authority(-data).
func (s *Server) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Stats returns a copy of the counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Leaked = append([]string(nil), s.stats.Leaked...)
	return st
}

// Close stops serving.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) serve(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			s.unauthorized(w, "missing bearer token")
			return
		}
		s.lookForLeaks(tok)
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		sub, err := s.check(ctx, kind, tok)
		if err != nil {
			s.unauthorized(w, err.Error())
			return
		}
		s.mu.Lock()
		if kind == "id" {
			s.stats.ID++
		} else {
			s.stats.Access++
		}
		if h := sha256.Sum256([]byte(tok)); !s.tokens[h] {
			s.tokens[h] = true
			s.stats.Tokens++
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": sub, "token": kind})
	}
}

// check returns the subject of tok, an access or ID token.
func (s *Server) check(ctx context.Context, kind, tok string) (string, error) {
	if kind == "id" {
		id, err := s.verifier.Verify(ctx, tok)
		if err != nil {
			return "", fmt.Errorf("not an ID token of the provider: %w", err)
		}
		return id.Subject, nil
	}
	info, err := s.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok}))
	if err != nil {
		return "", fmt.Errorf("the provider's userinfo refused the token: %w", err)
	}
	return info.Subject, nil
}

// lookForLeaks counts a leak when tok is in some process's arguments
// while kubectl waits for the answer.
func (s *Server) lookForLeaks(tok string) {
	procs, err := procscan.Find(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.stats.Leaks++
		s.stats.Leaked = append(s.stats.Leaked, "cannot look: "+err.Error())
		return
	}
	if len(procs) > 0 {
		s.stats.Leaks++
		for _, p := range procs {
			s.stats.Leaked = append(s.stats.Leaked, p.String())
		}
	}
}

func (s *Server) unauthorized(w http.ResponseWriter, why string) {
	s.mu.Lock()
	s.stats.Unauthorized++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Unauthorized", "message": why, "code": 401})
}
