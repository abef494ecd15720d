// Package procscan finds the processes whose arguments contain a secret,
// for end-to-end tests that prove a token never reaches a command line,
// which every user of the machine can read in /proc.
package procscan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is a process whose arguments hold the secret.
type Proc struct {
	PID  int
	Comm string // its program name, never its arguments
}

func (p Proc) String() string { return fmt.Sprintf("pid %d (%s)", p.PID, p.Comm) }

// Find returns the processes running now whose command line contains
// secret, read from /proc (Linux); it fails where there is no /proc, and
// for a secret too short to mean anything. Processes that end while it
// looks are skipped.
func Find(secret string) ([]Proc, error) {
	if len(secret) < 8 {
		return nil, errors.New("procscan: the secret is too short to mean anything")
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("procscan: %w", err)
	}
	var found []Proc
	seen := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		args, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		seen++
		if bytes.Contains(args, []byte(secret)) {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			found = append(found, Proc{PID: pid, Comm: strings.TrimSpace(string(comm))})
		}
	}
	if seen == 0 {
		return nil, errors.New("procscan: /proc lists no process")
	}
	return found, nil
}
