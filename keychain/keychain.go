// Package keychain keeps authctl's secrets in the operating system's
// keychain (macOS Keychain, Windows Credential Manager, the Secret Service
// on Linux) behind a small interface, with bounded waits, item-size limits
// handled, and errors that say what went wrong and what to do.
package keychain

import (
	"context"
	"errors"
)

// Service is the service name under which every authctl secret is stored.
// The account is the profile name.
const Service = "authctl"

// ErrNotFound is returned by Get when nothing is stored for the account.
var ErrNotFound = errors.New("no credential stored")

// ErrUnavailable is matched (with errors.Is) by every error that means the
// keychain could not be used at all: no Secret Service, no D-Bus session, a
// locked collection, a timeout. Such errors never mean the credential is gone.
var ErrUnavailable = errors.New("keychain unavailable")

// Store holds one secret per account. Implementations are safe for
// concurrent use.
type Store interface {
	// Get returns the secret stored for account, or an error matching
	// ErrNotFound when there is none.
	Get(ctx context.Context, account string) ([]byte, error)
	// Set stores secret for account, replacing any earlier one as a whole:
	// a reader sees either the old secret or the new one, never a mix.
	Set(ctx context.Context, account string, secret []byte) error
	// Delete removes the secret of account. Deleting what is not there is
	// not an error.
	Delete(ctx context.Context, account string) error
	// Backend names where the secrets live, for people ("Secret Service",
	// "macOS Keychain", "file ~/.local/state/authctl/credentials.json").
	Backend() string
}

// ErrLocked is matched by errors that mean the keychain is there but
// locked (a locked Secret Service collection). Every such error also
// matches ErrUnavailable.
var ErrLocked = errors.New("keychain locked")

// ErrTimeout is matched by errors that mean a keychain call did not answer
// within its time limit. Every such error also matches ErrUnavailable.
var ErrTimeout = errors.New("keychain timed out")

// ErrTooBig is matched by the error of a Set whose secret is larger than
// one keychain item may hold (go-keyring's ErrSetDataTooBig). NewSplit
// never lets it through: it splits large secrets over several items.
var ErrTooBig = errors.New("secret too big for one keychain item")

// ErrCorrupt is matched by the error of a Get that found a credential whose
// parts are missing or damaged. Unlike ErrNotFound it means something is
// stored; unlike ErrUnavailable it does not go away by itself: logging in
// again replaces it.
var ErrCorrupt = errors.New("stored credential is damaged")
