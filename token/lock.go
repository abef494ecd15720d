package token

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// FileLocker locks a profile with an OS file lock on Dir/<account>.lock.
// The lock file is separate from anything it protects (on Windows a lock
// blocks writes to the locked file itself), and the OS releases the lock
// when its process dies, so a killed process never leaves a profile stuck.
type FileLocker struct {
	// Dir holds the lock files; it is created with mode 0700.
	Dir string
	// Poll is how often a busy lock is tried again; 0 means 10ms.
	Poll time.Duration
}

// Lock implements Locker. When ctx ends before the lock is held, the error
// matches ErrLockTimeout and names the lock file.
func (l FileLocker) Lock(ctx context.Context, account string) (func(), error) {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("refresh lock: %w", err)
	}
	path := filepath.Join(l.Dir, account+".lock")
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	poll := l.Poll
	if poll == 0 {
		poll = 10 * time.Millisecond
	}
	ok, err := fl.TryLockContext(ctx, poll)
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("%w %s: another authctl process is still refreshing this profile; try again", ErrLockTimeout, path)
	}
	if err != nil {
		return nil, fmt.Errorf("refresh lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrLockTimeout, path)
	}
	return func() { _ = fl.Unlock() }, nil
}
