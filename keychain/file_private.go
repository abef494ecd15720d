package keychain

import (
	"fmt"
	"io/fs"

	"github.com/authctl/authctl/internal/private"
)

// checkPrivate refuses a credential directory or file that another user
// could read or change: one whose mode grants group or others any access,
// or that another user owns (see private.Check; nothing is refused where
// Unix modes do not apply). The error names the path and the fix.
func checkPrivate(path string, fi fs.FileInfo) error {
	if e := private.Check(path, fi, private.AnyAccess); e != nil {
		return insecure(e)
	}
	return nil
}

// insecure is the error for a credential file or directory that e says is
// not private: what is wrong, and the fix.
func insecure(e *private.Error) error {
	if e.OtherOwner() {
		return &insecureFileError{fmt.Sprintf("credential %s; remove it and log in again", e)}
	}
	fix := "chmod 600 " + e.Path
	if e.Dir {
		fix = "chmod 700 " + e.Path
	}
	return &insecureFileError{fmt.Sprintf("credential %s; run: %s", e, fix)}
}

// insecureFileError is a credential file or directory that other users
// could read or change. It matches ErrUnavailable: the store cannot be
// used until the user fixes it, and the credential is not gone.
type insecureFileError struct{ msg string }

func (e *insecureFileError) Error() string { return e.msg }

func (e *insecureFileError) Unwrap() error { return ErrUnavailable }
