//go:build !linux

package main

import "os"

// peakMB is not implemented here: the scripts that measure memory run on
// Linux.
func peakMB(*os.ProcessState) (int64, bool) { return 0, false }
