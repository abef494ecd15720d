package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authctl/authctl/keychain/keychaintest"
	"github.com/authctl/authctl/token"
)

// These tests pin what happens between receiving a rotated refresh token
// and storing it: nothing that can fail or wait, and a caller that gives
// up does not cut it short.

// writeLog is a keychain store that keeps every credential written to it,
// in order.
type writeLog struct {
	*keychaintest.Store
	mu     sync.Mutex
	writes []*token.Credential
}

func newWriteLog() *writeLog { return &writeLog{Store: keychaintest.New()} }

func (r *writeLog) Set(ctx context.Context, account string, secret []byte) error {
	if err := r.Store.Set(ctx, account, secret); err != nil {
		return err
	}
	c, err := token.Decode(secret)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, c)
	return nil
}

func (r *writeLog) written() []*token.Credential {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*token.Credential(nil), r.writes...)
}

// withIDToken answers a refresh like rotating, with id as the ID token.
func withIDToken(id string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("AT%d", n), "refresh_token": fmt.Sprintf("RT%d", n),
			"token_type": "Bearer", "expires_in": 3600, "id_token": id,
		})
	}
}

// TestRefreshSavesRotatedTokenBeforeVerifyingIDToken: verifying the new ID
// token downloads the provider's keys, which can take the HTTP client's
// whole timeout. The rotated refresh token is stored before that starts.
func TestRefreshSavesRotatedTokenBeforeVerifyingIDToken(t *testing.T) {
	oldID, newID := idToken("alice"), idToken("alice")+"2"
	p := newIdP(t, withIDToken(newID))
	store := newWriteLog()
	c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
	c.IDToken = oldID
	put(t, store, c)
	before := len(store.written())

	src := source(store, p)
	src.VerifyIDToken = func(context.Context, string, string) (string, error) {
		// The keys are still downloading: what is stored now is all a
		// process killed at this point would leave behind.
		w := store.written()[before:]
		if len(w) != 1 || w[0].RefreshToken != "RT1" || w[0].IDToken != oldID {
			t.Errorf("while the ID token is verified, stored %s; want RT1 with the previous ID token", describeWrites(w))
		}
		return "alice", nil
	}
	got, err := src.Token(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	w := store.written()[before:]
	if len(w) != 2 || w[1].RefreshToken != "RT1" || w[1].IDToken != newID {
		t.Errorf("writes %s; want RT1 with the previous ID token, then with the verified new one", describeWrites(w))
	}
	if got.IDToken != newID {
		t.Errorf("returned ID token %q, want the verified new one", got.IDToken)
	}
}

func describeWrites(w []*token.Credential) string {
	var s []map[string]any
	for _, c := range w {
		s = append(s, map[string]any{"refresh": c.RefreshToken, "id": c.IDToken})
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// TestRefreshCallerGivesUpWhileKeysDownload: a caller that gives up
// (Ctrl-C) while the refreshed ID token is verified returns at once, with
// the rotated refresh token already stored. The check is dropped, not
// recorded as a refusal: it was cut short.
func TestRefreshCallerGivesUpWhileKeysDownload(t *testing.T) {
	p := newIdP(t, withIDToken(idToken("alice")+"2"))
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
	c.IDToken = idToken("alice")
	put(t, store, c)
	verifying, keys := make(chan struct{}), make(chan struct{})
	defer close(keys)
	var once sync.Once
	src := source(store, p)
	src.VerifyIDToken = func(ctx context.Context, _, _ string) (string, error) {
		once.Do(func() { close(verifying) })
		select { // the provider's keys do not come while the test runs
		case <-keys:
			return "", errors.New("no keys")
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	var finishing atomic.Int32
	src.Finishing = func() { finishing.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx, 0)
		done <- err
	}()
	<-verifying
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the caller still waits, for keys that do not come, after it gave up")
	}
	if s := stored(t, store); s.RefreshToken != "RT1" || s.IDToken != c.IDToken || s.IDTokenRejected != nil {
		t.Errorf("stored %+v when the caller returned; want the rotated RT1 with the previous ID token, nothing refused", s)
	}
	if n := finishing.Load(); n != 0 {
		t.Errorf("Finishing called %d times; nothing was left to save", n)
	}
}

// holdingIdP returns a rotating provider that holds its answers until
// answer is called; received is closed when the first request arrives.
func holdingIdP(t *testing.T) (p *idp, received <-chan struct{}, answer func()) {
	got, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p = newIdP(t, func(w http.ResponseWriter, r *http.Request, n int) {
		once.Do(func() { close(got) })
		<-release
		rotating(w, r, n)
	})
	answer = sync.OnceFunc(func() { close(release) })
	t.Cleanup(answer) // before the provider closes, also when the test fails
	return p, got, answer
}

// TestRefreshCallerGivesUpAfterRequestSent: the provider answers a
// refresh long after the caller gave up (Ctrl-C). By then it has retired
// the old refresh token, so the callers wait for the answer to be saved,
// however long it takes, and Finishing tells the user once.
func TestRefreshCallerGivesUpAfterRequestSent(t *testing.T) {
	p, received, answer := holdingIdP(t)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	src := source(store, p)
	finishing := make(chan struct{}, 10)
	src.Finishing = func() { finishing <- struct{}{} }
	refreshing := make(chan struct{}, 2)
	src.Log = func(format string, _ ...any) {
		if strings.HasSuffix(format, ": refreshing") {
			refreshing <- struct{}{}
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		err    error
		stored string // the refresh token stored when the caller returned
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			_, err := src.Token(ctx, 0)
			results <- result{err, storedRefreshToken(store)}
		}()
	}
	<-received
	<-refreshing
	<-refreshing // both callers have read the credential and ask for a refresh
	cancel()
	select {
	case <-finishing:
	case r := <-results:
		t.Fatalf("a caller returned (%v) without waiting for the refresh already sent", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("Finishing was not called")
	}
	// A slow provider: longer than any fixed grace a caller might allow.
	time.AfterFunc(6*time.Second, answer)
	for range 2 {
		r := <-results
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", r.err)
		}
		if r.stored != "RT1" {
			t.Errorf("caller returned with %q stored, want the rotated RT1", r.stored)
		}
	}
	if n := len(finishing); n != 0 {
		t.Errorf("Finishing called %d more times, want once in all", n)
	}
}

// TestCallerArrivingAfterAllGaveUpWaitsForTheSentRefresh: a caller that
// comes to a refresh whose request is sent, after every other caller gave
// up, waits for the answer to be saved as they do, instead of starting a
// refresh of its own that its own given-up context ends at once.
func TestCallerArrivingAfterAllGaveUpWaitsForTheSentRefresh(t *testing.T) {
	p, received, answer := holdingIdP(t)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	src := source(store, p)
	finishing := make(chan struct{}, 10)
	src.Finishing = func() { finishing <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	// Once armed: the second caller decides to refresh and, before it
	// gets to the refresh under way, both give up and the first one
	// leaves it.
	var armed, refreshing atomic.Int32
	src.Log = func(format string, _ ...any) {
		if armed.Load() == 1 && strings.HasSuffix(format, ": refreshing") && refreshing.Add(1) == 1 {
			cancel()
			select {
			case <-finishing:
			case <-time.After(30 * time.Second):
				t.Error("the first caller did not give up")
			}
		}
	}

	first := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx, 0)
		first <- err
	}()
	<-received // the first caller's refresh request is sent
	armed.Store(1)
	second := make(chan string, 1)
	go func() {
		_, err := src.Token(ctx, 0)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("second caller: err = %v, want context.Canceled", err)
		}
		second <- storedRefreshToken(store)
	}()
	select {
	case stored := <-second:
		t.Fatalf("the second caller returned (with %q stored) before the refresh already sent was answered", stored)
	case <-time.After(time.Second):
	}
	answer()
	if stored := <-second; stored != "RT1" {
		t.Errorf("second caller returned with %q stored, want the rotated RT1", stored)
	}
	<-first
	if n := p.count(); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
}

// TestRefreshCallerGivesUpWhileSaving: a caller that gives up while the
// refresh writes the credential returns only once the write is over, so
// that a process exiting on Ctrl-C does not leave it half written.
func TestRefreshCallerGivesUpWhileSaving(t *testing.T) {
	p := newIdP(t, withIDToken(idToken("alice")+"2"))
	store := keychaintest.New()
	c := cred("AT0", "RT0", time.Now().Add(-time.Minute))
	c.IDToken = idToken("alice")
	put(t, store, c)
	var sets atomic.Int32
	var writing atomic.Bool
	inWrite, endWrite := make(chan struct{}), make(chan struct{})
	store.SetHook(func(op keychaintest.Op, _ string) error {
		if op == keychaintest.OpSet && sets.Add(1) == 2 { // the write of the verified ID token
			writing.Store(true)
			close(inWrite)
			<-endWrite
			writing.Store(false)
		}
		return nil
	})
	src := source(store, p)
	src.VerifyIDToken = func(context.Context, string, string) (string, error) { return "alice", nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool, 1)
	go func() {
		_, _ = src.Token(ctx, 0)
		done <- writing.Load()
	}()
	<-inWrite
	cancel()
	// A caller that does not wait returns at once, mid-write; one that
	// waits returns after the write ends.
	time.AfterFunc(time.Second, func() { close(endWrite) })
	if <-done {
		t.Error("the caller returned while the credential was being written")
	}
}

// storedRefreshToken returns the refresh token in store, or "" (for use
// outside the test's goroutine).
func storedRefreshToken(store *keychaintest.Store) string {
	c, err := token.Decode(store.Items()[account])
	if err != nil {
		return ""
	}
	return c.RefreshToken
}

// blockingLock is a Locker held by another process until its context ends.
type blockingLock struct {
	called chan struct{}
	ended  chan error
}

func (l *blockingLock) Lock(ctx context.Context, _ string) (func(), error) {
	close(l.called)
	<-ctx.Done()
	l.ended <- ctx.Err()
	return nil, ctx.Err()
}

// TestRefreshCallerGivesUpBeforeRequestSent: a caller that gives up while
// the refresh waits for another process's lock returns, and the refresh
// stops without sending anything.
func TestRefreshCallerGivesUpBeforeRequestSent(t *testing.T) {
	p := newIdP(t, rotating)
	store := keychaintest.New()
	put(t, store, cred("AT0", "RT0", time.Now().Add(-time.Minute)))
	src := source(store, p)
	lock := &blockingLock{called: make(chan struct{}), ended: make(chan error, 1)}
	src.Lock = lock
	src.Finishing = func() { t.Error("Finishing called, but nothing was sent") }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx, 0)
		done <- err
	}()
	<-lock.called
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	select {
	case err := <-lock.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the lock wait ended with %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the refresh still waits for the lock after its only caller gave up")
	}
	if n := p.count(); n != 0 {
		t.Errorf("%d refresh requests, want none", n)
	}
	// A later caller starts a refresh of its own.
	src.Lock = nil
	got, err := src.Token(context.Background(), 0)
	if err != nil || got.RefreshToken != "RT1" {
		t.Errorf("later caller: %v, %v; want RT1", got, err)
	}
}
