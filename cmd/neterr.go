package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/authctl/authctl/provider"
)

// netWords says in words what went wrong with a request that reached no
// answer (Go's `Get "URL": dial tcp 127.0.0.1:1: connect: connection
// refused`, `context deadline exceeded (Client.Timeout exceeded …)`), or
// "" when ue is not such a failure. limit is the client's time limit.
func netWords(ue *url.Error, limit time.Duration) string {
	host := ue.URL
	if u, err := url.Parse(ue.URL); err == nil && u.Host != "" {
		host = u.Host
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case ue.Timeout() || errors.Is(ue.Err, context.DeadlineExceeded):
		if limit > 0 {
			return fmt.Sprintf("%s did not answer within %s", host, limit)
		}
		return fmt.Sprintf("%s did not answer in time", host)
	case errors.Is(ue.Err, syscall.ECONNREFUSED) || errors.Is(ue.Err, syscall.Errno(10061)): // 10061: WSAECONNREFUSED
		return fmt.Sprintf("%s refused the connection", host)
	case errors.As(ue.Err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("%s: no such host", strings.TrimSuffix(dnsErr.Name, "."))
	case errors.As(ue.Err, &dnsErr):
		return fmt.Sprintf("cannot look up %s (%s)", strings.TrimSuffix(dnsErr.Name, "."), dnsErr.Err)
	case errors.As(ue.Err, &opErr) && opErr.Op == "dial":
		return fmt.Sprintf("cannot connect to %s (%v)", host, opErr.Err)
	}
	return ""
}

// inWords is err with the text of every request failure it holds (see
// netWords) replaced by words; err itself stays underneath, for the exit
// code.
func inWords(err error, limit time.Duration) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	words := netWords(ue, limit)
	if words == "" {
		return err
	}
	return &wordsError{msg: strings.Replace(err.Error(), ue.Error(), words, 1), err: err}
}

// wordsError is err told differently.
type wordsError struct {
	msg string
	err error
}

func (e *wordsError) Error() string { return e.msg }
func (e *wordsError) Unwrap() error { return e.err }

// reachedNoProvider reports whether err is a request to the provider that
// got no answer at all (as opposed to an answer that was an error).
func reachedNoProvider(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && netWords(ue, 0) != ""
}

// discoveryError adds the next step to a failed discovery of p's
// provider: the issuer to check, or the endpoint settings of a server
// without discovery.
func discoveryError(err error, p *Profile) error {
	err = inWords(err, p.HTTPClient.Timeout)
	switch {
	case errors.Is(err, provider.ErrNoDiscovery):
		return withNextStep(err, "check the issuer URL; for a server without discovery set its endpoints: --auth-url URL --token-url URL")
	case reachedNoProvider(err):
		return withNextStep(err, fmt.Sprintf("check the issuer URL (%s) and that the provider is up and reachable from here", p.Issuer))
	}
	return err
}
