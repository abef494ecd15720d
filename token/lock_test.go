package token_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/authctl/authctl/token"
)

// lockHelperEnv makes the test binary, run as a child, take the lock in
// the directory it names and hold it until killed.
const lockHelperEnv = "AUTHCTL_TOKEN_TEST_LOCK_HOLDER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockHelperEnv); dir != "" {
		holdLock(dir)
		return
	}
	os.Exit(m.Run())
}

// holdLock takes the profile lock, says so on stdout and waits to be
// killed.
func holdLock(dir string) {
	unlock, err := token.FileLocker{Dir: dir}.Lock(context.Background(), account)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	defer unlock()
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(5)
}

func TestFileLockerLocksAndUnlocks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	l := token.FileLocker{Dir: dir, Poll: time.Millisecond}
	unlock, err := l.Lock(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("lock directory mode %o, want 0700", perm)
		}
	}
	// A second lock of the same profile waits; another profile does not.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, account); !errors.Is(err, token.ErrLockTimeout) {
		t.Errorf("second Lock while held: %v, want ErrLockTimeout", err)
	}
	other, err := l.Lock(context.Background(), "work")
	if err != nil {
		t.Errorf("lock of another profile: %v", err)
	} else {
		other()
	}
	unlock()
	again, err := l.Lock(context.Background(), account)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
}

func TestFileLockerTimesOutNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, account+".lock")
	holder := flock.New(path)
	ok, err := holder.TryLock()
	if err != nil || !ok {
		t.Fatalf("test could not take the lock: %v %v", ok, err)
	}
	defer holder.Unlock()
	// Only the 200ms context can end the wait; were it ignored, the lock
	// would be free 30 s on and Lock would return it instead of an error.
	release := time.AfterFunc(30*time.Second, func() { _ = holder.Unlock() })
	defer release.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	unlock, err := token.FileLocker{Dir: dir, Poll: 5 * time.Millisecond}.Lock(ctx, account)
	if !errors.Is(err, token.ErrLockTimeout) {
		if err == nil {
			unlock()
		}
		t.Fatalf("err = %v, want ErrLockTimeout", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the lock file %s", err, path)
	}
}

func TestFileLockerCanceledIsNotTimeout(t *testing.T) {
	dir := t.TempDir()
	holder := flock.New(filepath.Join(dir, account+".lock"))
	if ok, err := holder.TryLock(); err != nil || !ok {
		t.Fatalf("test could not take the lock: %v %v", ok, err)
	}
	defer holder.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := token.FileLocker{Dir: dir}.Lock(ctx, account)
	if !errors.Is(err, context.Canceled) || errors.Is(err, token.ErrLockTimeout) {
		t.Errorf("err = %v, want context.Canceled (Ctrl-C), not a lock timeout", err)
	}
}

func TestFileLockerReleasedWhenHolderDies(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("child said %q, %v; want locked", line, err)
	}

	l := token.FileLocker{Dir: dir, Poll: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	_, err = l.Lock(ctx, account)
	cancel()
	if !errors.Is(err, token.ErrLockTimeout) {
		t.Fatalf("Lock while the child holds it: %v, want ErrLockTimeout", err)
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	killed = true

	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := l.Lock(ctx, account)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	unlock()
}

// TestFileLockerLogin: the login lock is one login of a profile at a
// time, says when it waits, gives up with ErrLoginRunning, and is apart
// from the refresh lock, which refreshes keep taking meanwhile.
func TestFileLockerLogin(t *testing.T) {
	dir := t.TempDir()
	l := token.FileLocker{Dir: dir, Poll: time.Millisecond}
	unlock, err := l.LockLogin(context.Background(), account, func(string) { t.Error("busy called for a free lock") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, account+".login.lock")); err != nil {
		t.Errorf("no login lock file: %v", err)
	}
	refreshUnlock, err := l.Lock(context.Background(), account)
	if err != nil {
		t.Fatalf("refresh lock while a login runs: %v", err)
	}
	refreshUnlock()

	var busy []string
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = l.LockLogin(ctx, account, func(path string) { busy = append(busy, path) })
	if !errors.Is(err, token.ErrLoginRunning) || !strings.Contains(err.Error(), account+".login.lock") {
		t.Errorf("second login: err = %v, want ErrLoginRunning naming the lock file", err)
	}
	if len(busy) != 1 {
		t.Errorf("busy called %d times, want once", len(busy))
	}

	released := make(chan error, 1)
	go func() {
		u, err := l.LockLogin(context.Background(), account, nil)
		if err == nil {
			u()
		}
		released <- err
	}()
	unlock()
	select {
	case err := <-released:
		if err != nil {
			t.Errorf("after the first login ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting login never got the lock")
	}
}
