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

// fakeSecretService stands in for gnome-keyring's registration race,
// which the real daemon shows only now and then under many parallel
// clients (TestRealSecretServiceSurvivesShortConnections): its first late
// calls are handled as by a daemon that has not recorded the caller yet,
// where SearchItems gives a spurious "not implemented" and OpenSession
// would abort the daemon. After them SearchItems answers with the errors
// in fail, one per call, and then as the Secret Service would for one
// unlocked item.
type fakeSecretService struct {
	mu            sync.Mutex
	late          int
	fail          []*dbus.Error
	searches      int
	opensTooEarly int
}

// unrecorded reports whether this call comes before the caller is
// recorded. f.mu must be held.
func (f *fakeSecretService) unrecorded() bool {
	if f.late > 0 {
		f.late--
		return true
	}
	return false
}

const fakeItem = dbus.ObjectPath("/org/freedesktop/secrets/collection/login/1")

func (f *fakeSecretService) SearchItems(map[string]string) ([]dbus.ObjectPath, []dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches++
	if f.unrecorded() {
		return nil, nil, notImplemented()
	}
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return nil, nil, err
	}
	return []dbus.ObjectPath{fakeItem}, nil, nil
}

func (f *fakeSecretService) OpenSession(string, dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unrecorded() {
		f.opensTooEarly++
		return dbus.Variant{}, "", dbus.NewError("org.freedesktop.DBus.Error.NoReply", []any{"the daemon aborted"})
	}
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

// counts returns how many SearchItems calls came, and how many
// OpenSession calls came before the caller was recorded.
func (f *fakeSecretService) counts() (searches, opensTooEarly int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches, f.opensTooEarly
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

// TestRegistrationRaceIsAskedAgain: a read asks SearchItems again while
// the answer is gnome-keyring's spurious "not implemented", up to five
// times, and sends OpenSession only after a search succeeded; any other
// error is an answer.
func TestRegistrationRaceIsAskedAgain(t *testing.T) {
	tests := []struct {
		name     string
		late     int
		fail     []*dbus.Error
		ok       bool
		searches int
	}{
		{"race then answer", 1, nil, true, 2},
		{"late record", 4, nil, true, 5},
		{"never recorded", 100, nil, false, 5},
		{"no such method", 0, []*dbus.Error{dbus.NewError("org.freedesktop.DBus.Error.UnknownMethod", []any{"No such method 'SearchItems'"})}, false, 1},
		{"other error", 0, []*dbus.Error{dbus.NewError("org.freedesktop.DBus.Error.Failed", []any{"Method SearchItems is not implemented"})}, false, 1},
	}
	for _, tt := range tests {
		// Short names: the private bus's socket lives in t.TempDir.
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSecretService{late: tt.late, fail: tt.fail}
			addr := serveFake(t, f)
			s := keychain.NewSystem(keychain.SystemOptions{Getenv: func(string) string { return addr }})
			v, err := s.Get(context.Background(), "work")
			if tt.ok && (err != nil || string(v) != "the secret") {
				t.Fatalf("Get = %q, %v; want the secret", v, err)
			}
			if !tt.ok && (err == nil || errors.Is(err, keychain.ErrNotFound)) {
				t.Fatalf("Get = %q, %v; want an error", v, err)
			}
			searches, early := f.counts()
			if searches != tt.searches {
				t.Errorf("SearchItems was called %d times, want %d", searches, tt.searches)
			}
			if early > 0 {
				t.Errorf("OpenSession came %d times before the caller was recorded (gnome-keyring aborts on that)", early)
			}
		})
	}
}

// TestRegistrationRaceInListing: listing (which finds parts an interrupted
// update left) asks again too.
func TestRegistrationRaceInListing(t *testing.T) {
	f := &fakeSecretService{late: 2}
	addr := serveFake(t, f)
	s := keychain.NewSystem(keychain.SystemOptions{Getenv: func(string) string { return addr }})
	if _, err := s.(keychain.Lister).Accounts(context.Background()); err != nil {
		t.Fatalf("Accounts = %v", err)
	}
	if searches, _ := f.counts(); searches != 3 {
		t.Fatalf("SearchItems was called %d times, want 3", searches)
	}
}
