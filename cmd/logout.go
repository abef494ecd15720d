package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/authctl/authctl/keychain"
)

type logoutOptions struct {
	all      bool
	noRevoke bool
}

func (a *app) newLogout() *cobra.Command {
	var o logoutOptions
	c := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's tokens at the provider and delete every stored secret",
		Long: `Revoke the refresh token, then the access token, at the provider's revocation
endpoint (RFC 7009), then delete the profile's credential and cached
discovery document. The profile's settings stay in the config file.
If the provider cannot be reached, the local secrets are deleted all the
same and a warning says the tokens may stay valid until they expire.
Logging out twice is fine.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return a.runLogout(c, o) },
	}
	c.Flags().BoolVar(&o.all, "all", false, "log out of every profile in the config file")
	c.Flags().BoolVar(&o.noRevoke, "no-revoke", false, "only delete locally; do not contact the provider")
	return c
}

func (a *app) runLogout(c *cobra.Command, o logoutOptions) error {
	names := []string{}
	if o.all {
		names = a.config.Profiles()
	} else {
		n, err := a.profileName()
		if err != nil {
			return err
		}
		names = append(names, n)
	}
	var firstErr error
	for _, name := range names {
		if err := a.logoutProfile(c.Context(), name, !o.noRevoke); err != nil {
			fmt.Fprintf(a.deps.Stderr, "authctl: logout of profile %q: %v\n", name, err)
			if firstErr == nil {
				firstErr = &silentError{code: exitCode(err, c.Context().Err() != nil)}
			}
		}
	}
	return firstErr
}

// logoutProfile revokes (when revoke is set) and deletes profile name's
// secrets and cache.
func (a *app) logoutProfile(ctx context.Context, name string, revoke bool) error {
	p, err := resolveProfile(name, a.config, nil, a.deps.Getenv)
	if err != nil {
		return err
	}
	a.warnInsecure(p)
	endpoint := ""
	if revoke {
		if m, err := a.metadata(ctx, p); err != nil {
			fmt.Fprintf(a.deps.Stderr, "authctl: warning: cannot reach the provider (%v); the tokens may stay valid there until they expire\n", err)
		} else if m.RevocationEndpoint == "" {
			fmt.Fprintf(a.deps.Stderr, "authctl: warning: the provider has no revocation endpoint; the tokens stay valid there until they expire\n")
		} else {
			endpoint = m.RevocationEndpoint
		}
	}
	src := a.source(p)
	res, err := src.Logout(ctx, endpoint)
	if err != nil {
		return err
	}
	if res.Err != nil {
		fmt.Fprintf(a.deps.Stderr, "authctl: warning: revocation failed (%v); the tokens may stay valid at the provider until they expire\n", res.Err)
	}
	if !p.InsecureStorage {
		// A plain file left from an earlier --insecure-storage login must
		// not outlive the logout.
		if err := keychain.NewFile(a.insecureDir()).Delete(ctx, name); err != nil {
			return fmt.Errorf("delete %s: %w", a.insecureDir(), err)
		}
	}
	if err := a.resolver().Cache.Delete(name); err != nil {
		return fmt.Errorf("delete cached discovery: %w", err)
	}
	if res.Revoked {
		fmt.Fprintf(a.deps.Stderr, "Logged out of profile %q; the tokens were revoked at the provider.\n", name)
	} else {
		fmt.Fprintf(a.deps.Stderr, "Logged out of profile %q.\n", name)
	}
	return nil
}
