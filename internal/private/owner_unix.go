//go:build unix

package private

import (
	"io/fs"
	"os"
	"syscall"
)

// unixModes: files have a Unix owner and mode.
const unixModes = true

// otherOwner returns fi's owner and whether it is another user.
func otherOwner(fi fs.FileInfo) (uid int, other bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), int(st.Uid) != os.Getuid()
}
