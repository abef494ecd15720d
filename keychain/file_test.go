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

// TestFileStoreRefusesOpenFilesOnRead: a credential file or directory that
// group or others may read or write is refused when read, not only fixed
// on the next write, with one line naming the path and the chmod; the
// credential is not reported gone, and after the fix it reads again.
func TestFileStoreRefusesOpenFilesOnRead(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes do not apply on Windows")
	}
	tests := []struct {
		name              string
		dirMode, fileMode os.FileMode
		want              string // %s: the directory; %f: the file
	}{
		{"file readable by all", 0o700, 0o644, "credential file %f is open to other users (mode 0644); run: chmod 600 %f"},
		{"file readable by group", 0o700, 0o640, "credential file %f is open to other users (mode 0640); run: chmod 600 %f"},
		{"file writable by others", 0o700, 0o602, "credential file %f is open to other users (mode 0602); run: chmod 600 %f"},
		{"directory listable by all", 0o755, 0o600, "credential directory %s is open to other users (mode 0755); run: chmod 700 %s"},
		{"directory enterable by group", 0o710, 0o600, "credential directory %s is open to other users (mode 0710); run: chmod 700 %s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "credentials")
			s := keychain.NewFile(dir)
			if err := s.Set(ctx, "work", []byte("secret")); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "work")
			if err := os.Chmod(file, tt.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			b, err := s.Get(ctx, "work")
			want := strings.NewReplacer("%s", dir, "%f", file).Replace(tt.want)
			if err == nil || err.Error() != want || b != nil {
				t.Fatalf("Get = %q, %v; want the error %q", b, err, want)
			}
			if !errors.Is(err, keychain.ErrUnavailable) || errors.Is(err, keychain.ErrNotFound) {
				t.Errorf("error %v matches ErrUnavailable %v, ErrNotFound %v; want true, false",
					err, errors.Is(err, keychain.ErrUnavailable), errors.Is(err, keychain.ErrNotFound))
			}
			os.Chmod(dir, 0o700)
			os.Chmod(file, 0o600)
			if b, err := s.Get(ctx, "work"); err != nil || string(b) != "secret" {
				t.Errorf("after the fix: Get = %q, %v", b, err)
			}
		})
	}
}

// TestFileStoreBoundsRead: a credential file far larger than any
// credential (another program's file, or one grown by mistake) is not
// read whole into memory; Get says what is wrong and that a login
// replaces it. One at the limit is read.
func TestFileStoreBoundsRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "credentials")
	s := keychain.NewFile(dir)
	atLimit := bytes.Repeat([]byte("x"), keychain.MaxFileSecret)
	if err := s.Set(ctx, "work", atLimit); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Get(ctx, "work"); err != nil || !bytes.Equal(b, atLimit) {
		t.Fatalf("Get at the limit: %d bytes, %v", len(b), err)
	}
	file := filepath.Join(dir, "work")
	if err := os.WriteFile(file, append(atLimit, 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := s.Get(ctx, "work")
	if b != nil || !errors.Is(err, keychain.ErrCorrupt) || !strings.Contains(err.Error(), file) {
		t.Fatalf("Get over the limit: %d bytes, %v; want ErrCorrupt naming %s", len(b), err, file)
	}
}
