package token

import (
	"context"
	"errors"

	"github.com/authctl/authctl/safetext"
)

// keep stores fresh, the answer to a refresh request made with prev, and
// returns it.
//
// The rotated refresh token is saved first, with prev's ID token, so that
// nothing that can fail or wait on the network (the provider's keys, which
// verifying the new ID token needs) comes between receiving it and storing
// it. A new ID token is left in f for checkIDToken, which runs once the
// refresh lock is released.
func (s *Source) keep(ctx context.Context, f *flight, prev, fresh *Credential) (*Credential, error) {
	newID := fresh.IDToken
	fresh.IDToken, fresh.IDTokenRejected = prev.IDToken, prev.IDTokenRejected
	if newID != "" && s.VerifyIDToken == nil {
		// Nothing to check it with: stored as it came.
		fresh.IDToken, fresh.IDTokenRejected = newID, nil
		newID = ""
	}
	if err := s.Save(ctx, fresh); err != nil {
		return nil, &SaveError{Err: err}
	}
	f.markSaved()
	f.unchecked = nil
	if newID != "" {
		f.unchecked = &idCheck{prev: prev, fresh: fresh, raw: newID}
	}
	return fresh, nil
}

// idCheck is an ID token a refresh returned, not yet verified: fresh, the
// credential saved, still holds prev's.
type idCheck struct {
	prev, fresh *Credential
	raw         string
}

// adoptIDToken checks the ID token of a refresh whose credential is saved
// (see keep), without the refresh lock: the check may wait on the
// provider's keys, and other processes need not wait for it, since the
// new tokens are stored. The ID token is stored in place of the previous
// one if it verifies and names the same subject as prev's (OIDC Core
// 12.2). Otherwise the previous ID token stays, the credential records why
// the new one was refused (so that status shows whose identity is
// current), and the user is told. Either is stored under the lock, and
// only while the stored tokens are still the refresh's: a credential
// another process changed meanwhile is newer and left alone. When no
// caller of f waits any more, the check is dropped and nothing more is
// stored: the next refresh brings another ID token.
func (s *Source) adoptIDToken(ctx context.Context, f *flight, chk *idCheck) *Credential {
	prev, fresh, newID := chk.prev, chk.fresh, chk.raw
	vctx, stop := f.whileWanted(ctx)
	sub, err := s.VerifyIDToken(vctx, newID, fresh.AccessToken)
	stop()
	if f.wanted.Err() != nil {
		return fresh
	}
	if err == nil && prev.IDToken != "" && sub != prev.Identity().Subject {
		err = errors.New("its subject differs from the login's (OIDC Core 12.2)")
	}
	var rejected *IDTokenRejection
	if err != nil {
		rejected = &IDTokenRejection{At: s.now().UTC(), Reason: safetext.Redact(err.Error(), maxReason)}
		s.warn("the ID token returned by the refresh failed verification (%s); keeping the previous one", rejected.Reason)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		s.warn("could not store the refreshed ID token's result (%v); the stored ID token is the previous one", err)
		return fresh
	}
	defer unlock()
	cur, err := s.Load(ctx)
	if err != nil || cur.RefreshToken != fresh.RefreshToken || cur.AccessToken != fresh.AccessToken {
		s.logf("the credential changed while the refreshed ID token was checked; keeping the newer one")
		return fresh
	}
	next := *cur
	if rejected == nil {
		next.IDToken, next.IDTokenRejected = newID, nil
	} else {
		next.IDTokenRejected = rejected
	}
	if err := s.Save(ctx, &next); err != nil {
		// The refresh token is safe; only the ID token's news is lost.
		s.warn("could not store the refreshed ID token's result (%v); the stored ID token is the previous one", err)
		return fresh
	}
	return &next
}

// maxReason caps the length of a recorded reason, in runes.
const maxReason = 300
