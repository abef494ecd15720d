//go:build unix

package keychain

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fileInfo is an fs.FileInfo with the mode and owner a test needs.
type fileInfo struct {
	mode fs.FileMode
	uid  uint32
}

func (f fileInfo) Name() string       { return "x" }
func (f fileInfo) Size() int64        { return 0 }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fileInfo) Sys() any           { return &syscall.Stat_t{Uid: f.uid} }

// TestCheckPrivateOwner: a private mode is not enough; the file or
// directory must be the user's own.
func TestCheckPrivateOwner(t *testing.T) {
	me := uint32(os.Getuid())
	if err := checkPrivate("/s/work", fileInfo{0o600, me}); err != nil {
		t.Errorf("own 0600 file refused: %v", err)
	}
	if err := checkPrivate("/s", fileInfo{fs.ModeDir | 0o700, me}); err != nil {
		t.Errorf("own 0700 directory refused: %v", err)
	}
	for _, tt := range []struct {
		path string
		fi   fileInfo
		want string
	}{
		{"/s/work", fileInfo{0o600, me + 1}, "credential file /s/work belongs to another user"},
		{"/s", fileInfo{fs.ModeDir | 0o700, me + 1}, "credential directory /s belongs to another user"},
	} {
		err := checkPrivate(tt.path, tt.fi)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("checkPrivate(%s, uid %d) = %v; want %q…", tt.path, tt.fi.uid, err, tt.want)
		}
	}
}
