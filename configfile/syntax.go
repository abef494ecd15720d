package configfile

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// yamlLine finds the line number in a yaml.v3 error message (compiled on
// first use: token print on its fast path must not pay for it).
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// describeSyntaxError returns the line and message for a YAML syntax
// error. yaml.v3 often names the line where the enclosing block began
// rather than the line that broke it (a mis-indented key is reported at
// the start of its mapping), so the line is found again: the first line
// at which the text read so far stops being YAML, not counting a prefix
// that only ends inside a quoted string or a bracket that a later line
// closes.
func describeSyntaxError(data []byte, err error) (int, string) {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	line := 0
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if l, ok := firstBrokenLine(data, line); ok {
		line = l
	}
	return line, msg
}

// The work of finding a syntax error's line again grows with the square
// of the file's size, so it is bounded: at most rescanLimit lines are
// tried, in files of at most rescanBytes (config files are a few hundred
// bytes; a larger broken one gets the parser's own line).
const (
	rescanLimit = 500
	rescanBytes = 16 << 10
)

// firstBrokenLine returns the 1-based number of the first line, from line
// from on, whose addition makes the text so far fail to parse for a
// reason other than ending too early. The parser's own line is never
// after the broken one, so earlier lines need no look.
func firstBrokenLine(data []byte, from int) (int, bool) {
	if len(data) > rescanBytes {
		return 0, false
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	end := 0
	for i, l := range lines {
		end += len(l)
		if i+1 < from {
			continue
		}
		if i+1 >= from+rescanLimit {
			break
		}
		if _, err := parse(data[:end]); err != nil && !endsTooEarly(err) {
			return i + 1, true
		}
	}
	return 0, false
}

// endsTooEarly reports whether a parse error only says the text ended
// inside something a later line could close.
func endsTooEarly(err error) bool {
	s := err.Error()
	for _, m := range []string{
		"unexpected end of stream",
		"found unexpected end of stream",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected node content",
		"found unexpected document indicator",
	} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
