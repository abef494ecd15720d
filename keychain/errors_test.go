package keychain

import (
	"errors"
	"strings"
	"testing"
)

func TestClassifyNamesCauseAndWayOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     error
		kind   error
		reason string
	}{
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), ErrLocked, "locked"},
		{errors.New(`exec: "dbus-launch": executable file not found in $PATH`), nil, "D-Bus session bus"},
		{errors.New("dial unix /run/user/1/bus: connect: connection refused"), nil, "D-Bus session bus"},
		{errors.New("The name org.freedesktop.secrets was not provided by any .service files\nmore"), nil, "no Secret Service"},
		{errors.New("something else"), nil, "write: something else"},
	} {
		err := classify("write", tc.in)
		if !errors.Is(err, ErrUnavailable) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
			t.Errorf("classify(%q) = %v, want ErrUnavailable %v", tc.in, err, tc.kind)
		}
		msg := err.Error()
		if tc.reason == "no Secret Service" {
			continue // needs the D-Bus error name; covered against a real bus
		}
		if !strings.Contains(msg, tc.reason) || !strings.Contains(msg, "--insecure-storage") || strings.Contains(msg, "\n") {
			t.Errorf("classify(%q) = %q, want one line naming %q and the way out", tc.in, msg, tc.reason)
		}
	}
	for _, keep := range []error{ErrNotFound, ErrTooBig, nil} {
		if got := classify("read", keep); got != keep {
			t.Errorf("classify(%v) = %v, want it unchanged", keep, got)
		}
	}
}
