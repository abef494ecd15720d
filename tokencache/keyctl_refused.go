//go:build !linux || authctl_nokeyctl

package tokencache

import (
	"fmt"
	"runtime"
	"time"
)

// refused is keyctl where it cannot be used: outside Linux, and in builds
// with the authctl_nokeyctl tag, where every call fails as it does under a
// seccomp filter that refuses keyctl (containers' default profiles).
type refused struct{ err error }

func newKeyctl() keyctl {
	if runtime.GOOS != "linux" {
		return refused{fmt.Errorf("%w: no kernel keyring on %s", errRefused, runtime.GOOS)}
	}
	return refused{fmt.Errorf("%w: operation not permitted (built with authctl_nokeyctl)", errRefused)}
}

func (r refused) probe() error                        { return r.err }
func (r refused) add(string, []byte) (int, error)     { return 0, r.err }
func (r refused) search(string) (int, error)          { return 0, r.err }
func (r refused) read(int) ([]byte, error)            { return nil, r.err }
func (r refused) setPerm(int, uint32) error           { return r.err }
func (r refused) setTimeout(int, time.Duration) error { return r.err }
func (r refused) invalidate(int) error                { return r.err }
func (r refused) unlink(int) error                    { return r.err }
func (r refused) list() ([]int, error)                { return nil, r.err }
func (r refused) describe(int) (string, error)        { return "", r.err }
