package main

// The shell completions in completions/ and the man pages in man/ are
// generated from the command tree and checked in; internal/gendocs has a
// test that fails when they are stale.
//go:generate go run ./internal/gendocs
