//go:build !linux

package keychain

import (
	"context"
	"errors"

	"github.com/zalando/go-keyring"
)

// preflight has nothing to check outside Linux.
func (s *system) preflight() error { return nil }

// introduceShared has nothing to do outside Linux.
func introduceShared(context.Context) error { return nil }

// get reads through go-keyring.
func (s *system) get(_ context.Context, account string) ([]byte, error) {
	return getKeyring(account)
}

// Outside Linux the system store has no Accounts method (go-keyring cannot
// list items there), so NewSplit keeps a journal to find leftover parts.

// dbusErrorName is empty outside Linux.
func dbusErrorName(error) string { return "" }

// getKeyring reads through go-keyring (the path on macOS and Windows).
func getKeyring(account string) ([]byte, error) {
	v, err := keyring.Get(Service, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}
