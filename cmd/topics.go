package cmd

import (
	"strings"

	"github.com/spf13/cobra"
)

// addHelpTopics adds `authctl help <topic>` pages: commands without a Run,
// which cobra lists as additional help topics.
func addHelpTopics(root *cobra.Command) {
	root.AddCommand(
		&cobra.Command{
			Use:   "exit-codes",
			Short: "What authctl's exit codes mean",
			Long: `Exit codes, for scripts:

  0    success
  1    failure: network, provider error, keychain error (nothing deleted);
       logout --require-revoke when the tokens could not be revoked
  2    usage or configuration error (a wrong flag, a broken config file,
       a URL authctl curl cannot use)
  4    login required: no credential, a credential for another issuer or
       client, or the provider rejected the refresh token (the dead
       credential is then deleted). Run: authctl login
  5    step-up required: an API refused the token because the login behind
       it is not strong or recent enough (RFC 9470); the message names the
       authctl login that satisfies it (authctl curl --step-up runs it)
  22   authctl curl --fail got an HTTP status of 400 or more (as curl);
       curl's 6 (cannot resolve), 7 (cannot connect) and 28 (timeout) too
  130  interrupted (Ctrl-C)

authctl exec exits with its command's status instead: 128+N when a signal N
ended the command, 127 when the command is not found, 126 when it cannot be
run (as a shell does); 1, 2 and 4 when authctl failed before starting it.

A transient failure (provider down, 5xx, timeout, keychain locked) never
deletes a credential. Errors go to stderr as one line "authctl: ...",
with the next step to take where there is one.`,
		},
		&cobra.Command{
			Use:   "environment",
			Short: "Environment variables authctl reads",
			Long:  environmentPage(),
		},
		&cobra.Command{
			Use:   "storage",
			Short: "Where authctl keeps credentials, settings and caches",
			Long: "Where things live:\n\n" + table(13, [][2]string{
				{"credential", `the OS keychain: macOS Keychain, Windows Credential Manager, or the Secret Service (gnome-keyring, KWallet) on Linux; service "authctl", account = the profile name. It holds the refresh token, the access token and its expiry, the ID token, the issuer and client it belongs to, what the login asked for (scopes, auth_params), the client secret if login was given one, and the private DPoP key the tokens are bound to after login --dpop. Credentials too large for one keychain item are split over several, and replaced atomically.`},
				{"", "With --insecure-storage (saved with the profile): a 0600 file under $XDG_STATE_HOME/authctl/credentials/, with a warning at every use; a file or directory other users may read or write is refused until chmod 600 (file) or chmod 700 (directory) fixes it. A login that switches a profile between the keychain and this file deletes the credential in the other place; a logout deletes both."},
				{"settings", `the config file, never secrets: $AUTHCTL_CONFIG, else $XDG_CONFIG_HOME/authctl/config.yaml, else ~/.config/authctl/config.yaml (%AppData%\authctl\config.yaml on Windows).`},
				{"locks", "two lock files per profile under $XDG_STATE_HOME/authctl/locks/, released by the OS if the process dies: the refresh lock, held only during a refresh (and while a login stores its credential), and the login lock, held during a login so that a second login of the profile waits."},
				{"cache", "discovery documents under $XDG_CACHE_HOME/authctl/ (one day)."},
				{"token copy", `on Linux, a copy of the access token (with its type and expiry; never the refresh token, ID token or client secret) in the kernel's user keyring: in memory only, readable by your own processes only, dropped by the kernel when the token is within its refresh margin of its expiry (30s, a third of the lifetime of a token that lives less than 90s). A plain "authctl token print" hands it out without reading the keychain. Login, logout, every refresh, a token an API refused, and any change of the profile's settings or config file replace or drop it. Where keyctl is refused (some containers), authctl reads the keychain every time; -v says why.`},
			}) + `
A locked keychain stops refreshes, not the use of a token that is still
valid: token print goes on printing the copy until it is within its refresh
margin of its expiry.

authctl logout deletes the credential, its copy and the cache of a
profile; authctl profile remove also removes its settings.`,
		},
	)
}

// environmentPage is the text of `authctl help environment`.
func environmentPage() string {
	rows := [][2]string{
		{"AUTHCTL_PROFILE", "profile to use when --profile is not given"},
		{"AUTHCTL_CONFIG", "config file (default ~/.config/authctl/config.yaml)"},
		{clientSecretEnv, "client secret for login, for providers that issue one to installed apps (Google, GitHub); kept in the keychain with the credential for refresh and logout, never in the config"},
	}
	for _, s := range settings {
		if s.Env != "" {
			rows = append(rows, [2]string{s.Env, s.Usage})
		}
	}
	rows = append(rows,
		[2]string{"BROWSER", "browser command for login; the URL is added as its last argument"},
		[2]string{"XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME", "where the config, lock files and caches live (Linux)"},
		[2]string{"DBUS_SESSION_BUS_ADDRESS", "the D-Bus session bus of the Secret Service (Linux)"},
		[2]string{"KUBERNETES_EXEC_INFO", "set by kubectl for token print --format exec-credential: the ExecCredential apiVersion it wants, and whether it is interactive"},
	)
	return `Environment variables (a flag wins over its variable, the variable over the
config file; an AUTHCTL_ variable not listed here is an error):

` + table(29, rows) + `
Set by authctl exec for the command it runs (and accepted when that command
runs authctl again):

` + table(29, [][2]string{
		{"AUTHCTL_ACCESS_TOKEN", "the access token (the default of --env)"},
		{"AUTHCTL_ID_TOKEN", "the ID token, with --id-token-env AUTHCTL_ID_TOKEN"},
	})
}

// table lays out rows of (term, description) in two columns, the
// descriptions starting at column indent and wrapped at helpWidth; a term
// too long for its column gets a line of its own.
func table(indent int, rows [][2]string) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, r := range rows {
		lines := wrap(r[1], helpWidth-indent)
		term := "  " + r[0]
		switch {
		case r[0] == "":
			term = pad
		case len(term)+1 > indent:
			b.WriteString(term + "\n")
			term = pad
		default:
			term += strings.Repeat(" ", indent-len(term))
		}
		for i, l := range lines {
			if i > 0 {
				term = pad
			}
			b.WriteString(term + l + "\n")
		}
	}
	return b.String()
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
