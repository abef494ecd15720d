package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/oauth2"

	"github.com/authctl/authctl/configfile"
	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/login"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

// IOStreams are the process's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer // machine output only
	ErrOut io.Writer // every word for a person
}

// Factory builds what the commands of one run share, each part once and
// only when a command asks for it: the file paths, the config file and
// the profile. Nothing is read before a command needs it, so version,
// help and completion work whatever state the config file is in.
type Factory struct {
	deps Deps
	// Set by the root command's persistent flags.
	profileFlag string
	configFlag  string
	verbose     bool

	pathsOnce sync.Once
	paths     paths
	pathsErr  error

	config    *configfile.File
	configErr error
	loaded    bool

	httpClient *http.Client

	// ran is set once a command starts, after cobra parsed its flags.
	ran bool
}

// NewFactory returns a Factory that builds on deps.
func NewFactory(deps Deps) *Factory { return &Factory{deps: deps} }

// IO returns the standard streams.
func (f *Factory) IO() IOStreams {
	return IOStreams{In: f.deps.Stdin, Out: f.deps.Stdout, ErrOut: f.deps.Stderr}
}

// Now returns the time.
func (f *Factory) Now() time.Time {
	if f.deps.Now != nil {
		return f.deps.Now()
	}
	return time.Now()
}

// Log prints one line for --verbose on stderr. Never a token.
func (f *Factory) Log(format string, args ...any) {
	if f.verbose {
		fmt.Fprintf(f.deps.Stderr, "authctl: "+format+"\n", args...)
	}
}

// Tell prints a line the user sees with or without --verbose.
func (f *Factory) Tell(format string, args ...any) {
	fmt.Fprintf(f.deps.Stderr, "authctl: "+format+"\n", args...)
}

// HTTPClient is the client for every request to the provider: deps'
// client, which says on stderr when the provider is slow to answer and,
// with --verbose, traces every request.
func (f *Factory) HTTPClient() *http.Client {
	if f.httpClient == nil {
		c := f.deps.HTTPClient
		if c == nil {
			c = http.DefaultClient
		}
		f.httpClient = providerClient(c, f.verbose, f.Log, f.Tell)
	}
	return f.httpClient
}

// Paths returns where authctl keeps its files; --config replaces the
// config file's.
func (f *Factory) Paths() (paths, error) {
	f.pathsOnce.Do(func() {
		f.paths, f.pathsErr = resolvePaths(f.deps.GOOS, f.deps.Getenv)
		if f.configFlag != "" {
			f.paths.Config = f.configFlag
		}
	})
	return f.paths, f.pathsErr
}

// Config reads the config file once. A file that does not exist is an
// empty config, except one named by --config, which is most likely a typo
// and a usage error unless create is set (login creates the file).
func (f *Factory) Config(create bool) (*configfile.File, error) {
	if !f.loaded {
		f.loaded = true
		f.config, f.configErr = f.loadConfig()
	}
	if f.configErr != nil {
		return nil, f.configErr
	}
	if f.configFlag != "" && !f.config.Exists() && !create {
		return nil, usageErrorf("config %s: no such file (authctl login --config %s creates it)", f.configFlag, f.configFlag)
	}
	return f.config, nil
}

func (f *Factory) loadConfig() (*configfile.File, error) {
	if err := f.checkEnvironment(); err != nil {
		return nil, err
	}
	p, err := f.Paths()
	if err != nil {
		return nil, err
	}
	cf, err := configfile.Load(p.Config)
	var ce *configfile.Error
	if errors.As(err, &ce) {
		return nil, &usageError{msg: ce.Error()}
	}
	if err != nil {
		return nil, err
	}
	if err := checkConfig(cf); err != nil {
		return nil, err
	}
	return cf, nil
}

// profileName returns the profile to use and where that name came from:
// --profile, else $AUTHCTL_PROFILE, else the config's default_profile,
// else "default" (from is then ""). A name that was given (not the
// implicit "default") must be a profile of the config file, unless
// mayCreate (login creates it).
func (f *Factory) profileName(cf *configfile.File, mayCreate bool) (name, from string, err error) {
	switch {
	case f.profileFlag != "":
		name, from = f.profileFlag, "--profile"
	case f.deps.Getenv("AUTHCTL_PROFILE") != "":
		name, from = f.deps.Getenv("AUTHCTL_PROFILE"), "$AUTHCTL_PROFILE"
	case cf.Lookup("default_profile") != nil:
		n := cf.Lookup("default_profile")
		name, from = n.Value, fmt.Sprintf("default_profile (%s:%d)", cf.Path(), n.Line)
	default:
		name = "default"
	}
	if err := validProfileName(name); err != nil {
		return "", "", err
	}
	if from == "" || mayCreate || cf.Lookup("profiles", name) != nil {
		return name, from, nil
	}
	return "", "", unknownProfile(cf, name, from)
}

// unknownProfile is the usage error for a profile the config does not
// have, naming the ones it has.
func unknownProfile(cf *configfile.File, name, from string) error {
	known := profileNames(cf)
	where := "the config " + cf.Path()
	if !cf.Exists() {
		where = "the config (" + cf.Path() + " does not exist yet)"
	}
	msg := fmt.Sprintf("no profile %q (from %s) in %s", name, from, where)
	if len(known) == 0 {
		return usageErrorf("%s; create it with: authctl login -p %s --issuer URL --client-id ID", msg, name)
	}
	if s := closest(name, known); s != "" {
		return usageErrorf("%s; did you mean %q? Profiles: %s", msg, s, strings.Join(known, ", "))
	}
	return usageErrorf("%s; profiles: %s (or create it: authctl login -p %s --issuer URL --client-id ID)", msg, strings.Join(known, ", "), name)
}

// profileNames returns the profiles the config defines, sorted.
func profileNames(cf *configfile.File) []string {
	var names []string
	for _, e := range cf.Entries("profiles") {
		names = append(names, e.Key)
	}
	slices.Sort(names)
	return names
}

// Profile resolves the profile a command works on, from flags (the
// command's flag set, whose setting flags apply; may be nil). With
// mayCreate (login), a profile the config does not define yet is fine.
func (f *Factory) Profile(flags *pflag.FlagSet, mayCreate bool) (*Profile, error) {
	cf, err := f.Config(mayCreate)
	if err != nil {
		return nil, err
	}
	name, from, err := f.profileName(cf, mayCreate)
	if err != nil {
		return nil, err
	}
	return f.resolveProfile(cf, name, from, flags, true)
}

// profileNamed resolves profile name of cf, which is not the one the run
// selected (logout --all, profile remove).
func (f *Factory) profileNamed(cf *configfile.File, name, from string, flags *pflag.FlagSet) (*Profile, error) {
	return f.resolveProfile(cf, name, from, flags, false)
}

// resolveProfile resolves profile name of cf; selected says whether the
// run selected it (--profile, $AUTHCTL_PROFILE, default_profile), so that
// its token may be cached under the run's selection.
func (f *Factory) resolveProfile(cf *configfile.File, name, from string, flags *pflag.FlagSet, selected bool) (*Profile, error) {
	if err := checkProfile(cf, name); err != nil {
		return nil, err
	}
	r, err := resolveSettings(name, cf, flags, f.deps.Getenv)
	if err != nil {
		return nil, err
	}
	ps, err := f.Paths()
	if err != nil {
		return nil, err
	}
	p := f.build(ps, cf, name, from, r)
	p.Source.Cache = f.accessCache(p, cf, ps, selected)
	return p, nil
}

// Profile is the profile a command works on, resolved once before the
// command runs: its name and where the name came from, its settings, and
// what is built from them: the store of its credential, its token source
// and the way to its provider's endpoints.
type Profile struct {
	Name     string
	NameFrom string // "--profile", "$AUTHCTL_PROFILE", "default_profile (FILE:LINE)", or "" for the implicit "default"
	Settings

	// Config is the config file the profile was read from.
	Config *configfile.File
	// FromFlags holds the settings given as flags, as YAML values.
	FromFlags map[string]any
	// Store holds the credential; InsecureDir is where --insecure-storage
	// keeps credential files (used or not).
	Store       keychain.Store
	InsecureDir string
	// Leftover is the storage the profile does not use: the OS keychain
	// for an --insecure-storage profile, the credential file for the
	// others. A credential of the profile found there was left by a login
	// made before the profile switched; the next login or logout deletes
	// it (see dropLeftover).
	Leftover keychain.Store
	// Source hands out fresh tokens of this profile.
	Source *token.Source
	// Metadata returns the provider's endpoints: the ones set by hand,
	// else the cached discovery document, else discovery. It asks the
	// provider at most once per run.
	Metadata func(ctx context.Context) (*provider.Metadata, error)
	// Resolver finds and caches discovery documents.
	Resolver provider.Resolver
	// HTTPClient talks to the provider.
	HTTPClient *http.Client
}

// build makes the Profile of resolved settings r.
func (f *Factory) build(ps paths, cf *configfile.File, name, from string, r *resolved) *Profile {
	p := &Profile{
		Name: name, NameFrom: from, Settings: r.Settings, Config: cf, FromFlags: r.fromFlags,
		InsecureDir: filepath.Join(ps.State, "credentials"),
		HTTPClient:  f.HTTPClient(),
		Resolver:    provider.Resolver{Client: f.HTTPClient(), Cache: provider.Cache{Dir: ps.Cache, Now: f.deps.Now}, Log: f.Log},
	}
	p.Store = f.store(p)
	other := *p
	other.InsecureStorage = !p.InsecureStorage
	p.Leftover = f.store(&other)
	p.Metadata = onceMetadata(func(ctx context.Context) (*provider.Metadata, error) {
		if !p.hasProvider() {
			return nil, usageErrorf("profile %q has no issuer: run: authctl login -p %s --issuer URL --client-id ID", p.Name, p.Name)
		}
		m, err := p.Resolver.Resolve(ctx, p.Name, p.Issuer, p.explicitEndpoints())
		return m, discoveryError(err, p)
	})
	p.Source = &token.Source{
		Store:         p.Store,
		Account:       p.Name,
		Issuer:        p.Issuer,
		ClientID:      p.ClientID,
		Scopes:        p.Scopes,
		AuthParams:    p.AuthParams,
		DPoP:          p.DPoP,
		Provider:      p.Metadata,
		HTTPClient:    p.HTTPClient,
		Lock:          f.refreshLock(ps),
		VerifyIDToken: p.verifyIDToken,
		Now:           f.deps.Now,
		Log:           f.Log,
		Warn:          func(format string, args ...any) { f.Tell("warning: "+format, args...) },
		// main ends the process at a second Ctrl-C.
		Finishing: func() { f.Tell("finishing the refresh; Ctrl-C again to abort") },
	}
	return p
}

// refreshLock is the cross-process lock of refreshes; with --verbose it
// says when it waits for another process.
func (f *Factory) refreshLock(ps paths) token.FileLocker {
	return token.FileLocker{Dir: lockDir(ps), Busy: func(path string) {
		f.Log("another authctl process holds the refresh lock %s; waiting for it", path)
	}}
}

// lockDir is the directory of the refresh and login lock files.
func lockDir(ps paths) string { return filepath.Join(ps.State, "locks") }

// store returns where p's credential lives; with --verbose, every call
// to it is traced.
func (f *Factory) store(p *Profile) keychain.Store {
	if f.verbose {
		return traced(f.untracedStore(p), f.Log)
	}
	return f.untracedStore(p)
}

func (f *Factory) untracedStore(p *Profile) keychain.Store {
	if p.InsecureStorage {
		return keychain.NewFile(p.InsecureDir)
	}
	if f.deps.Keychain != nil {
		return f.deps.Keychain(p.KeychainTimeout)
	}
	return keychain.DefaultStore(keychain.SystemOptions{Timeout: p.KeychainTimeout, Getenv: f.deps.Getenv})
}

// onceMetadata calls get once per run and remembers a success.
func onceMetadata(get func(context.Context) (*provider.Metadata, error)) func(context.Context) (*provider.Metadata, error) {
	var mu sync.Mutex
	var m *provider.Metadata
	return func(ctx context.Context) (*provider.Metadata, error) {
		mu.Lock()
		defer mu.Unlock()
		if m != nil {
			return m, nil
		}
		got, err := get(ctx)
		if err != nil {
			return nil, err
		}
		m = got
		return m, nil
	}
}

// explicitEndpoints returns the endpoints the profile sets by hand.
func (p *Profile) explicitEndpoints() provider.Metadata {
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

// verifyIDToken checks an ID token returned by a refresh the way a login
// does, against the provider's keys; it returns the token's subject.
func (p *Profile) verifyIDToken(ctx context.Context, raw, accessToken string) (string, error) {
	m, err := p.Metadata(ctx)
	if err != nil {
		return "", err
	}
	lo := login.Options{
		OAuth2:     oauth2.Config{ClientID: p.ClientID},
		Issuer:     orDefault(m.Issuer, p.Issuer),
		JWKSURL:    m.JWKSURI,
		HTTPClient: p.HTTPClient,
		Now:        p.Source.Now,
	}
	claims, err := lo.VerifyIDToken(ctx, raw, accessToken)
	return claims.Subject, err
}

// LoginHint is the next step for this profile when it needs a login.
func (p *Profile) LoginHint() string {
	if !p.hasProvider() {
		return "run: authctl login" + p.flagP() + " --issuer URL --client-id ID"
	}
	return "run: authctl login" + p.flagP()
}

// flagP is " -p NAME", or "" for the default profile.
func (p *Profile) flagP() string {
	if p.Name == "default" {
		return ""
	}
	return " -p " + p.Name
}

// WarnInsecure prints the warning every use of file storage carries.
func (p *Profile) WarnInsecure(w io.Writer) {
	if p.InsecureStorage {
		warnInsecure(w, p.Name, p.InsecureDir)
	}
}

func warnInsecure(w io.Writer, profile, dir string) {
	fmt.Fprintf(w, "authctl: warning: profile %q keeps its tokens in a plain file under %s (--insecure-storage), not in the OS keychain\n", profile, dir)
}

// RequireLoggedIn is the login-required error for a profile that names no
// provider: it has never been logged in.
func (p *Profile) RequireLoggedIn() error {
	if p.hasProvider() {
		return nil
	}
	return needLogin(&token.LoginRequiredError{Reason: fmt.Sprintf("not logged in (profile %q has no issuer set)", p.Name)}, p)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// endpointOf turns provider metadata into x/oauth2's endpoint for a client
// with the given secret (empty: a public client), its credentials placed
// by provider.ClientFor.
func endpointOf(m *provider.Metadata, clientID, secret string) oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       m.AuthorizationEndpoint,
		TokenURL:      m.TokenEndpoint,
		DeviceAuthURL: m.DeviceAuthorizationEndpoint,
		AuthStyle:     provider.ClientFor(m, clientID, secret).AuthStyle(),
	}
}

// needLogin adds the login hint to login-required errors, and to a
// refresh the provider refused because it did not accept the client
// (invalid_client: a wrong client ID, or a client secret that changed).
// The credential stays: the refresh token itself was not refused. An
// API's step-up request gets the login that satisfies it.
func needLogin(err error, p *Profile) error {
	if errors.Is(err, token.ErrLoginRequired) {
		return withNextStep(err, p.LoginHint())
	}
	var stepUp *token.StepUpError
	if errors.As(err, &stepUp) {
		return withNextStep(err, "run: "+p.stepUpCommand(stepUp))
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) && rerr.ErrorCode == "invalid_client" {
		return withNextStep(err, "check the client ID; if the provider's client secret changed, "+p.LoginHint()+" with the new one in $"+clientSecretEnv)
	}
	return err
}

// closest returns the name in names nearest to s by edit distance, when
// it is near enough to be a typo of it.
func closest(s string, names []string) string {
	best, dist := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < dist {
			best, dist = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
