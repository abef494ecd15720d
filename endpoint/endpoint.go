// Package endpoint decides which URLs authctl may send credentials to, and
// provides the HTTP transport that holds every request to that rule.
//
// The rule: https, or plain http to this machine only. A plain-http URL
// passes when its host is a literal loopback address (127.0.0.0/8, ::1)
// or a localhost name ("localhost" or a name under ".localhost", any
// case); at dial time such a request connects to a loopback address and
// nothing else, and never goes through a proxy. Anything else over plain
// http would show a code, a PKCE verifier or a token to the network.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/authctl/authctl/safetext"
)

// ErrRefused is matched (errors.Is) by every *Error.
var ErrRefused = errors.New("refused by the endpoint rule")

// Rule says the endpoint rule in words, for error messages and help.
const Rule = "authctl sends credentials over https only, and over plain http only to this machine (127.0.0.1, [::1] or localhost)"

// Error is a URL the rule refuses.
type Error struct {
	// URL is the refused URL, with any password in it masked.
	URL string
	// Why says what is wrong with it.
	Why string
}

// Error names the URL, what is wrong with it and the rule.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s; %s", safetext.Clean(e.URL, 300), e.Why, Rule)
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *Error) Is(target error) bool { return target == ErrRefused }

// Check parses raw and applies the rule to it: nil for an https URL with
// a host, or a plain-http URL whose host is loopback (see IsLoopback);
// otherwise an *Error.
//
// A URL with a character that cannot be shown as it is (a control
// character, a bidirectional override) is refused too: it could be
// printed for a person to open, and show one address while naming another.
func Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &Error{URL: fmt.Sprintf("%q", safetext.Clean(raw, 200)), Why: "not a valid URL"}
	}
	if safetext.Clean(raw, 0) != raw {
		return &Error{URL: fmt.Sprintf("%q", safetext.Clean(raw, 200)), Why: "holds characters that cannot be shown"}
	}
	return CheckURL(u)
}

// CheckURL applies the rule to u, as Check does.
func CheckURL(u *url.URL) error {
	switch {
	case u.Host == "" || u.Hostname() == "":
		return &Error{URL: u.Redacted(), Why: "not an absolute URL"}
	case strings.EqualFold(u.Scheme, "https"):
		return nil
	case !strings.EqualFold(u.Scheme, "http"):
		return &Error{URL: u.Redacted(), Why: "not an https URL"}
	case !IsLoopback(u.Hostname()):
		return &Error{URL: u.Redacted(), Why: "plain http to a host that is not this machine"}
	}
	return nil
}

// IsLoopback reports whether host (without port; brackets allowed) names
// this machine without asking a resolver: a literal loopback address
// (127.0.0.0/8, ::1) or a localhost name.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return IsLocalhostName(host)
}

// IsLocalhostName reports whether host is "localhost" or a name under
// ".localhost", in any case, with or without a final dot: the names RFC
// 6761 §6.3 reserves for the loopback addresses.
func IsLocalhostName(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
