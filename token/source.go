package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/authctl/authctl/keychain"
)

// DefaultMinTTL is the least remaining lifetime a token must have to be
// handed out without a refresh.
const DefaultMinTTL = 30 * time.Second

// Source hands out fresh credentials for one profile. It is safe for
// concurrent use: callers in one process share one refresh (single flight),
// and processes share one through a lock file.
type Source struct {
	// Store holds the credential under Account (the profile name).
	Store   keychain.Store
	Account string
	// Issuer and ClientID are what the profile names; a stored credential
	// for anything else is treated as absent.
	Issuer   string
	ClientID string
	// Scopes and AuthParams are what the profile asks for; a credential
	// minted for something else is treated as absent (see Minted).
	Scopes     []string
	AuthParams map[string]string
	// Endpoint returns the provider's token endpoint. It is called only
	// when a refresh is needed, so a cached token costs no lookup.
	Endpoint func(ctx context.Context) (oauth2.Endpoint, error)
	// HTTPClient makes the refresh request; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Lock serializes refreshes across processes; nil means no
	// cross-process lock (tests of a single process).
	Lock Locker
	// VerifyIDToken, when set, checks an ID token returned by a refresh
	// before it is stored (signature, issuer, audience, expiry, at_hash
	// against accessToken) and returns its subject.
	VerifyIDToken func(ctx context.Context, raw, accessToken string) (subject string, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log, when set, receives one line per step for --verbose. Never a
	// token.
	Log func(format string, args ...any)
	// Cache, when set, keeps copies of the access token outside the
	// keychain; Source keeps them exact (see AccessCache).
	Cache AccessCache

	flight singleflight.Group
}

// Locker takes an exclusive cross-process lock for a profile.
type Locker interface {
	// Lock blocks until the lock is held or ctx ends, and returns the
	// function that releases it.
	Lock(ctx context.Context, account string) (unlock func(), err error)
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log(format, args...)
	}
}

// Load returns the stored credential, checking that it belongs to the
// profile's issuer and client. It never makes a network request.
func (s *Source) Load(ctx context.Context) (*Credential, error) {
	b, err := s.Store.Get(ctx, s.Account)
	if errors.Is(err, keychain.ErrNotFound) {
		return nil, loginRequired("not logged in (profile %q)", s.Account)
	}
	if errors.Is(err, keychain.ErrCorrupt) {
		return nil, loginRequired("the stored credential of profile %q is damaged (%v)", s.Account, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read credential: %w", err)
	}
	c, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("read credential: %w", err)
	}
	if s.Issuer != "" && !sameIssuer(c.Issuer, s.Issuer) {
		return nil, loginRequired("the stored credential of profile %q is for issuer %s, not %s", s.Account, c.Issuer, s.Issuer)
	}
	if s.ClientID != "" && c.ClientID != s.ClientID {
		return nil, loginRequired("the stored credential of profile %q is for client %s, not %s", s.Account, c.ClientID, s.ClientID)
	}
	if s.Scopes != nil {
		if why := c.Minted.Differs(s.Scopes, s.AuthParams); why != "" {
			return nil, loginRequired("%s", why)
		}
	}
	return c, nil
}

func sameIssuer(a, b string) bool {
	trim := func(s string) string {
		for len(s) > 0 && s[len(s)-1] == '/' {
			s = s[:len(s)-1]
		}
		return s
	}
	return trim(a) == trim(b)
}

// Save stores c for the profile, replacing what was there in one update.
func (s *Source) Save(ctx context.Context, c *Credential) error {
	b, err := c.Encode()
	if err != nil {
		return err
	}
	s.ClearCache()
	if err := s.Store.Set(ctx, s.Account, b); err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	// Again: a reader may have cached the old credential meanwhile.
	s.ClearCache()
	s.watchCache()(c)
	return nil
}

// lock takes the profile's cross-process lock, waiting at most lockWait.
func (s *Source) lock(ctx context.Context) (func(), error) {
	if s.Lock == nil {
		return func() {}, nil
	}
	lctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	return s.Lock.Lock(lctx, s.Account)
}

// Replace stores c, from a new login, in place of whatever the profile
// holds. It takes the refresh lock, so a refresh under way in another
// process finishes first and cannot save its result over the new login.
func (s *Source) Replace(ctx context.Context, c *Credential) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return s.Save(ctx, c)
}

// Token returns a credential whose access token stays valid for more than
// minTTL (at least DefaultMinTTL), refreshing it if needed. A cached token
// costs one keychain read and no request.
func (s *Source) Token(ctx context.Context, minTTL time.Duration) (*Credential, error) {
	minTTL = max(minTTL, DefaultMinTTL)
	put := s.watchCache()
	c, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	if c.Fresh(s.now(), minTTL) {
		put(c)
		return c, nil
	}
	s.logf("access token expires in %s: refreshing", c.TTL(s.now()).Round(time.Second))
	return s.refresh(ctx, c.AccessToken, minTTL)
}

// Refresh refreshes even if the stored access token still looks valid:
// an API refused stale, so it may have been revoked. If another caller or
// process has meanwhile stored a different valid access token, that one is
// returned and no request is made.
func (s *Source) Refresh(ctx context.Context, stale string) (*Credential, error) {
	s.ClearCache()
	return s.refresh(ctx, stale, DefaultMinTTL)
}

// refresh makes at most one refresh request for all callers in this
// process that ask while one is under way, and, under the cross-process
// lock, none at all if another process has already replaced stale.
func (s *Source) refresh(ctx context.Context, stale string, minTTL time.Duration) (*Credential, error) {
	ch := s.flight.DoChan(s.Account, func() (any, error) {
		return s.refreshLocked(context.WithoutCancel(ctx), stale, minTTL)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Credential), nil
	case <-ctx.Done():
		// The refresh goes on without the caller: once the request is
		// sent, a rotating provider has retired the old refresh token, so
		// the new one must be saved. Give it a moment before returning, so
		// that a process exiting on Ctrl-C does not cut the save short.
		select {
		case <-ch:
		case <-time.After(cancelGrace):
		}
		return nil, ctx.Err()
	}
}

// cancelGrace is how long a cancelled caller waits for a refresh under way
// to be saved.
const cancelGrace = 5 * time.Second

// lockWait bounds how long a refresh waits for another process's refresh.
const lockWait = 30 * time.Second

func (s *Source) refreshLocked(ctx context.Context, stale string, minTTL time.Duration) (*Credential, error) {
	ctx, cancel := context.WithTimeout(ctx, lockWait+time.Minute)
	defer cancel()
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Read again under the lock: another process may have refreshed.
	c, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if c.AccessToken != stale && c.TTL(now) > 0 {
		s.logf("another process refreshed the token")
		return c, nil
	}
	if c.RefreshToken == "" {
		return nil, loginRequired("the session of profile %q has ended (the provider gave no refresh token)", s.Account)
	}
	fresh, err := s.exchange(ctx, c)
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.ErrorCode == "invalid_grant" {
		return s.rejected(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Save(ctx, fresh); err != nil {
		return nil, &SaveError{Err: err}
	}
	s.logf("refreshed; new access token valid for %s", fresh.TTL(s.now()).Round(time.Second))
	return fresh, nil
}

// exchange makes the one refresh request.
func (s *Source) exchange(ctx context.Context, c *Credential) (*Credential, error) {
	if s.Endpoint == nil {
		return nil, errors.New("refresh: no token endpoint known")
	}
	ep, err := s.Endpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	// A public client sends client_id in the body; a client secret goes
	// where the endpoint says. The zero value (auto-detect) would resend a
	// rejected refresh token in the other style, which a rotating provider
	// treats as reuse.
	if c.ClientSecret == "" || ep.AuthStyle == oauth2.AuthStyleAutoDetect {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	conf := &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep}
	client := s.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, client)
	s.logf("refresh request to %s", ep.TokenURL)
	t, err := conf.TokenSource(hctx, &oauth2.Token{RefreshToken: c.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", describe(err))
	}
	fresh := FromOAuth2(c.Issuer, c.ClientID, t)
	fresh.ClientSecret = c.ClientSecret
	fresh.Minted = c.Minted
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = c.RefreshToken
	}
	if fresh.IDToken == "" {
		fresh.IDToken = c.IDToken
	} else if s.VerifyIDToken != nil {
		sub, err := s.VerifyIDToken(ctx, fresh.IDToken, fresh.AccessToken)
		if err == nil && c.IDToken != "" && sub != c.Identity().Subject {
			err = fmt.Errorf("its subject differs from the login's (OIDC Core 12.2)")
		}
		if err != nil {
			// The new refresh token must not be lost even if the ID
			// token is bad: keep the previous ID token and say so.
			s.logf("the ID token returned by the refresh failed verification (%v); keeping the previous one", err)
			fresh.IDToken = c.IDToken
		}
	}
	if len(fresh.Scopes) == 0 {
		fresh.Scopes = c.Scopes
	}
	return fresh, nil
}

// rejected handles invalid_grant: the refresh token is dead unless another
// tool or a racing login replaced it meanwhile.
func (s *Source) rejected(ctx context.Context, used *Credential) (*Credential, error) {
	return s.rejectedAgain(ctx, used, true)
}

// rejectedAgain is rejected; retry says whether a replacement credential
// may still be tried (once: a replacement the provider rejects as well is
// handled like the first).
func (s *Source) rejectedAgain(ctx context.Context, used *Credential, retry bool) (*Credential, error) {
	now, err := s.Load(ctx)
	if err == nil && now.RefreshToken != used.RefreshToken {
		if !retry {
			// Replaced twice while refreshing: delete nothing, try later.
			return nil, errors.New("refresh: the stored credential changed twice while refreshing; try again")
		}
		s.logf("the refresh token was replaced while refreshing; using the new credential")
		if now.TTL(s.now()) > 0 {
			return now, nil
		}
		fresh, err := s.exchange(ctx, now)
		var rerr *oauth2.RetrieveError
		if errors.As(err, &rerr) && rerr.ErrorCode == "invalid_grant" {
			return s.rejectedAgain(ctx, now, false)
		}
		if err != nil {
			return nil, err
		}
		if err := s.Save(ctx, fresh); err != nil {
			return nil, &SaveError{Err: err}
		}
		return fresh, nil
	}
	if err != nil && !errors.Is(err, ErrLoginRequired) {
		return nil, err
	}
	if err == nil {
		s.ClearCache()
		if derr := s.Store.Delete(ctx, s.Account); derr != nil {
			return nil, fmt.Errorf("the provider rejected the refresh token, and deleting it failed: %w", derr)
		}
		s.ClearCache()
	}
	return nil, loginRequired("the provider rejected the refresh token of profile %q (the session ended or was revoked)", s.Account)
}

// describe turns an x/oauth2 error into one line without the response
// body, which could echo secrets.
func describe(err error) error {
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) {
		return err
	}
	status := ""
	if rerr.Response != nil {
		status = rerr.Response.Status
	}
	msg := "provider answered " + status
	if rerr.ErrorCode != "" {
		msg += ": " + rerr.ErrorCode
		if rerr.ErrorDescription != "" {
			msg += " (" + rerr.ErrorDescription + ")"
		}
	} else {
		msg += " without an OAuth error"
	}
	return &providerError{msg: msg, err: rerr}
}

type providerError struct {
	msg string
	err *oauth2.RetrieveError
}

func (e *providerError) Error() string { return e.msg }
func (e *providerError) Unwrap() error { return e.err }
