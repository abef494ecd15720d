package wwwauth

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []Challenge
	}{
		{"rfc 6750", []string{`Bearer realm="example", error="invalid_token", error_description="The access token expired"`},
			[]Challenge{{"Bearer", map[string]string{"realm": "example", "error": "invalid_token", "error_description": "The access token expired"}}}},
		{"rfc 9470 step-up", []string{`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`},
			[]Challenge{{"Bearer", map[string]string{"error": "insufficient_user_authentication", "error_description": "A different authentication level is required", "acr_values": "myACR"}}}},
		{"rfc 9449 nonce with a second challenge", []string{`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", Bearer realm="x"`},
			[]Challenge{
				{"DPoP", map[string]string{"error": "use_dpop_nonce", "error_description": "Resource server requires nonce in DPoP proof"}},
				{"Bearer", map[string]string{"realm": "x"}},
			}},
		{"two values", []string{`Basic realm="x"`, `dpop algs="ES256 PS256"`},
			[]Challenge{{"Basic", map[string]string{"realm": "x"}}, {"dpop", map[string]string{"algs": "ES256 PS256"}}}},
		{"token68 then params", []string{`Negotiate abc==, Bearer max_age=300`},
			[]Challenge{{"Negotiate", map[string]string{}}, {"Bearer", map[string]string{"max_age": "300"}}}},
		{"names lowercased, escapes undone", []string{`Bearer ERROR="a\"b"`},
			[]Challenge{{"Bearer", map[string]string{"error": `a"b`}}}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse(tt.values); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %#v; want %#v", tt.values, got, tt.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	values := []string{`Basic realm="x"`, `Bearer error="a", DPoP error="use_dpop_nonce"`}
	ch, ok := Find(values, "dpop")
	if !ok || ch.Params["error"] != "use_dpop_nonce" {
		t.Errorf("Find dpop = %v, %v", ch, ok)
	}
	if _, ok := Find(values, "Digest"); ok {
		t.Error("Find found a Digest challenge that is not there")
	}
}

func TestParseBoundsALongValue(t *testing.T) {
	long := `Bearer error="` + strings.Repeat("a", 3*maxValue) + `"`
	got := Parse([]string{long})
	if len(got) != 1 || len(got[0].Params["error"]) >= maxValue {
		t.Errorf("a %d-byte value: %d challenges, error of %d bytes", len(long), len(got), len(got[0].Params["error"]))
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`Bearer realm="example", error="invalid_token", error_description="x"`)
	f.Add(`Basic a==, Bearer error=x, DPoP algs="ES256"`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, ch := range Parse([]string{s}) {
			if ch.Scheme == "" {
				t.Fatalf("a challenge without a scheme from %q", s)
			}
		}
	})
}
