package token

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/safetext"
)

// ErrNotBound is matched by the error of a refresh of a DPoP-bound
// credential that the provider answered with a token not bound to the key
// (a token_type other than DPoP). It is a login-required error too: only a
// new login can show whether the provider binds tokens again, and it
// refuses to store tokens that are not bound.
var ErrNotBound = errors.New("the provider did not bind the tokens to the DPoP key")

// notBoundError is ErrNotBound with the type the provider issued.
type notBoundError struct {
	typ   string // the token_type, cleaned for the terminal
	saved bool   // the rotated refresh token was saved
}

func (e *notBoundError) Error() string {
	msg := fmt.Sprintf("refresh: %v: it issued a token of type %q, not DPoP, so the token was not used", ErrNotBound, e.typ)
	if e.saved {
		msg += " (the new refresh token it carried was saved)"
	}
	return msg
}

// Is makes errors.Is true for ErrNotBound and ErrLoginRequired.
func (e *notBoundError) Is(target error) bool {
	return target == ErrNotBound || target == ErrLoginRequired
}

// notBound handles the answer t to a refresh of c, a credential bound to
// a DPoP key, when t's access token is not bound: sending it with a proof
// would present an unbound token as bound. It is dropped, and c's stored
// access token stays; a rotated refresh token is saved in place of c's,
// since a rotating provider has already retired c's.
func (s *Source) notBound(ctx context.Context, c *Credential, t *oauth2.Token) error {
	e := &notBoundError{typ: safetext.Clean(t.TokenType, 40)}
	saved, err := s.saveRefreshToken(ctx, c, t.RefreshToken)
	if err != nil {
		return err
	}
	e.saved = saved
	s.logf("the provider answered the refresh with a token of type %q, not DPoP; not using it", e.typ)
	return e
}
