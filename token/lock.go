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
	// Busy, when set, is called once when Lock finds the lock held by
	// another process and starts to wait, with the lock file's path.
	Busy func(path string)
}

// Lock implements Locker. When ctx ends before the lock is held, the error
// matches ErrLockTimeout and names the lock file.
func (l FileLocker) Lock(ctx context.Context, account string) (func(), error) {
	path := filepath.Join(l.Dir, account+".lock")
	unlock, err := l.lock(ctx, path, "refresh lock")
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w %s: another authctl process is still refreshing this profile; try again", ErrLockTimeout, path)
	}
	return unlock, err
}

// LockLogin takes the login lock of account, Dir/<account>.login.lock:
// one interactive login of a profile at a time. It is apart from the
// refresh lock (Lock), which a login takes only for the moment it stores
// its credential, so that refreshes go on while someone signs in. busy,
// when not nil, is called once if another process holds the lock, before
// waiting for it until ctx ends; the error then matches ErrLoginRunning
// (ctx's deadline) or is ctx's error.
func (l FileLocker) LockLogin(ctx context.Context, account string, busy func(path string)) (func(), error) {
	path := filepath.Join(l.Dir, account+".login.lock")
	l.Busy = busy
	unlock, err := l.lock(ctx, path, "login lock")
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w (lock file %s)", ErrLoginRunning, path)
	}
	return unlock, err
}

// ErrLoginRunning means another login of the same profile was still
// running when the wait for it ended.
var ErrLoginRunning = errors.New("another login of this profile is still running")

// lock takes the OS lock on path, calling l.Busy once if it has to wait.
// When ctx ends first, the error is ctx's.
func (l FileLocker) lock(ctx context.Context, path, what string) (func(), error) {
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		if l.Busy != nil {
			l.Busy(path)
		}
		poll := l.Poll
		if poll == 0 {
			poll = 10 * time.Millisecond
		}
		ok, err = fl.TryLockContext(ctx, poll)
	}
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	case !ok:
		return nil, context.DeadlineExceeded
	}
	return func() { _ = fl.Unlock() }, nil
}
