package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/authctl/authctl/token"
)

// stepUpCommand is the login that gives p a credential an API asking for
// e accepts (RFC 9470): a fresh authentication (prompt=login) with the
// acr_values and max_age the API named, as --step-up runs it.
func (p *Profile) stepUpCommand(e *token.StepUpError) string {
	c := "authctl login" + p.flagP() + " --prompt login"
	if len(e.ACRValues) > 0 {
		c += " --acr-values " + shellQuote(strings.Join(e.ACRValues, ","))
	}
	if e.MaxAgeSet && e.MaxAge > 0 {
		c += " --max-age " + shortDuration(e.MaxAge)
	}
	return c
}

// stepUpLogin returns the login options of the step-up e asks of p.
func (f *Factory) stepUpLogin(p *Profile, e *token.StepUpError) *LoginOptions {
	opts := f.loginOptions(p)
	opts.Prompt = "login"
	opts.ACRValues = e.ACRValues
	if e.MaxAgeSet {
		opts.MaxAge = e.MaxAge
	}
	return opts
}

// interactive reports whether a person is at the terminal: stdin and
// stderr are both terminals, so a login can show its words and read a
// pasted address.
func (f *Factory) interactive() bool {
	return f.stdinIsTerminal() && isTerminal(f.deps.Stderr)
}

func isTerminal(v any) bool {
	file, ok := v.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// warnBound tells the user that the access token about to be handed out
// is bound to the profile's DPoP key: useless to a client that cannot
// sign proofs with it.
func warnBound(w io.Writer, p *Profile, cred *token.Credential) {
	if !cred.Bound() {
		return
	}
	fmt.Fprintf(w, "authctl: warning: the access token of profile %q is DPoP-bound: a server takes it only with a DPoP proof signed by the profile's key, one per request; use authctl%s curl, or authctl%s dpop-proof --method M --url U for the two headers of one request\n",
		p.Name, p.flagP(), p.flagP())
}

// stepUpHook is the token transport's StepUp for a command whose user
// asked for step-ups to be run (--step-up): at a terminal, it says why and
// runs the login; elsewhere it returns e, whose message then names the
// login to run.
func stepUpHook(w io.Writer, p *Profile, interactive bool, login func(context.Context, *token.StepUpError) error) func(context.Context, *token.StepUpError) error {
	return func(ctx context.Context, e *token.StepUpError) error {
		if !interactive {
			return &stepUpNoTerminal{e}
		}
		fmt.Fprintf(w, "authctl: %s; signing in again (profile %q)\n", oneLine(e.Error()), p.Name)
		if err := login(ctx, e); err != nil {
			return fmt.Errorf("step-up login: %w", err)
		}
		return nil
	}
}

// stepUpNoTerminal is a step-up that --step-up could not run: no person
// at a terminal to sign in.
type stepUpNoTerminal struct{ *token.StepUpError }

func (e *stepUpNoTerminal) Error() string {
	return e.StepUpError.Error() + " (--step-up logs in only at a terminal)"
}

func (e *stepUpNoTerminal) Unwrap() error { return e.StepUpError }
