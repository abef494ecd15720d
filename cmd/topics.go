package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// addHelpTopics adds `authctl help <topic>` pages: commands without a Run,
// which cobra lists as additional help topics.
func addHelpTopics(root *cobra.Command) {
	var env strings.Builder
	for _, s := range settings {
		if s.Env != "" {
			fmt.Fprintf(&env, "  %-26s %s\n", s.Env, s.Usage)
		}
	}
	root.AddCommand(
		&cobra.Command{
			Use:   "exit-codes",
			Short: "What authctl's exit codes mean",
			Long: `Exit codes, for scripts:

  0    success
  1    failure: network, provider error, keychain error (nothing deleted)
  2    usage or configuration error (a wrong flag, a broken config file)
  4    login required: no credential, a credential for another issuer or
       client, or the provider rejected the refresh token (the dead
       credential is then deleted). Run: authctl login
  22   authctl curl --fail got an HTTP status of 400 or more (as curl);
       curl's 6 (cannot resolve), 7 (cannot connect) and 28 (timeout) too
  130  interrupted (Ctrl-C)

A transient failure (provider down, 5xx, timeout, keychain locked) never
deletes a credential. Errors go to stderr as one line "authctl: ...",
with the next step to take where there is one.`,
		},
		&cobra.Command{
			Use:   "environment",
			Short: "Environment variables authctl reads",
			Long: `Environment variables (a flag wins over its variable, the variable over the
config file):

  AUTHCTL_PROFILE            profile to use when --profile is not given
  AUTHCTL_CONFIG             config file (default ~/.config/authctl/config.yaml)
  AUTHCTL_CLIENT_SECRET      client secret for login, for providers that issue one to
                             installed apps (Google, GitHub); kept in the keychain with
                             the credential for refresh and logout, never in the config
` + env.String() + `  BROWSER                    browser command for login; the URL is added as its last argument
  XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME
                             where the config, lock files and caches live (Linux)
  DBUS_SESSION_BUS_ADDRESS   the D-Bus session bus of the Secret Service (Linux)`,
		},
		&cobra.Command{
			Use:   "storage",
			Short: "Where authctl keeps credentials, settings and caches",
			Long: `Where things live:

  credential  the OS keychain: macOS Keychain, Windows Credential Manager, or the
              Secret Service (gnome-keyring, KWallet) on Linux; service "authctl",
              account = the profile name. It holds the refresh token, the access
              token and its expiry, the ID token, the issuer and client it
              belongs to, and the client secret if login was given one. Credentials too large for one keychain item are split
              over several, and replaced atomically.
              With --insecure-storage (saved with the profile): a 0600 file under
              $XDG_STATE_HOME/authctl/credentials/, with a warning at every use.
  settings    the config file, never secrets: $AUTHCTL_CONFIG, else
              $XDG_CONFIG_HOME/authctl/config.yaml, else ~/.config/authctl/config.yaml
              (%AppData%\authctl\config.yaml on Windows).
  locks       one lock file per profile under $XDG_STATE_HOME/authctl/locks/; held
              only during a refresh, released by the OS if the process dies.
  cache       discovery documents under $XDG_CACHE_HOME/authctl/ (one day).
  access      on Linux, a copy of the access token (with its type and expiry;
  token       never the refresh token, ID token or client secret) in the kernel's
  copy        user keyring, in memory only, readable by your own processes only,
              dropped by the kernel when the token is within 30s of expiry.
              A plain "authctl token print" hands it out without reading the
              keychain. Login, logout, every refresh, a refused token and any
              change of the profile's settings or config file replace or drop
              it. Where keyctl is refused (some containers), authctl reads the
              keychain every time; -v says why.

A locked keychain stops refreshes, not the use of a token that is still
valid: token print goes on printing the copy until it is within 30s of its
expiry.

authctl logout deletes the credential, its copy and the cache of a
profile; authctl profile remove also removes its settings.`,
		},
	)
}
