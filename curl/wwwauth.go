package curl

import (
	"strings"

	"github.com/authctl/authctl/safetext"
)

// bearerError finds the error and error_description parameters (RFC 6750
// §3) of the Bearer challenge among WWW-Authenticate values, made safe to
// print on a terminal.
func bearerError(values []string) (errCode, desc string) {
	for _, v := range values {
		for _, ch := range challenges(v) {
			if !strings.EqualFold(ch.scheme, "Bearer") {
				continue
			}
			return safetext.Redact(ch.params["error"], 100), safetext.Redact(ch.params["error_description"], 300)
		}
	}
	return "", ""
}

type challenge struct {
	scheme string
	params map[string]string
}

// challenges parses one WWW-Authenticate value (RFC 9110 §11.6.1) into its
// challenges. It is lenient: a malformed part ends the parse.
func challenges(s string) []challenge {
	var out []challenge
	p := &lexer{s: s}
	for {
		p.skip(" \t,")
		scheme := p.token()
		if scheme == "" {
			return out
		}
		ch := challenge{scheme: scheme, params: map[string]string{}}
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
			ch.params[strings.ToLower(name)] = val
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
