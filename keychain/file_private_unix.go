//go:build unix

package keychain

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkPrivate refuses a credential directory or file that another user
// could read or change: one whose mode grants group or others any access,
// or that another user owns. The error names the path and the fix.
func checkPrivate(path string, fi fs.FileInfo) error {
	what, fix := "file", "chmod 600 "+path
	if fi.IsDir() {
		what, fix = "directory", "chmod 700 "+path
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return &insecureFileError{fmt.Sprintf("credential %s %s belongs to another user (uid %d); remove it and log in again", what, path, st.Uid)}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &insecureFileError{fmt.Sprintf("credential %s %s is open to other users (mode %04o); run: %s", what, path, perm, fix)}
	}
	return nil
}

// insecureFileError is a credential file or directory that other users
// could read or change. It matches ErrUnavailable: the store cannot be
// used until the user fixes it, and the credential is not gone.
type insecureFileError struct{ msg string }

func (e *insecureFileError) Error() string { return e.msg }

func (e *insecureFileError) Unwrap() error { return ErrUnavailable }
