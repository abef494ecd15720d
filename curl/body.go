package curl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// MaxBufferedStdin is how much request data read from stdin (or from a pipe
// or other file that cannot be read twice) is kept in memory so that the
// request can be sent again after a 401 or a 307/308 redirect. Larger input
// is streamed once; such a request cannot be retried, and Do says so.
const MaxBufferedStdin = 10 << 20 // 10 MiB

// segment is one piece of the request body: bytes in memory or a regular
// file that is opened again for every send.
type segment struct {
	data  []byte
	path  string // regular file, re-read on each send
	strip bool   // drop CR and LF while reading path
}

// body is the request body of one Do: its pieces, its length when known,
// and whether it can be produced more than once.
type body struct {
	segs   []segment
	stream io.Reader // non-nil: the one-shot remainder of an over-limit input, sent after segs
	length int64     // -1 when unknown
	used   bool      // the one-shot stream has been handed out
}

// resendable reports whether the body can be produced again.
func (b *body) resendable() bool { return b.stream == nil }

// open returns a fresh reader of the whole body. For a body that is not
// resendable it succeeds once.
func (b *body) open() (io.ReadCloser, error) {
	if b.stream != nil {
		if b.used {
			return nil, errors.New("request body was streamed from input and cannot be read again")
		}
		b.used = true
	}
	var readers []io.Reader
	var closers []io.Closer
	for _, s := range b.segs {
		if s.path == "" {
			readers = append(readers, bytes.NewReader(s.data))
			continue
		}
		f, err := os.Open(s.path)
		if err != nil {
			for _, c := range closers {
				c.Close()
			}
			return nil, err
		}
		closers = append(closers, f)
		var r io.Reader = f
		if s.strip {
			r = stripCRLF{f}
		}
		readers = append(readers, r)
	}
	if b.stream != nil {
		readers = append(readers, b.stream)
	}
	return multiReadCloser{io.MultiReader(readers...), closers}, nil
}

type multiReadCloser struct {
	io.Reader
	closers []io.Closer
}

func (m multiReadCloser) Close() error {
	var first error
	for _, c := range m.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stripCRLF reads r without its carriage returns and newlines, as curl
// reads a file given to -d/--data.
type stripCRLF struct{ r io.Reader }

func (s stripCRLF) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// readErr is a failure to read request data; Do reports it as curl's 26.
type readErr struct {
	what string
	err  error
}

func (e *readErr) Error() string { return fmt.Sprintf("read %s: %v", e.what, e.err) }
func (e *readErr) Unwrap() error { return e.err }

// buildBody turns the data options into a body. stdin is consumed at most
// once: a second "@-" reads what the first left, which is nothing. It
// returns a nil body when there is no data.
func buildBody(parts []Data, stdin io.Reader) (*body, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	b := &body{length: 0}
	add := func(s segment, n int64) {
		b.segs = append(b.segs, s)
		if b.length >= 0 {
			b.length += n
		}
	}
	for i, p := range parts {
		if i > 0 && p.Kind != DataJSON {
			if b.stream != nil {
				return nil, &readErr{"request data", fmt.Errorf("input larger than %d bytes must be the last data option", MaxBufferedStdin)}
			}
			add(segment{data: []byte("&")}, 1)
		}
		if p.Kind == DataURLEncode {
			s, err := urlEncodeData(p.Value, stdin)
			if err != nil {
				return nil, err
			}
			add(segment{data: []byte(s)}, int64(len(s)))
			continue
		}
		name, ok := strings.CutPrefix(p.Value, "@")
		if !ok || p.Kind == DataRaw {
			add(segment{data: []byte(p.Value)}, int64(len(p.Value)))
			continue
		}
		if b.stream != nil {
			return nil, &readErr{"request data", fmt.Errorf("input larger than %d bytes must be the last data option", MaxBufferedStdin)}
		}
		strip := p.Kind == DataASCII
		if name != "-" {
			fi, err := os.Stat(name)
			if err != nil {
				return nil, &readErr{"file " + name, err}
			}
			if fi.Mode().IsRegular() {
				n := fi.Size()
				if strip {
					if n, err = countStripped(name); err != nil {
						return nil, &readErr{"file " + name, err}
					}
				}
				add(segment{path: name, strip: strip}, n)
				continue
			}
		}
		// stdin, a pipe, a device: it can be read once only, so keep it
		// in memory up to the limit and stream the rest.
		var src io.Reader = stdin
		var file *os.File
		what := "stdin"
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, &readErr{"file " + name, err}
			}
			// The file stays open until the process ends when it is
			// streamed; a command runs one request, so that is fine.
			src, file, what = f, f, "file "+name
		}
		if src == nil {
			src = strings.NewReader("")
		}
		if strip {
			src = stripCRLF{src}
		}
		buf, err := io.ReadAll(io.LimitReader(src, MaxBufferedStdin+1))
		if err != nil {
			return nil, &readErr{what, err}
		}
		if len(buf) <= MaxBufferedStdin {
			if file != nil {
				file.Close()
			}
			add(segment{data: buf}, int64(len(buf)))
			continue
		}
		b.stream = io.MultiReader(bytes.NewReader(buf), src)
		b.length = -1
	}
	return b, nil
}

func countStripped(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(io.Discard, stripCRLF{f})
}

// urlEncodeData reads one --data-urlencode value in curl's forms:
// "content", "=content", "name=content", "@file", "name@file".
func urlEncodeData(v string, stdin io.Reader) (string, error) {
	if i := strings.IndexAny(v, "=@"); i >= 0 {
		name := v[:i]
		if v[i] == '=' {
			if name == "" {
				return escape(v[1:]), nil
			}
			return name + "=" + escape(v[i+1:]), nil
		}
		path := v[i+1:]
		var content []byte
		var err error
		if path == "-" {
			if stdin == nil {
				stdin = strings.NewReader("")
			}
			content, err = io.ReadAll(io.LimitReader(stdin, MaxBufferedStdin+1))
		} else {
			content, err = readLimited(path)
		}
		if err != nil {
			return "", &readErr{"file " + path, err}
		}
		if len(content) > MaxBufferedStdin {
			return "", &readErr{"file " + path, fmt.Errorf("larger than %d bytes", MaxBufferedStdin)}
		}
		enc := escape(string(content))
		if name == "" {
			return enc, nil
		}
		return name + "=" + enc, nil
	}
	return escape(v), nil
}

// escape percent-encodes everything but letters, digits and "-._~", as
// curl does (a space becomes %20, not "+").
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxBufferedStdin+1))
}
