// Package configfile reads authctl's YAML config file and edits it in
// place. An edit rewrites only the bytes of the keys it touches, so the
// user's comments, key order, indentation, quoting and flow style stay as
// they were, byte for byte; the file is written only when it changed,
// through the target of a symbolic link, keeping its mode.
package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/authctl/authctl/internal/atomicfile"
)

// MaxSize is the largest config file Load reads.
const MaxSize = 1 << 20

// Error is a config file that cannot be read or edited. Line is the
// 1-based line it concerns, or 0 when there is none.
type Error struct {
	Path string
	Line int
	Msg  string
}

// Error returns "config PATH:LINE: MSG" (or without the line).
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config %s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("config %s: %s", e.Path, e.Msg)
}

// File is a config file's contents and the YAML document they hold.
type File struct {
	path   string
	exists bool
	orig   []byte
	data   []byte
	root   *yaml.Node // the document's top-level node; nil for an empty document
}

// Load reads and parses the file at path. A missing file is an empty
// File whose Exists is false; an unreadable, oversized or malformed one is
// an *Error naming the line where the parser says.
func Load(path string) (*File, error) {
	data, exists, err := Read(path)
	if err != nil {
		return nil, err
	}
	if !exists {
		return &File{path: path}, nil
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	f.exists = true
	return f, nil
}

// Read returns the bytes of the config file at path, read through the
// MaxSize limit, without parsing them; exists is false (and data nil) when
// there is no file. Errors are *Error.
func Read(path string) (data []byte, exists bool, err error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &Error{Path: path, Msg: err.Error()}
	}
	defer fh.Close()
	data, err = io.ReadAll(io.LimitReader(fh, MaxSize+1))
	if err != nil {
		return nil, false, &Error{Path: path, Msg: err.Error()}
	}
	if len(data) > MaxSize {
		return nil, false, &Error{Path: path, Msg: fmt.Sprintf("larger than %d bytes; is this the config file?", MaxSize)}
	}
	return data, true, nil
}

// Parse parses data as the contents of the config file at path.
func Parse(path string, data []byte) (*File, error) {
	if i := loneCR(data); i >= 0 {
		// YAML takes a lone CR for a line break, and the editor counts
		// lines by LF: refuse rather than edit the wrong line.
		return nil, &Error{Path: path, Line: bytes.Count(data[:i], []byte("\n")) + 1,
			Msg: "a carriage return without a line feed; save the file with LF (or CRLF) line breaks"}
	}
	root, err := parse(data)
	if err != nil {
		line, msg := describeSyntaxError(data, err)
		return nil, &Error{Path: path, Line: line, Msg: msg}
	}
	if root != nil && root.Kind != yaml.MappingNode {
		return nil, &Error{Path: path, Line: root.Line, Msg: "the file must be a mapping of settings (default_profile:, profiles:)"}
	}
	if dup, first := duplicateKey(root); dup != nil {
		return nil, &Error{Path: path, Line: dup.Line, Msg: fmt.Sprintf("%q is set twice (first on line %d)", dup.Value, first.Line)}
	}
	return &File{path: path, orig: data, data: data, root: root}, nil
}

// parse returns the top-level node of data's first document, or nil when
// the document is empty.
func parse(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	return root, nil
}

// duplicateKey returns the first key that a mapping under n repeats, and
// its first occurrence.
func duplicateKey(n *yaml.Node) (dup, first *yaml.Node) {
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if f, ok := seen[k.Value]; ok {
				return k, f
			}
			seen[k.Value] = k
		}
	}
	for _, c := range n.Content {
		if d, f := duplicateKey(c); d != nil {
			return d, f
		}
	}
	return nil, nil
}

// Path returns the file's path as given to Load.
func (f *File) Path() string { return f.path }

// Exists reports whether Load found a file.
func (f *File) Exists() bool { return f.exists }

// Bytes returns the contents with every edit made so far.
func (f *File) Bytes() []byte { return f.data }

// Changed reports whether edits changed the contents since Load.
func (f *File) Changed() bool { return !bytes.Equal(f.orig, f.data) }

// Entry is one key of a mapping and its value, with their positions.
type Entry struct {
	Key   string
	KeyAt *yaml.Node
	Value *yaml.Node
}

// Entries returns the entries of the mapping at keys (none: the top
// level), in file order; nil when there is no mapping there.
func (f *File) Entries(keys ...string) []Entry {
	m := f.mapping(keys...)
	if m == nil {
		return nil
	}
	out := make([]Entry, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, Entry{Key: m.Content[i].Value, KeyAt: m.Content[i], Value: deref(m.Content[i+1])})
	}
	return out
}

// Lookup returns the value at keys, or nil when it is not there.
func (f *File) Lookup(keys ...string) *yaml.Node {
	if len(keys) == 0 {
		return f.root
	}
	m := f.mapping(keys[:len(keys)-1]...)
	if m == nil {
		return nil
	}
	_, v := find(m, keys[len(keys)-1])
	return v
}

// mapping returns the mapping node at keys, or nil.
func (f *File) mapping(keys ...string) *yaml.Node {
	n := f.root
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		_, n = find(n, k)
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

// find returns the key and value nodes of key in mapping m.
func find(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], deref(m.Content[i+1])
		}
	}
	return nil, nil
}

func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// Save writes the edited contents when they changed: atomically, through
// a symbolic link to its target, keeping the file's mode (0600 for a new
// file, in a directory created 0700).
func (f *File) Save() error {
	if !f.Changed() {
		return nil
	}
	if !f.exists {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return &Error{Path: f.path, Msg: err.Error()}
		}
	}
	if err := atomicfile.Write(f.path, f.data, 0o600); err != nil {
		return &Error{Path: f.path, Msg: "write: " + err.Error()}
	}
	f.orig, f.exists = f.data, true
	return nil
}

// loneCR returns the offset of the first CR in data that no LF follows,
// or -1.
func loneCR(data []byte) int {
	for i, c := range data {
		if c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return i
		}
	}
	return -1
}
