// Package cmd is authctl's command line: cobra commands and viper config
// turned into plain structs, the wiring of the login, token, keychain and
// curl packages, and the one place where errors become exit codes.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/login"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

// Deps are the parts of the world authctl touches. main builds the real
// ones; tests pass their own.
type Deps struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv looks up an environment variable.
	Getenv func(string) string
	// GOOS is the operating system paths and the browser follow.
	GOOS string
	// HTTPClient talks to the provider and, for curl, to APIs (its
	// Transport is the base under the token transport).
	HTTPClient *http.Client
	// Now is the clock.
	Now func() time.Time
	// Keychain opens the OS keychain with a time limit per call. Nil means
	// keychain.DefaultStore.
	Keychain func(timeout time.Duration) keychain.Store
	// Open overrides the browser opener (tests); nil means login.Opener.
	Open login.OpenFunc
	// Version describes this build.
	Version Version
}

// Main runs authctl with args (without the program name) and returns the
// process's exit code. Cancelling ctx (Ctrl-C) makes it return 130.
func Main(ctx context.Context, args []string, deps Deps) int {
	a := &app{deps: deps}
	root := a.newRoot()
	root.SetArgs(args)
	root.SetIn(deps.Stdin)
	root.SetOut(deps.Stdout)
	root.SetErr(deps.Stderr)
	err := root.ExecuteContext(ctx)
	if err != nil && !a.ran {
		// cobra failed before any command ran: a wrong flag, argument or
		// command name.
		var silent *silentError
		var usage *usageError
		if !errors.As(err, &silent) && !errors.As(err, &usage) {
			err = &usageError{msg: err.Error() + " (see: authctl " + strings.TrimSpace(a.commandPath+" --help") + ")"}
		}
	}
	interrupted := ctx.Err() != nil
	if msg := message(err, interrupted); msg != "" {
		fmt.Fprintln(deps.Stderr, msg)
	}
	return exitCode(err, interrupted)
}

// NewRoot returns authctl's command tree wired to deps, for tools that
// generate documentation and shell completions from it. Running it
// directly skips Main's exit-code mapping.
func NewRoot(deps Deps) *cobra.Command {
	a := &app{deps: deps}
	return a.newRoot()
}

// app holds what every command shares during one run.
type app struct {
	deps Deps
	// ran is set once a command's RunE starts.
	ran bool
	// commandPath is the path of the command being run, for help hints.
	commandPath string

	profileFlag string
	configFlag  string
	verbose     bool

	paths  paths
	config *configFile
}

func (a *app) logf(format string, args ...any) {
	if a.verbose {
		fmt.Fprintf(a.deps.Stderr, "authctl: "+format+"\n", args...)
	}
}

// tell prints a line the user sees with or without --verbose.
func (a *app) tell(format string, args ...any) {
	fmt.Fprintf(a.deps.Stderr, "authctl: "+format+"\n", args...)
}

func (a *app) now() time.Time {
	if a.deps.Now != nil {
		return a.deps.Now()
	}
	return time.Now()
}

func (a *app) httpClient() *http.Client {
	if a.deps.HTTPClient != nil {
		return a.deps.HTTPClient
	}
	return http.DefaultClient
}

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "authctl",
		Short: "Sign in to an OAuth 2.0 / OpenID Connect provider and use the tokens from scripts",
		Long: `authctl signs you in to an OAuth 2.0 / OpenID Connect provider in your browser,
keeps the refresh token in the OS keychain, and hands fresh access tokens to
scripts: authctl token print, authctl curl URL.

Exit codes: 0 ok, 1 failure, 2 usage or config error, 4 login required,
22 curl --fail got a status of 400 or more, 130 interrupted (see: authctl help exit-codes).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           a.deps.Version.String(),
		PersistentPreRunE: a.setup,
	}
	root.SetVersionTemplate("authctl {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see: %s --help)", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&a.profileFlag, "profile", "p", "", "profile to use (default: $AUTHCTL_PROFILE, the config's default_profile, or \"default\")")
	pf.StringVar(&a.configFlag, "config", "", "config file (default: $AUTHCTL_CONFIG or ~/.config/authctl/config.yaml)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "say on stderr what authctl does (never shows a token)")
	_ = root.RegisterFlagCompletionFunc("profile", a.completeProfiles)

	root.AddCommand(
		a.newLogin(),
		a.newToken(),
		a.newCurl(),
		a.newLogout(),
		a.newStatus(),
		a.newWhoami(),
		a.newProfile(),
		a.newVersion(),
	)
	addHelpTopics(root)
	return root
}

// setup runs before every command: it finds the config file and reads it.
func (a *app) setup(c *cobra.Command, _ []string) error {
	a.ran = true
	a.commandPath = strings.TrimPrefix(c.CommandPath(), "authctl ")
	p, err := resolvePaths(a.deps.GOOS, a.deps.Getenv)
	if err != nil {
		return err
	}
	if a.configFlag != "" {
		p.Config = a.configFlag
	}
	a.paths = p
	cf, err := loadConfig(p.Config)
	if err != nil {
		return err
	}
	if a.configFlag != "" && !cf.exists() && needsConfig(a.commandPath) {
		// A --config that names no file is most likely a typo: say so
		// rather than report a profile with no settings. login creates it.
		return usageErrorf("config %s: no such file (authctl login --config %s creates it)", a.configFlag, a.configFlag)
	}
	a.config = cf
	return nil
}

// needsConfig reports whether the command reads profile settings, so that
// a missing --config file is an error for it: every command but login
// (which creates the file), version, completion and help.
func needsConfig(commandPath string) bool {
	switch strings.Fields(commandPath + " x")[0] {
	case "login", "version", "completion", "help", "__complete", "__completeNoDesc":
		return false
	}
	return true
}

// profileName returns the profile to use: --profile, else
// $AUTHCTL_PROFILE, else the config's default_profile, else "default".
func (a *app) profileName() (string, error) {
	name := a.profileFlag
	if name == "" {
		name = a.deps.Getenv("AUTHCTL_PROFILE")
	}
	if name == "" {
		name = a.config.DefaultProfile()
	}
	return name, validProfileName(name)
}

// profile resolves the current profile's settings; flags is the command's
// flag set (login's carries the setting flags), or nil.
func (a *app) profile(c *cobra.Command) (*Profile, error) {
	name, err := a.profileName()
	if err != nil {
		return nil, err
	}
	return resolveProfile(name, a.config, c.Flags(), a.deps.Getenv)
}

// loggedInProfile resolves the current profile for commands that need a
// credential: a profile that names no issuer has never been logged in, so
// it is a login-required error without a look at the keychain.
func (a *app) loggedInProfile(c *cobra.Command) (*Profile, error) {
	p, err := a.profile(c)
	if err != nil {
		return nil, err
	}
	if p.Issuer == "" && p.TokenURL == "" {
		return nil, needLogin(&token.LoginRequiredError{Reason: fmt.Sprintf("not logged in (profile %q has no issuer set)", p.Name)}, p.Name)
	}
	return p, nil
}

// store returns where p's credential lives.
func (a *app) store(p *Profile) keychain.Store {
	if p.InsecureStorage {
		return keychain.NewFile(a.insecureDir())
	}
	if a.deps.Keychain != nil {
		return a.deps.Keychain(p.KeychainTimeout)
	}
	return keychain.DefaultStore(keychain.SystemOptions{Timeout: p.KeychainTimeout, Getenv: a.deps.Getenv})
}

func (a *app) insecureDir() string { return filepath.Join(a.paths.State, "credentials") }

// warnInsecure prints the warning every use of file storage carries.
func (a *app) warnInsecure(p *Profile) {
	if p.InsecureStorage {
		fmt.Fprintf(a.deps.Stderr, "authctl: warning: profile %q keeps its tokens in a plain file under %s (--insecure-storage), not in the OS keychain\n", p.Name, a.insecureDir())
	}
}

func (a *app) resolver() provider.Resolver {
	return provider.Resolver{Client: a.httpClient(), Cache: provider.Cache{Dir: a.paths.Cache, Now: a.deps.Now}}
}

// explicitEndpoints returns the endpoints p sets by hand.
func explicitEndpoints(p *Profile) provider.Metadata {
	return provider.Metadata{
		Issuer:                      p.Issuer,
		AuthorizationEndpoint:       p.AuthURL,
		TokenEndpoint:               p.TokenURL,
		DeviceAuthorizationEndpoint: p.DeviceAuthURL,
		RevocationEndpoint:          p.RevocationURL,
		UserinfoEndpoint:            p.UserinfoURL,
		JWKSURI:                     p.JWKSURL,
		// Used as they are only with a token URL set, for servers without
		// discovery; they take a client secret in the form body (GitHub).
		TokenEndpointAuthMethods: []string{"client_secret_post"},
	}
}

// metadata returns the provider's endpoints for p: explicit settings, the
// cache, or discovery.
func (a *app) metadata(ctx context.Context, p *Profile) (*provider.Metadata, error) {
	if p.Issuer == "" && p.TokenURL == "" {
		return nil, usageErrorf("profile %q has no issuer: run: authctl login --issuer URL --client-id ID", p.Name)
	}
	m, err := a.resolver().Resolve(ctx, p.Name, p.Issuer, explicitEndpoints(p))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// source builds the token source of p.
func (a *app) source(p *Profile) *token.Source {
	return &token.Source{
		Store:    a.store(p),
		Account:  p.Name,
		Issuer:   p.Issuer,
		ClientID: p.ClientID,
		Endpoint: func(ctx context.Context) (oauth2.Endpoint, error) {
			m, err := a.metadata(ctx, p)
			if err != nil {
				return oauth2.Endpoint{}, err
			}
			return endpointOf(m), nil
		},
		HTTPClient:    a.httpClient(),
		Lock:          token.FileLocker{Dir: filepath.Join(a.paths.State, "locks")},
		VerifyIDToken: a.idTokenVerifier(p),
		Now:           a.deps.Now,
		Log:           a.logf,
		Warn:          func(format string, args ...any) { a.tell("warning: "+format, args...) },
		// main ends the process at a second Ctrl-C.
		Finishing: func() { a.tell("finishing the refresh; Ctrl-C again to abort") },
	}
}

// idTokenVerifier checks an ID token returned by a refresh the way a login
// does, against the provider's keys; it returns the token's subject.
func (a *app) idTokenVerifier(p *Profile) func(ctx context.Context, raw, accessToken string) (string, error) {
	return func(ctx context.Context, raw, accessToken string) (string, error) {
		m, err := a.metadata(ctx, p)
		if err != nil {
			return "", err
		}
		lo := login.Options{
			OAuth2:     oauth2.Config{ClientID: p.ClientID},
			Issuer:     orDefault(m.Issuer, p.Issuer),
			JWKSURL:    m.JWKSURI,
			HTTPClient: a.httpClient(),
			Now:        a.deps.Now,
		}
		claims, err := lo.VerifyIDToken(ctx, raw, accessToken)
		return claims.Subject, err
	}
}

// loginHint is the next step for a profile that needs a login.
func loginHint(profile string) string {
	if profile == "default" {
		return "run: authctl login"
	}
	return "run: authctl login -p " + profile
}

// needLogin adds the login hint to login-required errors, and to a
// refresh the provider refused because it did not accept the client
// (invalid_client: a wrong client ID, or a client secret that changed).
// The credential stays: the refresh token itself was not refused.
func needLogin(err error, profile string) error {
	if errors.Is(err, token.ErrLoginRequired) {
		return withNextStep(err, loginHint(profile))
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.ErrorCode == "invalid_client" {
		return withNextStep(err, "check the client ID; if the provider's client secret changed, "+loginHint(profile)+" with the new one in $"+clientSecretEnv)
	}
	return err
}

// endpointOf turns discovered metadata into x/oauth2's endpoint. The
// client ID, and a client secret when there is one, go in the form body
// unless the provider takes client secrets only in a Basic header; a
// caller without a client secret always uses the form body.
func endpointOf(m *provider.Metadata) oauth2.Endpoint {
	style := oauth2.AuthStyleInParams
	if m.SecretInHeader() {
		style = oauth2.AuthStyleInHeader
	}
	return oauth2.Endpoint{
		AuthURL:       m.AuthorizationEndpoint,
		TokenURL:      m.TokenEndpoint,
		DeviceAuthURL: m.DeviceAuthorizationEndpoint,
		AuthStyle:     style,
	}
}
