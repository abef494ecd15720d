package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/authctl/authctl/internal/atomicfile"
	"github.com/authctl/authctl/internal/private"
)

// DefaultCacheTTL is how long a cached discovery document is trusted.
// Providers change endpoints rarely; a day keeps refreshes to one request
// while still picking up a move within a day.
const DefaultCacheTTL = 24 * time.Hour

// Cache keeps one discovery document per profile in Dir, as plain JSON
// (endpoints are not secrets). A missing, stale, unreadable or mismatched
// entry is simply a miss, and so is one whose endpoints break the endpoint
// rule (Metadata.Validate), and one that another user owns or could write,
// in a directory of the same kind: the file is not trusted more than the
// provider.
type Cache struct {
	Dir string
	TTL time.Duration    // 0 means DefaultCacheTTL
	Now func() time.Time // nil means time.Now
}

type cacheEntry struct {
	Fetched time.Time `json:"fetched"`
	// Issuer is the issuer the document was fetched for, which a
	// multi-tenant document's own issuer (a template) does not say.
	Issuer   string   `json:"issuer"`
	Metadata Metadata `json:"metadata"`
}

func (c Cache) path(profile string) string {
	return filepath.Join(c.Dir, "discovery-"+profile+".json")
}

func (c Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Load returns the cached metadata of profile if it is for issuer, younger
// than the cache's lifetime, and valid, and if no other user could have
// written it (see lookup).
func (c Cache) Load(profile, issuer string) (*Metadata, bool) {
	m, why := c.lookup(profile, issuer)
	return m, why == ""
}

// lookup is Load, saying why an entry is a miss.
func (c Cache) lookup(profile, issuer string) (*Metadata, string) {
	if c.Dir == "" {
		return nil, "no cache directory"
	}
	b, why := c.read(profile)
	if why != "" {
		return nil, why
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.Metadata.Issuer == "" {
		return nil, "no usable " + c.path(profile)
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if !IssuerMatches(issuer, e.Issuer) || !IssuerMatches(e.Metadata.Issuer, issuer) {
		return nil, c.path(profile) + " is for another issuer"
	}
	age := c.now().Sub(e.Fetched)
	if age < 0 || age > ttl {
		return nil, c.path(profile) + " is out of date"
	}
	if err := e.Metadata.Validate(); err != nil {
		return nil, fmt.Sprintf("%s is not valid: %v", c.path(profile), err)
	}
	return &e.Metadata, ""
}

// read returns the content of profile's cache file, or why it is not
// used: it is missing or unreadable, too large, or it or the cache
// directory is not the user's alone. An entry decides where refresh tokens
// go, so one that another user owns or could write is not trusted (one
// only others can read is: endpoints are not secrets).
func (c Cache) read(profile string) ([]byte, string) {
	p := c.path(profile)
	if why := c.checkDir(); why != "" {
		return nil, why
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, "no usable " + p
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, "no usable " + p
	}
	if e := private.Check(p, fi, private.Write); e != nil {
		return nil, untrusted(e, "chmod 600 "+p)
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxDocument+1))
	if err != nil || len(b) > maxDocument {
		return nil, "no usable " + p
	}
	return b, ""
}

// checkDir says why the cache directory is not trusted, or "": another
// user owns it (or the symbolic link it is) or could write in it. A
// missing directory is left to the entry's own lookup.
func (c Cache) checkDir() string {
	fi, err := os.Lstat(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "" // no directory, so no entry: the file's open says so
	}
	if err != nil {
		return "no usable " + c.Dir
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if e := private.Check(c.Dir, fi, 0); e != nil {
			return untrusted(e, "")
		}
		if fi, err = os.Stat(c.Dir); err != nil {
			return "no usable " + c.Dir
		}
	}
	if e := private.Check(c.Dir, fi, private.Write); e != nil {
		return untrusted(e, "chmod 700 "+c.Dir)
	}
	return ""
}

// untrusted says why a cache file or directory is not used, and, when
// its mode is the reason, how to fix it.
func untrusted(e *private.Error, fix string) string {
	if e.OtherOwner() || fix == "" {
		return fmt.Sprintf("not trusted: %v", e)
	}
	return fmt.Sprintf("not trusted: %v; run: %s", e, fix)
}

// Save stores m for profile, replacing the file atomically. A cache that
// cannot be written costs a later discovery request, nothing more, so
// callers may ignore the error.
func (c Cache) Save(profile, issuer string, m *Metadata) error {
	if c.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(cacheEntry{Fetched: c.now().UTC(), Issuer: issuer, Metadata: *m})
	if err != nil {
		return err
	}
	return atomicfile.Write(c.path(profile), b, 0o600)
}

// Delete forgets the cached document of profile.
func (c Cache) Delete(profile string) error {
	if c.Dir == "" {
		return nil
	}
	err := os.Remove(c.path(profile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Resolver finds a profile's metadata: explicit endpoints when the profile
// sets a token endpoint, else the cache, else discovery (then cached).
type Resolver struct {
	Client *http.Client
	Cache  Cache
	// Log, when set, receives a line for --verbose per step: explicit
	// endpoints, a cache hit or miss, a discovery.
	Log func(format string, args ...any)
}

func (r Resolver) logf(format string, args ...any) {
	if r.Log != nil {
		r.Log(format, args...)
	}
}

// Resolve returns the metadata for profile. explicit, when its
// TokenEndpoint is set, is used as it is and discovery is skipped (servers
// without discovery); otherwise a cached document younger than the cache's
// lifetime is used, and only then is the provider asked, and the other
// endpoints explicit sets replace the discovered ones.
func (r Resolver) Resolve(ctx context.Context, profile, issuer string, explicit Metadata) (*Metadata, error) {
	if err := CheckSettings(issuer, explicit); err != nil {
		return nil, err
	}
	if explicit.TokenEndpoint != "" {
		m := explicit
		if m.Issuer == "" {
			m.Issuer = issuer
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("endpoint settings: %w", err)
		}
		r.logf("endpoints: set in the profile (token endpoint %s); no discovery", m.TokenEndpoint)
		return &m, nil
	}
	if issuer == "" {
		return nil, errors.New("no issuer set")
	}
	m, why := r.Cache.lookup(profile, issuer)
	if why == "" {
		r.logf("discovery: cache hit, %s", r.Cache.path(profile))
	} else {
		r.logf("discovery: cache miss (%s)", why)
		var err error
		if m, err = r.Refresh(ctx, profile, issuer); err != nil {
			return nil, err
		}
	}
	return Overlay(m, explicit)
}

// Overlay returns m with every endpoint explicit sets replacing the
// discovered one (a revocation or userinfo URL the provider does not
// advertise, say). An explicit endpoint that breaks the endpoint rule is
// a *SettingsError.
func Overlay(m *Metadata, explicit Metadata) (*Metadata, error) {
	if err := CheckSettings("", explicit); err != nil {
		return nil, err
	}
	o := *m
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&o.AuthorizationEndpoint, explicit.AuthorizationEndpoint},
		{&o.DeviceAuthorizationEndpoint, explicit.DeviceAuthorizationEndpoint},
		{&o.RevocationEndpoint, explicit.RevocationEndpoint},
		{&o.UserinfoEndpoint, explicit.UserinfoEndpoint},
		{&o.JWKSURI, explicit.JWKSURI},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("endpoint settings: %w", err)
	}
	return &o, nil
}

// Refresh discovers the metadata anew and caches it.
func (r Resolver) Refresh(ctx context.Context, profile, issuer string) (*Metadata, error) {
	r.logf("discovery: asking %s", DiscoveryURL(issuer))
	m, err := Discover(ctx, r.Client, issuer)
	if err != nil {
		return nil, err
	}
	if err := r.Cache.Save(profile, issuer, m); err != nil {
		r.logf("discovery: could not cache the document (%v)", err)
	} else if r.Cache.Dir != "" {
		r.logf("discovery: cached in %s", r.Cache.path(profile))
	}
	return m, nil
}
