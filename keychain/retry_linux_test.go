package keychain_test

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/authctl/authctl/keychain"
)

// fakeSecretService answers SearchItems with the errors in fail, one per
// call, and then as the Secret Service would for one unlocked item. It
// stands in for gnome-keyring's registration race, which the real daemon
// shows only now and then under concurrent clients.
type fakeSecretService struct {
	mu       sync.Mutex
	fail     []*dbus.Error
	searches int
}

const fakeItem = dbus.ObjectPath("/org/freedesktop/secrets/collection/login/1")

func (f *fakeSecretService) SearchItems(map[string]string) ([]dbus.ObjectPath, []dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches++
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return nil, nil, err
	}
	return []dbus.ObjectPath{fakeItem}, nil, nil
}

func (f *fakeSecretService) OpenSession(string, dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	return dbus.MakeVariant(""), "/org/freedesktop/secrets/session/1", nil
}

type fakeSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

func (f *fakeSecretService) GetSecrets(items []dbus.ObjectPath, session dbus.ObjectPath) (map[dbus.ObjectPath]fakeSecret, *dbus.Error) {
	return map[dbus.ObjectPath]fakeSecret{fakeItem: {Session: session, Value: []byte("the secret"), ContentType: "text/plain"}}, nil
}

func (f *fakeSecretService) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches
}

// serveFake puts f on a private bus as org.freedesktop.secrets and returns
// the bus address.
func serveFake(t *testing.T, f *fakeSecretService) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		skipOrFail(t, "dbus-daemon is not installed")
	}
	addr := privateBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Export(f, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.secrets", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.secrets: %v, %v", reply, err)
	}
	return addr
}

func notImplemented() *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.UnknownMethod",
		[]any{"Method SearchItems is not implemented on interface org.freedesktop.Secret.Service"})
}

// TestRegistrationRaceIsRetriedOnce: gnome-keyring's spurious "is not
// implemented" answer is asked again, once; any other error is an answer.
func TestRegistrationRaceIsRetriedOnce(t *testing.T) {
	tests := []struct {
		name     string
		fail     []*dbus.Error
		ok       bool
		searches int
	}{
		{"race then answer", []*dbus.Error{notImplemented()}, true, 2},
		{"race twice", []*dbus.Error{notImplemented(), notImplemented()}, false, 2},
		{"no such method", []*dbus.Error{dbus.NewError("org.freedesktop.DBus.Error.UnknownMethod", []any{"No such method 'SearchItems'"})}, false, 1},
		{"other error", []*dbus.Error{dbus.NewError("org.freedesktop.DBus.Error.Failed", []any{"Method SearchItems is not implemented"})}, false, 1},
	}
	for _, tt := range tests {
		// Short names: the private bus's socket lives in t.TempDir.
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSecretService{fail: tt.fail}
			addr := serveFake(t, f)
			s := keychain.NewSystem(keychain.SystemOptions{Getenv: func(string) string { return addr }})
			v, err := s.Get(context.Background(), "work")
			if tt.ok && (err != nil || string(v) != "the secret") {
				t.Fatalf("Get = %q, %v; want the secret", v, err)
			}
			if !tt.ok && (err == nil || errors.Is(err, keychain.ErrNotFound)) {
				t.Fatalf("Get = %q, %v; want an error", v, err)
			}
			if got := f.count(); got != tt.searches {
				t.Fatalf("SearchItems was called %d times, want %d", got, tt.searches)
			}
		})
	}
}

// TestRegistrationRaceInListing: listing (which finds parts an interrupted
// update left) asks again once too.
func TestRegistrationRaceInListing(t *testing.T) {
	f := &fakeSecretService{fail: []*dbus.Error{notImplemented()}}
	addr := serveFake(t, f)
	s := keychain.NewSystem(keychain.SystemOptions{Getenv: func(string) string { return addr }})
	if _, err := s.(keychain.Lister).Accounts(context.Background()); err != nil {
		t.Fatalf("Accounts = %v", err)
	}
	if got := f.count(); got != 2 {
		t.Fatalf("SearchItems was called %d times, want 2", got)
	}
}
