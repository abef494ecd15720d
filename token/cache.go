package token

// AccessCache keeps copies of a profile's access token outside the
// keychain, for a reader that hands the token out without a keychain read
// (authctl's cache in the kernel keyring). Source keeps the copies exact:
//
//   - Save (and so Replace, a refresh, and anything else that stores a
//     credential) invalidates them before and after the write, then
//     caches the credential it wrote;
//   - Token caches a credential it found fresh in the store;
//   - Refresh (an API refused the token), Logout, and the deletion of a
//     credential whose refresh token the provider refused invalidate them
//     first.
//
// Code that changes or deletes a stored credential without Source calls
// Source.ClearCache.
type AccessCache interface {
	// Watch is called before the credential is read. The put it returns
	// caches c, read after Watch, unless the profile's copies were
	// invalidated in between (by this process or another): a reader that
	// raced a change never caches what the change replaced.
	Watch() (put func(c *Credential))
	// Invalidate drops every copy of the profile's access token.
	Invalidate()
}

// ClearCache drops every copy of the profile's access token kept outside
// the keychain (see AccessCache). The credential stays as it is.
func (s *Source) ClearCache() {
	if s.Cache != nil {
		s.Cache.Invalidate()
	}
}

// watchCache starts a cache write for a credential about to be read.
func (s *Source) watchCache() func(*Credential) {
	if s.Cache == nil {
		return func(*Credential) {}
	}
	return s.Cache.Watch()
}
