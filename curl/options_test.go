package curl

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	base := func(mod func(o *Options)) *Options {
		o := &Options{URL: "https://api.example.com/x", MaxRedirects: DefaultMaxRedirects}
		if mod != nil {
			mod(o)
		}
		return o
	}
	const u = "https://api.example.com/x"
	tests := []struct {
		name string
		args []string
		want *Options
	}{
		{"url only", []string{u}, base(nil)},
		{"url first then flags", []string{u, "-s"}, base(func(o *Options) { o.Silent = true })},
		{"method", []string{"-X", "PUT", u}, base(func(o *Options) { o.Method = "PUT" })},
		{"method glued", []string{"-XPOST", u}, base(func(o *Options) { o.Method = "POST" })},
		{"method long", []string{"--request", "DELETE", u}, base(func(o *Options) { o.Method = "DELETE" })},
		{"method long with =", []string{"--request=PATCH", u}, base(func(o *Options) { o.Method = "PATCH" })},
		{"headers repeat", []string{"-H", "X-A: 1", "--header", "X-B:2", "-H", "Accept:", "-H", "X-Empty;", u},
			base(func(o *Options) {
				o.Headers = []Header{{Name: "X-A", Value: "1"}, {Name: "X-B", Value: "2"}, {Name: "Accept", Remove: true}, {Name: "X-Empty"}}
			})},
		{"data forms", []string{"-d", "a=1", "-dб=2", "--data-raw", "@x", "--data-binary", "@f", "--data-ascii", "c", "--data-urlencode", "q=a b", u},
			base(func(o *Options) {
				o.Data = []Data{{DataASCII, "a=1"}, {DataASCII, "б=2"}, {DataRaw, "@x"}, {DataBinary, "@f"}, {DataASCII, "c"}, {DataURLEncode, "q=a b"}}
			})},
		{"json", []string{"--json", `{"a":1}`, u}, base(func(o *Options) { o.Data = []Data{{DataJSON, `{"a":1}`}} })},
		{"get", []string{"-G", "-d", "q=1", u}, base(func(o *Options) { o.Get = true; o.Data = []Data{{DataASCII, "q=1"}} })},
		{"combined booleans", []string{"-sSfLiv", u}, base(func(o *Options) {
			o.Silent, o.ShowError, o.Fail, o.Location, o.Include, o.Verbose = true, true, true, true, true, true
		})},
		{"combined with value last", []string{"-sSo", "out.txt", u}, base(func(o *Options) { o.Silent, o.ShowError, o.Output = true, true, "out.txt" })},
		{"combined with glued value", []string{"-sXPOST", u}, base(func(o *Options) { o.Silent, o.Method = true, "POST" })},
		{"long booleans", []string{"--silent", "--show-error", "--fail", "--location", "--include", "--verbose", "--head", u},
			base(func(o *Options) {
				o.Silent, o.ShowError, o.Fail, o.Location, o.Include, o.Verbose, o.Head = true, true, true, true, true, true, true
			})},
		{"head", []string{"-I", u}, base(func(o *Options) { o.Head = true })},
		{"output", []string{"--output", "-", u}, base(func(o *Options) { o.Output = "-" })},
		{"fail with body", []string{"--fail-with-body", u}, base(func(o *Options) { o.FailWithBody = true })},
		{"max time fraction", []string{"--max-time", "0.25", u}, base(func(o *Options) { o.MaxTime = 250 * time.Millisecond })},
		{"max time short", []string{"-m", "3", u}, base(func(o *Options) { o.MaxTime = 3 * time.Second })},
		{"max redirs", []string{"--max-redirs", "-1", u}, base(func(o *Options) { o.MaxRedirects = -1 })},
		{"write out", []string{"-w", `%{http_code}\n`, u}, base(func(o *Options) { o.WriteOut = `%{http_code}\n` })},
		{"user agent", []string{"-A", "bot/1", u}, base(func(o *Options) { o.UserAgent = "bot/1" })},
		{"referer", []string{"-e", "https://r/", u}, base(func(o *Options) { o.Referer = "https://r/" })},
		{"url option", []string{"--url", u}, base(nil)},
		{"profile and config", []string{"-p", "work", "--config", "/tmp/c.yaml", u}, base(func(o *Options) { o.Profile, o.Config = "work", "/tmp/c.yaml" })},
		{"profile long with =", []string{"--profile=work", u}, base(func(o *Options) { o.Profile = "work" })},
		{"allow http bearer", []string{"--allow-http-bearer", u}, base(func(o *Options) { o.AllowInsecureHTTP = true })},
		{"step up", []string{"--step-up", u}, base(func(o *Options) { o.StepUp = true })},
		{"double dash", []string{"-s", "--", "-weird-but-a-url"}, &Options{URL: "-weird-but-a-url", Silent: true, MaxRedirects: DefaultMaxRedirects}},
		{"path url", []string{"/v1/items"}, &Options{URL: "/v1/items", MaxRedirects: DefaultMaxRedirects}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.args)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestParseUsageErrors(t *testing.T) {
	const u = "https://api.example.com/"
	tests := []struct {
		name     string
		args     []string
		contains []string
	}{
		{"no args", nil, []string{"no URL"}},
		{"flags but no url", []string{"-s", "-H", "X: 1"}, []string{"no URL"}},
		{"insecure short", []string{"-k", u}, []string{"-k", "not supported", "not verified", Fallback}},
		{"insecure long", []string{"--insecure", u}, []string{"--insecure", "not supported", Fallback}},
		{"insecure combined", []string{"-sk", u}, []string{"-k", "not supported"}},
		{"user", []string{"-u", "a:b", u}, []string{"-u", "not supported", Fallback}},
		{"location trusted", []string{"--location-trusted", u}, []string{"--location-trusted", "not supported"}},
		{"form", []string{"-F", "a=b", u}, []string{"-F", "not supported", Fallback}},
		{"cookie", []string{"-b", "a=b", u}, []string{"-b", "not supported"}},
		{"remote name", []string{"-O", u}, []string{"-O", "not supported"}},
		{"compressed", []string{"--compressed", u}, []string{"--compressed", "not supported", Fallback}},
		{"retry", []string{"--retry", "3", u}, []string{"--retry", "not supported"}},
		{"connect timeout", []string{"--connect-timeout", "3", u}, []string{"--connect-timeout", "not supported"}},
		{"cacert", []string{"--cacert", "ca.pem", u}, []string{"--cacert", "not supported"}},
		{"proxy", []string{"-x", "http://p:3128", u}, []string{"-x", "not supported"}},
		{"http2", []string{"--http2", u}, []string{"--http2", "not supported"}},
		{"dump header", []string{"-D", "-", u}, []string{"-D", "not supported"}},
		{"unknown long", []string{"--frobnicate", u}, []string{"--frobnicate", "not supported", Fallback}},
		{"unknown glued after known", []string{"-sZ", u}, []string{"-Z", "not supported"}},
		{"missing value short", []string{u, "-X"}, []string{"-X", "needs a value"}},
		{"missing value long", []string{u, "--header"}, []string{"--header", "needs a value"}},
		{"bool with value", []string{"--silent=yes", u}, []string{"--silent", "takes no value"}},
		{"bad max time", []string{"--max-time", "soon", u}, []string{"--max-time"}},
		{"negative max time", []string{"--max-time", "-1", u}, []string{"--max-time"}},
		{"bad max redirs", []string{"--max-redirs", "x", u}, []string{"--max-redirs"}},
		{"bad header", []string{"-H", "NoColon", u}, []string{"NoColon"}},
		{"header injection", []string{"-H", "X: a\r\nEvil: 1", u}, []string{"line break"}},
		{"two urls", []string{u, "https://other/"}, []string{"more than one URL"}},
		{"head with data", []string{"-I", "-d", "x", u}, []string{"-I/--head"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse(tt.args)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) = %+v, %v; want a *UsageError", tt.args, o, err)
			}
			for _, c := range tt.contains {
				if !strings.Contains(ue.Error(), c) {
					t.Errorf("error %q does not contain %q", ue.Error(), c)
				}
			}
		})
	}
}

// TestFlagsNamesWhatParseTakes: every name the help lists is a flag Parse
// takes, and every flag Parse takes is listed.
func TestFlagsNamesWhatParseTakes(t *testing.T) {
	listed := map[string]bool{}
	for _, name := range Flags() {
		for _, form := range strings.Split(name, "/") {
			listed[form] = true
			_, err1 := Parse([]string{form, "1", "https://api.example.com/"})
			_, err2 := Parse([]string{form, "https://api.example.com/"})
			if isUnknown(err1) || isUnknown(err2) {
				t.Errorf("help lists %s, but Parse does not take it: %v / %v", form, err1, err2)
			}
		}
	}
	for _, sp := range specs() {
		if !listed[sp.long] || (sp.short != 0 && !listed["-"+string(sp.short)]) {
			t.Errorf("Parse takes %s (-%c), but the help does not list it", sp.long, sp.short)
		}
	}
}

// isUnknown reports whether err is Parse refusing a flag it does not know.
func isUnknown(err error) bool {
	return err != nil && strings.Contains(err.Error(), "is not supported by authctl curl")
}
