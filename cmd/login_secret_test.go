package cmd

import (
	"testing"

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
		{"kept across a trailing slash of the issuer", "", stored(iss+"/", client, "old"), "old"},
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
