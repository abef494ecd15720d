package keychain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultTimeout is the time limit of one keychain call when
// SystemOptions.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// SystemOptions configures the OS keychain store. The zero value is ready
// to use.
type SystemOptions struct {
	// Timeout bounds every call (on top of the caller's context).
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// Getenv looks up environment variables (DBUS_SESSION_BUS_ADDRESS on
	// Linux). Nil means os.Getenv.
	Getenv func(string) string
	// BusSocket is, on Linux, the session bus socket used when
	// DBUS_SESSION_BUS_ADDRESS is unset. Empty means /run/user/<uid>/bus:
	// the one place where godbus (and so go-keyring, which does Set and
	// Delete) looks on its own without launching dbus-launch. Other places,
	// such as a $XDG_RUNTIME_DIR elsewhere, are not used, because go-keyring
	// would not find them and would start a stray bus instead.
	BusSocket string
}

// system is the OS keychain through go-keyring, with a direct Secret
// Service read on Linux.
type system struct {
	timeout   time.Duration
	getenv    func(string) string
	busSocket string
}

// NewSystem returns the OS keychain (macOS Keychain, Windows Credential
// Manager, the Secret Service on Linux) as a Store, with every secret under
// service Service and account = the account given.
//
// Every call gives up after opts.Timeout or when ctx ends, whichever comes
// first, with an error matching ErrUnavailable and ErrTimeout; the
// abandoned keychain call goes on in the background until it returns (a
// timed-out Set may still complete). Every failure other than a missing
// credential matches ErrUnavailable and says, in one line, what is wrong
// and how to get out of it. On Linux, when there is no D-Bus session bus,
// calls fail at once instead of letting go-keyring launch dbus-launch.
//
// Items hold at most a few kilobytes on macOS and Windows; wrap the store
// with NewSplit (or use DefaultStore) to store secrets of any size.
func NewSystem(opts SystemOptions) Store {
	s := &system{timeout: opts.Timeout, getenv: opts.Getenv, busSocket: opts.BusSocket}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.getenv == nil {
		s.getenv = os.Getenv
	}
	if s.busSocket == "" {
		s.busSocket = fmt.Sprintf("/run/user/%d/bus", os.Getuid())
	}
	return s
}

// Backend names the OS keychain of this platform.
func (s *system) Backend() string { return backendName(runtime.GOOS) }

// backendName names the OS keychain of goos for people.
func backendName(goos string) string {
	switch goos {
	case "darwin", "ios":
		return "macOS Keychain"
	case "windows":
		return "Windows Credential Manager"
	default:
		return "Secret Service"
	}
}

// Get reads the secret of account.
func (s *system) Get(ctx context.Context, account string) ([]byte, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	if err := s.preflight(); err != nil {
		return nil, err
	}
	v, err := bounded(ctx, s.timeout, "read", func(ctx context.Context) ([]byte, error) {
		return s.get(ctx, account)
	})
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", account, s.Backend(), classify("read", err))
	}
	return v, nil
}

// Set stores secret for account through go-keyring.
func (s *system) Set(ctx context.Context, account string, secret []byte) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	if err := s.preflight(); err != nil {
		return err
	}
	_, err := bounded(ctx, s.timeout, "write", func(ctx context.Context) (struct{}, error) {
		if err := introduceShared(ctx); err != nil {
			return struct{}{}, err
		}
		err := keyring.Set(Service, account, string(secret))
		if errors.Is(err, keyring.ErrSetDataTooBig) {
			err = fmt.Errorf("%w (%d bytes)", ErrTooBig, len(secret))
		}
		return struct{}{}, err
	})
	if err != nil {
		return fmt.Errorf("write %s to %s: %w", account, s.Backend(), classify("write", err))
	}
	return nil
}

// Delete removes the secret of account through go-keyring; a missing one
// is not an error.
func (s *system) Delete(ctx context.Context, account string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	if err := s.preflight(); err != nil {
		return err
	}
	_, err := bounded(ctx, s.timeout, "delete", func(ctx context.Context) (struct{}, error) {
		if err := introduceShared(ctx); err != nil {
			return struct{}{}, err
		}
		err := keyring.Delete(Service, account)
		if errors.Is(err, keyring.ErrNotFound) {
			err = nil
		}
		return struct{}{}, err
	})
	if err != nil {
		return fmt.Errorf("delete %s from %s: %w", account, s.Backend(), classify("delete", err))
	}
	return nil
}

// bounded runs fn in its own goroutine and waits for it at most timeout
// and at most until ctx ends. When the limit passes first, the error
// matches ErrUnavailable and ErrTimeout and names the limit; when ctx ends
// first, the error wraps ctx's error. fn gets a context that ends at the
// same moment, so it can stop early, but it is not waited for.
func bounded[T any](ctx context.Context, timeout time.Duration, op string, fn func(context.Context) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan result, 1) // buffered: an abandoned fn never blocks
	go func() {
		v, err := fn(cctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err == nil || cctx.Err() == nil {
			return r.v, r.err
		}
		// fn failed because its context ended (say, a closed D-Bus
		// connection): report the deadline, not its symptom.
	case <-cctx.Done():
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("keychain %s: %w", op, err)
	}
	return zero, unavailable(ErrTimeout,
		fmt.Sprintf("the keychain did not answer a %s within %s (it may be waiting for an unlock prompt)", op, timeout),
		hintStart, nil)
}

// checkAccount rejects an empty account name.
func checkAccount(account string) error {
	if account == "" {
		return errors.New("keychain: empty account name")
	}
	return nil
}
