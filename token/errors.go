package token

import (
	"errors"
	"fmt"
)

// ErrLoginRequired is matched by every error that means the user must log
// in again: nothing stored, a credential for another issuer or client, no
// refresh token left, or the provider rejected the refresh token.
var ErrLoginRequired = errors.New("login required")

// LoginRequiredError says why a login is required.
type LoginRequiredError struct {
	Reason string
}

func (e *LoginRequiredError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrLoginRequired) true.
func (e *LoginRequiredError) Is(target error) bool { return target == ErrLoginRequired }

func loginRequired(format string, args ...any) error {
	return &LoginRequiredError{Reason: fmt.Sprintf(format, args...)}
}

// ErrLockTimeout means another process held the profile's refresh lock for
// longer than the wait allowed.
var ErrLockTimeout = errors.New("timed out waiting for the refresh lock")

// SaveError means the provider issued new tokens but they could not be
// stored. With a rotating provider the old refresh token is already dead.
type SaveError struct{ Err error }

func (e *SaveError) Error() string {
	return fmt.Sprintf("the provider issued a new refresh token but saving it failed (%v); the old one may no longer work, so you may have to log in again", e.Err)
}

func (e *SaveError) Unwrap() error { return e.Err }
