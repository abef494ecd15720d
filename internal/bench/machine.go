package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/authctl/authctl/internal/testidp"
	"github.com/authctl/authctl/tokencache"
)

// machine is a user of this machine logged in to two profiles of the
// test provider: one whose tokens live an hour (the timed runs), one
// whose tokens live 12 s (fresh for 8 s, then stale: the refresh).
type machine struct {
	bins      binaries
	long      profile
	short     profile
	idps      []*testidp.IdP
	backend   string
	cache     *tokencache.Cache
	env       []string
	hasKernel bool
}

// profile is one logged-in profile and the provider it uses.
type profile struct {
	name string
	idp  *testidp.IdP
}

func newMachine(ctx context.Context, tmp string, bins binaries) (*machine, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	name := "bench-" + hex.EncodeToString(suffix[:])
	m := &machine{bins: bins, cache: tokencache.New()}
	m.hasKernel = m.cache.Available() == nil
	// The user's own AUTHCTL_* variables (and scripts/test's) stay out.
	m.env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AUTHCTL_") })
	m.env = append(m.env,
		"HOME="+tmp,
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_STATE_HOME="+filepath.Join(tmp, "state"),
		"XDG_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"BROWSER="+self+" browse",
	)
	for _, p := range []struct {
		into *profile
		name string
		ttl  time.Duration
	}{{&m.long, name, time.Hour}, {&m.short, name + "-x", 12 * time.Second}} {
		var log bytes.Buffer
		idp, err := testidp.Start(ctx, testidp.Options{AccessTTL: p.ttl, Stderr: &log})
		if err != nil {
			m.close()
			return nil, fmt.Errorf("test provider: %w\n%s", err, log.String())
		}
		m.idps = append(m.idps, idp)
		*p.into = profile{name: p.name, idp: idp}
		if _, err := m.authctl(ctx, bins.release.authctl, *p.into, "login", "--issuer", idp.Issuer, "--client-id", testidp.ClientID); err != nil {
			m.close()
			return nil, err
		}
	}
	st, err := m.authctl(ctx, bins.release.authctl, m.long, "status", "--json")
	if err != nil {
		m.close()
		return nil, err
	}
	m.backend = backendOf(st)
	return m, nil
}

// authctl runs bin for profile p and returns its stdout.
func (m *machine) authctl(ctx context.Context, bin string, p profile, args ...string) ([]byte, error) {
	c := exec.CommandContext(ctx, bin, args...)
	c.Env = append(m.env, "AUTHCTL_PROFILE="+p.name)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	b, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("authctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return b, nil
}

// close logs out and stops the providers.
func (m *machine) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, p := range []profile{m.long, m.short} {
		if p.name != "" {
			_, _ = m.authctl(ctx, m.bins.release.authctl, p, "logout", "--no-revoke")
			_ = m.cache.Invalidate(p.name)
		}
	}
	for _, idp := range m.idps {
		_ = idp.Close()
	}
}

func backendOf(statusJSON []byte) string {
	const key = `"storage": "`
	i := bytes.Index(statusJSON, []byte(key))
	if i < 0 {
		return "unknown storage"
	}
	rest := statusJSON[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return "unknown storage"
}
