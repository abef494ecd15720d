package keychain

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DefaultItemSize is the most bytes NewSplit puts in one keychain item
// unless told otherwise. It fits every platform with room to spare: Windows
// takes 2560 bytes of blob (go-keyring v0.2.8 stores the bytes as they are,
// not as UTF-16), macOS about 3000 bytes of secret (a 4096-byte
// `security -i` line holding the base64 of the secret, the service and the
// account), the Secret Service has no limit seen.
const DefaultItemSize = 2000

// maxReadAttempts bounds how often Get reads a head again whose parts a
// concurrent Set replaced under it.
const maxReadAttempts = 8

// minItemSize keeps room for the head item, which names the parts.
const minItemSize = 256

// headPrefix starts every head item that names parts instead of holding
// the secret itself.
const headPrefix = "authctl-split/1 "

// SplitOptions configures NewSplit. The zero value is ready to use.
type SplitOptions struct {
	// MaxItem is the most bytes stored in one item. Zero means
	// DefaultItemSize; values below 256 are raised to 256.
	MaxItem int
	// Rand makes generation names. Nil means crypto/rand.
	Rand io.Reader
}

// Lister is implemented by stores that can list the account names they
// hold. NewSplit uses it, when the inner store has it, to delete parts that
// an interrupted update left behind; a store that cannot list must not
// implement it, so that NewSplit keeps a journal instead.
type Lister interface {
	Accounts(ctx context.Context) ([]string, error)
}

// split stores secrets of any size over items of a bounded size.
type split struct {
	inner   Store
	maxItem int
	rand    io.Reader
}

// NewSplit wraps inner so that a secret of any size can be stored although
// every item inner holds stays within opts.MaxItem bytes.
//
// A secret that fits in one item is stored as it is under the account
// itself: one item, one read. A larger one is cut into parts stored under
// "<account>#<generation>#<n>", and the item under the account (the head)
// names the generation, the number of parts, the size and the SHA-256 of
// the whole. Set writes the new parts under a fresh generation first, then
// replaces the head, then deletes the old parts, so a failure or a crash at
// any point leaves the old or the new secret readable, never neither. Get
// of a head whose parts are missing or damaged returns an error matching
// ErrCorrupt. Delete removes the head, the parts it names and the parts an
// interrupted Set left behind: found by listing when inner is a Lister,
// else through a journal item ("<account>#journal") that names, until a
// Set has finished, the generation it writes and the one it replaces; the
// next Set or Delete deletes whichever of them the head does not name.
//
// Account names must not contain '#'.
func NewSplit(inner Store, opts SplitOptions) Store {
	s := &split{inner: inner, maxItem: opts.MaxItem, rand: opts.Rand}
	if s.maxItem == 0 {
		s.maxItem = DefaultItemSize
	}
	if s.maxItem < minItemSize {
		s.maxItem = minItemSize
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s
}

// Backend names the inner store's backend.
func (s *split) Backend() string { return s.inner.Backend() }

// head describes a secret stored in parts.
type head struct {
	gen   string
	parts int
	size  int
	sum   string // hex SHA-256 of the whole secret
}

func (h head) String() string {
	return fmt.Sprintf("%s%s %d %d %s", headPrefix, h.gen, h.parts, h.size, h.sum)
}

// parseHead reads a head item; ok is false when the item holds the secret
// itself.
func parseHead(b []byte) (h head, ok bool, err error) {
	if !bytes.HasPrefix(b, []byte(headPrefix)) {
		return head{}, false, nil
	}
	f := strings.Fields(string(b[len(headPrefix):]))
	if len(f) != 4 {
		return head{}, true, fmt.Errorf("%w: unreadable head item", ErrCorrupt)
	}
	h.gen, h.sum = f[0], f[3]
	var err1, err2 error
	h.parts, err1 = strconv.Atoi(f[1])
	h.size, err2 = strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || h.parts < 1 || h.size < 0 || strings.Contains(h.gen, "#") || len(h.sum) != 64 {
		return head{}, true, fmt.Errorf("%w: unreadable head item", ErrCorrupt)
	}
	return h, true, nil
}

// journalName is the account name of account's journal item.
func journalName(account string) string { return account + "#journal" }

// canList reports whether inner can list its items, so that no journal is
// needed to find leftover parts.
func (s *split) canList() bool {
	_, ok := s.inner.(Lister)
	return ok
}

// sweepJournal deletes the parts of every generation named by a journal
// left by an unfinished Set, except the one the head (current) names, and
// then the journal. A store that can list its items keeps no journal.
func (s *split) sweepJournal(ctx context.Context, account string, current head) error {
	if s.canList() {
		return nil
	}
	b, err := s.inner.Get(ctx, journalName(account))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok, err := parseHead([]byte(line)); ok && err == nil && h.gen != current.gen {
			if err := s.deleteParts(ctx, account, h); err != nil {
				return err
			}
		}
	}
	return s.inner.Delete(ctx, journalName(account))
}

// partName is the account name of part n of generation gen.
func partName(account, gen string, n int) string {
	return account + "#" + gen + "#" + strconv.Itoa(n)
}

// checkSplitAccount rejects names the part naming cannot tell apart.
func checkSplitAccount(account string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	if strings.Contains(account, "#") {
		return fmt.Errorf("keychain: account name %q contains '#'", account)
	}
	return nil
}

// Get reads the head and, when it names parts, the parts.
func (s *split) Get(ctx context.Context, account string) ([]byte, error) {
	if err := checkSplitAccount(account); err != nil {
		return nil, err
	}
	var prev []byte
	for attempt := 0; ; attempt++ {
		b, err := s.inner.Get(ctx, account)
		if err != nil {
			return nil, err
		}
		h, ok, err := parseHead(b)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", account, err)
		}
		if !ok {
			return b, nil
		}
		v, err := s.readParts(ctx, account, h)
		if err == nil || !errors.Is(err, ErrCorrupt) {
			return v, err
		}
		// A concurrent Set may have replaced the head and deleted the parts
		// just read: read again while the head keeps changing, after a
		// pause that gives the writer time to finish.
		if attempt >= maxReadAttempts-1 || (prev != nil && bytes.Equal(prev, b)) {
			return nil, err
		}
		prev = b
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt+1) * time.Millisecond):
		}
	}
}

// readParts reads and checks the parts a head names.
func (s *split) readParts(ctx context.Context, account string, h head) ([]byte, error) {
	buf := make([]byte, 0, h.size)
	for i := range h.parts {
		p, err := s.inner.Get(ctx, partName(account, h.gen, i))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("read %s: %w: part %d of %d is missing", account, ErrCorrupt, i+1, h.parts)
		}
		if err != nil {
			return nil, err
		}
		buf = append(buf, p...)
	}
	sum := sha256.Sum256(buf)
	if len(buf) != h.size || hex.EncodeToString(sum[:]) != h.sum {
		return nil, fmt.Errorf("read %s: %w: the parts do not match their checksum", account, ErrCorrupt)
	}
	return buf, nil
}

// Set writes new parts, then the head, then deletes the old parts.
func (s *split) Set(ctx context.Context, account string, secret []byte) error {
	if err := checkSplitAccount(account); err != nil {
		return err
	}
	old, err := s.inner.Get(ctx, account)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	oldHead, oldSplit, _ := parseHead(old)
	if err := s.sweepJournal(ctx, account, oldHead); err != nil {
		return err
	}

	whole := len(secret) <= s.maxItem && !bytes.HasPrefix(secret, []byte(headPrefix))
	var h head
	if !whole {
		gen, err := s.newGen()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(secret)
		h = head{gen: gen, parts: (len(secret) + s.maxItem - 1) / s.maxItem, size: len(secret), sum: hex.EncodeToString(sum[:])}
	}
	journaled := !s.canList() && (!whole || oldSplit)
	if journaled {
		// Until the head names the new parts and the old ones are gone,
		// only the journal knows which of them will be garbage.
		var lines []string
		if !whole {
			lines = append(lines, h.String())
		}
		if oldSplit {
			lines = append(lines, oldHead.String())
		}
		if err := s.inner.Set(ctx, journalName(account), []byte(strings.Join(lines, "\n"))); err != nil {
			return err
		}
	}

	if whole {
		if err := s.inner.Set(ctx, account, secret); err != nil {
			return err
		}
	} else {
		for i := range h.parts {
			chunk := secret[i*s.maxItem : min((i+1)*s.maxItem, len(secret))]
			if err := s.inner.Set(ctx, partName(account, h.gen, i), chunk); err != nil {
				s.deleteParts(ctx, account, head{gen: h.gen, parts: i})
				return err
			}
		}
		if err := s.inner.Set(ctx, account, []byte(h.String())); err != nil {
			// A timed-out write may still land later and name these
			// parts, so they stay; Delete sweeps them if it never does.
			if !errors.Is(err, ErrTimeout) {
				s.deleteParts(ctx, account, h)
			}
			return err
		}
	}
	// The new secret is whole; the old parts are garbage now. Failing to
	// delete them loses nothing, so their errors are not reported: the
	// journal keeps naming them (or the store can list them), and the next
	// Set or Delete sweeps them.
	if oldSplit && s.deleteParts(ctx, account, oldHead) != nil {
		return nil
	}
	if journaled {
		s.inner.Delete(ctx, journalName(account))
	}
	return nil
}

// newGen returns a fresh generation name.
func (s *split) newGen() (string, error) {
	var b [6]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("keychain: generation name: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// deleteParts deletes the parts h names and reports the first failure.
func (s *split) deleteParts(ctx context.Context, account string, h head) error {
	var first error
	for i := range h.parts {
		if err := s.inner.Delete(ctx, partName(account, h.gen, i)); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Delete removes the head first (so the credential is gone at once), then
// its parts, then any other parts of the account the inner store lists.
func (s *split) Delete(ctx context.Context, account string) error {
	if err := checkSplitAccount(account); err != nil {
		return err
	}
	b, err := s.inner.Get(ctx, account)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	h, isSplit, _ := parseHead(b)
	if err == nil {
		if err := s.inner.Delete(ctx, account); err != nil {
			return err
		}
	}
	if isSplit {
		if err := s.deleteParts(ctx, account, h); err != nil {
			return fmt.Errorf("delete parts of %s: %w", account, err)
		}
	}
	if err := s.sweepJournal(ctx, account, head{}); err != nil {
		return fmt.Errorf("delete leftover parts of %s: %w", account, err)
	}
	l, ok := s.inner.(Lister)
	if !ok {
		return nil
	}
	names, err := l.Accounts(ctx)
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil
		}
		return fmt.Errorf("list leftover parts of %s: %w", account, err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, account+"#") {
			if err := s.inner.Delete(ctx, n); err != nil {
				return fmt.Errorf("delete leftover part of %s: %w", account, err)
			}
		}
	}
	return nil
}

// Accounts lists the accounts holding a secret (heads, not parts) when the
// inner store is a Lister; otherwise the error matches errors.ErrUnsupported.
func (s *split) Accounts(ctx context.Context) ([]string, error) {
	l, ok := s.inner.(Lister)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	names, err := l.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var heads []string
	for _, n := range names {
		if !strings.Contains(n, "#") {
			heads = append(heads, n)
		}
	}
	return heads, nil
}
