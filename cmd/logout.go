package cmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/token"
)

// LogoutOptions is one `authctl logout`.
type LogoutOptions struct {
	IO IOStreams
	// Profiles are the profiles to log out of.
	Profiles []*Profile
	// Unreadable are profiles of the config that could not be resolved
	// (logout --all goes on without them and reports them).
	Unreadable []error
	// Orphans, for logout --all with a config file that cannot be read,
	// are stores whose every credential is deleted without revocation.
	Orphans []keychain.Store
	// OrphansWhy says why the config could not be used.
	OrphansWhy error
	// ClearCached drops the cached access tokens of an account whose
	// credential was deleted without a profile (orphans).
	ClearCached func(account string)
	NoRevoke    bool
	// RequireRevoke keeps a credential whose tokens could not be revoked
	// (and fails), instead of deleting it with a warning.
	RequireRevoke bool
	Log           func(string, ...any)
}

// NewCmdLogout returns `authctl logout`; runF, when not nil, receives the
// options instead of logoutRun (tests).
func NewCmdLogout(f *Factory, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO(), Log: f.Log, ClearCached: f.clearCached}
	var all bool
	c := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's tokens and delete every stored secret",
		Long: `Revoke the refresh token, then the access token, at the provider's revocation
endpoint (RFC 7009), then delete the profile's credential and cached
discovery document. The profile's settings stay in the config file.
If the provider cannot be reached, the local secrets are deleted all the
same and a warning says the tokens may stay valid until they expire; with
--require-revoke the credential is kept instead and logout exits 1, so a
script can tell and a later logout can still revoke it. A profile with
nothing stored says "not logged in"; logging out twice is fine.

With --all, every profile of the config file is logged out; a profile
whose settings cannot be read is named and skipped, and when the config
file itself cannot be read, every credential found in the keychain is
deleted (without revocation, as the provider is then unknown).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.NoRevoke && opts.RequireRevoke {
				return usageErrorf("--no-revoke and --require-revoke exclude each other")
			}
			if err := f.logoutTargets(opts, all); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return logoutRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&all, "all", false, "log out of every profile in the config file")
	c.Flags().BoolVar(&opts.NoRevoke, "no-revoke", false, "only delete locally; do not contact the provider")
	c.Flags().BoolVar(&opts.RequireRevoke, "require-revoke", false, "fail (exit 1) and keep the credential when its tokens cannot be revoked at the provider")
	return c
}

// logoutTargets fills in which profiles to log out of.
func (f *Factory) logoutTargets(opts *LogoutOptions, all bool) error {
	if !all {
		p, err := f.Profile(nil, false)
		if err != nil {
			return err
		}
		opts.Profiles = []*Profile{p}
		return nil
	}
	cf, err := f.Config(false)
	if err != nil {
		var usage *usageError
		if !errors.As(err, &usage) {
			return err
		}
		// The config cannot be read: delete what the keychain holds.
		opts.OrphansWhy = err
		opts.Orphans = f.allStores()
		return nil
	}
	for _, name := range profileNames(cf) {
		p, err := f.profileNamed(cf, name, "the config", nil)
		if err != nil {
			opts.Unreadable = append(opts.Unreadable, fmt.Errorf("profile %q: %w", name, err))
			continue
		}
		opts.Profiles = append(opts.Profiles, p)
	}
	return nil
}

// allStores are the places a credential may be in when no profile can be
// read: the OS keychain and the --insecure-storage directory.
func (f *Factory) allStores() []keychain.Store {
	p := &Profile{Settings: defaultSettings()}
	if ps, err := f.Paths(); err == nil {
		p.InsecureDir = filepath.Join(ps.State, "credentials")
	}
	stores := []keychain.Store{f.store(p)}
	if p.InsecureDir != "" {
		stores = append(stores, keychain.NewFile(p.InsecureDir))
	}
	return stores
}

// logoutRun logs out of every profile in opts and reports each failure;
// the exit code is that of the first one.
func logoutRun(ctx context.Context, opts *LogoutOptions) error {
	var first error
	fail := func(err error) {
		if first == nil {
			first = &silentError{code: exitCode(err, ctx.Err() != nil)}
		}
	}
	for _, err := range opts.Unreadable {
		fmt.Fprintf(opts.IO.ErrOut, "authctl: %v; not logged out\n", err)
		fail(err)
	}
	if opts.OrphansWhy != nil {
		if err := logoutOrphans(ctx, opts); err != nil {
			fail(err)
		}
	}
	for _, p := range opts.Profiles {
		if err := logoutProfile(ctx, opts, p); err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "authctl: logout of profile %q: %v\n", p.Name, err)
			fail(err)
		}
	}
	return first
}

// logoutOrphans deletes every credential the stores hold, for a config
// that cannot be read. It says what it deleted and where it could not
// look, and returns the config's error (exit 2): the providers were not
// told.
func logoutOrphans(ctx context.Context, opts *LogoutOptions) error {
	w := opts.IO.ErrOut
	fmt.Fprintf(w, "authctl: %v\n", opts.OrphansWhy)
	var deleted []string
	for _, st := range opts.Orphans {
		l, ok := st.(keychain.Lister)
		if !ok {
			fmt.Fprintf(w, "authctl: %s cannot list what it holds; fix the config and run authctl logout --all again\n", st.Backend())
			continue
		}
		names, err := l.Accounts(ctx)
		if err != nil {
			fmt.Fprintf(w, "authctl: cannot list the stored credentials in %s (%v)\n", st.Backend(), err)
			continue
		}
		for _, n := range names {
			if opts.ClearCached != nil {
				opts.ClearCached(n)
			}
			if err := st.Delete(ctx, n); err != nil {
				return fmt.Errorf("delete %s from %s: %w", n, st.Backend(), err)
			}
			if opts.ClearCached != nil {
				opts.ClearCached(n) // and any copy a reader made meanwhile
			}
			deleted = append(deleted, n)
		}
	}
	slices.Sort(deleted)
	if len(deleted) == 0 {
		fmt.Fprintln(w, "No stored credential was found; nothing was revoked at any provider.")
	} else {
		fmt.Fprintf(w, "Deleted the stored credentials of %q without revoking them (the config names no provider to ask); fix the config to log out cleanly.\n", slices.Compact(deleted))
	}
	return opts.OrphansWhy
}

// logoutProfile revokes (unless NoRevoke) and deletes p's secrets and
// cached discovery document.
func logoutProfile(ctx context.Context, opts *LogoutOptions, p *Profile) error {
	p.WarnInsecure(opts.IO.ErrOut)
	var endpoint token.Endpoint
	if !opts.NoRevoke && p.hasProvider() {
		endpoint = func(ctx context.Context) (string, error) { return revocationEndpoint(ctx, p) }
	}
	logout := p.Source.Logout
	if opts.RequireRevoke {
		logout = p.Source.LogoutIfRevoked
	}
	res, err := logout(ctx, endpoint)
	if err != nil {
		return err
	}
	res.Err = inWords(res.Err, p.HTTPClient.Timeout)
	if res.Kept {
		return fmt.Errorf("not logged out: the tokens could not be revoked (%w); the credential is kept for a later logout to revoke (logout without --require-revoke deletes it anyway)", res.Err)
	}
	if res.Found && !res.Revoked && res.Err != nil && !opts.NoRevoke {
		fmt.Fprintf(opts.IO.ErrOut, "authctl: warning: the tokens were not revoked (%v); they may stay valid at the provider until they expire\n", res.Err)
	}
	// A credential left by a login made before the profile switched
	// storage must not outlive the logout either.
	if err := dropLeftover(ctx, p); err != nil {
		return fmt.Errorf("delete the credential of an earlier login: %w", err)
	}
	if err := p.Resolver.Cache.Delete(p.Name); err != nil {
		return fmt.Errorf("delete cached discovery: %w", err)
	}
	switch {
	case !res.Found:
		fmt.Fprintf(opts.IO.ErrOut, "Not logged in (profile %q): nothing to log out of.\n", p.Name)
	case res.Revoked:
		fmt.Fprintf(opts.IO.ErrOut, "Logged out of profile %q; the tokens were revoked at the provider.\n", p.Name)
	default:
		fmt.Fprintf(opts.IO.ErrOut, "Logged out of profile %q.\n", p.Name)
	}
	return nil
}

// dropLeftover deletes p's credential from the storage p does not use,
// where a login made before the profile switched between the keychain and
// --insecure-storage left it. An --insecure-storage profile on a machine
// whose keychain cannot be used (no Secret Service, a locked collection)
// has nothing to delete that authctl could reach: that is no error, and
// nothing starts a keychain to find out.
func dropLeftover(ctx context.Context, p *Profile) error {
	err := p.Leftover.Delete(ctx, p.Name)
	if p.InsecureStorage && errors.Is(err, keychain.ErrUnavailable) {
		return nil
	}
	return err
}

// revocationEndpoint finds p's revocation endpoint, or says why there is
// none to use.
func revocationEndpoint(ctx context.Context, p *Profile) (string, error) {
	m, err := p.Metadata(ctx)
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot reach the provider: %w", err)
	case m.RevocationEndpoint == "":
		return "", errors.New("the provider has no revocation endpoint")
	}
	return m.RevocationEndpoint, nil
}
