package curl

import (
	"strings"

	"github.com/authctl/authctl/safetext"
	"github.com/authctl/authctl/wwwauth"
)

// bearerError finds the error and error_description parameters (RFC 6750
// §3) of the first Bearer or DPoP (RFC 9449 §7.1) challenge among
// WWW-Authenticate values, made safe to print on a terminal.
func bearerError(values []string) (errCode, desc string) {
	for _, ch := range wwwauth.Parse(values) {
		if !strings.EqualFold(ch.Scheme, "Bearer") && !strings.EqualFold(ch.Scheme, "DPoP") {
			continue
		}
		return safetext.Redact(ch.Params["error"], 100), safetext.Redact(ch.Params["error_description"], 300)
	}
	return "", ""
}
