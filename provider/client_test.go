package provider

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// TestClientFor: a client secret goes in the form body where discovery
// lists client_secret_post (and for hand-set endpoints, which list it), in
// a Basic header where it lists only basic or nothing (the default); a
// public client always sends its ID in the form body.
func TestClientFor(t *testing.T) {
	for _, tt := range []struct {
		name   string
		m      Metadata
		secret string
		want   oauth2.AuthStyle
	}{
		{"post listed", Metadata{TokenEndpointAuthMethods: []string{"client_secret_basic", "client_secret_post"}}, "s", oauth2.AuthStyleInParams},
		{"only basic listed", Metadata{TokenEndpointAuthMethods: []string{"client_secret_basic"}}, "s", oauth2.AuthStyleInHeader},
		{"nothing listed", Metadata{}, "s", oauth2.AuthStyleInHeader},
		{"public client", Metadata{}, "", oauth2.AuthStyleInParams},
	} {
		if got := ClientFor(&tt.m, "cli", tt.secret).AuthStyle(); got != tt.want {
			t.Errorf("%s: auth style %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestClientAuthenticate(t *testing.T) {
	h, form := http.Header{}, url.Values{}
	Client{ID: "my client", Secret: "a:b/c", Basic: true}.Authenticate(h, form)
	r := http.Request{Header: h}
	id, secret, ok := r.BasicAuth()
	if !ok || id != "my+client" || secret != "a%3Ab%2Fc" || len(form) != 0 {
		t.Errorf("basic: %q %q %v, form %v; want the form-encoded pair in the header only", id, secret, ok, form)
	}
	h, form = http.Header{}, url.Values{}
	Client{ID: "cli", Secret: "s"}.Authenticate(h, form)
	if len(h) != 0 || form.Get("client_id") != "cli" || form.Get("client_secret") != "s" {
		t.Errorf("post: header %v, form %v", h, form)
	}
	h, form = http.Header{}, url.Values{}
	Client{ID: "cli"}.Authenticate(h, form)
	if len(h) != 0 || form.Get("client_id") != "cli" || form.Has("client_secret") {
		t.Errorf("public: header %v, form %v", h, form)
	}
}
