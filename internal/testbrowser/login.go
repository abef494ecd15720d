package testbrowser

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// Login signs in at the provider of cfg without authctl, for tests that need
// a real token: it listens on a free port of 127.0.0.1, opens
// cfg.Endpoint.AuthURL with PKCE S256, a random state and prompt=consent,
// lets a Follow-mode browser complete the provider's pages, checks the
// callback's state (and iss, when issuer is not empty), and exchanges the
// code. cfg.RedirectURL is replaced by http://127.0.0.1:PORT/callback.
// extra are added to the authorization request (acr_values, say); the
// code exchange uses ctx's oauth2.HTTPClient, when it has one.
func Login(ctx context.Context, cfg oauth2.Config, issuer string, extra ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("login: listen: %w", err)
	}
	defer ln.Close()
	cfg.RedirectURL = "http://" + ln.Addr().String() + "/callback"

	got := make(chan url.Values, 1)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/callback" {
				http.NotFound(w, r)
				return
			}
			select {
			case got <- r.URL.Query():
				_, _ = w.Write([]byte("Signed in."))
			default:
				http.Error(w, "callback already received", http.StatusConflict)
			}
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent")}, extra...)
	authURL := cfg.AuthCodeURL(state, opts...)
	if _, err := Visit(ctx, nil, authURL, Follow); err != nil {
		return nil, fmt.Errorf("login: browser: %w", err)
	}
	var q url.Values
	select {
	case q = <-got:
	default:
		return nil, errors.New("login: the provider never redirected to the callback")
	}
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("login: provider answered %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return nil, errors.New("login: state mismatch")
	}
	if issuer != "" && q.Get("iss") != issuer {
		return nil, fmt.Errorf("login: iss %q, want %q", q.Get("iss"), issuer)
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("login: exchange code: %w", err)
	}
	return tok, nil
}
