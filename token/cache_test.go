package token_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// memCache is an AccessCache as the kernel keyring cache behaves: one
// entry, valid only while the generation it was written under is current.
// Several Sources (processes) may share one.
type memCache struct {
	mu       sync.Mutex
	gen      int
	entry    string
	entryGen int
	invalid  int // Invalidate calls
}

func (m *memCache) Watch() func(*token.Credential) {
	m.mu.Lock()
	g := m.gen
	m.mu.Unlock()
	return func(c *token.Credential) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.entry, m.entryGen = c.AccessToken, g
	}
}

func (m *memCache) Invalidate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.invalid++
}

// served is the token a reader of the cache would print, or "".
func (m *memCache) served() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entryGen != m.gen {
		return ""
	}
	return m.entry
}

func cachedSource(store keychain.Store, p *idp, c *memCache) *token.Source {
	s := source(store, p)
	s.Cache = c
	return s
}

// TestCacheFollowsTheCredential: whatever Source does, the cache serves
// the stored access token or nothing: never one that was replaced,
// refused or deleted.
func TestCacheFollowsTheCredential(t *testing.T) {
	ctx := context.Background()
	p := newIdP(t, rotating)
	store := keychaintest.New()
	mc := &memCache{}
	src := cachedSource(store, p, mc)
	check := func(step, want string) {
		t.Helper()
		if got := mc.served(); got != want {
			t.Fatalf("after %s the cache serves %q, want %q", step, got, want)
		}
	}

	if err := src.Replace(ctx, cred("AT0", "RT0", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	check("a login", "AT0")
	mc.Invalidate()
	if _, err := src.Token(ctx, 0); err != nil {
		t.Fatal(err)
	}
	check("Token found the credential fresh", "AT0")

	// An API refused AT0: the copy is gone before the refresh request is
	// even sent, and the new token is cached after it.
	p.answer = func(w http.ResponseWriter, r *http.Request, n int) {
		if got := mc.served(); got != "" {
			t.Errorf("while the refresh request is under way the cache serves %q", got)
		}
		rotating(w, r, n)
	}
	if _, err := src.Refresh(ctx, "AT0"); err != nil {
		t.Fatal(err)
	}
	check("a forced refresh", "AT1")
	p.answer = rotating

	// --min-ttl past the token's life: refreshed, the new one cached.
	if _, err := src.Token(ctx, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	check("a refresh for --min-ttl", "AT2")

	if _, err := src.Logout(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("logout", "")
}

// TestCacheDroppedWhenTheRefreshTokenIsRefused: the provider refused the
// refresh token and the credential is deleted; its access token is no
// longer served.
func TestCacheDroppedWhenTheRefreshTokenIsRefused(t *testing.T) {
	ctx := context.Background()
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	store := keychaintest.New()
	mc := &memCache{}
	src := cachedSource(store, p, mc)
	if err := src.Replace(ctx, cred("AT0", "RT0", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Refresh(ctx, "AT0"); !isLoginRequired(err) {
		t.Fatalf("Refresh = %v, want login required", err)
	}
	if got := mc.served(); got != "" {
		t.Fatalf("the cache serves %q after the credential was deleted", got)
	}
}

// hookStore runs a hook, once, before the next Set or Delete (whichever
// is named) and after the next Get: a slow reader or writer in another
// process.
type hookStore struct {
	keychain.Store
	mu       sync.Mutex
	before   map[keychaintest.Op]func()
	afterGet func()
}

func (h *hookStore) take(op keychaintest.Op) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var f func()
	if op == keychaintest.OpGet {
		f, h.afterGet = h.afterGet, nil
	} else {
		f = h.before[op]
		delete(h.before, op)
	}
	if f == nil {
		f = func() {}
	}
	return f
}

func (h *hookStore) Get(ctx context.Context, account string) ([]byte, error) {
	b, err := h.Store.Get(ctx, account)
	h.take(keychaintest.OpGet)()
	return b, err
}

func (h *hookStore) Set(ctx context.Context, account string, b []byte) error {
	h.take(keychaintest.OpSet)()
	return h.Store.Set(ctx, account, b)
}

func (h *hookStore) Delete(ctx context.Context, account string) error {
	h.take(keychaintest.OpDelete)()
	return h.Store.Delete(ctx, account)
}

// raceChange makes a reader (another process) read the credential while
// change replaces or deletes it: the reader starts once change is about
// to write (op), reads the old credential, and writes the cache only after
// change has finished. It returns what the cache serves then.
func raceChange(t *testing.T, op keychaintest.Op, change func(*token.Source) error) string {
	t.Helper()
	ctx := context.Background()
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	inner := keychaintest.New()
	put(t, inner, cred("AT0", "RT0", time.Now().Add(time.Hour)))
	mc := &memCache{}
	ws, rs := &hookStore{Store: inner, before: map[keychaintest.Op]func(){}}, &hookStore{Store: inner}
	writer, reader := cachedSource(ws, p, mc), cachedSource(rs, p, mc)
	read, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	rs.afterGet = func() { close(read); <-release }
	ws.before[op] = func() {
		go func() {
			defer close(done)
			if c, err := reader.Token(ctx, 0); err != nil || c.AccessToken != "AT0" {
				t.Errorf("the reader got %v, %v; want AT0", c, err)
			}
		}()
		<-read
	}
	if err := change(writer); err != nil {
		t.Errorf("change: %v", err)
	}
	close(release)
	<-done
	return mc.served()
}

// TestRacingReaderNeverRevivesAChangedToken: a reader that read the old
// credential while it was being replaced or deleted may print it once,
// as a keychain read at that moment would, but its cache write never
// makes it served after the change.
func TestRacingReaderNeverRevivesAChangedToken(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		op     keychaintest.Op
		change func(*token.Source) error
	}{
		"save": {keychaintest.OpSet, func(s *token.Source) error {
			return s.Save(ctx, cred("AT-new", "RT-new", time.Now().Add(time.Hour)))
		}},
		"logout": {keychaintest.OpDelete, func(s *token.Source) error { _, err := s.Logout(ctx, nil); return err }},
		"refresh token refused": {keychaintest.OpDelete, func(s *token.Source) error {
			if _, err := s.Refresh(ctx, "AT0"); !isLoginRequired(err) {
				return err
			}
			return nil
		}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := raceChange(t, tc.op, tc.change); got == "AT0" {
				t.Fatal("the cache serves AT0, which changed while the reader read it")
			}
		})
	}
}

// TestFailedChangeLeavesNoCopy: a save or delete that fails may still
// have happened (a keychain that timed out), so the old token is no
// longer served.
func TestFailedChangeLeavesNoCopy(t *testing.T) {
	ctx := context.Background()
	p := newIdP(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		oauthError(w, r, http.StatusBadRequest, "invalid_grant")
	})
	for name, change := range map[string]func(*token.Source) error{
		"save":   func(s *token.Source) error { return s.Save(ctx, cred("AT-new", "RT-new", time.Now().Add(time.Hour))) },
		"logout": func(s *token.Source) error { _, err := s.Logout(ctx, nil); return err },
		"refresh token refused": func(s *token.Source) error {
			_, err := s.Token(ctx, 2*time.Hour) // no forced refresh: Token alone
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			store := keychaintest.New()
			mc := &memCache{}
			src := cachedSource(store, p, mc)
			if err := src.Replace(ctx, cred("AT0", "RT0", time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			store.SetHook(func(op keychaintest.Op, _ string) error {
				if op == keychaintest.OpGet {
					return nil
				}
				return fmt.Errorf("keychaintest: timed out: %w", keychain.ErrUnavailable)
			})
			if err := change(src); err == nil {
				t.Fatal("the change succeeded")
			}
			if got := mc.served(); got != "" {
				t.Fatalf("after a failed %s the cache serves %q", name, got)
			}
		})
	}
}

// TestLogoutDropsTheCopyBeforeRevoking: while logout talks to the
// provider, the token it is revoking is no longer served.
func TestLogoutDropsTheCopyBeforeRevoking(t *testing.T) {
	ctx := context.Background()
	mc := &memCache{}
	p := newIdP(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if got := mc.served(); got != "" {
			t.Errorf("during revocation the cache serves %q", got)
		}
	})
	store := keychaintest.New()
	src := cachedSource(store, p, mc)
	if err := src.Replace(ctx, cred("AT0", "RT0", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Logout(ctx, endpointAt(p.srv.URL+"/revoke")); err != nil {
		t.Fatal(err)
	}
	if p.count() == 0 {
		t.Fatal("no revocation request was made")
	}
}
