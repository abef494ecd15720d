//go:build !linux

package keychain

import "testing"

// TestSystemCannotListOutsideLinux: a system store that claimed to list
// its items would keep NewSplit from writing the journal through which
// leftover parts are found on macOS and Windows.
func TestSystemCannotListOutsideLinux(t *testing.T) {
	if _, ok := NewSystem(SystemOptions{}).(Lister); ok {
		t.Fatal("the system store implements Lister outside Linux, where go-keyring cannot list items")
	}
}
