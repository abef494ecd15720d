package login

import (
	"testing"

	"github.com/authctl/authctl/provider"
)

// FuzzPastedResponse feeds hostile text to the paste route (what a person
// pastes, or whatever lands on authctl's stdin) and checks what reaches
// the code exchange: parsePasted accepts only an authorization response,
// and the checker hands out a code only for this login's state and
// issuer, the code that was sent, with no error alongside.
// Seeds: testdata/fuzz/FuzzPastedResponse.
func FuzzPastedResponse(f *testing.F) {
	const state, issuer = "st4te-of-this-login", "https://idp.example/tenant"
	f.Fuzz(func(t *testing.T, pasted string, issRequired bool) {
		q, ok := parsePasted(pasted)
		if ok != (q != nil && isAuthResponse(q)) {
			t.Fatalf("parsePasted(%q) = %v, %v: ok must mean an authorization response", pasted, q, ok)
		}
		if !ok {
			return
		}
		c := checker{state: state, issuer: issuer, issRequired: issRequired}
		code, err := c.check(q)
		if err != nil {
			if code != "" {
				t.Fatalf("check returned code %q with error %v", code, err)
			}
			return
		}
		if code == "" || code != q.Get("code") {
			t.Fatalf("check accepted %q with code %q; the response's code is %q", pasted, code, q.Get("code"))
		}
		if q.Get("state") != state || len(q["state"]) != 1 {
			t.Fatalf("check accepted %q, whose state is %q", pasted, q["state"])
		}
		if iss, has := q["iss"]; (has && (len(iss) != 1 || !provider.IssuerMatches(issuer, iss[0]))) || (!has && issRequired) {
			t.Fatalf("check accepted %q with iss %q (required: %v)", pasted, iss, issRequired)
		}
		if q.Has("error") && q.Get("error") != "" {
			t.Fatalf("check accepted an error response %q", pasted)
		}
	})
}
