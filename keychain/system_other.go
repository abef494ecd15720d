//go:build !linux

package keychain

import (
	"context"
	"errors"
)

// preflight has nothing to check outside Linux.
func (s *system) preflight() error { return nil }

// get reads through go-keyring.
func (s *system) get(_ context.Context, account string) ([]byte, error) {
	return getKeyring(account)
}

// Accounts is not supported outside Linux: go-keyring cannot list items.
func (s *system) Accounts(context.Context) ([]string, error) {
	return nil, errors.ErrUnsupported
}

// dbusErrorName is empty outside Linux.
func dbusErrorName(error) string { return "" }
