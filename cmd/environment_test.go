package cmd

import (
	"context"
	"slices"
	"testing"
)

// TestEnvironmentNamesEveryVariableRead runs authctl with a Getenv that
// records what it is asked for, and checks Environment lists it all.
func TestEnvironmentNamesEveryVariableRead(t *testing.T) {
	known := Environment()
	for _, args := range [][]string{{"token", "print"}, {"login", "--issuer", "http://127.0.0.1:1", "--client-id", "x"}, {"status"}} {
		w := newWorld(t)
		d := w.deps()
		get := d.Getenv
		d.Getenv = func(k string) string {
			if !slices.Contains(known, k) {
				t.Errorf("%v reads $%s, which Environment does not list", args, k)
			}
			return get(k)
		}
		d.Open = func(context.Context, string) error { return nil }
		Main(t.Context(), args, d)
	}
}
