package cmd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/authctl/authctl/configfile"
	"github.com/authctl/authctl/token"
	"github.com/authctl/authctl/tokencache"
)

// PrintCached runs a plain `authctl token print` from the access-token
// cache in the kernel keyring, before anything else is set up: no command
// tree, config parser, signal handler or keychain connection. It reports
// done=false, having written nothing to stdout, when args are anything
// but a plain token print (`token` or `token print` with only -p/--profile,
// --config, --format raw|header|json, --json, --min-ttl and -v), or when
// the cache holds no token that the full run would print as it is; the
// caller then runs Main, which does the same work the slow way. Under -v
// it says on stderr why it did not answer.
func PrintCached(args []string, deps Deps) (code int, done bool) {
	if deps.TokenCache == nil {
		return 0, false
	}
	req, ok := parsePrintArgs(args)
	if !ok {
		return 0, false
	}
	logf := func(format string, a ...any) {
		if req.verbose {
			fmt.Fprintf(deps.Stderr, "authctl: "+format+"\n", a...)
		}
	}
	e, why := cachedEntry(req, deps)
	if e == nil {
		logf("%s; reading the keychain", why)
		return 0, false
	}
	logf("access token of profile %q from the kernel keyring cache", e.Account)
	t := printable{Type: e.TokenType, Value: e.AccessToken, Expiry: e.Expiry}
	if err := t.print(deps.Stdout, req.format, now(deps)); err != nil {
		fmt.Fprintln(deps.Stderr, message(err, false))
		return exitCode(err, false), true
	}
	return exitOK, true
}

// cachedEntry returns the cached entry that answers req, or nil and why
// there is none.
func cachedEntry(req printRequest, deps Deps) (*tokencache.Entry, string) {
	selected := selectedProfile(req.profile, deps.Getenv)
	if selected != "" && validProfileName(selected) != nil {
		return nil, "not a profile name"
	}
	ps, err := resolvePaths(deps.GOOS, deps.Getenv)
	if err != nil {
		return nil, "no config path"
	}
	if req.config != "" {
		ps.Config = req.config
	}
	config, err := readConfig(ps.Config, req.config != "")
	if err != nil {
		return nil, "config: " + err.Error()
	}
	e, err := deps.TokenCache.Get(cacheKey(ps.Config, selected))
	if err != nil {
		return nil, "access-token cache: " + err.Error()
	}
	var environ []string
	if deps.Environ != nil {
		environ = deps.Environ()
	}
	if e.Fingerprint != cacheFingerprint(config, environ, ps.State) {
		return nil, "the cached access token was for other settings"
	}
	// Fresh by the same rule as a full run's: more than the token's
	// refresh margin (or --min-ttl) before its expiry. The kernel drops
	// the copy at that point too (see accessCache.put).
	margin := e.Margin
	if margin <= 0 {
		margin = token.DefaultMinTTL
	}
	if !e.Expiry.IsZero() && e.Expiry.Sub(now(deps)) <= max(req.minTTL, margin) {
		return nil, "the cached access token expires too soon"
	}
	return e, ""
}

// readConfig reads the config file's bytes as the full run would find
// them: nil for a missing file, an error for one that --config names
// (mustExist) but is not there, or that cannot be read.
func readConfig(path string, mustExist bool) ([]byte, error) {
	b, exists, err := configfile.Read(path)
	if err == nil && !exists && mustExist {
		err = fmt.Errorf("%s: %w", path, os.ErrNotExist)
	}
	return b, err
}

func now(deps Deps) time.Time {
	if deps.Now != nil {
		return deps.Now()
	}
	return time.Now()
}

// printRequest is a plain token print's command line.
type printRequest struct {
	profile, config string
	format          string
	minTTL          time.Duration
	verbose         bool
}

// parsePrintArgs reads `token [print]` with the flags PrintCached knows,
// the way cobra would; ok is false for anything else, or anything in
// doubt (a repeated flag, a value that looks like a flag, a value the
// full run would refuse), which the full run then handles.
func parsePrintArgs(args []string) (req printRequest, ok bool) {
	req.format = "raw"
	var words []string
	seen := map[string]bool{}
	asJSON := false
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			words = append(words, args[i])
			continue
		}
		name, value, hasValue := splitFlag(args[i])
		local := name == "format" || name == "json" || name == "min-ttl"
		if name == "" || seen[name] || local && len(words) == 0 {
			return req, false
		}
		seen[name] = true
		switch name {
		case "json", "verbose":
			if hasValue {
				return req, false
			}
			asJSON = asJSON || name == "json"
			req.verbose = req.verbose || name == "verbose"
			continue
		case "profile", "config", "format", "min-ttl":
		default:
			return req, false
		}
		if !hasValue && i+1 < len(args) {
			i++
			value, hasValue = args[i], true
		}
		if !hasValue || value == "" || strings.HasPrefix(value, "-") || !req.set(name, value) {
			return req, false
		}
	}
	if asJSON {
		if seen["format"] && req.format != "json" {
			return req, false
		}
		req.format = "json"
	}
	switch {
	case len(words) == 1 && words[0] == "token":
	case len(words) == 2 && words[0] == "token" && words[1] == "print":
	default:
		return req, false
	}
	return req, true
}

// splitFlag returns the long name of a flag argument (-p and -v are
// --profile and --verbose) and the value attached to it, if any; "" for
// a form PrintCached does not take.
func splitFlag(arg string) (name, value string, hasValue bool) {
	if long, ok := strings.CutPrefix(arg, "--"); ok {
		return strings.Cut(long, "=")
	}
	switch {
	case arg == "-v":
		return "verbose", "", false
	case arg == "-p":
		return "profile", "", false
	case strings.HasPrefix(arg, "-p"):
		return "profile", strings.TrimPrefix(arg[2:], "="), true
	}
	return "", "", false
}

// set stores one flag's value, reporting false for one the full run
// would refuse.
func (req *printRequest) set(name, value string) bool {
	switch name {
	case "profile":
		req.profile = value
	case "config":
		req.config = value
	case "format":
		req.format = value
		return value == "raw" || value == "header" || value == "json"
	case "min-ttl":
		d, err := time.ParseDuration(value)
		req.minTTL = d
		return err == nil && d >= 0
	}
	return true
}
