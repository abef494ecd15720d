package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/dpop"
	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/login"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/token"
)

// LoginOptions is one `authctl login`.
type LoginOptions struct {
	IO      IOStreams
	Profile *Profile
	Now     func() time.Time
	Log     func(string, ...any)
	// Getenv finds the client secret ($AUTHCTL_CLIENT_SECRET).
	Getenv func(string) string
	// Open opens the browser; nil means none can be opened here, for the
	// reason NoBrowserReason.
	Open            login.OpenFunc
	NoBrowserReason string
	// CanPrompt says whether the keychain can ask the user to unlock it
	// (a desktop session).
	CanPrompt bool
	// StdinIsTerminal says that IO.In is a terminal: a pasted redirect
	// URL is taken there even while a browser is open.
	StdinIsTerminal bool
	// LockLogin takes the profile's login lock, calling busy when another
	// login holds it and the wait begins. Nil means no lock (tests).
	LockLogin func(ctx context.Context, busy func(path string)) (unlock func(), err error)
	// OnDemand is a login another command started because it needs one
	// (kubectl's exec plugin): when it had to wait for another login of
	// the profile, and that one left a credential that works, it uses
	// that credential instead of signing in again.
	OnDemand bool

	// Per login, never saved: step-up parameters.
	Prompt    string
	MaxAge    time.Duration
	ACRValues []string
}

// NewCmdLogin returns `authctl login`; runF, when not nil, receives the
// options instead of loginRun (tests).
func NewCmdLogin(f *Factory, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: f.IO(), Now: f.Now, Log: f.Log, Getenv: f.deps.Getenv}
	c := &cobra.Command{
		Use:   "login",
		Short: "Log in in the browser (code flow + PKCE); store the credential",
		Long: `Log in with the system browser: authorization code with PKCE (S256), the code
caught on a loopback redirect (http://127.0.0.1:PORT/callback). The refresh
token goes to the OS keychain. Settings given as flags are saved to the
profile in the config file, so later commands need only --profile.

$BROWSER, when set, is the browser command (the URL is added as its last
argument). The URL is always printed on stderr too; what the browser prints
shows only with -v. At a terminal, the address the browser ends on can be
pasted back while the browser is open. Over SSH or without a display, use
--no-browser (paste the redirected URL back) or --device. A second login of
the same profile waits for the first to end.

A provider that issues a client secret even to installed apps (Google,
GitHub) gets it from $AUTHCTL_CLIENT_SECRET, never from a flag: it is kept
in the keychain with the credential for refreshes and logout, so later
logins to the same issuer and client need not set it again.`,
		Example: `  authctl login --issuer https://id.example.com --client-id authctl
  authctl login -p work --issuer https://login.example.org/realm \
    --client-id cli --scopes openid,offline_access,email
  authctl login --device`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			p, err := f.Profile(c.Flags(), true)
			if err != nil {
				return err
			}
			opts.Profile = p
			opts.Open, opts.NoBrowserReason = f.opener()
			opts.CanPrompt = f.canPrompt()
			opts.StdinIsTerminal = f.stdinIsTerminal()
			opts.LockLogin = f.loginLock(p)
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return loginRun(c.Context(), opts)
		},
	}
	addSettingFlags(c)
	fl := c.Flags()
	fl.StringVar(&opts.Prompt, "prompt", "", "OIDC prompt for this login, e.g. login to force a fresh authentication (not saved)")
	fl.DurationVar(&opts.MaxAge, "max-age", 0, "OIDC max_age for this login: re-authenticate if the last login is older (not saved)")
	fl.StringSliceVar(&opts.ACRValues, "acr-values", nil, "OIDC acr_values to ask for in this login, comma separated (not saved)")
	return c
}

// loginOptions are the options of a login of profile p started by
// another command (kubectl's exec plugin logging in on demand).
func (f *Factory) loginOptions(p *Profile) *LoginOptions {
	opts := &LoginOptions{
		IO: f.IO(), Profile: p, Now: f.Now, Log: f.Log, Getenv: f.deps.Getenv,
		CanPrompt: f.canPrompt(), StdinIsTerminal: f.stdinIsTerminal(), LockLogin: f.loginLock(p), OnDemand: true,
	}
	opts.Open, opts.NoBrowserReason = f.opener()
	return opts
}

// addSettingFlags adds a flag for every profile setting that has one.
func addSettingFlags(c *cobra.Command) {
	f := c.Flags()
	for _, s := range settings {
		if s.Flag == "" {
			continue
		}
		switch d := s.Default.(type) {
		case []string:
			f.StringSlice(s.Flag, d, s.Usage)
		case int:
			f.Int(s.Flag, d, s.Usage)
		case bool:
			f.Bool(s.Flag, d, s.Usage)
		case time.Duration:
			f.Duration(s.Flag, d, s.Usage)
		case map[string]string:
			f.StringToString(s.Flag, d, s.Usage)
		case nil:
			f.String(s.Flag, "", s.Usage)
		default:
			f.String(s.Flag, fmt.Sprint(d), s.Usage)
		}
	}
}

// opener chooses how this machine opens the login page. What the
// browser prints reaches the terminal only with --verbose.
func (f *Factory) opener() (login.OpenFunc, string) {
	if f.deps.Open != nil {
		return f.deps.Open, ""
	}
	out := io.Discard
	if f.verbose {
		out = f.deps.Stderr
	}
	return login.Opener(f.deps.Getenv, f.deps.GOOS, out, f.deps.SystemBrowser)
}

// stdinIsTerminal reports whether stdin is a terminal.
func (f *Factory) stdinIsTerminal() bool {
	return f.deps.StdinIsTerminal != nil && f.deps.StdinIsTerminal()
}

// canPrompt reports whether the keychain can ask the user to unlock it:
// always on macOS and Windows, only with a display elsewhere.
func (f *Factory) canPrompt() bool {
	switch f.deps.GOOS {
	case "darwin", "windows":
		return true
	}
	return f.deps.Getenv("DISPLAY") != "" || f.deps.Getenv("WAYLAND_DISPLAY") != ""
}

// loginLock returns the function that takes p's login lock, a file
// beside the refresh locks.
func (f *Factory) loginLock(p *Profile) func(context.Context, func(string)) (func(), error) {
	return func(ctx context.Context, busy func(string)) (func(), error) {
		ps, err := f.Paths()
		if err != nil {
			return nil, err
		}
		return token.FileLocker{Dir: lockDir(ps)}.LockLogin(ctx, p.Name, busy)
	}
}

// loginRun signs in, and only once that fully succeeded replaces the
// stored credential and saves the settings given as flags. One login of a
// profile runs at a time: a second one says so and waits.
func loginRun(ctx context.Context, opts *LoginOptions) error {
	p := opts.Profile
	if err := checkLoginSettings(p); err != nil {
		return err
	}
	unlock, waited, err := takeLoginLock(ctx, opts)
	if err != nil {
		return err
	}
	defer unlock()
	if waited && opts.OnDemand {
		if _, err := p.Source.Token(ctx, 0); err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "authctl: the other login of profile %q succeeded; using its credential\n", p.Name)
			return nil
		}
	}
	p.WarnInsecure(opts.IO.ErrOut)
	stored, err := storedForLogin(ctx, p, opts.CanPrompt)
	if err != nil {
		return err
	}
	secret := clientSecret(opts, p, stored)
	m, err := loginEndpoints(ctx, p)
	if err != nil {
		return err
	}
	key, err := proofKey(p)
	if err != nil {
		return err
	}
	res, err := signIn(ctx, opts, m, secret, key)
	if err != nil {
		return err
	}
	cred, err := newCredential(p, res, secret, key)
	if err != nil {
		return err
	}
	if err := saveLogin(ctx, opts, p, cred); err != nil {
		return err
	}
	reportLogin(opts, p, m, res, cred)
	return nil
}

// takeLoginLock takes the profile's login lock, waiting at most the
// login's timeout for another login of the profile to end; it says so
// when it waits, and reports whether it did.
func takeLoginLock(ctx context.Context, opts *LoginOptions) (unlock func(), waited bool, err error) {
	if opts.LockLogin == nil {
		return func() {}, false, nil
	}
	p := opts.Profile
	wait := p.Timeout
	if wait <= 0 {
		wait = defaultLoginTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	unlock, err = opts.LockLogin(wctx, func(string) {
		waited = true
		fmt.Fprintf(opts.IO.ErrOut, "authctl: another login of profile %q is running; waiting up to %s for it to end (Ctrl-C to cancel)…\n", p.Name, wait)
	})
	switch {
	case errors.Is(err, token.ErrLoginRunning):
		return nil, waited, withNextStep(err, "finish or cancel the other login, then try again")
	case err != nil:
		return nil, waited, err
	}
	if waited {
		opts.Log("the other login of profile %q ended; going on", p.Name)
	}
	return unlock, waited, nil
}

// defaultLoginTimeout is how long a login waits for the user when the
// profile sets no timeout (the login package's default).
const defaultLoginTimeout = 5 * time.Minute

// checkLoginSettings refuses settings no login can work with.
func checkLoginSettings(p *Profile) error {
	switch {
	case !p.hasProvider():
		return usageErrorf("no issuer for profile %q: pass --issuer URL (and --client-id ID)", p.Name)
	case p.ClientID == "":
		return usageErrorf("no client id for profile %q: pass --client-id ID", p.Name)
	case p.Device && p.NoBrowser:
		return usageErrorf("--device and --no-browser exclude each other (check the profile's device and no_browser settings)")
	}
	return provider.CheckSettings(p.Issuer, p.explicitEndpoints())
}

// storedForLogin reads the stored credential before the browser opens, to
// find out whether a credential can be stored at all: otherwise the user
// signs in for nothing and leaves a fresh grant behind at the provider. A
// locked collection stops the login only where no unlock prompt can be
// shown (Linux without a display); on a desktop, saving asks the user to
// unlock it.
func storedForLogin(ctx context.Context, p *Profile, canPrompt bool) ([]byte, error) {
	stored, err := p.Store.Get(ctx, p.Name)
	switch {
	case err == nil:
		return stored, nil
	case errors.Is(err, keychain.ErrUnavailable) && (!errors.Is(err, keychain.ErrLocked) || !canPrompt):
		return nil, fmt.Errorf("cannot store a credential: %w", err)
	}
	return nil, nil
}

// clientSecretEnv names the variable a client secret comes from. It is
// never a flag (other users can read a process's arguments) nor a config
// setting (the config file holds no secrets).
const clientSecretEnv = "AUTHCTL_CLIENT_SECRET"

// clientSecret is the client secret for a login: $AUTHCTL_CLIENT_SECRET,
// else the one kept with the profile's stored credential when that
// credential is for the same issuer and client, else none (a public
// client). stored is the stored credential's encoding, if any.
func clientSecret(opts *LoginOptions, p *Profile, stored []byte) string {
	if s := opts.Getenv(clientSecretEnv); s != "" {
		opts.Log("using the client secret from $%s", clientSecretEnv)
		return s
	}
	if stored == nil {
		return ""
	}
	c, err := token.Decode(stored)
	if err != nil || c.ClientSecret == "" || !provider.IssuerMatches(p.Issuer, c.Issuer) || c.ClientID != p.ClientID {
		return ""
	}
	opts.Log("using the client secret kept with the stored credential")
	return c.ClientSecret
}

// loginEndpoints finds the provider's endpoints anew (a login always
// discovers, so endpoint changes are picked up) and checks that they
// allow the login asked for.
func loginEndpoints(ctx context.Context, p *Profile) (*provider.Metadata, error) {
	m := p.explicitEndpoints()
	if p.TokenURL == "" {
		dm, err := p.Resolver.Refresh(ctx, p.Name, p.Issuer)
		if err != nil {
			return nil, discoveryError(fmt.Errorf("find the provider's endpoints: %w", err), p)
		}
		overlaid, err := provider.Overlay(dm, m)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		m = *overlaid
	} else if err := m.Validate(); err != nil {
		return nil, usageErrorf("endpoint settings: %v", err)
	}
	switch {
	case !m.SupportsS256():
		return nil, fmt.Errorf("the provider at %s does not support PKCE S256, which authctl requires", p.Issuer)
	case p.Device && m.DeviceAuthorizationEndpoint == "":
		return nil, usageErrorf("the provider advertises no device authorization endpoint; use --no-browser instead of --device")
	case !p.Device && m.AuthorizationEndpoint == "":
		return nil, usageErrorf("the provider has no authorization endpoint: set --auth-url")
	case p.DPoP && !m.SupportsDPoP():
		return nil, usageErrorf("the provider at %s does not support DPoP (its discovery lists no dpop_signing_alg_values_supported with ES256); log in with --dpop=false", orDefault(p.Issuer, m.TokenEndpoint))
	}
	return &m, nil
}

// proofKey makes the DPoP key a login of p binds the tokens to, or
// returns nil when p does not ask for DPoP. Each login makes a new one:
// the key lives and dies with the credential.
func proofKey(p *Profile) (*dpop.Key, error) {
	if !p.DPoP {
		return nil, nil
	}
	return dpop.NewKey()
}

// signIn runs the browser or device flow; key, when set, is the DPoP key
// the tokens are to be bound to.
func signIn(ctx context.Context, opts *LoginOptions, m *provider.Metadata, secret string, key *dpop.Key) (*login.Result, error) {
	lo := flowOptions(opts, m, secret)
	lo.DPoP = key
	var res *login.Result
	var err error
	if opts.Profile.Device {
		res, err = login.Device(ctx, lo)
	} else {
		res, err = login.Browser(ctx, lo)
	}
	if err == nil || errors.Is(err, context.Canceled) {
		return res, err
	}
	if errors.Is(err, login.ErrBadOptions) {
		return nil, usageErrorf("%v", err)
	}
	err = fmt.Errorf("login failed: %w", err)
	var pe *login.ProviderError
	if errors.As(err, &pe) && pe.Code == "invalid_client" {
		return nil, withNextStep(err, "check the client ID, and set $"+clientSecretEnv+" if the provider issued the client a secret or changed it")
	}
	return nil, err
}

// flowOptions are the login package's options for this login.
func flowOptions(opts *LoginOptions, m *provider.Metadata, secret string) login.Options {
	p := opts.Profile
	ep := endpointOf(m, p.ClientID, secret)
	return login.Options{
		OAuth2: oauth2.Config{
			ClientID:     p.ClientID,
			ClientSecret: secret,
			Endpoint:     ep,
			Scopes:       p.Scopes,
		},
		Issuer:                orDefault(m.Issuer, p.Issuer),
		IssParameterSupported: m.IssParameterSupported,
		JWKSURL:               m.JWKSURI,
		RedirectHost:          p.RedirectHost,
		Port:                  p.Port,
		CallbackPath:          p.CallbackPath,
		Prompt:                opts.Prompt,
		NoOfflineConsent:      !p.ConsentPrompt,
		MaxAge:                opts.MaxAge,
		ACRValues:             opts.ACRValues,
		ExtraParams:           p.AuthParams,
		Timeout:               p.Timeout,
		Open:                  opts.Open,
		NoBrowserReason:       opts.NoBrowserReason,
		NoBrowser:             p.NoBrowser,
		Stdin:                 opts.IO.In,
		StdinIsTerminal:       opts.StdinIsTerminal,
		Stderr:                opts.IO.ErrOut,
		HTTPClient:            p.HTTPClient,
		Now:                   opts.Now,
		Log:                   opts.Log,
	}
}

// newCredential is what a login stores: the tokens, the client secret,
// the DPoP key they are bound to, and what they were minted for.
func newCredential(p *Profile, res *login.Result, secret string, key *dpop.Key) (*token.Credential, error) {
	cred := token.FromOAuth2(p.Issuer, p.ClientID, res.Token)
	cred.IDToken = res.IDToken
	cred.ClientSecret = secret
	if len(cred.Scopes) == 0 {
		cred.Scopes = p.Scopes
	}
	cred.Minted = &token.Minted{Scopes: slices.Clone(p.Scopes), AuthParams: maps.Clone(p.AuthParams)}
	if key != nil {
		if err := cred.SetProofKey(key); err != nil {
			return nil, err
		}
	}
	return cred, nil
}

// saveLogin replaces the stored credential (now that the login has fully
// succeeded) and saves the settings given as flags to the config file.
func saveLogin(ctx context.Context, opts *LoginOptions, p *Profile, cred *token.Credential) error {
	if err := p.Source.Replace(context.WithoutCancel(ctx), cred); err != nil {
		return err
	}
	if err := dropLeftover(ctx, p); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "authctl: warning: could not delete the credential of an earlier login: %v\n", err)
	}
	if err := saveSettings(p); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "authctl: warning: logged in, but the settings were not saved: %v\n", err)
	}
	return nil
}

// saveSettings writes the settings given as flags to the profile, creates
// the profile when the config lacks it, and makes it the default when
// the config names none. The file is written only when something changed.
func saveSettings(p *Profile) error {
	cf := p.Config
	if cf.Lookup("profiles", p.Name) == nil && len(p.FromFlags) == 0 {
		if err := cf.Set(map[string]string{}, "profiles", p.Name); err != nil {
			return err
		}
	}
	for _, st := range settings {
		v, ok := p.FromFlags[st.Key]
		if !ok {
			continue
		}
		if err := cf.Set(v, "profiles", p.Name, st.Key); err != nil {
			return err
		}
	}
	if cf.Lookup("default_profile") == nil {
		if err := cf.Set(p.Name, "default_profile"); err != nil {
			return err
		}
	}
	return cf.Save()
}

// reportLogin says who is logged in where, and warns when the session
// cannot be refreshed.
func reportLogin(opts *LoginOptions, p *Profile, m *provider.Metadata, res *login.Result, cred *token.Credential) {
	who := res.Claims.Email
	if who == "" {
		who = res.Claims.PreferredUsername
	}
	if who == "" {
		who = res.Claims.Subject
	}
	if who != "" {
		who = " as " + safetext.Clean(who, 100)
	}
	bound := ""
	if cred.Bound() {
		bound = ", with tokens bound to a DPoP key kept in the keychain"
		if p.InsecureStorage {
			bound = ", with tokens bound to a DPoP key kept with them"
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "Logged in to %s%s (profile %q)%s.\n", orDefault(p.Issuer, m.TokenEndpoint), who, p.Name, bound)
	if res.Token.RefreshToken == "" {
		when := ""
		if !cred.Expiry.IsZero() {
			when = " (at " + formatTime(cred.Expiry) + ")"
		}
		fmt.Fprintf(opts.IO.ErrOut, "authctl: warning: the provider issued no refresh token; the session ends when the access token expires%s. Ask for the offline_access scope, or check the client's settings at the provider.\n", when)
	}
}
