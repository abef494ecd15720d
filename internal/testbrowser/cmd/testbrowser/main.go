// Command testbrowser is the test suite's headless browser as a program,
// for trying authctl against the bundled test provider on a machine without
// a browser:
//
//	BROWSER="go run ./internal/testbrowser/cmd/testbrowser" authctl login ...
//
// It follows the provider's redirects to authctl's loopback callback; see
// package testbrowser for its modes.
package main

import (
	"os"

	"github.com/authctl/authctl/internal/testbrowser"
)

func main() {
	os.Exit(testbrowser.Main(os.Args[1:], os.Stdout, os.Stderr))
}
