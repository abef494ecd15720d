package curl

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/authctl/authctl/safetext"
)

// Verbose wraps base so that every request and response passing through it
// is printed to w the way curl -v does: "> " before request lines, "< "
// before response lines, a bare "> " or "< " after the headers. The values
// of Authorization and Proxy-Authorization are replaced by "[redacted]"
// (the scheme word, such as "Bearer", is kept), and so is a DPoP proof. Put it under the token
// transport so that the headers really sent, the token's included, are
// the ones shown. Bodies are not printed.
func Verbose(base http.RoundTripper, w io.Writer) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &verbose{base: base, w: w}
}

type verbose struct {
	base http.RoundTripper
	mu   sync.Mutex
	w    io.Writer
}

func (v *verbose) RoundTrip(req *http.Request) (*http.Response, error) {
	var sb strings.Builder
	uri := req.URL.RequestURI()
	fmt.Fprintf(&sb, "> %s %s HTTP/1.1\n", req.Method, uri)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(&sb, "> Host: %s\n", host)
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength < 0 && len(req.TransferEncoding) == 0 {
		h.Set("Transfer-Encoding", "chunked")
	} else if req.ContentLength > 0 || (req.Body == http.NoBody && methodWantsLength(req.Method)) {
		h.Set("Content-Length", fmt.Sprint(req.ContentLength))
	}
	if vals, ok := h["User-Agent"]; ok && len(vals) == 1 && vals[0] == "" {
		delete(h, "User-Agent") // Go sends no User-Agent for an empty one
	}
	writeHeaderLines(&sb, "> ", h)
	sb.WriteString("> \n")
	v.print(sb.String())

	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	sb.Reset()
	// The server's reason phrase may hold escape sequences (Go's client
	// refuses them only in header values): not for the terminal.
	fmt.Fprintf(&sb, "< %s %s\n", resp.Proto, safetext.Clean(resp.Status, 0))
	rh := resp.Header.Clone()
	if len(resp.TransferEncoding) > 0 && rh.Get("Transfer-Encoding") == "" {
		rh["Transfer-Encoding"] = resp.TransferEncoding
	}
	writeHeaderLines(&sb, "< ", rh)
	sb.WriteString("< \n")
	v.print(sb.String())
	return resp, nil
}

func methodWantsLength(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

func (v *verbose) print(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	io.WriteString(v.w, s)
}

func writeHeaderLines(sb *strings.Builder, prefix string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, val := range h[k] {
			if isSecretHeader(k) {
				val = redactCredential(val)
			}
			fmt.Fprintf(sb, "%s%s: %s\n", prefix, k, safetext.Clean(val, 0))
		}
	}
}

func isSecretHeader(k string) bool {
	k = http.CanonicalHeaderKey(k)
	return k == "Authorization" || k == "Proxy-Authorization" || k == "Dpop"
}

// redactCredential keeps the scheme word of a credential and hides the rest.
func redactCredential(v string) string {
	scheme, _, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || scheme == "" {
		return "[redacted]"
	}
	return scheme + " [redacted]"
}
