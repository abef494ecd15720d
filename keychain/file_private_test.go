package keychain

import (
	"errors"
	"testing"

	"github.com/authctl/authctl/internal/private"
)

// TestInsecureOwner: a file or directory another user owns is refused
// with the fix that works (a chmod cannot give it back), matching
// ErrUnavailable. private.Check's own tests show when it is another
// user's; the store's tests show the modes on real files.
func TestInsecureOwner(t *testing.T) {
	for _, tt := range []struct {
		e    *private.Error
		want string
	}{
		{&private.Error{Path: "/s/work", UID: 1234}, "credential file /s/work belongs to another user (uid 1234); remove it and log in again"},
		{&private.Error{Path: "/s", Dir: true, UID: 1234}, "credential directory /s belongs to another user (uid 1234); remove it and log in again"},
		{&private.Error{Path: "/s", Dir: true, UID: -1, Mode: 0o750}, "credential directory /s is open to other users (mode 0750); run: chmod 700 /s"},
	} {
		err := insecure(tt.e)
		if err.Error() != tt.want || !errors.Is(err, ErrUnavailable) {
			t.Errorf("insecure(%+v) = %v; want %q, matching ErrUnavailable", tt.e, err, tt.want)
		}
	}
}
