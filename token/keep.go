package token

import (
	"context"
	"errors"

	"github.com/authctl/authctl/safetext"
)

// keep stores fresh, the answer to a refresh request made with prev, and
// returns what it stored last.
//
// The rotated refresh token is saved first, with prev's ID token, so that
// nothing that can fail or wait on the network (the provider's keys, which
// verifying the new ID token needs) comes between receiving it and storing
// it. A new ID token is stored afterwards, once it verifies and names the
// login's subject; see adoptIDToken.
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
	if newID == "" {
		return fresh, nil
	}
	return s.adoptIDToken(ctx, f, prev, fresh, newID), nil
}

// adoptIDToken checks newID, the ID token of the refresh that gave fresh
// (saved already, with the previous ID token), and stores it in its place
// if it verifies and names the same subject as prev's (OIDC Core 12.2).
// Otherwise the previous ID token stays, the credential records why the
// new one was refused (so that status shows whose identity is current),
// and the user is told. When no caller of f waits any more, the check is
// dropped and nothing more is stored: the next refresh brings another ID
// token.
func (s *Source) adoptIDToken(ctx context.Context, f *flight, prev, fresh *Credential, newID string) *Credential {
	vctx, stop := f.whileWanted(ctx)
	sub, err := s.VerifyIDToken(vctx, newID, fresh.AccessToken)
	stop()
	if f.wanted.Err() != nil {
		return fresh
	}
	if err == nil && prev.IDToken != "" && sub != prev.Identity().Subject {
		err = errors.New("its subject differs from the login's (OIDC Core 12.2)")
	}
	next := *fresh
	if err == nil {
		next.IDToken, next.IDTokenRejected = newID, nil
	} else {
		next.IDTokenRejected = &IDTokenRejection{At: s.now().UTC(), Reason: safetext.Redact(err.Error(), maxReason)}
		s.warn("the ID token returned by the refresh failed verification (%s); keeping the previous one", next.IDTokenRejected.Reason)
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
