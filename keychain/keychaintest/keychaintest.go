// Package keychaintest provides an in-memory keychain.Store for tests: safe
// under t.Parallel and -race, with each platform's item-size limit and
// faults injected on demand (errors, a crash between writes, calls that
// hang until their context ends).
package keychaintest

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/authctl/authctl/keychain"
)

// Op names a Store method, for hooks and the call log.
type Op string

// The operations a Store records.
const (
	OpGet    Op = "get"
	OpSet    Op = "set"
	OpDelete Op = "delete"
)

// Call is one call made to a Store.
type Call struct {
	Op      Op
	Account string
}

// WindowsLimit is the most bytes one Windows Credential Manager item holds
// (CRED_MAX_CREDENTIAL_BLOB_SIZE; go-keyring v0.2.8 stores the bytes as
// they are).
const WindowsLimit = 2560

// darwinLineLimit is the length at which go-keyring's `security -i` command
// line fails on macOS. A line of exactly 4096 bytes has been reported to
// fail silently, so it counts as too long here.
const darwinLineLimit = 4096

// PlatformLimit returns the largest secret go-keyring v0.2.8 can store for
// account on goos, or 0 for no limit (Linux and others). On macOS the limit
// depends on the account name: the whole `add-generic-password` line,
// secret in base64, must stay under 4096 bytes (about 3000 bytes of secret).
func PlatformLimit(goos, account string) int {
	switch goos {
	case "windows":
		return WindowsLimit
	case "darwin", "ios":
		// The secret goes in as "go-keyring-base64:" + base64, which needs
		// no shell quoting: 4 bytes per 3 bytes of secret.
		line := fmt.Sprintf("add-generic-password -U -s %s -a %s -w %s\n",
			quote(keychain.Service), quote(account), "go-keyring-base64:")
		return (darwinLineLimit - 1 - len(line)) / 4 * 3
	}
	return 0
}

var unsafeShell = regexp.MustCompile(`[^\w@%+=:,./-]`)

// quote quotes s the way go-keyring's shell quoting does, for its length.
func quote(s string) string {
	if s == "" {
		return "''"
	}
	if unsafeShell.MatchString(s) {
		return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
	}
	return s
}

// Option configures a Store.
type Option func(*Store)

// MaxItemSize makes Set of a secret longer than n bytes fail with an error
// matching keychain.ErrTooBig, as go-keyring's ErrSetDataTooBig.
func MaxItemSize(n int) Option {
	return func(s *Store) { s.limit = func(string) int { return n } }
}

// Platform makes Set enforce goos's item-size limit (see PlatformLimit) and
// Backend name goos's keychain.
func Platform(goos string) Option {
	return func(s *Store) {
		s.limit = func(account string) int { return PlatformLimit(goos, account) }
		s.backend = map[string]string{
			"darwin": "macOS Keychain", "windows": "Windows Credential Manager",
		}[goos]
		if s.backend == "" {
			s.backend = "Secret Service"
		}
	}
}

// Err makes every call fail with err (for example an error wrapping
// keychain.ErrUnavailable), storing and reading nothing.
func Err(err error) Option {
	return func(s *Store) { s.err = err }
}

// Block makes every call wait until its context ends and then return the
// context's error, like a keychain waiting on an unanswered unlock prompt.
func Block() Option {
	return func(s *Store) { s.block = true }
}

// OnCall installs hook, called before every call (after Err and Block)
// with the operation and account; a non-nil result fails the call without
// touching the items. The hook runs under the Store's lock: it must not
// call the Store.
func OnCall(hook func(op Op, account string) error) Option {
	return func(s *Store) { s.hook = hook }
}

// OnSet installs hook, called before every Set; a non-nil result fails
// that Set without storing anything. It replaces any OnCall hook.
func OnSet(hook func(account string) error) Option {
	return OnCall(func(op Op, account string) error {
		if op == OpSet {
			return hook(account)
		}
		return nil
	})
}

// FailSetAfter lets n Sets succeed and fails every later Set with an error
// matching keychain.ErrUnavailable. It replaces any OnCall hook.
func FailSetAfter(n int) Option {
	var done int
	return OnSet(func(string) error {
		if done >= n {
			return fmt.Errorf("keychaintest: injected failure: %w", keychain.ErrUnavailable)
		}
		done++
		return nil
	})
}

// Store is an in-memory keychain.Store (and keychain.Lister). The zero
// value is not usable; call New.
type Store struct {
	mu      sync.Mutex
	items   map[string][]byte
	calls   []Call
	limit   func(account string) int
	err     error
	block   bool
	hook    func(Op, string) error
	backend string
}

var _ keychain.Store = (*Store)(nil)
var _ keychain.Lister = (*Store)(nil)

// New returns an empty Store configured by opts: no size limit, no faults,
// Backend "keychaintest" unless an option says otherwise.
func New(opts ...Option) *Store {
	s := &Store{items: map[string][]byte{}, backend: "keychaintest"}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SetHook replaces the OnCall hook (nil removes it), so a test can store a
// credential first and inject faults afterwards.
func (s *Store) SetHook(hook func(op Op, account string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = hook
}

// begin logs a call and applies the configured faults. On success the lock
// is held and the caller must unlock.
func (s *Store) begin(ctx context.Context, op Op, account string) error {
	s.mu.Lock()
	s.calls = append(s.calls, Call{op, account})
	err, block, hook := s.err, s.block, s.hook
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if block {
		s.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	if account == "" {
		s.mu.Unlock()
		return fmt.Errorf("keychaintest: empty account name")
	}
	if hook != nil {
		if err := hook(op, account); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// Get returns a copy of the secret of account, or keychain.ErrNotFound.
func (s *Store) Get(ctx context.Context, account string) ([]byte, error) {
	if err := s.begin(ctx, OpGet, account); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	v, ok := s.items[account]
	if !ok {
		return nil, keychain.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

// Set stores a copy of secret, or fails with keychain.ErrTooBig when it is
// over the item-size limit.
func (s *Store) Set(ctx context.Context, account string, secret []byte) error {
	if err := s.begin(ctx, OpSet, account); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.limit != nil {
		if n := s.limit(account); n > 0 && len(secret) > n {
			return fmt.Errorf("keychaintest: %w (%d bytes, limit %d)", keychain.ErrTooBig, len(secret), n)
		}
	}
	s.items[account] = append([]byte(nil), secret...)
	return nil
}

// Delete removes the secret of account; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, account string) error {
	if err := s.begin(ctx, OpDelete, account); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.items, account)
	return nil
}

// Backend returns "keychaintest", or the name of the keychain of the
// platform given with Platform.
func (s *Store) Backend() string { return s.backend }

// Accounts lists the stored account names, sorted. It is not logged and
// ignores faults.
func (s *Store) Accounts(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.items))
	for k := range s.items {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

// Items returns a copy of everything stored, by account name.
func (s *Store) Items() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.items))
	for k, v := range maps.All(s.items) {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// Calls returns the calls made so far (Get, Set, Delete), in order.
func (s *Store) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}
