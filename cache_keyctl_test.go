//go:build !authctl_nokeyctl

package main

// builtWithoutKeyctl: this suite's authctl uses keyctl where the kernel
// allows it.
const builtWithoutKeyctl = false
