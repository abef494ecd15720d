package cmd

import (
	"testing"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

func TestLoginClientSecretSource(t *testing.T) {
	const iss, client = "https://idp.example", "cli"
	stored := func(issuer, clientID, secret string) []byte {
		b, err := (&token.Credential{Issuer: issuer, ClientID: clientID, RefreshToken: "RT", ClientSecret: secret}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name   string
		env    string
		stored []byte
		want   string
	}{
		{"public client", "", nil, ""},
		{"from the environment", "env-secret", nil, "env-secret"},
		{"the environment wins over the stored one", "env-secret", stored(iss, client, "old"), "env-secret"},
		{"kept with the stored credential", "", stored(iss, client, "old"), "old"},
		{"not from another client's credential", "", stored(iss, "other", "old"), ""},
		{"not from another issuer's credential", "", stored("https://evil.example", client, "old"), ""},
		{"not from an unreadable credential", "", []byte("{garbage"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := &LoginOptions{Getenv: func(k string) string { return map[string]string{clientSecretEnv: tt.env}[k] }, Log: func(string, ...any) {}}
			p := &Profile{Name: "default", Settings: Settings{Issuer: iss, ClientID: client}}
			if got := clientSecret(opts, p, tt.stored); got != tt.want {
				t.Errorf("clientSecret = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestClientSecretStyle: a client secret goes in the form body for
// hand-set endpoints (GitHub) and where discovery lists client_secret_post,
// in a Basic header where it lists only basic or nothing (the default).
func TestClientSecretStyle(t *testing.T) {
	explicit := (&Profile{Settings: Settings{TokenURL: "https://github.com/login/oauth/access_token"}}).explicitEndpoints()
	for _, tt := range []struct {
		name string
		m    provider.Metadata
		want oauth2.AuthStyle
	}{
		{"hand-set endpoints", explicit, oauth2.AuthStyleInParams},
		{"post listed", provider.Metadata{TokenEndpointAuthMethods: []string{"client_secret_basic", "client_secret_post"}}, oauth2.AuthStyleInParams},
		{"only basic listed", provider.Metadata{TokenEndpointAuthMethods: []string{"client_secret_basic"}}, oauth2.AuthStyleInHeader},
		{"nothing listed", provider.Metadata{}, oauth2.AuthStyleInHeader},
	} {
		if got := endpointOf(&tt.m).AuthStyle; got != tt.want {
			t.Errorf("%s: auth style %v, want %v", tt.name, got, tt.want)
		}
	}
}
