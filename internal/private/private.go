// Package private checks that a file or directory is the user's alone:
// owned by the user, and with a mode that gives other users none of the
// access that matters to its reader.
package private

import (
	"fmt"
	"io/fs"
)

// The permission bits of other users (group and others) that Check
// refuses.
const (
	// AnyAccess refuses any access by other users: for secrets.
	AnyAccess fs.FileMode = 0o077
	// Write refuses writing by other users: for files that are not
	// secret but decide where secrets go.
	Write fs.FileMode = 0o022
)

// Error says why a file or directory is not private.
type Error struct {
	Path string
	Dir  bool
	// UID is the owner's user ID when another user owns it, else -1.
	UID int
	// Mode is the permission bits, when they give other users access
	// that was refused (UID is then -1).
	Mode fs.FileMode
}

// What is "directory" or "file".
func (e *Error) What() string {
	if e.Dir {
		return "directory"
	}
	return "file"
}

// OtherOwner reports whether another user owns it.
func (e *Error) OtherOwner() bool { return e.UID >= 0 }

func (e *Error) Error() string {
	if e.OtherOwner() {
		return fmt.Sprintf("%s %s belongs to another user (uid %d)", e.What(), e.Path, e.UID)
	}
	return fmt.Sprintf("%s %s is open to other users (mode %04o)", e.What(), e.Path, e.Mode)
}

// Check returns a *Error when fi, the information of the file or
// directory at path, shows that another user owns it, or that its mode
// gives other users any of the bits in refused (AnyAccess or Write). It
// returns nil otherwise, and always where files have no Unix owner and
// mode (Windows keeps a user's files private through the ACL of the
// profile directory, and its mode bits are made up).
func Check(path string, fi fs.FileInfo, refused fs.FileMode) *Error {
	if !unixModes {
		return nil
	}
	if uid, other := otherOwner(fi); other {
		return &Error{Path: path, Dir: fi.IsDir(), UID: uid}
	}
	if perm := fi.Mode().Perm(); perm&refused&0o077 != 0 {
		return &Error{Path: path, Dir: fi.IsDir(), UID: -1, Mode: perm}
	}
	return nil
}
