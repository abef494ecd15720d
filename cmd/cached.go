package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authctl/authctl/configfile"
	"github.com/authctl/authctl/token"
	"github.com/authctl/authctl/tokencache"
)

// The access-token cache in the kernel keyring (package tokencache) is
// filled and emptied here, by the token.Source of every command, and read
// by PrintCached before anything else runs. Both sides name an entry the
// same way: the config file's absolute path and the profile as selected
// by name (--profile, else $AUTHCTL_PROFILE, else "the default", which the
// reader does not resolve), and check the same fingerprint.

// unknownExpiryTTL is how long a token whose expiry the provider did not
// say is cached (it is served as long as the keychain's copy would be: an
// API's 401 ends it).
const unknownExpiryTTL = time.Hour

// cacheKey names the cache entry of a run that reads configPath and
// selects profile by name ("" for the config's default).
func cacheKey(configPath, profile string) tokencache.Key {
	if abs, err := filepath.Abs(configPath); err == nil {
		configPath = abs
	}
	return tokencache.Key{Config: configPath, Profile: profile}
}

// selectedProfile is the profile a run names (--profile, else
// $AUTHCTL_PROFILE), or "" when it leaves the choice to the config.
func selectedProfile(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	return getenv("AUTHCTL_PROFILE")
}

// cacheFingerprint digests everything besides the entry's name that
// decides which token a run hands out: the config file's bytes (nil when
// there is none), the AUTHCTL_* variables that are set (not the secret
// ones, nor those authctl exec sets for its command), and the state
// directory (where --insecure-storage keeps credentials). A change to any
// of them makes the entry a miss, and the slow path replaces it.
func cacheFingerprint(config []byte, environ []string, state string) string {
	h := sha256.New()
	h.Write([]byte("config\x00"))
	h.Write(config)
	h.Write([]byte("\x00state\x00" + state + "\x00"))
	skip := append([]string{"AUTHCTL_PROFILE"}, SecretEnvironment()...)
	skip = append(skip, outputEnvironment...)
	var vars []string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AUTHCTL_") && v != "" && !slices.Contains(skip, k) {
			vars = append(vars, kv)
		}
	}
	slices.Sort(vars)
	for _, kv := range vars {
		h.Write([]byte(kv + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// accessCache is the token.AccessCache of one profile of one run.
type accessCache struct {
	cache       *tokencache.Cache
	key         tokencache.Key
	fingerprint string
	account     string
	// mayPut is false where the run's settings are not what a reader
	// with the same key and fingerprint would resolve (a profile other
	// than the one selected, settings given as login flags).
	mayPut bool
	now    func() time.Time
	log    func(string, ...any)
	// unavailable says once, under -v, why there is no cache.
	unavailable sync.Once
}

// accessCache returns the cache hooks for p, which the run selected
// (mayPut) or reaches otherwise (logout --all, profile remove): such a
// profile's copies are only ever invalidated. Nil when the run has no
// cache.
func (f *Factory) accessCache(p *Profile, cf *configfile.File, ps paths, mayPut bool) token.AccessCache {
	if f.deps.TokenCache == nil || p.InsecureStorage {
		// A credential file is checked (owner, mode) at every read: an
		// --insecure-storage profile reads it every time rather than
		// serve a copy past a file other users can read.
		return nil
	}
	var environ []string
	if f.deps.Environ != nil {
		environ = f.deps.Environ()
	}
	a := &accessCache{
		cache:       f.deps.TokenCache,
		key:         cacheKey(ps.Config, selectedProfile(f.profileFlag, f.deps.Getenv)),
		fingerprint: cacheFingerprint(cf.Bytes(), environ, ps.State),
		account:     p.Name,
		mayPut:      mayPut && len(p.FromFlags) == 0,
		now:         f.Now,
		log:         f.Log,
	}
	return a
}

// Watch implements token.AccessCache.
func (a *accessCache) Watch() func(*token.Credential) {
	if !a.mayPut {
		return func(*token.Credential) {}
	}
	gen, err := a.cache.Generation(a.account)
	if err != nil {
		a.logErr(err)
		return func(*token.Credential) {}
	}
	return func(c *token.Credential) { a.put(gen, c) }
}

func (a *accessCache) put(gen tokencache.Generation, c *token.Credential) {
	ttl := unknownExpiryTTL
	if !c.Expiry.IsZero() {
		ttl = c.Expiry.Sub(a.now()) - c.RefreshMargin()
	}
	// A DPoP-bound token is useless without a proof: it goes through the
	// full run, which says so.
	if c.AccessToken == "" || ttl < time.Second || c.Bound() {
		return
	}
	e := &tokencache.Entry{
		Account: a.account, Fingerprint: a.fingerprint,
		AccessToken: c.AccessToken, TokenType: c.Type(), Expiry: c.Expiry, Margin: c.RefreshMargin(),
	}
	if err := a.cache.Put(a.key, gen, e, ttl); err != nil {
		a.logErr(err)
		return
	}
	a.log("access token cached in the kernel keyring for %s", ttl.Round(time.Second))
}

// Invalidate implements token.AccessCache.
func (a *accessCache) Invalidate() {
	if err := a.cache.Invalidate(a.account); err != nil {
		a.logErr(err)
	}
}

func (a *accessCache) logErr(err error) {
	if errors.Is(err, tokencache.ErrUnavailable) {
		a.unavailable.Do(func() { a.log("no access-token cache: %v", err) })
		return
	}
	a.log("access-token cache: %v", err)
}

// clearCached drops the cached access tokens of account, for credentials
// deleted without a profile (logout --all with an unreadable config).
func (f *Factory) clearCached(account string) {
	if f.deps.TokenCache == nil {
		return
	}
	if err := f.deps.TokenCache.Invalidate(account); err != nil {
		f.Log("access-token cache: %v", err)
	}
}
