package token

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/wwwauth"
)

// StepUpError is an API's refusal of an access token because the
// authentication behind it is not strong or recent enough (RFC 9470):
// a 401 whose Bearer (or DPoP) challenge has the error
// insufficient_user_authentication. A refresh cannot raise the
// authentication level; a new login with what the API asks for can.
type StepUpError struct {
	// ACRValues are the authentication context classes the API accepts,
	// in its order of preference; empty when it named none.
	ACRValues []string
	// MaxAge, when MaxAgeSet, is how long ago the last active
	// authentication may have been (0: it must happen now).
	MaxAge    time.Duration
	MaxAgeSet bool
	// Description is the API's error_description, safe to print.
	Description string
}

func (e *StepUpError) Error() string {
	msg := "the API needs a stronger or more recent login than the token's (insufficient_user_authentication"
	if e.Description != "" {
		msg += ": " + e.Description
	}
	msg += ")"
	var asks []string
	if len(e.ACRValues) > 0 {
		asks = append(asks, "acr_values "+strings.Join(e.ACRValues, " "))
	}
	if e.MaxAgeSet {
		asks = append(asks, "max_age "+strconv.FormatInt(int64(e.MaxAge/time.Second), 10))
	}
	if len(asks) > 0 {
		msg += "; it asks for " + strings.Join(asks, " and ")
	}
	return msg
}

// maxStepUpAge bounds a max_age believed (ten years).
const maxStepUpAge = 10 * 365 * 24 * time.Hour

// maxACRValues bounds the acr_values taken from one challenge, and
// maxACR the length of each.
const (
	maxACRValues = 10
	maxACR       = 200
)

// StepUpFrom returns the step-up request of resp, a 401 from an API, or
// nil when it is none. acr_values and max_age that cannot be used as they
// are (a value with characters outside those of a URI, or with a comma or
// a quote; a max_age that is not a whole number of seconds) are dropped,
// so that what a caller repeats to the provider or prints as a command is
// what the API sent.
func StepUpFrom(resp *http.Response) *StepUpError {
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return nil
	}
	for _, ch := range wwwauth.Parse(resp.Header.Values("Www-Authenticate")) {
		if !strings.EqualFold(ch.Scheme, "Bearer") && !strings.EqualFold(ch.Scheme, "DPoP") {
			continue
		}
		if ch.Params["error"] != "insufficient_user_authentication" {
			continue
		}
		e := &StepUpError{Description: safetext.Redact(ch.Params["error_description"], 200)}
		for _, v := range strings.Fields(ch.Params["acr_values"]) {
			if validACR(v) && len(e.ACRValues) < maxACRValues {
				e.ACRValues = append(e.ACRValues, v)
			}
		}
		if raw, ok := ch.Params["max_age"]; ok {
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil && n >= 0 && time.Duration(n) <= maxStepUpAge/time.Second {
				e.MaxAge, e.MaxAgeSet = time.Duration(n)*time.Second, true
			}
		}
		return e
	}
	return nil
}

// validACR accepts an acr value made of the characters of a URI (RFC
// 3986), without ',' (a list separator for --acr-values) and quotes.
func validACR(v string) bool {
	if v == "" || len(v) > maxACR {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/?#[]@!$&()*+;=%", c) >= 0) {
			return false
		}
	}
	return true
}
