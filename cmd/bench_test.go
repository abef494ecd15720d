package cmd

import (
	"testing"
	"time"
)

// BenchmarkTokenPrintCached measures one cached `authctl token print`
// inside the process: building the command tree, reading the config file
// (configfile), one read of the (in-memory) keychain, and the print. Process
// start-up and the real keychain are what scripts/bench adds on top.
func BenchmarkTokenPrintCached(b *testing.B) {
	w := newWorld(b)
	w.config("")
	w.loggedIn(time.Now().Add(time.Hour))
	for b.Loop() {
		w.stdout.Reset()
		if code := w.run("token", "print"); code != 0 {
			b.Fatalf("exit %d: %s", code, w.stderr.String())
		}
	}
}
