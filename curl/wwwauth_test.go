package curl

import "testing"

func TestBearerError(t *testing.T) {
	tests := []struct {
		name      string
		values    []string
		err, desc string
	}{
		{"rfc 6750 example", []string{`Bearer realm="example", error="invalid_token", error_description="The access token expired"`}, "invalid_token", "The access token expired"},
		{"after another challenge", []string{`Basic realm="x", Bearer error="insufficient_scope", scope="a b"`}, "insufficient_scope", ""},
		{"token68 before", []string{`Negotiate abc==, Bearer error=invalid_token`}, "invalid_token", ""},
		{"separate header values", []string{`Basic realm="x"`, `bearer ERROR="invalid_request" , error_description="bad \"aud\""`}, "invalid_request", `bad "aud"`},
		{"no params", []string{`Bearer`}, "", ""},
		{"no bearer", []string{`Basic realm="x"`}, "", ""},
		{"control characters removed", []string{"Bearer error=\"x\", error_description=\"a\x1b[31mb\""}, "x", "a[31mb"},
		{"unterminated quote", []string{`Bearer error="invalid_token`}, "invalid_token", ""},
		{"garbage", []string{`=,,"" ==`}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, d := bearerError(tt.values)
			if e != tt.err || d != tt.desc {
				t.Errorf("bearerError(%q) = %q, %q; want %q, %q", tt.values, e, d, tt.err, tt.desc)
			}
		})
	}
}

func FuzzBearerError(f *testing.F) {
	f.Add(`Bearer realm="example", error="invalid_token", error_description="x"`)
	f.Add(`Basic a==, Bearer error=x`)
	f.Fuzz(func(t *testing.T, s string) {
		bearerError([]string{s}) // must return, not panic or loop
	})
}
