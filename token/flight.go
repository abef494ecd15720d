package token

import (
	"context"
	"sync"
)

// flight is one refresh, shared by every caller in the process that asks
// for one while it runs. A caller may give up (its context ends); what
// happens then depends on whether the refresh request has been sent:
//
//   - not yet: the caller returns at once, and once no caller is left the
//     flight stops before it sends anything;
//   - already: a rotating provider has retired the old refresh token, so
//     the caller waits until the answer is saved (see saved).
type flight struct {
	// ctx is what the refresh runs under. Callers' contexts do not reach
	// it: it ends only when every caller gave up before the request was
	// sent, or when the flight is over.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	waiters int  // callers still waiting for the result
	sent    bool // the refresh request is on its way

	// saved is closed once nothing the provider issued is left unsaved:
	// after the first save of a refresh's answer, or when the flight ends.
	saved     chan struct{}
	savedOnce sync.Once
	// done is closed when cred and err are final.
	done chan struct{}
	cred *Credential
	err  error
}

func newFlight(parent context.Context) *flight {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &flight{ctx: ctx, cancel: cancel, waiters: 1, saved: make(chan struct{}), done: make(chan struct{})}
}

// join adds a caller, unless every caller has already given up; it
// reports whether it did.
func (f *flight) join() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		return false
	}
	f.waiters++
	return true
}

// leave removes a caller that gave up and reports whether the request has
// been sent (the caller must then wait for saved). The last caller to
// leave before the request is sent stops the flight.
func (f *flight) leave() (sent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiters--
	if f.waiters == 0 && !f.sent {
		f.cancel()
	}
	return f.sent
}

// send is called just before the refresh request goes out. It fails when
// every caller has given up; otherwise, from then on, no caller can stop
// the flight.
func (f *flight) send() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ctx.Err(); err != nil {
		return err
	}
	f.sent = true
	return nil
}

// markSaved says that the provider's answer is stored.
func (f *flight) markSaved() { f.savedOnce.Do(func() { close(f.saved) }) }

// finish records the outcome and releases every waiting caller.
func (f *flight) finish(c *Credential, err error) {
	f.cred, f.err = c, err
	close(f.done)
	f.markSaved()
	f.cancel()
}
