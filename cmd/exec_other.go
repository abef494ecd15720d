//go:build !unix

package cmd

import "os"

// forwardedSignals are the signals authctl exec catches while its
// command runs; on Windows Ctrl-C reaches every program of the console,
// and none can be sent to a process.
var forwardedSignals = []os.Signal{os.Interrupt}

// sentToForegroundGroup: on Windows the console delivers Ctrl-C to the
// command too.
func sentToForegroundGroup(os.Signal) bool { return true }
