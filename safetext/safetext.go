// Package safetext makes text that comes from outside authctl (a
// provider's error description, a device code page's address, an ID
// token's claims, an HTTP reason phrase) safe to print on a terminal: one
// line, no control characters, bounded length, and, for text that could
// echo a secret, no token-shaped strings.
package safetext

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis ends text that Clean or Redact shortened.
const Ellipsis = "..."

// Placeholder replaces a token-shaped string in Redact's result.
const Placeholder = "[redacted]"

// Clean returns s as one printable line of at most max runes (plus
// Ellipsis when it was longer; max <= 0 means no limit):
//   - line breaks, tabs and the other white-space controls become spaces;
//   - every other C0 and C1 control character (ESC, CSI 0x9b, BEL, DEL,
//     NUL, OSC...) is dropped, so no escape sequence can reach the
//     terminal, and so are the Unicode bidirectional controls, which can
//     make text display in another order than it reads;
//   - bytes that are not UTF-8 are dropped.
//
// Use it for text a person must read as it is (a user code, a subject).
func Clean(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), 4096))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			// not UTF-8
		case isSpace(r):
			b.WriteByte(' ')
		case r < 0x20, r >= 0x7f && r < 0xa0, isBidi(r):
			// control
		default:
			b.WriteRune(r)
		}
	}
	return truncate(b.String(), max)
}

// Redact is Clean that also replaces every token-shaped string with
// Placeholder before it shortens the text: a JWT (three or more base64url
// parts separated by dots, the first starting "eyJ"), and any run of 32 or
// more base64url or hex characters that mixes letters and digits (digits
// in two places at least) and holds a stretch of at least 16 without '-'
// or '_' (a random access or refresh token, an authorization code, a
// digest; not a hyphenated word, a UUID or a name ending in a number). Use it for text that could echo a secret: a provider's
// error, an HTTP reason phrase, an error message.
func Redact(s string, max int) string {
	return truncate(redactTokens(Clean(s, 0)), max)
}

// isSpace reports the controls that separate words: they become spaces.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// isBidi reports the Unicode bidirectional formatting characters.
func isBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// truncate shortens s to max runes plus Ellipsis.
func truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i] + Ellipsis
		}
		n++
	}
	return s
}

// minTokenRun is the shortest run of token characters Redact replaces.
const minTokenRun = 32

// minDigitGroups is the least number of separate stretches of digits a run
// must hold to be taken for a token: random base64url text of 43
// characters has fewer than two in under 1% of cases, while a name with a
// number at its end (a test's temporary directory) has one.
const minDigitGroups = 2

// minUnbroken is the least number of token characters, without '-' or
// '_', a run must hold somewhere to be taken for a token.
const minUnbroken = 16

func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// redactTokens replaces the token-shaped runs of s. A run is a maximal
// stretch of token characters and dots; it is a JWT when it starts "eyJ"
// and has at least two dots, else each dot-separated part is judged on
// its own.
func redactTokens(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if !isTokenChar(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && (isTokenChar(s[j]) || s[j] == '.') {
			j++
		}
		b.WriteString(redactRun(s[i:j]))
		i = j
	}
	return b.String()
}

func redactRun(run string) string {
	if strings.HasPrefix(run, "eyJ") && strings.Count(strings.TrimRight(run, "."), ".") >= 2 {
		return Placeholder
	}
	parts := strings.Split(run, ".")
	for i, p := range parts {
		if tokenShaped(p) {
			parts[i] = Placeholder
		}
	}
	return strings.Join(parts, ".")
}

// tokenShaped reports whether p, made of token characters only, looks like
// a secret rather than a word.
func tokenShaped(p string) bool {
	if len(p) < minTokenRun {
		return false
	}
	var letters, digitGroups, unbroken, longest int
	inDigits := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		digit := c >= '0' && c <= '9'
		switch {
		case digit && !inDigits:
			digitGroups++
		case c == '-' || c == '_':
			unbroken = 0
			inDigits = false
			continue
		case !digit:
			letters++
		}
		inDigits = digit
		unbroken++
		longest = max(longest, unbroken)
	}
	return letters > 0 && digitGroups >= minDigitGroups && longest >= minUnbroken
}
