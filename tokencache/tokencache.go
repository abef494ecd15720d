// Package tokencache keeps copies of access tokens in the Linux kernel's
// user keyring, so that `authctl token print` can hand out a token that is
// still valid without a keychain read, a D-Bus connection or a config
// parser: a few system calls instead of a few milliseconds.
//
// The copies live in kernel memory only, never on disk, readable by the
// user's own processes only (possessor and user permissions, nothing for
// group or other), and each is dropped by the kernel when its timeout
// passes. Only an access token is cached, with what printing it needs
// (type and expiry); refresh tokens, ID tokens and client secrets are not.
//
// Entries are found with KEYCTL_SEARCH, never request_key: with no
// request-key callout installed, request_key plants a negative key that
// hides a real one for a minute.
//
// Every account (profile) has a generation key. An entry records the
// generation current before the credential it copies was read; Invalidate
// replaces the generation, so an entry made from a credential that has
// since changed is never served, even when its writer raced the change.
//
// Outside Linux, or in a build with the authctl_nokeyctl tag (which
// behaves as a seccomp filter that refuses keyctl does), every method
// fails with an error matching ErrUnavailable, and callers read the
// keychain as they would without a cache.
package tokencache

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnavailable is matched by the errors of a cache that cannot be used
// here: not Linux, keyctl refused (ENOSYS or EPERM from a seccomp filter),
// or the user's key quota full (EDQUOT).
var ErrUnavailable = errors.New("kernel keyring unavailable")

// ErrMiss is matched by the error of a Get that found nothing usable: no
// entry, an expired or invalidated one, or one that cannot be read.
var ErrMiss = errors.New("no cached token")

// MaxTTL is the longest an entry is kept, whatever the token's lifetime.
const MaxTTL = 24 * time.Hour

// generationTTL outlives every entry, so that an entry never loses its
// generation key while the kernel still keeps it. Every Generation call
// sets it again.
const generationTTL = MaxTTL + time.Hour

const (
	entryPrefix      = "authctl:at1:"
	generationPrefix = "authctl:gen1:"
	// defaultSelector stands for "the config's default profile" in an
	// entry's description; profile names cannot contain '@'.
	defaultSelector = "@default"
)

// perm is possessor and user: view, read, write, search, link, setattr;
// nothing for group and other. The user permissions are what let a
// process that does not possess the user keyring (one in a container
// with a session keyring of its own) read the entries.
const perm = 0x3f3f0000

// Key names one entry: the config file a run read (an absolute path) and
// the profile it selected by name (--profile or $AUTHCTL_PROFILE), or ""
// for the config's default profile, which the reader does not resolve.
type Key struct {
	Config  string
	Profile string
}

// description is the key's description in the keyring. The config path is
// hashed: it can be long, and descriptions show in /proc/keys.
func (k Key) description() string {
	sum := sha256.Sum256([]byte(k.Config))
	sel := k.Profile
	if sel == "" {
		sel = defaultSelector
	}
	return entryPrefix + hex.EncodeToString(sum[:16]) + ":" + sel
}

// Entry is one cached access token and what printing it needs.
type Entry struct {
	// Account is the profile the token belongs to (its keychain account).
	Account string
	// Fingerprint is a digest of everything that decided which token the
	// writer would hand out (settings, config file); a reader with another
	// fingerprint must not use the entry.
	Fingerprint string
	AccessToken string
	TokenType   string
	// Expiry is when the token expires; zero when unknown.
	Expiry time.Time
	// Margin is how long before Expiry the token counts as stale (its
	// refresh margin); zero when unknown.
	Margin time.Duration
}

// Generation is an account's generation, taken before its credential is
// read; see Cache.Put.
type Generation string

// Cache is the user keyring of the calling process's user. Its methods
// are safe for concurrent use, in one process or many.
type Cache struct {
	sys keyctl
}

// New returns the cache in the kernel's user keyring.
func New() *Cache { return &Cache{sys: newKeyctl()} }

// Available reports why the cache cannot be used here (an error matching
// ErrUnavailable), or nil.
func (c *Cache) Available() error {
	if err := c.sys.probe(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Get returns the entry under k, if it is there, readable and of the
// account's current generation. Expiry and fingerprint are the caller's
// to check.
func (c *Cache) Get(k Key) (*Entry, error) {
	id, err := c.sys.search(k.description())
	if err != nil {
		return nil, c.fail("look up", err)
	}
	payload, err := c.sys.read(id)
	if err != nil {
		return nil, c.fail("read", err)
	}
	e, gen, err := decode(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMiss, err)
	}
	cur, err := c.current(e.Account)
	if err != nil {
		return nil, c.fail("look up the generation of", err)
	}
	if cur != gen {
		return nil, fmt.Errorf("%w: the cached token of profile %q was invalidated", ErrMiss, e.Account)
	}
	return e, nil
}

// Generation returns account's current generation, starting one if there
// is none. Take it before reading the credential to be cached.
func (c *Cache) Generation(account string) (Generation, error) {
	desc := generationPrefix + account
	if id, err := c.sys.search(desc); err == nil {
		if g, err := c.sys.read(id); err == nil {
			if err := c.sys.setTimeout(id, generationTTL); err == nil {
				return Generation(g), nil
			}
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	g := hex.EncodeToString(b[:])
	if _, err := c.add(desc, []byte(g), generationTTL); err != nil {
		return "", c.fail("start a generation for", err)
	}
	return Generation(g), nil
}

// current returns account's generation without starting one.
func (c *Cache) current(account string) (Generation, error) {
	id, err := c.sys.search(generationPrefix + account)
	if err != nil {
		return "", err
	}
	g, err := c.sys.read(id)
	return Generation(g), err
}

// Put caches e under k for ttl (at most MaxTTL), as of generation gen: if
// anything invalidated e.Account after gen was taken, Get will not serve
// it. An existing entry under k is replaced.
func (c *Cache) Put(k Key, gen Generation, e *Entry, ttl time.Duration) error {
	if ttl < time.Second {
		return errors.New("token expires too soon to be cached")
	}
	payload, err := encode(e, gen)
	if err != nil {
		return err
	}
	if _, err := c.add(k.description(), payload, min(ttl, MaxTTL)); err != nil {
		return c.fail("store", err)
	}
	return nil
}

// add adds (or updates) a key in the user keyring and sets its permissions
// and timeout; a key it cannot finish is invalidated.
func (c *Cache) add(desc string, payload []byte, ttl time.Duration) (int, error) {
	id, err := c.sys.add(desc, payload)
	if err != nil {
		return 0, err
	}
	if err = c.sys.setPerm(id, perm); err == nil {
		err = c.sys.setTimeout(id, ttl)
	}
	if err != nil {
		_ = c.sys.invalidate(id)
		return 0, err
	}
	return id, nil
}

// Invalidate makes every cached token of account unusable at once (a new
// generation) and then removes the entries, whichever config and selector
// they were cached under. Call it before and after the account's
// credential changes.
func (c *Cache) Invalidate(account string) error {
	// Drop the generation first: from here on no entry of account is
	// served, whatever the sweep below finds or misses.
	for range 8 {
		id, err := c.sys.search(generationPrefix + account)
		if errors.Is(err, errGone) {
			break
		}
		if err != nil {
			return c.fail("invalidate", err)
		}
		if err := c.drop(id); err != nil {
			return c.fail("invalidate", err)
		}
	}
	return c.sweep(account)
}

// sweep removes the entries of account from the user keyring, so that no
// copy of a replaced or revoked token stays in memory until its timeout.
func (c *Cache) sweep(account string) error {
	ids, err := c.sys.list()
	if err != nil {
		return c.fail("list", err)
	}
	for _, id := range ids {
		desc, err := c.sys.describe(id)
		if err != nil || !isEntry(desc) {
			continue
		}
		payload, err := c.sys.read(id)
		if err != nil {
			continue
		}
		if e, _, err := decode(payload); err == nil && e.Account != account {
			continue
		}
		_ = c.drop(id)
	}
	return nil
}

// drop removes a key at once (KEYCTL_INVALIDATE), or at least unlinks it
// from the user keyring.
func (c *Cache) drop(id int) error {
	if err := c.sys.invalidate(id); err == nil || errors.Is(err, errGone) {
		return nil
	}
	return c.sys.unlink(id)
}

// fail turns a keyctl error into ErrMiss (the key is not there) or
// ErrUnavailable (keyctl refused, quota full) or a plain error.
func (c *Cache) fail(op string, err error) error {
	switch {
	case errors.Is(err, errGone):
		return fmt.Errorf("%w (%s: %v)", ErrMiss, op, err)
	case errors.Is(err, errRefused):
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
	}
	return fmt.Errorf("kernel keyring: %s: %w", op, err)
}

// isEntry reports whether a KEYCTL_DESCRIBE answer ("type;uid;gid;perm;
// description") is one of the cache's entries.
func isEntry(described string) bool {
	f := strings.SplitN(described, ";", 5)
	return len(f) == 5 && f[0] == "user" && strings.HasPrefix(f[4], entryPrefix)
}

// errGone and errRefused classify keyctl errors; keyctl implementations
// wrap the system's error with one of them.
var (
	errGone    = errors.New("no such key")
	errRefused = errors.New("keyctl refused")
)

// keyctl is the part of the kernel's key management the cache uses, on the
// user keyring (KEY_SPEC_USER_KEYRING) of the calling process.
type keyctl interface {
	probe() error
	add(desc string, payload []byte) (int, error)
	search(desc string) (int, error)
	read(id int) ([]byte, error)
	setPerm(id int, perm uint32) error
	setTimeout(id int, ttl time.Duration) error
	invalidate(id int) error
	unlink(id int) error
	list() ([]int, error)
	describe(id int) (string, error)
}
