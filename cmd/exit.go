package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/authctl/authctl/curl"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/token"
)

// Exit codes, as the contract promises them to scripts.
const (
	exitOK            = 0
	exitFailure       = 1
	exitUsage         = 2
	exitLoginRequired = 4
	// exitStepUp: an API asked for a stronger or more recent login than
	// the token's (RFC 9470); the message names the login to run.
	exitStepUp      = 5
	exitInterrupted = 130
)

// usageError is a wrong flag, argument or configuration: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// nextStepError adds the next step to take to an error's message.
type nextStepError struct {
	err  error
	next string
}

func (e *nextStepError) Error() string { return e.err.Error() + "; " + e.next }
func (e *nextStepError) Unwrap() error { return e.err }

func withNextStep(err error, next string) error {
	if err == nil {
		return nil
	}
	return &nextStepError{err: err, next: next}
}

// silentError carries an exit code whose message has already been printed
// (curl prints its own errors the way curl does).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitError is an error with its own exit code, printed as usual
// (authctl exec's 126 and 127, as a shell has them).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode maps an error to the process's exit code. interrupted tells
// whether the user pressed Ctrl-C (or the process got SIGTERM).
func exitCode(err error, interrupted bool) int {
	var usage *usageError
	var curlExit *curl.ExitError
	var silent *silentError
	var settings *provider.SettingsError
	var coded *exitError
	var stepUp *token.StepUpError
	switch {
	case err == nil:
		return exitOK
	case interrupted && errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &curlExit):
		return curlExit.Code
	case errors.As(err, &usage), errors.As(err, &settings):
		return exitUsage
	case errors.Is(err, token.ErrLoginRequired):
		return exitLoginRequired
	case errors.As(err, &stepUp):
		return exitStepUp
	default:
		return exitFailure
	}
}

// message is the one line printed on stderr for err, or "" when nothing
// should be printed.
func message(err error, interrupted bool) string {
	var silent *silentError
	var curlExit *curl.ExitError
	switch {
	case err == nil, errors.As(err, &silent), errors.As(err, &curlExit):
		// curl has already printed its own message, as curl does.
		return ""
	case interrupted && errors.Is(err, context.Canceled):
		return "authctl: interrupted"
	}
	// The last line of defence: whatever the error quotes from outside
	// (a provider's words, a server's reason phrase) is one printable line
	// here, without anything shaped like a token.
	return "authctl: " + oneLine(safetext.Redact(err.Error(), maxMessage))
}

// maxMessage bounds the error line, in characters.
const maxMessage = 1000

// oneLine joins s's lines and runs of white space into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
