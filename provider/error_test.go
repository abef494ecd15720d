package provider

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

const leakedToken = "Xw2iQk8vT3nZr5Lb9YpA0cD1eF2gH3iJ4kL5mN6oP7"

// A provider's error reaches the terminal as one printable line: no escape
// sequence, no token it echoed, never the response body.
func TestErrorFromRetrieveError(t *testing.T) {
	body := `{"error":"invalid_grant","error_description":"\u001b[2J\u001b]0;pwned\u0007refresh token ` + leakedToken + ` is\nunknown","secret_in_body":"` + leakedToken + `"}`
	re := &oauth2.RetrieveError{
		Response:         &http.Response{Status: "400 Bad\x1b[31m Request", StatusCode: 400},
		Body:             []byte(body),
		ErrorCode:        "invalid_grant",
		ErrorDescription: "\x1b[2J\x1b]0;pwned\x07refresh token " + leakedToken + " is\nunknown",
	}
	err := fmt.Errorf("refresh: %w", ErrorFrom(re))
	msg := err.Error()
	want := "refresh: the provider answered 400 Bad[31m Request: invalid_grant ([2J]0;pwnedrefresh token [redacted] is unknown)"
	if msg != want {
		t.Errorf("message\n%q, want\n%q", msg, want)
	}
	var got *oauth2.RetrieveError
	if !errors.As(err, &got) || got.ErrorCode != "invalid_grant" {
		t.Error("the error does not unwrap to the RetrieveError")
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "invalid_grant" {
		t.Error("the error is not a *provider.Error")
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Code: "access_denied"}, "the provider refused the sign-in: access_denied"},
		{&Error{Code: "access_denied", Description: "no\x1b[8m"}, "the provider refused the sign-in: access_denied (no[8m)"},
		{ErrorFrom(&oauth2.RetrieveError{Response: &http.Response{Status: "502 Bad Gateway"}, Body: []byte("<html>" + leakedToken)}),
			"the provider answered 502 Bad Gateway without an OAuth error"},
		{ResponseError("400 Bad Request", "application/json", []byte(`{"error":"unsupported_token_type"}`)),
			"the provider answered 400 Bad Request: unsupported_token_type"},
		{ResponseError("400 Bad Request", "application/x-www-form-urlencoded", []byte(`error=invalid_request&error_description=bad+token`)),
			"the provider answered 400 Bad Request: invalid_request (bad token)"},
		{ResponseError("503 Service Unavailable", "text/html", []byte(`<h1>down</h1>`)),
			"the provider answered 503 Service Unavailable without an OAuth error"},
		{&Error{Code: strings.Repeat("x", 500)}, "the provider refused the sign-in: " + strings.Repeat("x", 60) + "..."},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
