package provider

import (
	"encoding/json"
	"errors"
	"mime"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/authctl/authctl/safetext"
)

// Error is an OAuth 2.0 error the provider reported (RFC 6749 §4.1.2.1,
// §5.2; RFC 7009; RFC 8628): in an authorization response, or in an
// answer of its token, device authorization or revocation endpoint. Its
// message is one printable line: the provider's strings are cleaned of
// control characters and token-shaped text, shortened, and the response
// body is never part of it.
type Error struct {
	Code        string // `error`, e.g. "invalid_grant"; empty when the answer named none
	Description string // `error_description`, may be empty
	URI         string // `error_uri`, may be empty
	// Status is the HTTP status of an endpoint's answer ("400 Bad
	// Request"); empty for an authorization response.
	Status string

	cause error
}

// Error returns "the provider refused the sign-in: CODE (DESCRIPTION)" for
// an authorization response, "the provider answered STATUS: CODE
// (DESCRIPTION)" for an endpoint's answer.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Status == "" {
		b.WriteString("the provider refused the sign-in")
	} else {
		b.WriteString("the provider answered " + safetext.Redact(e.Status, 60))
	}
	switch {
	case e.Code != "":
		b.WriteString(": " + safetext.Redact(e.Code, 60))
		if e.Description != "" {
			b.WriteString(" (" + safetext.Redact(e.Description, 300) + ")")
		}
	case e.Status != "":
		b.WriteString(" without an OAuth error")
	}
	return b.String()
}

// Unwrap returns the error this one was made from (an
// *oauth2.RetrieveError), if any.
func (e *Error) Unwrap() error { return e.cause }

// NewError returns the error an authorization response or an endpoint's
// answer names, with the provider's strings made printable.
func NewError(code, description, uri, status string) *Error {
	return &Error{
		Code:        safetext.Redact(code, 60),
		Description: safetext.Redact(description, 300),
		URI:         safetext.Redact(uri, 200),
		Status:      safetext.Redact(status, 60),
	}
}

// ErrorFrom turns an error of x/oauth2 that carries the provider's answer
// (*oauth2.RetrieveError, whose message includes the whole response body)
// into an *Error that unwraps to it; any other error is returned as it is.
func ErrorFrom(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := "an unreadable answer"
	if re.Response != nil {
		status = re.Response.Status
	}
	e := NewError(re.ErrorCode, re.ErrorDescription, re.ErrorURI, status)
	e.cause = re
	return e
}

// ResponseError returns the *Error of an endpoint's failed answer: its
// status, and the OAuth error its body (JSON or form-encoded) names, if
// any. body is what was read of the answer; contentType its Content-Type.
func ResponseError(status, contentType string, body []byte) *Error {
	var f struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		if v, err := url.ParseQuery(string(body)); err == nil {
			f.Error, f.Description, f.URI = v.Get("error"), v.Get("error_description"), v.Get("error_uri")
		}
	} else if json.Unmarshal(body, &f) != nil {
		f.Error, f.Description, f.URI = "", "", ""
	}
	return NewError(f.Error, f.Description, f.URI, status)
}
