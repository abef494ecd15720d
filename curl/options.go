// Package curl is authctl's built-in, curl-compatible HTTP client: it reads
// the curl options people use in scripts, sends the request through a token
// transport given by the caller, follows redirects without leaking the token
// to another origin, streams the response, and reports failures with curl's
// exit codes.
//
// Where it differs from curl, it does so on purpose: a URL without a scheme
// means https (curl guesses http); -p is authctl's --profile (curl's
// --proxytunnel is not supported); -k, -u and --location-trusted are refused
// because they would weaken or replace the token; a method set with -X is
// changed on 301/302/303 redirects like an implied one (curl keeps it); an
// unreadable @file is an error (26), not an empty body.
package curl

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Fallback is the command shown to users when they need a curl option that
// authctl curl does not have. curl reads the header from a file (-H @file,
// curl 7.55 and later), so the token stays out of every process's
// arguments.
const Fallback = `curl -H @<(authctl token print --format header) ...`

// DefaultMaxRedirects is how many redirects -L follows, as in curl.
const DefaultMaxRedirects = 50

// Options is one curl command line, parsed. The zero value means a plain GET
// of URL with default output.
type Options struct {
	URL     string   // the URL argument as written; "/path" is resolved against Env.BaseURL
	Method  string   // -X/--request; empty means the method the other options imply
	Headers []Header // -H/--header, in order
	Data    []Data   // -d, --data-raw, --data-binary, --json, --data-urlencode, in order
	Get     bool     // -G/--get: put the data in the URL query and send GET

	Include      bool          // -i/--include: print the status line and headers before the body
	Head         bool          // -I/--head: send HEAD, print the headers only
	Silent       bool          // -s/--silent: no error messages on stderr
	ShowError    bool          // -S/--show-error: error messages even with -s
	Output       string        // -o/--output: file for the response ("-" or empty: stdout)
	CreateDirs   bool          // --create-dirs: create the directories of -o
	Fail         bool          // -f/--fail: status >= 400 gives exit 22 and no body
	FailWithBody bool          // --fail-with-body: status >= 400 gives exit 22, body still written
	Location     bool          // -L/--location: follow redirects
	MaxRedirects int           // --max-redirs: limit for -L; -1 means no limit
	Verbose      bool          // -v/--verbose: the caller wraps its transports with Verbose
	MaxTime      time.Duration // --max-time/-m: limit for the whole operation; 0 means none
	WriteOut     string        // -w/--write-out: format printed to stdout after the transfer
	UserAgent    string        // -A/--user-agent; empty means Env.UserAgent
	Referer      string        // -e/--referer

	Profile           string // --profile/-p: authctl profile (a global flag that arrives here)
	Config            string // --config: authctl config file (a global flag that arrives here)
	AllowInsecureHTTP bool   // --allow-http-bearer: allow the token over plain http to a non-loopback host
	StepUp            bool   // --step-up: when an API asks for a stronger login (RFC 9470), log in and retry
}

// Header is one -H argument. "Name: value" sets a header, "Name:" removes a
// header authctl would otherwise send (Remove), and "Name;" sends the header
// with an empty value, as in curl.
type Header struct {
	Name   string
	Value  string
	Remove bool
}

// DataKind says which option a Data came from, which decides how its value
// is read.
type DataKind int

// The kinds of request data, one per curl option.
const (
	DataASCII     DataKind = iota // -d/--data: @file is read with CR and LF removed
	DataRaw                       // --data-raw: the value as written, "@" has no meaning
	DataBinary                    // --data-binary: @file is read as is
	DataJSON                      // --json: like --data-binary, parts are joined without "&"
	DataURLEncode                 // --data-urlencode: name=value with value URL-encoded
)

// Data is one request-data option. Parts are joined with "&" in order, as
// curl does (--json parts are joined to what precedes them without one).
type Data struct {
	Kind  DataKind
	Value string // as written; "@file" or "@-" (stdin) reads the content where Kind allows
}

// UsageError reports a command line authctl curl cannot run: an unknown or
// unsupported option, a missing value, no URL. The command exits with 2.
type UsageError struct {
	Msg string
}

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

func unsupported(flag, why string) *UsageError {
	msg := fmt.Sprintf("option %s is not supported by authctl curl", flag)
	if why != "" {
		msg += " (" + why + ")"
	}
	return &UsageError{Msg: msg + "; for other options use curl itself: " + Fallback}
}

type optKind int

const (
	boolOpt optKind = iota
	valueOpt
)

type optSpec struct {
	long  string
	short byte
	kind  optKind
	set   func(o *Options, v string) error
}

// refused lists well-known curl options that authctl curl refuses on purpose,
// with the reason shown to the user.
var refused = map[string]string{
	"-k": "it would send the token over a connection whose server is not verified", "--insecure": "it would send the token over a connection whose server is not verified",
	"-u": "authctl sends the bearer token itself", "--user": "authctl sends the bearer token itself",
	"--location-trusted": "it would send the token to other hosts",
}

func specs() []optSpec {
	return []optSpec{
		{"--request", 'X', valueOpt, func(o *Options, v string) error { o.Method = v; return nil }},
		{"--header", 'H', valueOpt, func(o *Options, v string) error {
			h, err := parseHeader(v)
			if err != nil {
				return err
			}
			o.Headers = append(o.Headers, h)
			return nil
		}},
		{"--data", 'd', valueOpt, addData(DataASCII)},
		{"--data-ascii", 0, valueOpt, addData(DataASCII)},
		{"--data-raw", 0, valueOpt, addData(DataRaw)},
		{"--data-binary", 0, valueOpt, addData(DataBinary)},
		{"--data-urlencode", 0, valueOpt, addData(DataURLEncode)},
		{"--json", 0, valueOpt, addData(DataJSON)},
		{"--get", 'G', boolOpt, func(o *Options, _ string) error { o.Get = true; return nil }},
		{"--include", 'i', boolOpt, func(o *Options, _ string) error { o.Include = true; return nil }},
		{"--head", 'I', boolOpt, func(o *Options, _ string) error { o.Head = true; return nil }},
		{"--silent", 's', boolOpt, func(o *Options, _ string) error { o.Silent = true; return nil }},
		{"--show-error", 'S', boolOpt, func(o *Options, _ string) error { o.ShowError = true; return nil }},
		{"--output", 'o', valueOpt, func(o *Options, v string) error { o.Output = v; return nil }},
		{"--create-dirs", 0, boolOpt, func(o *Options, _ string) error { o.CreateDirs = true; return nil }},
		{"--fail", 'f', boolOpt, func(o *Options, _ string) error { o.Fail = true; return nil }},
		{"--fail-with-body", 0, boolOpt, func(o *Options, _ string) error { o.FailWithBody = true; return nil }},
		{"--location", 'L', boolOpt, func(o *Options, _ string) error { o.Location = true; return nil }},
		{"--max-redirs", 0, valueOpt, func(o *Options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < -1 {
				return usagef("--max-redirs: %q is not a number of redirects", v)
			}
			o.MaxRedirects = n
			return nil
		}},
		{"--verbose", 'v', boolOpt, func(o *Options, _ string) error { o.Verbose = true; return nil }},
		{"--max-time", 'm', valueOpt, func(o *Options, v string) error {
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil || secs < 0 || secs > 1e9 {
				return usagef("--max-time: %q is not a number of seconds", v)
			}
			o.MaxTime = time.Duration(secs * float64(time.Second))
			return nil
		}},
		{"--write-out", 'w', valueOpt, func(o *Options, v string) error { o.WriteOut = v; return nil }},
		{"--user-agent", 'A', valueOpt, headerValue("--user-agent", func(o *Options) *string { return &o.UserAgent })},
		{"--referer", 'e', valueOpt, headerValue("--referer", func(o *Options) *string { return &o.Referer })},
		{"--url", 0, valueOpt, func(o *Options, v string) error { return o.setURL(v) }},
		{"--profile", 'p', valueOpt, func(o *Options, v string) error { o.Profile = v; return nil }},
		{"--config", 0, valueOpt, func(o *Options, v string) error { o.Config = v; return nil }},
		{"--allow-http-bearer", 0, boolOpt, func(o *Options, _ string) error { o.AllowInsecureHTTP = true; return nil }},
		{"--step-up", 0, boolOpt, func(o *Options, _ string) error { o.StepUp = true; return nil }},
	}
}

// Flags names every flag Parse takes, short and long form together
// ("-X/--request", "--data-raw"), in a fixed order, for help texts.
func Flags() []string {
	var names []string
	for _, sp := range specs() {
		if sp.short != 0 {
			names = append(names, "-"+string(sp.short)+"/"+sp.long)
		} else {
			names = append(names, sp.long)
		}
	}
	return names
}

// authHeader says what the -H options do with Authorization.
type authHeader int

const (
	authNone    authHeader = iota // no -H names it: authctl attaches the token
	authGiven                     // "Authorization: …" or "Authorization;": the user's own
	authRemoved                   // "Authorization:": no such header at all
)

// ownAuthorization reports what the last -H naming Authorization asks for.
func (o *Options) ownAuthorization() authHeader {
	a := authNone
	for _, h := range o.Headers {
		if !strings.EqualFold(h.Name, "Authorization") {
			continue
		}
		if h.Remove {
			a = authRemoved
		} else {
			a = authGiven
		}
	}
	return a
}

func addData(kind DataKind) func(o *Options, v string) error {
	return func(o *Options, v string) error {
		o.Data = append(o.Data, Data{Kind: kind, Value: v})
		return nil
	}
}

func (o *Options) setURL(v string) error {
	if o.URL != "" {
		return usagef("more than one URL (%q and %q): authctl curl sends one request per run", o.URL, v)
	}
	if v == "" {
		return usagef("empty URL")
	}
	o.URL = v
	return nil
}

// headerValue sets the field of an option whose value becomes a header,
// refusing a value with a line break (as -H does).
func headerValue(flag string, field func(o *Options) *string) func(o *Options, v string) error {
	return func(o *Options, v string) error {
		if strings.ContainsAny(v, "\r\n") {
			return usagef("%s %q contains a line break", flag, v)
		}
		*field(o) = v
		return nil
	}
}

// parseHeader reads one -H value in curl's three forms.
func parseHeader(v string) (Header, error) {
	if strings.ContainsAny(v, "\r\n") {
		return Header{}, usagef("header %q contains a line break", v)
	}
	i := strings.IndexAny(v, ":;")
	if i <= 0 {
		return Header{}, usagef("header %q is not \"Name: value\"", v)
	}
	name := strings.TrimSpace(v[:i])
	if name == "" || strings.ContainsAny(name, " \t") {
		return Header{}, usagef("header %q has no valid name", v)
	}
	rest := strings.TrimSpace(v[i+1:])
	if v[i] == ';' {
		// "Name;" sends an empty header; anything after ';' makes it an
		// ordinary header line, which curl would not parse either.
		if rest != "" {
			return Header{}, usagef("header %q is not \"Name: value\"", v)
		}
		return Header{Name: name}, nil
	}
	if rest == "" {
		return Header{Name: name, Remove: true}, nil
	}
	return Header{Name: name, Value: rest}, nil
}

// Parse reads curl-style arguments: everything after `authctl curl`.
// Short options combine as in curl ("-sSf", "-XPOST", "-dname=value"),
// long options take their value as the next argument or after "=", and "--"
// ends the options. Every error is a *UsageError. Parse reads no files:
// "@file" values are read by Do.
func Parse(args []string) (*Options, error) {
	o := &Options{MaxRedirects: DefaultMaxRedirects}
	byLong := map[string]optSpec{}
	byShort := map[byte]optSpec{}
	for _, s := range specs() {
		byLong[s.long] = s
		if s.short != 0 {
			byShort[s.short] = s
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			for _, u := range args[i+1:] {
				if err := o.setURL(u); err != nil {
					return nil, err
				}
			}
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a, "=")
			s, ok := byLong[name]
			if !ok {
				return nil, unknown(name)
			}
			if s.kind == boolOpt {
				if hasVal {
					return nil, usagef("option %s takes no value", name)
				}
				if err := s.set(o, ""); err != nil {
					return nil, err
				}
				continue
			}
			if !hasVal {
				if i+1 >= len(args) {
					return nil, usagef("option %s needs a value", name)
				}
				i++
				val = args[i]
			}
			if err := s.set(o, val); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				s, ok := byShort[a[j]]
				if !ok {
					return nil, unknown("-" + string(a[j]))
				}
				if s.kind == boolOpt {
					if err := s.set(o, ""); err != nil {
						return nil, err
					}
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, usagef("option -%c needs a value", a[j])
					}
					i++
					val = args[i]
				}
				if err := s.set(o, val); err != nil {
					return nil, err
				}
				break
			}
		default:
			if err := o.setURL(a); err != nil {
				return nil, err
			}
		}
	}
	if o.URL == "" {
		return nil, usagef("no URL given; usage: authctl curl [options] URL")
	}
	if o.Head && len(o.Data) > 0 && !o.Get {
		return nil, usagef("-I/--head and request data (-d, --json, ...) ask for two methods; choose one")
	}
	return o, nil
}

func unknown(flag string) *UsageError {
	if why, ok := refused[flag]; ok {
		return unsupported(flag, why)
	}
	return unsupported(flag, "")
}
