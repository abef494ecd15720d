//go:build unix

package private

import (
	"io/fs"
	"os"
	"strconv"
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

func TestCheck(t *testing.T) {
	me := uint32(os.Getuid())
	for _, tt := range []struct {
		name    string
		fi      fileInfo
		refused fs.FileMode
		want    string
	}{
		{"own private file", fileInfo{0o600, me}, AnyAccess, ""},
		{"own private directory", fileInfo{fs.ModeDir | 0o700, me}, AnyAccess, ""},
		{"readable by others, any access refused", fileInfo{0o644, me}, AnyAccess, "file /p is open to other users (mode 0644)"},
		{"readable by others, writing refused", fileInfo{0o644, me}, Write, ""},
		{"group-writable directory", fileInfo{fs.ModeDir | 0o770, me}, Write, "directory /p is open to other users (mode 0770)"},
		{"world-writable file", fileInfo{0o602, me}, Write, "file /p is open to other users (mode 0602)"},
		{"another user's private file", fileInfo{0o600, me + 1}, Write, "file /p belongs to another user (uid " + strconv.Itoa(int(me+1)) + ")"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := Check("/p", tt.fi, tt.refused); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Check = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestCheckRealFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(dir, fi, AnyAccess); err != nil {
		t.Errorf("own 0700 directory: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if fi, err = os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir, fi, Write); err == nil || err.OtherOwner() {
		t.Errorf("own 0777 directory: %v; want open to other users", err)
	}
}
