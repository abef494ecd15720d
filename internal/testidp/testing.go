package testidp

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"
)

// StartT starts a provider for the test t and closes it when t ends. When
// the provider cannot run here (see Available) it skips t with the reason,
// or fails t if the environment sets AUTHCTL_TEST_REQUIRE_REAL=1. If
// opts.Stderr is nil the provider's stderr is logged when t fails.
func StartT(t testing.TB, opts Options) *IdP {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = FindDir(); err != nil {
			SkipOrFail(t, err.Error())
		}
	}
	if err := availableIn(dir); err != nil {
		SkipOrFail(t, err.Error())
	}
	opts.Dir = dir
	var log *syncBuffer
	if opts.Stderr == nil {
		log = &syncBuffer{}
		opts.Stderr = log
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	idp, err := Start(ctx, opts)
	if err != nil {
		if log != nil {
			t.Logf("test provider stderr:\n%s", log.String())
		}
		t.Fatalf("test provider: %v", err)
	}
	t.Cleanup(func() {
		_ = idp.Close()
		if log != nil && t.Failed() {
			t.Logf("test provider stderr:\n%s", log.String())
		}
	})
	return idp
}

// SkipOrFail skips t with reason, or fails it when the environment sets
// AUTHCTL_TEST_REQUIRE_REAL=1 (a real part the test needs is missing).
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvRequireReal) == "1" {
		t.Fatalf("%s (required: %s=1)", reason, EnvRequireReal)
	}
	t.Skip(reason)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
