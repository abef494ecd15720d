package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/login"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/token"
)

type loginOptions struct {
	noBrowser bool
	device    bool
	prompt    string
	maxAge    time.Duration
	acrValues []string
}

func (a *app) newLogin() *cobra.Command {
	var o loginOptions
	c := &cobra.Command{
		Use:   "login",
		Short: "Log in with the system browser (authorization code + PKCE) and store the credential",
		Long: `Log in with the system browser: authorization code with PKCE (S256), the code
caught on a loopback redirect (http://127.0.0.1:PORT/callback). The refresh
token goes to the OS keychain. Settings given as flags are saved to the
profile in the config file, so later commands need only --profile.

$BROWSER, when set, is the browser command (the URL is added as its last
argument). The URL is always printed on stderr too. Over SSH or without a
display, use --no-browser (paste the redirected URL back) or --device.

A provider that issues a client secret even to installed apps (Google,
GitHub) gets it from $AUTHCTL_CLIENT_SECRET, never from a flag: it is kept
in the keychain with the credential for refreshes and logout, so later
logins to the same issuer and client need not set it again.`,
		Example: `  authctl login --issuer https://id.example.com --client-id authctl
  authctl login -p work --issuer https://login.example.org/realm --client-id cli --scopes openid,offline_access,email
  authctl login --device`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.runLogin(c, o) },
	}
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
	f.BoolVar(&o.noBrowser, "no-browser", false, "print the URL instead of opening a browser; paste the redirected URL back")
	f.BoolVar(&o.device, "device", false, "use the device authorization grant (RFC 8628): enter a code on any device")
	f.StringVar(&o.prompt, "prompt", "", "OIDC prompt, e.g. login to force a fresh authentication")
	f.DurationVar(&o.maxAge, "max-age", 0, "OIDC max_age: re-authenticate if the last login is older")
	f.StringSliceVar(&o.acrValues, "acr-values", nil, "OIDC acr_values to ask for, comma separated")
	return c
}

func (a *app) runLogin(c *cobra.Command, o loginOptions) error {
	ctx := c.Context()
	p, err := a.profile(c)
	if err != nil {
		return err
	}
	if p.Issuer == "" && p.TokenURL == "" {
		return usageErrorf("no issuer for profile %q: pass --issuer URL (and --client-id ID)", p.Name)
	}
	if p.ClientID == "" {
		return usageErrorf("no client id for profile %q: pass --client-id ID", p.Name)
	}
	if err := provider.CheckSettings(p.Issuer, explicitEndpoints(p)); err != nil {
		return err
	}
	if o.device && o.noBrowser {
		return usageErrorf("--device and --no-browser exclude each other")
	}
	a.warnInsecure(p)
	// Find out before the browser opens whether the credential can be
	// stored at all: otherwise the user signs in for nothing and a fresh
	// grant is left behind at the provider. A locked collection stops the
	// login only where no unlock prompt can be shown (Linux without a
	// display); on a desktop, saving asks the user to unlock it.
	stored, err := a.store(p).Get(ctx, p.Name)
	if errors.Is(err, keychain.ErrUnavailable) &&
		(!errors.Is(err, keychain.ErrLocked) || !a.canPrompt()) {
		return fmt.Errorf("cannot store a credential: %w", err)
	}
	secret := a.clientSecret(p, stored)
	// A login always discovers anew, so endpoint changes are picked up.
	m := explicitEndpoints(p)
	if p.TokenURL == "" {
		dm, err := a.resolver().Refresh(ctx, p.Name, p.Issuer)
		if err != nil {
			return fmt.Errorf("find the provider's endpoints: %w", err)
		}
		if dm, err = provider.Overlay(dm, m); err != nil {
			return usageErrorf("%v", err)
		}
		m = *dm
	}
	if !m.SupportsS256() {
		return fmt.Errorf("the provider at %s does not support PKCE S256, which authctl requires", p.Issuer)
	}
	if o.device && m.DeviceAuthorizationEndpoint == "" {
		return usageErrorf("the provider advertises no device authorization endpoint; use --no-browser instead of --device")
	}
	if !o.device && m.AuthorizationEndpoint == "" {
		return usageErrorf("the provider has no authorization endpoint: set --auth-url")
	}
	open, reason := a.deps.Open, ""
	if open == nil {
		open, reason = login.Opener(a.deps.Getenv, a.deps.GOOS, a.deps.Stderr)
	}
	ep := endpointOf(&m)
	if secret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	lo := login.Options{
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
		Prompt:                o.prompt,
		NoOfflineConsent:      !p.ConsentPrompt,
		MaxAge:                o.maxAge,
		ACRValues:             o.acrValues,
		ExtraParams:           p.AuthParams,
		Timeout:               p.Timeout,
		Open:                  open,
		NoBrowserReason:       reason,
		NoBrowser:             o.noBrowser,
		Stdin:                 a.deps.Stdin,
		Stderr:                a.deps.Stderr,
		HTTPClient:            a.httpClient(),
		Now:                   a.deps.Now,
		Log:                   a.logf,
	}
	var res *login.Result
	if o.device {
		res, err = login.Device(ctx, lo)
	} else {
		res, err = login.Browser(ctx, lo)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		if errors.Is(err, login.ErrBadOptions) {
			return usageErrorf("%v", err)
		}
		err = fmt.Errorf("login failed: %w", err)
		var pe *login.ProviderError
		if errors.As(err, &pe) && pe.Code == "invalid_client" {
			return withNextStep(err, "check the client ID, and set $"+clientSecretEnv+" if the provider issued the client a secret or changed it")
		}
		return err
	}
	cred := token.FromOAuth2(p.Issuer, p.ClientID, res.Token)
	cred.IDToken = res.IDToken
	cred.ClientSecret = secret
	if len(cred.Scopes) == 0 {
		cred.Scopes = p.Scopes
	}
	// The new credential replaces the old one only now that the login has
	// fully succeeded.
	src := a.source(p)
	if err := src.Replace(context.WithoutCancel(ctx), cred); err != nil {
		return err
	}
	if !p.InsecureStorage {
		// Moving back to the keychain: the plain file of an earlier
		// --insecure-storage login goes.
		if err := keychain.NewFile(a.insecureDir()).Delete(ctx, p.Name); err != nil {
			fmt.Fprintf(a.deps.Stderr, "authctl: warning: could not delete the old credential file in %s: %v\n", a.insecureDir(), err)
		}
	}
	if err := a.config.saveProfile(p.Name, p.fromFlags); err != nil {
		fmt.Fprintf(a.deps.Stderr, "authctl: warning: logged in, but the settings were not saved: %v\n", err)
	}
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
	fmt.Fprintf(a.deps.Stderr, "Logged in to %s%s (profile %q).\n", orDefault(p.Issuer, m.TokenEndpoint), who, p.Name)
	if res.Token.RefreshToken == "" {
		when := ""
		if !cred.Expiry.IsZero() {
			when = " (at " + cred.Expiry.Local().Format(time.Kitchen) + ")"
		}
		fmt.Fprintf(a.deps.Stderr, "authctl: warning: the provider issued no refresh token; the session ends when the access token expires%s. Ask for the offline_access scope, or check the client's settings at the provider.\n", when)
	}
	return nil
}

// clientSecretEnv names the variable a client secret comes from. It is
// never a flag (other users can read a process's arguments) nor a config
// setting (the config file holds no secrets).
const clientSecretEnv = "AUTHCTL_CLIENT_SECRET"

// clientSecret is the client secret for a login: $AUTHCTL_CLIENT_SECRET,
// else the one kept with the profile's stored credential when that
// credential is for the same issuer and client, else none (a public
// client). stored is the stored credential's encoding, if any.
func (a *app) clientSecret(p *Profile, stored []byte) string {
	if s := a.deps.Getenv(clientSecretEnv); s != "" {
		a.logf("using the client secret from $%s", clientSecretEnv)
		return s
	}
	if stored == nil {
		return ""
	}
	c, err := token.Decode(stored)
	if err != nil || c.ClientSecret == "" || c.Issuer != p.Issuer || c.ClientID != p.ClientID {
		return ""
	}
	a.logf("using the client secret kept with the stored credential")
	return c.ClientSecret
}

// canPrompt reports whether the keychain can ask the user to unlock it:
// always on macOS and Windows, only with a display elsewhere.
func (a *app) canPrompt() bool {
	switch a.deps.GOOS {
	case "darwin", "windows":
		return true
	}
	return a.deps.Getenv("DISPLAY") != "" || a.deps.Getenv("WAYLAND_DISPLAY") != ""
}
