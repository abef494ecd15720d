package keychain_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/authctl/authctl/keychain"
)

func TestFileStorePermissionsAndRoundTrip(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes do not apply on Windows")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state", "authctl")
	s := keychain.NewFile(dir)
	if !strings.Contains(s.Backend(), dir) {
		t.Errorf("Backend() = %q, want it to name %s", s.Backend(), dir)
	}
	if _, err := s.Get(ctx, "work"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Get before Set = %v, want ErrNotFound", err)
	}
	big := credential(16<<10, "file")
	if err := s.Set(ctx, "work", big); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "work"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "work")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := s.Delete(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "work"); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := s.Get(ctx, "work"); !errors.Is(err, keychain.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
}

func TestFileStoreTightensLooseDirectory(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes do not apply on Windows")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if err := keychain.NewFile(dir).Set(context.Background(), "work", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, want 0700", fi.Mode().Perm())
	}
}

// TestFileStoreReplaceIsAtomic reads while another goroutine replaces the
// file: every read is one of the written values, and no temporary file is
// left behind.
func TestFileStoreReplaceIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := keychain.NewFile(dir)
	a, b := credential(20000, "a"), credential(30000, "b")
	if err := s.Set(ctx, "work", a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		defer close(stop)
		for i := range 100 {
			v := a
			if i%2 == 0 {
				v = b
			}
			if err := s.Set(ctx, "work", v); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := s.Get(ctx, "work")
			if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
				t.Errorf("Get during replace = %d bytes, %v", len(got), err)
				return
			}
		}
	})
	wg.Wait()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the credential file", names)
	}
}

func TestFileStoreRejectsPathsAsAccounts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := keychain.NewFile(filepath.Join(dir, "store"))
	for _, name := range []string{"../escape", "a/b", `a\b`, "..", ".", ".tmp-x", ""} {
		if err := s.Set(context.Background(), name, []byte("x")); err == nil {
			t.Errorf("Set(%q) accepted", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Error("a file was written outside the store")
	}
}
