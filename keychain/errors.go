package keychain

import (
	"errors"
	"runtime"
	"strings"
)

// hintStart is the way out named by every error that says the keychain
// cannot be used.
var hintStart = hintFor(runtime.GOOS)

// hintFor names the ways out of an unusable keychain on goos.
func hintFor(goos string) string {
	switch goos {
	case "darwin", "ios":
		return "unlock your login keychain (Keychain Access), or log in with --insecure-storage"
	case "windows":
		return "check that Windows Credential Manager works for your account, or log in with --insecure-storage"
	}
	return "start or unlock your keyring (gnome-keyring, KWallet), or log in with --insecure-storage"
}

// unavailableError is a one-line explanation of why the keychain cannot be
// used. It matches ErrUnavailable, its kind (ErrLocked, ErrTimeout or nil)
// and the underlying error.
type unavailableError struct {
	msg   string
	kind  error
	cause error
}

func (e *unavailableError) Error() string { return e.msg }

func (e *unavailableError) Unwrap() []error {
	errs := []error{ErrUnavailable}
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// unavailable builds an error matching ErrUnavailable (and kind, when not
// nil) whose text is "keychain unavailable: <reason>; <hint>".
func unavailable(kind error, reason, hint string, cause error) error {
	return &unavailableError{
		msg:   "keychain unavailable: " + reason + "; " + hint,
		kind:  kind,
		cause: cause,
	}
}

// classify turns an error of the system keychain into one whose text names
// the cause and the ways out. Errors that already match ErrUnavailable,
// ErrNotFound or ErrTooBig are returned as they are. Every other error
// means the keychain could not be used, so it matches ErrUnavailable: no
// caller may take it as "the credential is gone".
func classify(op string, err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrTooBig) {
		return err
	}
	msg := oneLine(err.Error())
	if name := dbusErrorName(err); name != "" {
		msg = name + ": " + msg
	}
	switch {
	case strings.Contains(msg, "org.freedesktop.DBus.Error.ServiceUnknown"),
		strings.Contains(msg, "org.freedesktop.DBus.Error.NameHasNoOwner"):
		return unavailable(nil, "no Secret Service is running on the D-Bus session bus (org.freedesktop.secrets)", hintStart, err)
	case strings.Contains(msg, "failed to unlock correct collection"),
		strings.Contains(msg, "org.freedesktop.Secret.Error.IsLocked"):
		return unavailable(ErrLocked, "the Secret Service collection is locked", hintStart, err)
	case strings.Contains(msg, "dbus-launch"),
		strings.Contains(msg, "dbus: couldn't determine address"),
		strings.Contains(msg, "dbus: authentication failed"),
		strings.Contains(msg, "connection refused"),
		strings.Contains(msg, "no such file or directory"),
		strings.Contains(msg, "dbus: connection closed"),
		strings.Contains(msg, "use of closed network connection"),
		strings.Contains(msg, "broken pipe"):
		return unavailable(nil, "cannot talk to the D-Bus session bus ("+msg+")", hintStart, err)
	}
	return unavailable(nil, op+": "+msg, hintStart, err)
}

// oneLine keeps the first line of s, so an error stays one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}
