package keychain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/authctl/authctl/internal/atomicfile"
)

// file keeps one secret per file, for --insecure-storage.
type file struct {
	dir string
}

// NewFile returns a Store that keeps each account's secret in plain text in
// the file dir/<account>, for machines without a keychain (the
// --insecure-storage opt-in; telling the user is the caller's job). The
// directory is created with mode 0700 and files with mode 0600; a Set
// writes a temporary file in dir, syncs it and renames it over the old
// one, so a reader sees the old or the new secret, never a mix. Account
// names with a path separator, or starting with '.', are rejected.
//
// On Unix, Get refuses a file, or a directory, that group or others may
// read or write, or that another user owns, with an error matching
// ErrUnavailable that names the path and the chmod that fixes it: a secret
// others could have read or planted is not used.
func NewFile(dir string) Store {
	return &file{dir: dir}
}

// Backend names the directory holding the files.
func (f *file) Backend() string { return "file " + f.dir }

// path returns the file of account, or an error for a name that is not a
// plain file name.
func (f *file) path(account string) (string, error) {
	if err := checkAccount(account); err != nil {
		return "", err
	}
	if strings.ContainsAny(account, `/\`+"\x00") || strings.HasPrefix(account, ".") || account != filepath.Base(account) {
		return "", fmt.Errorf("keychain: account name %q is not usable as a file name", account)
	}
	return filepath.Join(f.dir, account), nil
}

// Get reads dir/<account>.
func (f *file) Get(ctx context.Context, account string) ([]byte, error) {
	p, err := f.path(account)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read credential file: %w", err)
	}
	defer fh.Close()
	if err := f.checkPrivate(fh); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxFileSecret+1))
	if err != nil {
		return nil, fmt.Errorf("read credential file: %w", err)
	}
	if len(b) > MaxFileSecret {
		return nil, fmt.Errorf("%w: credential file %s is larger than %d KiB, more than a credential can be", ErrCorrupt, p, MaxFileSecret>>10)
	}
	return b, nil
}

// MaxFileSecret is the most bytes Get reads from a credential file of
// NewFile's store: far more than a credential with all its tokens and key
// (a few KiB), so that a larger file is not read whole into memory.
const MaxFileSecret = 1 << 20

// checkPrivate refuses the open credential file fh when it, or the
// directory holding it, is not private to the user.
func (f *file) checkPrivate(fh *os.File) error {
	di, err := os.Stat(f.dir)
	if err != nil {
		return fmt.Errorf("read credential file: %w", err)
	}
	if err := checkPrivate(f.dir, di); err != nil {
		return err
	}
	fi, err := fh.Stat()
	if err != nil {
		return fmt.Errorf("read credential file: %w", err)
	}
	return checkPrivate(fh.Name(), fi)
}

// Set replaces dir/<account> atomically.
func (f *file) Set(ctx context.Context, account string, secret []byte) error {
	p, err := f.path(account)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("create credential directory: %w", err)
	}
	if err := os.Chmod(f.dir, 0o700); err != nil {
		return fmt.Errorf("restrict credential directory: %w", err)
	}
	if err := atomicfile.WritePrivate(p, secret, 0o600); err != nil {
		return fmt.Errorf("write credential file: %w", err)
	}
	return nil
}

// Delete removes dir/<account>; a missing file is not an error.
func (f *file) Delete(ctx context.Context, account string) error {
	p, err := f.path(account)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete credential file: %w", err)
	}
	return nil
}

// Accounts lists the accounts that have a file.
func (f *file) Accounts(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(f.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list credential files: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
