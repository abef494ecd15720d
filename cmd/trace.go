package cmd

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/safetext"
)

// What --verbose traces besides the steps the packages log themselves:
// every request to the provider and every keychain call, each with the
// time it took. Never a header, a body or a secret: the URLs of requests
// to the provider carry none (codes, tokens and client secrets travel in
// bodies and headers), and their query is left out all the same.

// traceTransport logs each request to the provider: method, URL without
// its query, status and time taken, or the failure.
type traceTransport struct {
	base http.RoundTripper
	log  func(format string, args ...any)
}

func (t traceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	took := sinceRounded(start)
	where := withoutQuery(r.URL)
	if err != nil {
		t.log("%s %s: no answer after %s (%s)", r.Method, where, took, safetext.Redact(err.Error(), 300))
		return nil, err
	}
	t.log("%s %s: %s in %s", r.Method, where, safetext.Redact(resp.Status, 60), took)
	return resp, nil
}

// slowAfter is how long a request to the provider may go unanswered
// before the user is told that authctl is waiting for it.
const slowAfter = 5 * time.Second

// slowTransport tells the user, once per request, when the provider has
// not answered within slowAfter, so that a provider that hangs is not
// mistaken for authctl hanging.
type slowTransport struct {
	base http.RoundTripper
	// limit is the client's time limit, for the words; 0 when none.
	limit time.Duration
	tell  func(format string, args ...any)
}

func (t slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	timer := time.AfterFunc(slowAfter, func() {
		if t.limit > 0 {
			t.tell("waiting for %s to answer (nothing for %s; giving up after %s; Ctrl-C to cancel)…", host, slowAfter, t.limit)
			return
		}
		t.tell("waiting for %s to answer (nothing for %s; Ctrl-C to cancel)…", host, slowAfter)
	})
	defer timer.Stop()
	return t.base.RoundTrip(r)
}

// providerClient wraps c, the client for the provider, with the slow
// notice and, with --verbose, the request trace.
func providerClient(c *http.Client, verbose bool, log, tell func(string, ...any)) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	var rt http.RoundTripper = slowTransport{base: base, limit: c.Timeout, tell: tell}
	if verbose {
		rt = traceTransport{base: rt, log: log}
	}
	wrapped := *c
	wrapped.Transport = rt
	return &wrapped
}

func withoutQuery(u *url.URL) string {
	v := *u
	v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment, v.User = "", false, "", "", nil
	return v.String()
}

// sinceRounded is the time since start, to the millisecond, or to ten
// microseconds under 10ms (a keychain read).
func sinceRounded(start time.Time) time.Duration {
	d := time.Since(start)
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// tracedStore logs each keychain call: the backend, the operation, the
// account, the time taken and the outcome; never the secret.
type tracedStore struct {
	keychain.Store
	log func(format string, args ...any)
}

// traced wraps st for --verbose; a store that can list its accounts still
// can.
func traced(st keychain.Store, log func(string, ...any)) keychain.Store {
	t := &tracedStore{Store: st, log: log}
	if l, ok := st.(keychain.Lister); ok {
		return &tracedLister{tracedStore: t, lister: l}
	}
	return t
}

func (s *tracedStore) Get(ctx context.Context, account string) ([]byte, error) {
	start := time.Now()
	b, err := s.Store.Get(ctx, account)
	s.report("read", account, start, err)
	return b, err
}

func (s *tracedStore) Set(ctx context.Context, account string, secret []byte) error {
	start := time.Now()
	err := s.Store.Set(ctx, account, secret)
	s.report("write", account, start, err)
	return err
}

func (s *tracedStore) Delete(ctx context.Context, account string) error {
	start := time.Now()
	err := s.Store.Delete(ctx, account)
	s.report("delete", account, start, err)
	return err
}

func (s *tracedStore) report(op, account string, start time.Time, err error) {
	outcome := "done"
	switch {
	case errors.Is(err, keychain.ErrNotFound):
		outcome = "nothing stored"
	case err != nil:
		outcome = "failed: " + safetext.Redact(err.Error(), 300)
	}
	s.log("keychain (%s): %s %q in %s: %s", s.Store.Backend(), op, account, sinceRounded(start), outcome)
}

type tracedLister struct {
	*tracedStore
	lister keychain.Lister
}

func (s *tracedLister) Accounts(ctx context.Context) ([]string, error) {
	start := time.Now()
	names, err := s.lister.Accounts(ctx)
	s.report("list", "*", start, err)
	return names, err
}
