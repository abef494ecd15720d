package configfile

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Set makes the value at keys equal to value and changes nothing else: an
// existing value is replaced where it stands (a block list stays a block
// list, a flow list a flow list, a comment after it stays), a missing key
// is added after the last key of its mapping at that mapping's
// indentation, and missing mappings on the way are created. value is a
// string, bool, int, []string or map[string]string. Nothing changes when
// the file already holds an equal value.
func (f *File) Set(value any, keys ...string) error {
	if len(keys) == 0 {
		return &Error{Path: f.path, Msg: "configfile: Set without a key"}
	}
	if err := checkValue(value); err != nil {
		return &Error{Path: f.path, Msg: err.Error()}
	}
	if cur := f.Lookup(keys...); cur != nil && decodesTo(cur, value) {
		return nil
	}
	return f.edit(keys, func() ([]byte, error) { return f.setText(value, keys) },
		func(want map[string]any) { setIn(want, keys, value) })
}

// Delete removes the key at keys, with the comment lines right above it.
// Deleting what is not there does nothing.
func (f *File) Delete(keys ...string) error {
	if len(keys) == 0 || f.Lookup(keys...) == nil {
		return nil
	}
	return f.edit(keys, func() ([]byte, error) { return f.deleteText(keys) },
		func(want map[string]any) { deleteIn(want, keys) })
}

// edit applies one change made by change and keeps it only if the result
// parses and means exactly what apply makes of the old meaning: nothing
// but the edited key may differ.
func (f *File) edit(keys []string, change func() ([]byte, error), apply func(map[string]any)) error {
	want := f.meaning()
	apply(want)
	data, err := change()
	if err == nil {
		var root *yaml.Node
		if root, err = parse(data); err == nil {
			next := &File{path: f.path, exists: f.exists, orig: f.orig, data: data, root: root}
			if reflect.DeepEqual(next.meaning(), want) {
				f.data, f.root = data, root
				return nil
			}
			err = fmt.Errorf("the result would not mean what was intended")
		}
	}
	return &Error{Path: f.path, Msg: fmt.Sprintf("cannot change %s in place (%v); edit the file by hand", strings.Join(keys, "."), err)}
}

// meaning decodes the whole document, for comparing edits.
func (f *File) meaning() map[string]any {
	m := map[string]any{}
	if f.root != nil {
		_ = f.root.Decode(&m)
	}
	return m
}

func setIn(m map[string]any, keys []string, value any) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = normalize(value)
}

func deleteIn(m map[string]any, keys []string) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, keys[len(keys)-1])
}

// normalize turns value into what decoding YAML into an any yields.
func normalize(value any) any {
	switch v := value.(type) {
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, s := range v {
			out[k] = s
		}
		return out
	}
	return value
}

func checkValue(value any) error {
	var strs []string
	switch v := value.(type) {
	case string:
		strs = []string{v}
	case []string:
		strs = v
	case map[string]string:
		for k, s := range v {
			strs = append(strs, k, s)
		}
	case bool, int:
	default:
		return fmt.Errorf("configfile: cannot write a %T", value)
	}
	for _, s := range strs {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("a value with a line break cannot be a setting: %q", s)
		}
	}
	return nil
}

// decodesTo reports whether n holds value.
func decodesTo(n *yaml.Node, value any) bool {
	p := reflect.New(reflect.TypeOf(value))
	if err := n.Decode(p.Interface()); err != nil {
		return false
	}
	got := p.Elem().Interface()
	if m, ok := value.(map[string]string); ok && len(m) == 0 {
		g, _ := got.(map[string]string)
		return len(g) == 0
	}
	return reflect.DeepEqual(got, value)
}

// setText returns the contents with the value at keys set.
func (f *File) setText(value any, keys []string) ([]byte, error) {
	t := newText(f.data)
	parent := f.root
	depth := 0
	for ; depth < len(keys)-1; depth++ {
		if parent == nil || parent.Kind != yaml.MappingNode {
			break
		}
		_, next := find(parent, keys[depth])
		if next == nil || next.Kind != yaml.MappingNode {
			break
		}
		parent = next
	}
	rest := keys[depth:]
	if parent != nil && parent.Kind == yaml.MappingNode {
		if k, v := find(parent, rest[0]); k != nil {
			if len(rest) > 1 {
				// rest[0] holds something other than a mapping (null):
				// it becomes one.
				return t.replaceValue(k, v, chain(rest[1:], value), f.step())
			}
			return t.replaceValue(k, v, value, f.step())
		}
		return t.insert(parent, rest, value, f.step())
	}
	if parent == nil && depth == 0 {
		return t.appendChain(rest, value, f.step()), nil
	}
	return nil, fmt.Errorf("%s is not a mapping", strings.Join(keys[:depth], "."))
}

// chain is the nested mapping keys → value, in insertion order.
func chain(keys []string, value any) any {
	for i := len(keys) - 1; i >= 0; i-- {
		value = pair{keys[i], value}
	}
	return value
}

// pair is a one-key mapping, written in block style.
type pair struct {
	key   string
	value any
}

// deleteText returns the contents without the key at keys.
func (f *File) deleteText(keys []string) ([]byte, error) {
	m := f.mapping(keys[:len(keys)-1]...)
	k, _ := find(m, keys[len(keys)-1])
	t := newText(f.data)
	if m.Style&yaml.FlowStyle != 0 {
		return t.rewriteFlow(m, func(n *yaml.Node) {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i] == k {
					n.Content = slices.Delete(n.Content, i, i+2)
					return
				}
			}
		})
	}
	start := t.lines[k.Line-1]
	if m != f.root {
		// A profile's comment lines go with it; those above a top-level
		// key may be the file's own.
		start = t.headCommentStart(k)
	}
	end := t.pairEnd(k, deref(valueOf(m, k)))
	if m != f.root && k == m.Content[0] || t.afterBlankLine(start) {
		// Leave no blank line right below the mapping's key, nor two in
		// a row.
		for end < len(t.b) && blankOnly(t.b[end:]) == "" {
			end += lineLen(t.b[end:])
		}
	}
	return t.splice(start, end, ""), nil
}

func valueOf(m, k *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i] == k {
			return m.Content[i+1]
		}
	}
	return nil
}

// afterBlankLine reports whether the line before offset start is blank,
// or start begins the file.
func (t *text) afterBlankLine(start int) bool {
	if start == 0 {
		return true
	}
	prev := bytes.LastIndexByte(t.b[:start-1], '\n') + 1
	return strings.TrimSpace(string(t.b[prev:start])) == ""
}

// blankOnly returns the first line of b, trimmed.
func blankOnly(b []byte) string {
	return strings.TrimSpace(string(b[:lineLen(b)]))
}

// lineLen returns the length of b's first line with its line break.
func lineLen(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}

// step is the file's indentation step: how much deeper a nested mapping's
// keys sit than their parent's; 2 when the file shows none.
func (f *File) step() int {
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if n == nil || n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 || len(n.Content) == 0 {
			return 0
		}
		for i := 1; i < len(n.Content); i += 2 {
			c := n.Content[i]
			if c.Kind == yaml.MappingNode && c.Style&yaml.FlowStyle == 0 && len(c.Content) > 0 {
				if d := c.Content[0].Column - n.Content[0].Column; d > 0 {
					return d
				}
			}
			if d := walk(c); d > 0 {
				return d
			}
		}
		return 0
	}
	if d := walk(f.root); d > 0 {
		return d
	}
	return 2
}

// text is a file's contents with helpers to find and replace the bytes of
// nodes.
type text struct {
	b     []byte
	lines []int // byte offset where each line starts
	nl    string
}

func newText(b []byte) *text {
	t := &text{b: b, nl: "\n"}
	if bytes.Contains(b, []byte("\r\n")) {
		t.nl = "\r\n"
	}
	t.lines = append(t.lines, 0)
	for i, c := range b {
		if c == '\n' && i+1 < len(b) {
			t.lines = append(t.lines, i+1)
		}
	}
	return t
}

// line returns line n (1-based) without its line break.
func (t *text) line(n int) string {
	if n < 1 || n > len(t.lines) {
		return ""
	}
	return strings.TrimRight(string(t.b[t.lines[n-1]:t.lineEnd(n)]), "\r\n")
}

// lineEnd returns the offset just after line n's line break (or the end).
func (t *text) lineEnd(n int) int {
	if n < len(t.lines) {
		return t.lines[n]
	}
	return len(t.b)
}

// offset returns the byte offset of (line, column), both 1-based, the
// column counted in characters as the YAML parser counts them.
func (t *text) offset(line, col int) int {
	off := t.lines[line-1]
	for c := 1; c < col && off < len(t.b); c++ {
		_, size := utf8.DecodeRune(t.b[off:])
		off += size
	}
	return off
}

func (t *text) splice(start, end int, with string) []byte {
	out := make([]byte, 0, len(t.b)-(end-start)+len(with))
	out = append(out, t.b[:start]...)
	out = append(out, with...)
	return append(out, t.b[end:]...)
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

func isBlankOrComment(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || strings.HasPrefix(s, "#")
}

// pairEnd returns the offset just after the last line that belongs to the
// block-mapping entry whose key is k: the following lines indented deeper
// than the key (and, for a block list, its items indented as deep as the
// key). Blank and comment lines after the last of them belong to what
// follows.
func (t *text) pairEnd(k, v *yaml.Node) int {
	keyIndent := k.Column - 1
	indentless := v != nil && v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0
	last := k.Line
	for l := k.Line + 1; l <= len(t.lines); l++ {
		s := t.line(l)
		if isBlankOrComment(s) {
			continue
		}
		trimmed := strings.TrimSpace(s)
		ind := indentOf(s)
		if ind > keyIndent || indentless && ind == keyIndent && (trimmed == "-" || strings.HasPrefix(trimmed, "- ")) {
			last = l
			continue
		}
		break
	}
	return t.lineEnd(last)
}

// headCommentStart returns the offset of the first of the comment lines
// directly above key k at its indentation (the key's own line when there
// are none).
func (t *text) headCommentStart(k *yaml.Node) int {
	first := k.Line
	for l := k.Line - 1; l >= 1; l-- {
		s := t.line(l)
		if !strings.HasPrefix(strings.TrimSpace(s), "#") || indentOf(s) != k.Column-1 {
			break
		}
		first = l
	}
	return t.lines[first-1]
}

// afterColon returns the offset just after the ':' that ends key k.
func (t *text) afterColon(k *yaml.Node) (int, error) {
	off := t.offset(k.Line, k.Column)
	end := t.lineEnd(k.Line)
	switch {
	case off < end && (t.b[off] == '"' || t.b[off] == '\''):
		e, ok := quotedEnd(t.b, off, end)
		if !ok {
			return 0, fmt.Errorf("key %q spans lines", k.Value)
		}
		off = e
	default:
		off += len(k.Value)
	}
	for off < end && t.b[off] == ' ' {
		off++
	}
	if off >= end || t.b[off] != ':' {
		return 0, fmt.Errorf("key %q is not followed by ':' on its line", k.Value)
	}
	return off + 1, nil
}

// quotedEnd returns the offset after the quoted scalar starting at off, if
// it ends before end.
func quotedEnd(b []byte, off, end int) (int, bool) {
	q := b[off]
	for i := off + 1; i < end; i++ {
		switch {
		case q == '"' && b[i] == '\\':
			i++
		case b[i] == q && q == '\'' && i+1 < end && b[i+1] == '\'':
			i++
		case b[i] == q:
			return i + 1, true
		}
	}
	return 0, false
}

// inlineEnd returns the end offset of value v when it is written on one
// line starting at start (a plain or quoted scalar, or a flow collection).
func (t *text) inlineEnd(v *yaml.Node, start int) (int, bool) {
	end := t.lineEnd(v.Line)
	for end > start && (t.b[end-1] == '\n' || t.b[end-1] == '\r') {
		end--
	}
	if start >= end {
		return 0, false
	}
	switch {
	case v.Kind != yaml.ScalarNode && v.Style&yaml.FlowStyle != 0:
		return flowEnd(t.b, start, end)
	case v.Kind != yaml.ScalarNode:
		return 0, false
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, false
	case t.b[start] == '"' || t.b[start] == '\'':
		return quotedEnd(t.b, start, end)
	}
	s := string(t.b[start:end])
	if i := strings.Index(s, " #"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRight(s, " \t")
	if s != v.Value {
		return 0, false
	}
	return start + len(s), true
}

// flowEnd returns the offset after the flow collection that starts at
// start and closes before end.
func flowEnd(b []byte, start, end int) (int, bool) {
	depth := 0
	for i := start; i < end; i++ {
		switch b[i] {
		case '"', '\'':
			e, ok := quotedEnd(b, i, end)
			if !ok {
				return 0, false
			}
			i = e - 1
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// replaceValue replaces the value v of block-mapping key k with value.
func (t *text) replaceValue(k, v *yaml.Node, value any, step int) ([]byte, error) {
	colon, err := t.afterColon(k)
	if err != nil {
		return nil, err
	}
	keyIndent := k.Column - 1
	empty := v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == ""
	if !empty && v.Line == k.Line {
		start := t.offset(v.Line, v.Column)
		if e, ok := t.inlineEnd(v, start); ok {
			return t.splice(start, e, inline(value)), nil
		}
		return nil, fmt.Errorf("the value of %q spans lines", k.Value)
	}
	// The value starts on a later line (a block list or mapping), or
	// there is none: keep the key's line and its comment.
	keyLineEnd := t.lineEnd(k.Line)
	end := t.pairEnd(k, v)
	if end < keyLineEnd {
		end = keyLineEnd
	}
	if block, ok := blockText(value, v, keyIndent, step, t.nl); ok {
		return t.splice(keyLineEnd, end, block), nil
	}
	// An inline value goes after the colon, before a comment.
	rest := t.line(k.Line)[colon-t.lines[k.Line-1]:]
	comment := ""
	if i := strings.Index(rest, "#"); i >= 0 {
		comment = " " + rest[i:]
	}
	return t.splice(colon, end, " "+inline(value)+comment+t.nl), nil
}

// blockText renders value in block style below a key at keyIndent, when
// it is a collection that old (the value it replaces) also wrote in block
// style, or a one-key mapping made by chain.
func blockText(value any, old *yaml.Node, keyIndent, step int, nl string) (string, bool) {
	indent := keyIndent + step
	if old != nil && old.Kind != yaml.ScalarNode && old.Style&yaml.FlowStyle == 0 && len(old.Content) > 0 {
		indent = old.Column - 1 // its first key, or the "-" of its first item
	}
	var b strings.Builder
	switch v := value.(type) {
	case pair:
		writePair(&b, v, indent, step, nl)
		return b.String(), true
	case []string:
		if old == nil || old.Kind != yaml.SequenceNode || old.Style&yaml.FlowStyle != 0 || len(v) == 0 {
			return "", false
		}
		for _, s := range v {
			b.WriteString(strings.Repeat(" ", indent) + "- " + inline(s) + nl)
		}
		return b.String(), true
	case map[string]string:
		if old == nil || old.Kind != yaml.MappingNode || old.Style&yaml.FlowStyle != 0 || len(v) == 0 {
			return "", false
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b.WriteString(strings.Repeat(" ", indent) + inline(k) + ": " + inline(v[k]) + nl)
		}
		return b.String(), true
	}
	return "", false
}

// writePair writes a chain of one-key block mappings ending in a value:
// a mapping of settings in block style, anything else inline.
func writePair(b *strings.Builder, p pair, indent, step int, nl string) {
	b.WriteString(strings.Repeat(" ", indent) + inline(p.key) + ":")
	switch v := p.value.(type) {
	case pair:
		b.WriteString(nl)
		writePair(b, v, indent+step, step, nl)
	case map[string]string:
		if len(v) == 0 {
			b.WriteString(" {}" + nl)
			return
		}
		b.WriteString(nl)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			writePair(b, pair{k, v[k]}, indent+step, step, nl)
		}
	default:
		b.WriteString(" " + inline(p.value) + nl)
	}
}

// insert adds keys (one key, or a chain of new mappings) → value to the
// mapping m.
func (t *text) insert(m *yaml.Node, keys []string, value any, step int) ([]byte, error) {
	if m.Style&yaml.FlowStyle != 0 {
		return t.rewriteFlow(m, func(n *yaml.Node) {
			n.Content = append(n.Content, scalarNode(keys[0]), toNode(chainValue(keys[1:], value)))
		})
	}
	p := chain(keys, value).(pair)
	last := m.Content[len(m.Content)-2]
	indent := m.Content[0].Column - 1
	var b strings.Builder
	writePair(&b, p, indent, step, t.nl)
	at := t.pairEnd(last, deref(m.Content[len(m.Content)-1]))
	prefix := ""
	if at > 0 && t.b[at-1] != '\n' {
		prefix = t.nl
	}
	return t.splice(at, at, prefix+b.String()), nil
}

// appendChain adds keys → value at the end of a file whose document is
// empty.
func (t *text) appendChain(keys []string, value any, step int) []byte {
	var b strings.Builder
	writePair(&b, chain(keys, value).(pair), 0, step, t.nl)
	prefix := ""
	if len(t.b) > 0 && t.b[len(t.b)-1] != '\n' {
		prefix = t.nl
	}
	return t.splice(len(t.b), len(t.b), prefix+b.String())
}

// rewriteFlow rewrites the flow mapping m after change has edited a copy
// of it.
func (t *text) rewriteFlow(m *yaml.Node, change func(*yaml.Node)) ([]byte, error) {
	start := t.offset(m.Line, m.Column)
	end, ok := flowEnd(t.b, start, len(t.b))
	if !ok {
		return nil, fmt.Errorf("cannot find the end of the mapping at line %d", m.Line)
	}
	c := *m
	c.Content = slices.Clone(m.Content)
	change(&c)
	out, err := yaml.Marshal(&c)
	if err != nil {
		return nil, err
	}
	return t.splice(start, end, strings.TrimRight(string(out), "\n")), nil
}

func chainValue(keys []string, value any) any {
	if len(keys) == 0 {
		return value
	}
	return chain(keys, value)
}

// inline renders value on one line: a scalar, or a flow list or mapping.
func inline(value any) string {
	out, err := yaml.Marshal(toNode(value))
	if err != nil {
		return fmt.Sprint(value)
	}
	return strings.TrimRight(string(out), "\n")
}

// toNode builds the YAML node of value, collections in flow style.
func toNode(value any) *yaml.Node {
	switch v := value.(type) {
	case pair:
		return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalarNode(v.key), toNode(v.value)}}
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range v {
			n.Content = append(n.Content, scalarNode(s))
		}
		return n
	case map[string]string:
		n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			n.Content = append(n.Content, scalarNode(k), scalarNode(v[k]))
		}
		return n
	}
	var n yaml.Node
	_ = n.Encode(value)
	return &n
}

func scalarNode(s string) *yaml.Node {
	var n yaml.Node
	_ = n.Encode(s)
	return &n
}
