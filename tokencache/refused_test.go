//go:build authctl_nokeyctl

package tokencache

import (
	"errors"
	"testing"
	"time"
)

// TestBuiltWithoutKeyctl: the authctl_nokeyctl build behaves as a seccomp
// filter that refuses keyctl; the end-to-end suite runs with it too.
func TestBuiltWithoutKeyctl(t *testing.T) {
	c := New()
	if err := c.Available(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Available = %v, want ErrUnavailable", err)
	}
	k := Key{Config: "/c.yaml", Profile: "work"}
	if err := c.Put(k, "g", entry("work", "AT"), time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Put = %v, want ErrUnavailable", err)
	}
	if _, err := c.Get(k); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Get = %v, want ErrUnavailable", err)
	}
}
