//go:build !unix

package main

import (
	"errors"

	"github.com/rogpeppe/go-internal/testscript"
)

// argcheckWait needs Unix signals.
func argcheckWait([]string) error { return errors.New("argcheck wait needs Unix signals") }

// argcheckWindup needs Unix signals.
func argcheckWindup([]string) (int, error) {
	return 0, errors.New("argcheck windup needs Unix signals")
}

// cmdExecSig needs Unix signals.
func cmdExecSig(ts *testscript.TestScript, _ bool, _ []string) {
	ts.Fatalf("execsig needs Unix signals")
}
