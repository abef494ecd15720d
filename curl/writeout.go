package curl

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// writeOut prints the -w format to stdout after the transfer, as curl
// does, including after a curl error (%{http_code} is then 000).
// "@file" and "@-" read the format from a file or stdin.
func (r *run) writeOut() {
	format := r.opts.WriteOut
	if name, ok := strings.CutPrefix(format, "@"); ok {
		var data []byte
		var err error
		if name == "-" {
			if r.env.Stdin != nil {
				data, err = io.ReadAll(io.LimitReader(r.env.Stdin, 1<<20))
			}
		} else {
			data, err = readLimited(name)
		}
		if err != nil {
			r.note("read --write-out format: %v", err)
			return
		}
		format = string(data)
	}
	var w io.Writer = r.env.Stdout
	var sb strings.Builder
	flush := func() {
		io.WriteString(w, sb.String())
		sb.Reset()
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '\\' && i+1 < len(format):
			switch format[i+1] {
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case '\\':
				sb.WriteByte('\\')
			default:
				sb.WriteByte('\\')
				sb.WriteByte(format[i+1])
			}
			i++
		case c == '%' && strings.HasPrefix(format[i:], "%%"):
			sb.WriteByte('%')
			i++
		case c == '%' && strings.HasPrefix(format[i:], "%{"):
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				sb.WriteString(format[i:])
				i = len(format)
				continue
			}
			name := format[i+2 : i+end]
			i += end
			switch name {
			case "stdout":
				flush()
				w = r.env.Stdout
			case "stderr":
				flush()
				w = r.env.Stderr
			default:
				v, ok := r.variable(name)
				if !ok {
					r.note("unknown --write-out variable: '%s'", name)
				}
				sb.WriteString(v)
			}
		case c == '%' && strings.HasPrefix(format[i:], "%header{"):
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				sb.WriteString(format[i:])
				i = len(format)
				continue
			}
			name := format[i+len("%header{") : i+end]
			i += end
			if r.resp != nil {
				sb.WriteString(strings.Join(r.resp.Header.Values(name), ", "))
			}
		default:
			sb.WriteByte(c)
		}
	}
	flush()
}

// variable returns the value of one -w variable.
func (r *run) variable(name string) (string, bool) {
	resp := r.resp
	switch name {
	case "http_code", "response_code":
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		return fmt.Sprintf("%03d", code), true
	case "url_effective", "url":
		if r.hopURL == nil {
			return r.opts.URL, true
		}
		return r.hopURL.Redacted(), true
	case "content_type":
		if resp == nil {
			return "", true
		}
		return resp.Header.Get("Content-Type"), true
	case "size_download":
		return strconv.FormatInt(r.bytes, 10), true
	case "time_total":
		return fmt.Sprintf("%.6f", time.Since(r.start).Seconds()), true
	case "num_redirects":
		return strconv.Itoa(r.redirects), true
	case "method":
		return r.method, true
	case "exitcode":
		return strconv.Itoa(r.exitCode), true
	case "errormsg":
		return r.errMsg, true
	case "scheme":
		if r.hopURL == nil {
			return "", true
		}
		return strings.ToUpper(r.hopURL.Scheme), true
	case "http_version":
		if resp == nil {
			return "0", true
		}
		if resp.ProtoMajor == 2 {
			return "2", true
		}
		return fmt.Sprintf("%d.%d", resp.ProtoMajor, resp.ProtoMinor), true
	case "redirect_url":
		if resp == nil {
			return "", true
		}
		switch resp.StatusCode {
		case 301, 302, 303, 307, 308:
			if loc, err := r.hopURL.Parse(resp.Header.Get("Location")); err == nil && resp.Header.Get("Location") != "" {
				return loc.Redacted(), true
			}
		}
		return "", true
	}
	return "", false
}
