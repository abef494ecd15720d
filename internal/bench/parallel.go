package main

import (
	"context"
	"sync"
	"time"
)

// parallelResult is one round of parallel token prints after expiry.
type parallelResult struct {
	wall      time.Duration
	refreshes int
	failed    int
}

// parallelAfterExpiry refreshes the short-lived profile's token, waits
// until it is stale (tokens live 12 s and are refreshed within a third of
// their life, 4 s, of their expiry), and runs procs token prints of
// build b at once.
func (m *machine) parallelAfterExpiry(ctx context.Context, b build, procs int) (parallelResult, error) {
	if _, err := m.authctl(ctx, b.authctl, m.short, "token", "print", "--min-ttl", "1h"); err != nil {
		return parallelResult{}, err
	}
	select {
	case <-time.After(9 * time.Second):
	case <-ctx.Done():
		return parallelResult{}, ctx.Err()
	}
	if err := m.short.idp.Reset(ctx); err != nil {
		return parallelResult{}, err
	}
	var wg sync.WaitGroup
	errs := make([]error, procs)
	outs := make([]string, procs)
	start := time.Now()
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := m.authctl(ctx, b.authctl, m.short, "token", "print")
			outs[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	r := parallelResult{wall: time.Since(start)}
	for i, err := range errs {
		if err != nil || outs[i] != outs[0] {
			r.failed++
		}
	}
	st, err := m.short.idp.Stats(ctx)
	if err != nil {
		return parallelResult{}, err
	}
	r.refreshes = st.RefreshToken
	return r, nil
}
