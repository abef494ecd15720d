package token

import (
	"context"
	"sync"
)

// flight is one refresh, shared by every caller in the process that asks
// for one while it runs. A caller may give up (its context ends); the
// flight then goes on only as far as it must:
//
//   - before the request is sent, the last caller to give up stops it;
//   - once it is sent, a rotating provider has retired the old refresh
//     token, so the answer is received and saved whatever the callers do;
//   - after that save, what is left (checking the new ID token and storing
//     it) is dropped when no caller waits any more.
//
// A caller that gives up still waits for the flight to end, which is soon
// after the points above, so that a process exiting on Ctrl-C never leaves
// a credential half written.
type flight struct {
	// ctx is what the refresh runs under. Callers' contexts do not reach
	// it: it ends only when every caller gave up before the request was
	// sent, or when the flight is over.
	ctx    context.Context
	cancel context.CancelFunc
	// wanted ends when no caller waits for the result any more (or when
	// ctx ends).
	wanted   context.Context
	unwanted context.CancelFunc

	mu      sync.Mutex
	waiters int  // callers still waiting for the result
	sent    bool // the refresh request is on its way

	// saved is closed once nothing the provider issued is left unsaved:
	// after the first save of a refresh's answer, or when the flight ends.
	saved     chan struct{}
	savedOnce sync.Once
	// unchecked is the ID token of the saved answer, left to check once
	// the refresh lock is released (see Source.adoptIDToken). Only the
	// refresh's own goroutine uses it.
	unchecked *idCheck
	// done is closed when cred and err are final.
	done chan struct{}
	cred *Credential
	err  error
}

func newFlight(parent context.Context) *flight {
	f := &flight{waiters: 1, saved: make(chan struct{}), done: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(parent))
	f.wanted, f.unwanted = context.WithCancel(f.ctx)
	return f
}

// join adds a caller and reports whether it did: it does not when every
// caller gave up before the request was sent, since the flight then stops.
// A request already sent is joined even when no caller waits any more, so
// that a caller arriving then waits for its answer to be saved as well
// (rather than starting a flight of its own that, if its caller too has
// given up, ends at once and lets the process exit before the save).
func (f *flight) join() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wanted.Err() != nil && !f.sent {
		return false
	}
	f.waiters++
	return true
}

// leave removes a caller that gave up and reports whether the request has
// been sent. The last caller to leave ends wanted, and, if the request has
// not been sent, ctx.
func (f *flight) leave() (sent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiters--
	if f.waiters == 0 {
		f.unwanted()
		if !f.sent {
			f.cancel()
		}
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

// whileWanted returns a context derived from ctx that also ends when no
// caller waits any more, and the function that releases it.
func (f *flight) whileWanted(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(f.wanted, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
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
