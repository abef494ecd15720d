// Package wwwauth reads the challenges of WWW-Authenticate headers
// (RFC 9110 §11.6.1): the Bearer errors of RFC 6750, the step-up
// parameters of RFC 9470 and the DPoP nonce requests of RFC 9449.
package wwwauth

import "strings"

// Challenge is one challenge of a WWW-Authenticate header (RFC 9110
// §11.6.1): its scheme as sent, and its auth-params by lowercase name
// (a token68 credential is dropped). Values are as the server sent them:
// not yet safe to print.
type Challenge struct {
	Scheme string
	Params map[string]string
}

// Parse returns the challenges of every WWW-Authenticate value, in order.
// It is lenient: a malformed part ends the parse of its value, and what
// came before is kept.
func Parse(values []string) []Challenge {
	var out []Challenge
	for _, v := range values {
		out = append(out, challenges(v)...)
	}
	return out
}

// Find returns the first challenge of scheme (compared without regard to
// case) among the WWW-Authenticate values.
func Find(values []string, scheme string) (Challenge, bool) {
	for _, ch := range Parse(values) {
		if strings.EqualFold(ch.Scheme, scheme) {
			return ch, true
		}
	}
	return Challenge{}, false
}

// maxValue bounds the length of one WWW-Authenticate value parsed.
const maxValue = 8 << 10

// challenges parses one WWW-Authenticate value into its challenges.
func challenges(s string) []Challenge {
	if len(s) > maxValue {
		s = s[:maxValue]
	}
	var out []Challenge
	p := &lexer{s: s}
	for {
		p.skip(" \t,")
		scheme := p.token()
		if scheme == "" {
			return out
		}
		ch := Challenge{Scheme: scheme, Params: map[string]string{}}
		p.skip(" \t")
		if p.token68() {
			out = append(out, ch)
			continue
		}
		for {
			p.skip(" \t")
			save := p.i
			name := p.token()
			p.skip(" \t")
			if name == "" || !p.eat('=') {
				// a token68 or the next challenge's scheme
				p.i = save
				break
			}
			p.skip(" \t")
			var val string
			if p.peek() == '"' {
				val = p.quoted()
			} else {
				val = p.token()
			}
			ch.Params[strings.ToLower(name)] = val
			p.skip(" \t")
			if !p.eat(',') {
				break
			}
			p.skip(" \t,")
			// a name followed by a space and no "=" starts the next challenge
			save = p.i
			n := p.token()
			p.skip(" \t")
			isParam := n != "" && p.peek() == '='
			p.i = save
			if !isParam {
				break
			}
		}
		out = append(out, ch)
		if p.i >= len(s) {
			return out
		}
	}
}

type lexer struct {
	s string
	i int
}

func (l *lexer) peek() byte {
	if l.i < len(l.s) {
		return l.s[l.i]
	}
	return 0
}

func (l *lexer) eat(c byte) bool {
	if l.peek() == c {
		l.i++
		return true
	}
	return false
}

func (l *lexer) skip(set string) {
	for l.i < len(l.s) && strings.IndexByte(set, l.s[l.i]) >= 0 {
		l.i++
	}
}

func (l *lexer) token() string {
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c <= ' ' || c == '=' || c == ',' || c == '"' || c >= 0x7f {
			break
		}
		l.i++
	}
	return l.s[start:l.i]
}

// token68 consumes a token68 credential (RFC 9110 §11.2) when one stands
// next, up to the comma or end that must follow it.
func (l *lexer) token68() bool {
	j := l.i
	for j < len(l.s) && (isAlnum(l.s[j]) || strings.IndexByte("-._~+/", l.s[j]) >= 0) {
		j++
	}
	if j == l.i {
		return false
	}
	for j < len(l.s) && l.s[j] == '=' {
		j++
	}
	k := j
	for k < len(l.s) && (l.s[k] == ' ' || l.s[k] == '\t') {
		k++
	}
	if k < len(l.s) && l.s[k] != ',' {
		return false
	}
	l.i = k
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (l *lexer) quoted() string {
	l.i++ // opening quote
	var sb strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch c {
		case '\\':
			if l.i < len(l.s) {
				sb.WriteByte(l.s[l.i])
				l.i++
			}
		case '"':
			return sb.String()
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
