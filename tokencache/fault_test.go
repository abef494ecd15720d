package tokencache

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// faulty is keyctl as a kernel that refuses it, a full quota, or a key
// whose permissions cannot be set: faults the real keyring of a test
// machine does not show on demand. Keys it adds are counted, so a test
// can see that nothing half-made is left.
type faulty struct {
	refuse  error // every call fails with this
	addErr  error // add fails with this
	permErr error // setPerm fails with this
	live    map[int]bool
	next    int
}

func (f *faulty) probe() error { return f.refuse }
func (f *faulty) add(string, []byte) (int, error) {
	if f.refuse != nil {
		return 0, f.refuse
	}
	if f.addErr != nil {
		return 0, f.addErr
	}
	f.next++
	f.live[f.next] = true
	return f.next, nil
}
func (f *faulty) search(string) (int, error) {
	if f.refuse != nil {
		return 0, f.refuse
	}
	return 0, fmt.Errorf("%w: required key not available", errGone)
}
func (f *faulty) read(int) ([]byte, error) { return nil, f.orGone() }
func (f *faulty) setPerm(int, uint32) error {
	if f.refuse != nil {
		return f.refuse
	}
	return f.permErr
}
func (f *faulty) setTimeout(int, time.Duration) error { return f.refuse }
func (f *faulty) invalidate(id int) error {
	if f.refuse != nil {
		return f.refuse
	}
	delete(f.live, id)
	return nil
}
func (f *faulty) unlink(id int) error          { return f.invalidate(id) }
func (f *faulty) list() ([]int, error)         { return nil, f.refuse }
func (f *faulty) describe(int) (string, error) { return "", f.orGone() }
func (f *faulty) orGone() error {
	if f.refuse != nil {
		return f.refuse
	}
	return errGone
}

func entry(acct, tok string) *Entry {
	return &Entry{Account: acct, Fingerprint: "f1", AccessToken: tok, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour).Round(0)}
}

// TestRefusedKeyctlIsUnavailable: where seccomp or the kernel refuses
// keyctl (ENOSYS, EPERM), every method says the cache is unavailable, so
// callers use the keychain instead.
func TestRefusedKeyctlIsUnavailable(t *testing.T) {
	for _, why := range []string{"function not implemented", "operation not permitted"} {
		c := &Cache{sys: &faulty{refuse: fmt.Errorf("%w: %s", errRefused, why), live: map[int]bool{}}}
		k := Key{Config: "/c.yaml", Profile: "work"}
		if err := c.Available(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Available = %v", why, err)
		}
		if _, err := c.Get(k); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Get = %v", why, err)
		}
		if _, err := c.Generation("work"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Generation = %v", why, err)
		}
		if err := c.Put(k, "g", entry("work", "AT"), time.Minute); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Put = %v", why, err)
		}
		if err := c.Invalidate("work"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Invalidate = %v", why, err)
		}
	}
}

// TestQuotaFullIsUnavailable: a full key quota (EDQUOT) makes Put fail as
// unavailable, and a key whose permissions could not be set is removed
// rather than left with the kernel's defaults.
func TestQuotaFullIsUnavailable(t *testing.T) {
	f := &faulty{addErr: fmt.Errorf("%w: disk quota exceeded", errRefused), live: map[int]bool{}}
	c := &Cache{sys: f}
	if err := c.Put(Key{Config: "/c.yaml"}, "g", entry("work", "AT"), time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Put with the quota full = %v, want ErrUnavailable", err)
	}
	f.addErr, f.permErr = nil, errors.New("permission change refused")
	if err := c.Put(Key{Config: "/c.yaml"}, "g", entry("work", "AT"), time.Minute); err == nil {
		t.Error("Put whose permissions could not be set succeeded")
	}
	if len(f.live) != 0 {
		t.Errorf("%d half-made keys were left in the keyring", len(f.live))
	}
}

// TestPayloadRefusesWhatCannotBeReadBack: values with line breaks or
// control characters are not cached, and a damaged payload is a miss.
func TestPayloadRefusesWhatCannotBeReadBack(t *testing.T) {
	for _, e := range []*Entry{
		{Account: "work", AccessToken: "AT\nfingerprint=x"},
		{Account: "work", AccessToken: "A T"},
		{Account: "work\n", AccessToken: "AT"},
		{Account: "work", AccessToken: "AT", TokenType: "Bearer\x1b[31m"},
		{Account: "work", AccessToken: ""},
	} {
		if _, err := encode(e, "g"); err == nil {
			t.Errorf("encode(%q) succeeded", e)
		}
	}
	want := &Entry{Account: "work", Fingerprint: "fp", AccessToken: "AT.x-y_z~", TokenType: "DPoP", Expiry: time.Unix(1700000000, 5)}
	b, err := encode(want, "g1")
	if err != nil {
		t.Fatal(err)
	}
	got, gen, err := decode(b)
	if err != nil || gen != "g1" || *got != *want {
		t.Fatalf("decode(encode) = %+v, %q, %v", got, gen, err)
	}
	for _, bad := range [][]byte{b[:len(b)-10], append([]byte("x"), b...), []byte(string(b) + "\nextra=1")} {
		if _, _, err := decode(bad); err == nil {
			t.Errorf("decode(%q) succeeded", bad)
		}
	}
}
