package keychain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

const (
	ssName        = "org.freedesktop.secrets"
	ssPath        = dbus.ObjectPath("/org/freedesktop/secrets")
	ssService     = "org.freedesktop.Secret.Service"
	ssItemAttrs   = "org.freedesktop.Secret.Item.Attributes"
	loginItemPath = "/org/freedesktop/secrets/collection/login/"
)

// ssSecret is the Secret Service's Secret struct (oayays).
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// busAddress returns the session bus address to use, or an explained
// error when there is none. It never launches anything.
func (s *system) busAddress() (string, error) {
	if a := s.getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	if fi, err := os.Stat(s.busSocket); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix:path=" + dbus.EscapeBusAddressValue(s.busSocket), nil
	}
	return "", unavailable(nil,
		fmt.Sprintf("DBUS_SESSION_BUS_ADDRESS is not set and there is no session bus at %s, so the Secret Service cannot be reached", s.busSocket),
		"run authctl inside your desktop session (or dbus-run-session with gnome-keyring), or log in with --insecure-storage", nil)
}

// preflight fails at once when there is no session bus, before go-keyring
// gets a chance to run dbus-launch.
func (s *system) preflight() error {
	_, err := s.busAddress()
	return err
}

// connect opens a private connection to the session bus, closed when ctx
// ends.
func (s *system) connect(ctx context.Context) (*dbus.Conn, error) {
	addr, err := s.busAddress()
	if err != nil {
		return nil, err
	}
	return dbus.Connect(addr, dbus.WithContext(ctx))
}

// searchTries bounds how often search asks again after gnome-keyring's
// spurious answer. Under a storm of parallel short-lived clients one ask
// in about a thousand needs a second; none was seen needing a third.
const searchTries = 5

// search calls SearchItems on conn and returns its unlocked and locked
// items. It is the first call on every connection, and nothing else may
// be sent on the connection before it has succeeded: gnome-keyring (42.1
// here; later versions are reported to do the same) records each new
// caller asynchronously, and a call handled before that record exists
// fails. SearchItems then answers with a spurious "not implemented",
// which search asks again; OpenSession aborts the whole daemon, which
// takes every secret of the session down with it. A successful
// SearchItems shows the record exists, and it stays until the connection
// closes. (A ping does not: D-Bus libraries answer it without the
// service's code.)
func search(ctx context.Context, conn *dbus.Conn, attrs map[string]string) (unlocked, locked []dbus.ObjectPath, err error) {
	for try := 1; ; try++ {
		err = conn.Object(ssName, ssPath).CallWithContext(ctx, ssService+".SearchItems", 0, attrs).Store(&unlocked, &locked)
		if !notImplementedYet(err) || try == searchTries {
			return unlocked, locked, err
		}
	}
}

// notImplementedYet reports whether err is gnome-keyring's spurious
// "Method … is not implemented on interface …" (UnknownMethod), and only
// that: an UnknownMethod worded otherwise comes from a service that
// really lacks the method.
func notImplementedYet(err error) bool {
	return dbusErrorName(err) == "org.freedesktop.DBus.Error.UnknownMethod" && strings.Contains(err.Error(), "is not implemented")
}

// introduceShared makes the process's shared session bus connection, the
// one go-keyring's Set and Delete use, known to the Secret Service before
// go-keyring sends OpenSession on it (see search).
func introduceShared(ctx context.Context) error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return err
	}
	_, _, err = search(ctx, conn, map[string]string{"service": Service})
	return err
}

// get reads the secret straight from the Secret Service in three calls
// (SearchItems, OpenSession "plain", GetSecrets) instead of go-keyring's
// seven; a missing credential takes one. It finds the items go-keyring
// writes (attributes "service" and "username") and reads only unlocked
// ones: a locked item gives ErrLocked and never an unlock prompt, which
// could wait forever. The session dies with the connection, so it is not
// closed explicitly.
func (s *system) get(ctx context.Context, account string) ([]byte, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	unlocked, locked, err := search(ctx, conn, map[string]string{"service": Service, "username": account})
	if err != nil {
		return nil, err
	}
	item := pickItem(unlocked)
	if item == "" {
		if len(locked) > 0 {
			return nil, errLocked(nil)
		}
		return nil, ErrNotFound
	}
	svc := conn.Object(ssName, ssPath)
	var alg dbus.Variant
	var session dbus.ObjectPath
	if err := svc.CallWithContext(ctx, ssService+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&alg, &session); err != nil {
		return nil, err
	}
	var secrets map[dbus.ObjectPath]ssSecret
	if err := svc.CallWithContext(ctx, ssService+".GetSecrets", 0, []dbus.ObjectPath{item}, session).Store(&secrets); err != nil {
		return nil, err
	}
	sec, ok := secrets[item]
	if !ok { // locked between the search and the read
		return nil, errLocked(nil)
	}
	return sec.Value, nil
}

// pickItem prefers an item of the login collection, where go-keyring
// writes, and otherwise takes the first.
func pickItem(items []dbus.ObjectPath) dbus.ObjectPath {
	for _, it := range items {
		if strings.HasPrefix(string(it), loginItemPath) {
			return it
		}
	}
	if len(items) > 0 {
		return items[0]
	}
	return ""
}

// errLocked is the error of a read that found only locked items.
func errLocked(cause error) error {
	return unavailable(ErrLocked, "the Secret Service collection holding the credential is locked", hintStart, cause)
}

// Accounts lists the account names of every authctl item in the Secret
// Service, locked ones included, without reading any secret. NewSplit uses
// it to find parts left behind by an interrupted update.
func (s *system) Accounts(ctx context.Context) ([]string, error) {
	if err := s.preflight(); err != nil {
		return nil, err
	}
	return bounded(ctx, s.timeout, "list", func(ctx context.Context) ([]string, error) {
		conn, err := s.connect(ctx)
		if err != nil {
			return nil, classify("list", err)
		}
		defer conn.Close()
		unlocked, locked, err := search(ctx, conn, map[string]string{"service": Service})
		if err != nil {
			return nil, classify("list", err)
		}
		var names []string
		for _, it := range append(unlocked, locked...) {
			v, err := conn.Object(ssName, it).GetProperty(ssItemAttrs)
			if err != nil {
				continue // deleted meanwhile
			}
			if m, ok := v.Value().(map[string]string); ok && m["username"] != "" {
				names = append(names, m["username"])
			}
		}
		return names, nil
	})
}

// dbusErrorName returns the D-Bus error name in err's chain (such as
// org.freedesktop.DBus.Error.ServiceUnknown), or "".
func dbusErrorName(err error) string {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name
	}
	var dp *dbus.Error
	if errors.As(err, &dp) {
		return dp.Name
	}
	return ""
}
