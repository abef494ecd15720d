package tokencache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// payloadMagic starts every entry's payload; a reader refuses any other
// version rather than guess.
const payloadMagic = "authctl-token-cache 3"

// payloadFields are the lines after the magic one, in order, each
// "name=value".
var payloadFields = []string{"account", "generation", "fingerprint", "type", "expiry", "margin", "token"}

// maxPayload is the most a user key holds (the kernel's limit for the
// "user" type is 32767 bytes).
const maxPayload = 32767

// encode writes e and gen as the payload of an entry: one field per line.
// Values that could not be read back unambiguously (a line break, a
// control character, a token with a space) are refused.
func encode(e *Entry, gen Generation) ([]byte, error) {
	expiry := "0"
	if !e.Expiry.IsZero() {
		expiry = strconv.FormatInt(e.Expiry.UnixNano(), 10)
	}
	values := []string{e.Account, string(gen), e.Fingerprint, e.TokenType, expiry, strconv.FormatInt(int64(e.Margin), 10), e.AccessToken}
	var b strings.Builder
	b.WriteString(payloadMagic)
	for i, v := range values {
		if !printable(v) {
			return nil, fmt.Errorf("the %s cannot be cached (not printable)", payloadFields[i])
		}
		b.WriteString("\n" + payloadFields[i] + "=" + v)
	}
	if e.Account == "" || e.AccessToken == "" || gen == "" {
		return nil, errors.New("nothing to cache")
	}
	if b.Len() > maxPayload {
		return nil, errors.New("the token is too large to cache")
	}
	return []byte(b.String()), nil
}

// decode reads a payload written by encode.
func decode(payload []byte) (*Entry, Generation, error) {
	lines := strings.Split(string(payload), "\n")
	if len(lines) != len(payloadFields)+1 || lines[0] != payloadMagic {
		return nil, "", errors.New("the cached entry is of another format")
	}
	v := make([]string, len(payloadFields))
	for i, name := range payloadFields {
		val, ok := strings.CutPrefix(lines[i+1], name+"=")
		if !ok {
			return nil, "", fmt.Errorf("the cached entry has no %s", name)
		}
		v[i] = val
	}
	nanos, err := strconv.ParseInt(v[4], 10, 64)
	if err != nil {
		return nil, "", errors.New("the cached entry's expiry is not a number")
	}
	margin, err := strconv.ParseInt(v[5], 10, 64)
	if err != nil || margin < 0 {
		return nil, "", errors.New("the cached entry's margin is not a duration")
	}
	e := &Entry{Account: v[0], Fingerprint: v[2], TokenType: v[3], Margin: time.Duration(margin), AccessToken: v[6]}
	if nanos != 0 {
		e.Expiry = time.Unix(0, nanos)
	}
	if e.Account == "" || e.AccessToken == "" || v[1] == "" {
		return nil, "", errors.New("the cached entry is empty")
	}
	return e, Generation(v[1]), nil
}

// printable reports whether s holds only printable ASCII without spaces
// (tokens, names, digests).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
