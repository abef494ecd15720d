// Package atomicfile replaces a file's contents in one step: a reader sees
// the old contents or the new, never a mix, and a crash leaves one of the
// two. It is authctl's one way of writing a file that matters (the config
// file, the discovery cache, --insecure-storage credentials).
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxLinks bounds how many symbolic links Write follows to find the file
// it replaces.
const maxLinks = 40

// Write replaces the file at path with data.
//
// The new contents go to a temporary file created with a random name
// (os.CreateTemp, O_EXCL) in the directory of the file that is really
// replaced, are synced, and are renamed over it. When path is a symbolic
// link (a config file kept in a dotfiles checkout), the link stays and
// its target is replaced; a link that points nowhere yet is followed to
// where the file will be. The file keeps its mode when it exists;
// otherwise it gets perm. The directory must exist.
func Write(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

// WritePrivate is Write for a file that holds a secret: the new file has
// mode perm whatever mode the old one had.
func WritePrivate(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

func write(path string, data []byte, perm fs.FileMode, keepMode bool) (err error) {
	target, err := resolve(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", target)
		}
		if keepMode {
			perm = fi.Mode().Perm()
		}
	}
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// resolve follows symbolic links from path to the file they end at, which
// need not exist yet.
func resolve(path string) (string, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		link, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(path), link)
		}
		path = link
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// syncDir makes a rename durable where the OS can sync a directory.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
