//go:build linux && !authctl_nokeyctl

package tokencache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// kernel is keyctl on the calling process's user keyring.
type kernel struct{}

func newKeyctl() keyctl { return kernel{} }

const ring = unix.KEY_SPEC_USER_KEYRING

// probe asks for the user keyring's ID, creating it if needed, as the
// first real call would.
func (kernel) probe() error {
	_, err := unix.KeyctlGetKeyringID(ring, true)
	return classify(err)
}

func (kernel) add(desc string, payload []byte) (int, error) {
	id, err := unix.AddKey("user", desc, payload, ring)
	return id, classify(err)
}

// search uses KEYCTL_SEARCH, which only looks: request_key would try to
// construct a missing key and, failing, leave a negative one behind.
func (kernel) search(desc string) (int, error) {
	id, err := unix.KeyctlSearch(ring, "user", desc, 0)
	return id, classify(err)
}

func (kernel) read(id int) ([]byte, error) {
	buf := make([]byte, 2048)
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return nil, classify(err)
		}
		if n <= len(buf) {
			return buf[:n], nil
		}
		if n > maxPayload+1<<16 {
			return nil, fmt.Errorf("key %d: %d bytes is more than an entry holds", id, n)
		}
		buf = make([]byte, n)
	}
}

func (kernel) setPerm(id int, perm uint32) error {
	return classify(unix.KeyctlSetperm(id, perm))
}

func (kernel) setTimeout(id int, ttl time.Duration) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, int(ttl.Round(time.Second)/time.Second), 0, 0)
	return classify(err)
}

func (kernel) invalidate(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
	return classify(err)
}

func (kernel) unlink(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, id, ring, 0, 0)
	return classify(err)
}

// list returns the IDs of the keys linked in the user keyring.
func (k kernel) list() ([]int, error) {
	id, err := unix.KeyctlGetKeyringID(ring, true)
	if err != nil {
		return nil, classify(err)
	}
	b, err := k.read(id)
	if err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(b)/4)
	for i := 0; i+4 <= len(b); i += 4 {
		ids = append(ids, int(int32(binary.NativeEndian.Uint32(b[i:]))))
	}
	return ids, nil
}

func (kernel) describe(id int) (string, error) {
	s, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	return s, classify(err)
}

// classify wraps a keyctl error with errGone (no such key, or one that
// expired, was revoked or may not be seen) or errRefused (keyctl refused by
// the kernel or a seccomp filter, or the user's key quota full).
func classify(err error) error {
	var errno unix.Errno
	if err == nil || !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case unix.ENOKEY, unix.EKEYEXPIRED, unix.EKEYREVOKED, unix.EACCES:
		return fmt.Errorf("%w: %v", errGone, err)
	case unix.ENOSYS, unix.EPERM, unix.EDQUOT, unix.EOPNOTSUPP:
		return fmt.Errorf("%w: %v", errRefused, err)
	}
	return err
}
