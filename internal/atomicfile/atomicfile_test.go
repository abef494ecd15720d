package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteCreatesWithPerm(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Write(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "one" {
		t.Fatalf("contents %q", b)
	}
	if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	assertNoTemp(t, dir)
}

func TestWriteKeepsMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o640)
	os.Chmod(p, 0o640)
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", fi.Mode().Perm())
	}
}

func TestWriteThroughSymlinkKeepsLink(t *testing.T) {
	dir := t.TempDir()
	dotfiles := filepath.Join(dir, "dotfiles")
	os.Mkdir(dotfiles, 0o700)
	target := filepath.Join(dotfiles, "config.yaml")
	os.WriteFile(target, []byte("old"), 0o600)
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink("dotfiles/config.yaml", link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := Write(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file (%v)", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target = %q, want new", b)
	}
	assertNoTemp(t, dir)
	assertNoTemp(t, dotfiles)
}

func TestWriteDanglingSymlinkCreatesTarget(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "real"), link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := Write(link, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real")); string(b) != "x" {
		t.Errorf("target = %q", b)
	}
}

func TestWriteNeverFollowsAPlantedTempName(t *testing.T) {
	// An attacker who can write to the directory plants links at names a
	// predictable writer would use; Write's temporary file has a random
	// name and is created exclusively, so the victim file is untouched.
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o600)
	for _, name := range []string{".config.yaml.tmp", ".config.yaml.1234.yaml", ".config.yaml.tmp-1"} {
		os.Symlink(victim, filepath.Join(dir, name))
	}
	if err := Write(filepath.Join(dir, "config.yaml"), []byte("cfg"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim overwritten: %q", b)
	}
}

func TestWriteRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, []byte("x"), 0o600); err == nil {
		t.Error("replaced a directory")
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); len(n) > 0 && n[0] == '.' {
			t.Errorf("temporary file left: %s", n)
		}
	}
}

func TestWritePrivateSetsTheMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes on Windows")
	}
	p := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(p, []byte("old"), 0o644)
	os.Chmod(p, 0o644)
	if err := WritePrivate(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 whatever the old file had", fi.Mode().Perm())
	}
}
