//go:build authctl_nokeyctl

package main

// builtWithoutKeyctl: this suite's authctl was built with the
// authctl_nokeyctl tag and behaves as if keyctl were refused.
const builtWithoutKeyctl = true
