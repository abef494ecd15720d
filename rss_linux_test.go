package main

import (
	"os"
	"syscall"
)

// peakMB returns the peak resident memory of an ended process, in
// megabytes (Linux reports kilobytes).
func peakMB(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss / 1024, true
}
