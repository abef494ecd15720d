package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/tokenendpoint"
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
	// DPoP is what the profile asks for: tokens bound to a DPoP key. A
	// credential that is bound when the profile asks for bearer tokens, or
	// the other way round, is treated as absent.
	DPoP bool
	// Provider returns the provider's endpoints and the client
	// authentication methods it takes. It is called only when a refresh or
	// revocation is needed, so a cached token costs no lookup.
	Provider func(ctx context.Context) (*provider.Metadata, error)
	// HTTPClient makes the refresh request; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Lock serializes refreshes across processes; nil means no
	// cross-process lock (tests of a single process).
	Lock Locker
	// VerifyIDToken, when set, checks an ID token returned by a refresh
	// (signature, issuer, audience, expiry, at_hash against accessToken)
	// and returns its subject. It may wait on the network (the provider's
	// keys), so it runs only after the rotated refresh token is saved, and
	// with the refresh lock released; the ID token is stored once it
	// passes. When nil, a refresh's ID token is
	// stored unchecked.
	VerifyIDToken func(ctx context.Context, raw, accessToken string) (subject string, err error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log, when set, receives one line per step for --verbose. Never a
	// token.
	Log func(format string, args ...any)
	// Warn, when set, receives what the user must be told even without
	// --verbose, one line at a time: a refreshed ID token that was not
	// kept, or new tokens that could not be saved after the caller gave
	// up. Never a token.
	Warn func(format string, args ...any)
	// Finishing, when set, is called (at most once per Source) when a
	// caller that gave up waits for a refresh request already sent to be
	// answered and saved.
	Finishing func()
	// Cache, when set, keeps copies of the access token outside the
	// keychain; Source keeps them exact (see AccessCache).
	Cache AccessCache

	mu            sync.Mutex
	flying        *flight // the refresh under way in this process, if any
	finishingOnce sync.Once
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

func (s *Source) warn(format string, args ...any) {
	if s.Warn != nil {
		s.Warn(format, args...)
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
	if s.Issuer != "" && !provider.IssuerMatches(s.Issuer, c.Issuer) {
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
	if s.DPoP != c.Bound() {
		return nil, loginRequired("the profile's dpop setting changed since login (now %t)", s.DPoP)
	}
	return c, nil
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
	start := time.Now()
	unlock, err := s.Lock.Lock(lctx, s.Account)
	if err == nil {
		s.logf("refresh lock taken in %s", shortDuration(time.Since(start)))
	}
	return unlock, err
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
// minTTL and more than its refresh margin (see RefreshMargin), refreshing
// it if needed. A cached token costs one keychain read and no request.
func (s *Source) Token(ctx context.Context, minTTL time.Duration) (*Credential, error) {
	put := s.watchCache()
	c, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	need := max(minTTL, c.RefreshMargin())
	if c.Fresh(now, need) {
		put(c)
		s.logf("access token valid for %s, more than %s: no refresh", shortDuration(c.TTL(now)), s.wanted(c, minTTL))
		return c, nil
	}
	s.logf("%s: refreshing", s.dueReason(c, now, minTTL))
	return s.refresh(ctx, c.AccessToken, minTTL)
}

// wanted says what an access token's remaining lifetime is held to: the
// refresh margin, or the caller's minimum when that is longer.
func (s *Source) wanted(c *Credential, minTTL time.Duration) string {
	margin := c.RefreshMargin()
	if minTTL > margin {
		return fmt.Sprintf("the %s asked for", shortDuration(minTTL))
	}
	if margin < DefaultMinTTL {
		return fmt.Sprintf("the refresh margin of %s (a third of its %s lifetime)", shortDuration(margin), shortDuration(c.Lifetime()))
	}
	return fmt.Sprintf("the refresh margin of %s", shortDuration(margin))
}

// dueReason says why c's access token is refreshed at now.
func (s *Source) dueReason(c *Credential, now time.Time, minTTL time.Duration) string {
	switch ttl := c.TTL(now); {
	case c.AccessToken == "":
		return "no access token stored"
	case ttl <= 0:
		return fmt.Sprintf("access token expired %s ago", shortDuration(-ttl))
	default:
		return fmt.Sprintf("access token valid for %s, not more than %s", shortDuration(ttl), s.wanted(c, minTTL))
	}
}

// shortDuration rounds d for people: to the second, to the millisecond
// under a second, to ten microseconds under ten milliseconds.
func shortDuration(d time.Duration) time.Duration {
	switch a := max(d, -d); {
	case a < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case a < time.Second:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// Refresh refreshes even if the stored access token still looks valid:
// an API refused stale, so it may have been revoked. If another caller or
// process has meanwhile stored a different valid access token, that one is
// returned and no request is made.
func (s *Source) Refresh(ctx context.Context, stale string) (*Credential, error) {
	s.ClearCache()
	return s.refresh(ctx, stale, 0)
}

// Invalidate forgets the stored access token when it is still stale, the
// one a server refused, so that the next Token refreshes even though the
// token looked valid. The refresh token and the rest of the credential
// stay. It reports whether it forgot anything: a stale token that is no
// longer the stored one (another process refreshed meanwhile) is left
// alone. Nothing is stored for the profile: a login-required error.
func (s *Source) Invalidate(ctx context.Context, stale string) (bool, error) {
	if stale == "" {
		return false, nil
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	c, err := s.Load(ctx)
	if err != nil || c.AccessToken != stale {
		return false, err
	}
	c.AccessToken, c.Expiry = "", time.Time{}
	if err := s.Save(ctx, c); err != nil {
		return false, err
	}
	s.logf("forgot the access token a server refused; the next use refreshes")
	return true, nil
}

// refresh makes at most one refresh request for all callers in this
// process that ask while one is under way, and, under the cross-process
// lock, none at all if another process has already replaced stale.
//
// A caller whose ctx ends returns ctx.Err(): soon if the refresh request
// has not been sent, and otherwise once its answer is saved, since a
// rotating provider has retired the old refresh token by then and the new
// one must not be lost. That wait is bounded by the HTTP client's timeout.
func (s *Source) refresh(ctx context.Context, stale string, minTTL time.Duration) (*Credential, error) {
	f := s.join(ctx, stale, minTTL)
	select {
	case <-f.done:
		return f.cred, f.err
	case <-ctx.Done():
	}
	s.giveUp(f)
	return nil, ctx.Err()
}

// join returns the refresh under way in this process, or starts one.
func (s *Source) join(ctx context.Context, stale string, minTTL time.Duration) *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flying != nil && s.flying.join() {
		return s.flying
	}
	f := newFlight(ctx)
	s.flying = f
	go func() {
		c, err := s.refreshLocked(f, stale, minTTL)
		s.mu.Lock()
		if s.flying == f {
			s.flying = nil
		}
		s.mu.Unlock()
		f.finish(c, err)
	}()
	return f
}

// giveUp takes a caller whose context ended out of f and waits until f
// ends, which it does as soon as it has nothing left to save (see flight).
// While the answer to a request already sent is awaited, Finishing tells
// the user.
func (s *Source) giveUp(f *flight) {
	if f.leave() {
		select {
		case <-f.saved:
		default:
			s.finishingOnce.Do(func() {
				if s.Finishing != nil {
					s.Finishing()
				}
			})
		}
	}
	<-f.done
	// The caller returns its own error; a failed save must still be
	// heard, or the next run's "log in again" comes without a reason.
	var serr *SaveError
	if errors.As(f.err, &serr) {
		s.warn("%v", serr)
	}
}

// lockWait bounds how long a refresh waits for another process's refresh.
const lockWait = 30 * time.Second

// refreshLocked refreshes under the cross-process lock, then, with the
// lock released, checks the new ID token the refresh returned, if any.
func (s *Source) refreshLocked(f *flight, stale string, minTTL time.Duration) (*Credential, error) {
	ctx, cancel := context.WithTimeout(f.ctx, lockWait+time.Minute)
	defer cancel()
	c, err := s.refreshUnderLock(ctx, f, stale, minTTL)
	if err != nil || f.unchecked == nil {
		return c, err
	}
	return s.adoptIDToken(ctx, f, f.unchecked), nil
}

func (s *Source) refreshUnderLock(ctx context.Context, f *flight, stale string, minTTL time.Duration) (*Credential, error) {
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
	fresh, err := s.exchange(ctx, f, c)
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.ErrorCode == "invalid_grant" {
		return s.rejected(ctx, f, c)
	}
	if err != nil {
		return nil, err
	}
	s.warnShortLifetime(c, fresh, minTTL)
	fresh, err = s.keep(ctx, f, c, fresh)
	if err != nil {
		return nil, err
	}
	s.logf("refreshed; new access token valid for %s", shortDuration(fresh.TTL(s.now())))
	return fresh, nil
}

// warnShortLifetime warns when the caller asks for a token that stays
// valid longer than the provider's access tokens live (token print
// --min-ttl 5m against 15 s tokens): every use then refreshes. The
// warning is given once per credential and lifetime (recorded in fresh,
// which is saved next), not at every refresh.
func (s *Source) warnShortLifetime(prev, fresh *Credential, minTTL time.Duration) {
	fresh.LifetimeWarned = prev.LifetimeWarned
	l := fresh.Lifetime()
	if l <= 0 || minTTL < l || prev.LifetimeWarned == l {
		return
	}
	fresh.LifetimeWarned = l
	s.warn("the provider's access tokens live %s, less than the %s asked for (--min-ttl): each use refreshes; ask for less than %s", l, minTTL, l)
}

// exchange makes the one refresh request, unless every caller of f has
// given up before it is sent. The credential it returns carries the ID
// token of the answer, if any, unchecked: see keep.
func (s *Source) exchange(ctx context.Context, f *flight, c *Credential) (*Credential, error) {
	if s.Provider == nil {
		return nil, errors.New("refresh: no token endpoint known")
	}
	m, err := s.Provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	ep := oauth2.Endpoint{TokenURL: m.TokenEndpoint, AuthStyle: provider.ClientFor(m, c.ClientID, c.ClientSecret).AuthStyle()}
	conf := &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep}
	key, err := c.ProofKey()
	if err != nil {
		return nil, err
	}
	client, answers := tokenendpoint.Client(s.HTTPClient, s.Log)
	answers.DPoP = key
	hctx := context.WithValue(ctx, oauth2.HTTPClient, client)
	if err := f.send(); err != nil {
		return nil, err
	}
	t, err := conf.TokenSource(hctx, &oauth2.Token{RefreshToken: c.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return nil, s.keepRefreshToken(ctx, c, answers.RefreshToken(), fmt.Errorf("refresh: %w", provider.ErrorFrom(err)))
	}
	if key != nil && normalizeType(t.TokenType) != dpop.HeaderName {
		return nil, s.notBound(ctx, c, t)
	}
	fresh := FromOAuth2(c.Issuer, c.ClientID, t)
	fresh.ClientSecret = c.ClientSecret
	fresh.LifetimeWarned = c.LifetimeWarned
	fresh.Minted = c.Minted
	fresh.DPoPKey = c.DPoPKey
	if fresh.RefreshToken == "" {
		fresh.RefreshToken = c.RefreshToken
	}
	if len(fresh.Scopes) == 0 {
		fresh.Scopes = c.Scopes
	}
	return fresh, nil
}

// rejected handles invalid_grant: the refresh token is dead unless another
// tool or a racing login replaced it meanwhile.
func (s *Source) rejected(ctx context.Context, f *flight, used *Credential) (*Credential, error) {
	return s.rejectedAgain(ctx, f, used, true)
}

// rejectedAgain is rejected; retry says whether a replacement credential
// may still be tried (once: a replacement the provider rejects as well is
// handled like the first).
func (s *Source) rejectedAgain(ctx context.Context, f *flight, used *Credential, retry bool) (*Credential, error) {
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
		fresh, err := s.exchange(ctx, f, now)
		var rerr *oauth2.RetrieveError
		if errors.As(err, &rerr) && rerr.ErrorCode == "invalid_grant" {
			return s.rejectedAgain(ctx, f, now, false)
		}
		if err != nil {
			return nil, err
		}
		return s.keep(ctx, f, now, fresh)
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

// keepRefreshToken handles a refresh answer the provider sent with a new
// refresh token but that could not be used (x/oauth2 refused it: no
// access token, say): a rotating provider has already retired c's refresh
// token, so the new one is saved in its place before err is returned.
func (s *Source) keepRefreshToken(ctx context.Context, c *Credential, rt string, err error) error {
	saved, serr := s.saveRefreshToken(ctx, c, rt)
	if serr != nil {
		return serr
	}
	if !saved {
		return err
	}
	s.logf("the provider's answer could not be used, but the new refresh token it carried was saved")
	return fmt.Errorf("%w (the new refresh token it carried was saved; try again)", err)
}

// saveRefreshToken stores c with rt, a refresh token from an answer that
// cannot otherwise be used, in place of c's refresh token, and reports
// whether it stored anything (not when rt is empty or c's own). A failed
// save is a *SaveError.
func (s *Source) saveRefreshToken(ctx context.Context, c *Credential, rt string) (bool, error) {
	if rt == "" || rt == c.RefreshToken {
		return false, nil
	}
	kept := *c
	kept.RefreshToken = rt
	if err := s.Save(ctx, &kept); err != nil {
		return false, &SaveError{Err: err}
	}
	return true, nil
}
