package cmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/authctl/authctl/configfile"
)

// setting describes one profile setting: its key in the config file, its
// login flag (when it has one), its environment variable and its default.
type setting struct {
	Key     string
	Flag    string
	Env     string
	Default any
	Usage   string
}

// settings is every profile setting authctl knows. A key not listed here
// in a profile of the config file is a configuration error (a typo would
// otherwise be silently ignored). Every one with a Flag is a login flag
// that login saves to the profile.
var settings = []setting{
	{Key: "issuer", Flag: "issuer", Env: "AUTHCTL_ISSUER", Usage: "the provider's issuer URL (endpoints by discovery)"},
	{Key: "client_id", Flag: "client-id", Env: "AUTHCTL_CLIENT_ID", Usage: "the OAuth client ID registered for authctl"},
	{Key: "scopes", Flag: "scopes", Env: "AUTHCTL_SCOPES", Default: []string{"openid", "offline_access"}, Usage: "scopes to ask for, comma separated"},
	{Key: "port", Flag: "port", Env: "AUTHCTL_PORT", Default: 0, Usage: "loopback port for the redirect (0 = any free port)"},
	{Key: "redirect_host", Flag: "redirect-host", Env: "AUTHCTL_REDIRECT_HOST", Default: "127.0.0.1", Usage: "redirect host: 127.0.0.1, localhost or [::1]"},
	{Key: "callback_path", Flag: "callback-path", Env: "AUTHCTL_CALLBACK_PATH", Default: "/callback", Usage: "path of the redirect URI"},
	{Key: "timeout", Flag: "timeout", Env: "AUTHCTL_TIMEOUT", Default: 5 * time.Minute, Usage: "how long to wait for the login to finish"},
	{Key: "no_browser", Flag: "no-browser", Env: "AUTHCTL_NO_BROWSER", Default: false, Usage: "print the URL instead of opening a browser; paste the redirected URL back"},
	{Key: "device", Flag: "device", Env: "AUTHCTL_DEVICE", Default: false, Usage: "use the device authorization grant (RFC 8628): enter a code on any device"},
	{Key: "auth_url", Flag: "auth-url", Env: "AUTHCTL_AUTH_URL", Usage: "authorization endpoint (instead of discovery)"},
	{Key: "token_url", Flag: "token-url", Env: "AUTHCTL_TOKEN_URL", Usage: "token endpoint (instead of discovery)"},
	{Key: "device_auth_url", Flag: "device-auth-url", Env: "AUTHCTL_DEVICE_AUTH_URL", Usage: "device authorization endpoint (instead of discovery)"},
	{Key: "revocation_url", Flag: "revocation-url", Env: "AUTHCTL_REVOCATION_URL", Usage: "revocation endpoint (instead of discovery)"},
	{Key: "userinfo_url", Flag: "userinfo-url", Env: "AUTHCTL_USERINFO_URL", Usage: "userinfo endpoint (instead of discovery)"},
	{Key: "jwks_url", Flag: "jwks-url", Env: "AUTHCTL_JWKS_URL", Usage: "JWKS URL for ID-token signatures (instead of discovery)"},
	{Key: "consent_prompt", Flag: "consent-prompt", Env: "AUTHCTL_CONSENT_PROMPT", Default: true, Usage: "with offline_access, send prompt=consent as OIDC Core asks; false where the provider issues refresh tokens without it (Entra ID)"},
	{Key: "auth_params", Flag: "auth-param", Env: "AUTHCTL_AUTH_PARAMS", Default: map[string]string{}, Usage: "extra authorization request parameters, key=value (repeatable), e.g. audience=https://api.example.com"},
	{Key: "dpop", Flag: "dpop", Env: "AUTHCTL_DPOP", Default: false, Usage: "bind the tokens to a key kept in the keychain with them (DPoP, RFC 9449), so that a copied token is useless alone"},
	{Key: "base_url", Flag: "base-url", Env: "AUTHCTL_BASE_URL", Usage: "base URL that authctl curl puts before a URL starting with /"},
	{Key: "login_on_demand", Flag: "login-on-demand", Env: "AUTHCTL_LOGIN_ON_DEMAND", Default: false, Usage: "let kubectl's exec plugin (token print --format exec-credential) run this login when it is interactive and no credential works"},
	{Key: "git_username", Flag: "git-username", Env: "AUTHCTL_GIT_USERNAME", Default: "oauth2", Usage: "user name authctl git-credential gives git with the token as password"},
	{Key: "insecure_storage", Flag: "insecure-storage", Env: "AUTHCTL_INSECURE_STORAGE", Default: false, Usage: "store the credential in a 0600 file instead of the keychain"},
	{Key: "keychain_timeout", Env: "AUTHCTL_KEYCHAIN_TIMEOUT", Default: 5 * time.Second, Usage: "time limit of each keychain call"},
}

// Settings are one profile's settings after flags, environment, config
// file and defaults have been applied, in that order of precedence.
type Settings struct {
	Issuer          string
	ClientID        string
	Scopes          []string
	Port            int
	RedirectHost    string
	CallbackPath    string
	Timeout         time.Duration
	NoBrowser       bool
	Device          bool
	AuthURL         string
	TokenURL        string
	DeviceAuthURL   string
	RevocationURL   string
	UserinfoURL     string
	JWKSURL         string
	ConsentPrompt   bool
	AuthParams      map[string]string
	DPoP            bool
	BaseURL         string
	LoginOnDemand   bool
	GitUsername     string
	InsecureStorage bool
	KeychainTimeout time.Duration
}

// defaultSettings are the settings of a profile nobody configured.
func defaultSettings() Settings {
	var s Settings
	for _, st := range settings {
		_ = s.set(st.Key, st.Default)
	}
	return s
}

// hasProvider reports whether the settings say where the provider is.
func (s *Settings) hasProvider() bool { return s.Issuer != "" || s.TokenURL != "" }

// resolved is the outcome of resolving one profile's settings.
type resolved struct {
	Settings
	// fromFlags holds the settings given as flags, as they would be
	// written in the config file: login saves them.
	fromFlags map[string]any
}

// resolveSettings applies, for each setting, the first of: a flag set on
// the command line (flags may be nil), its environment variable, the
// profile's entry in the config file, the default. A value that does not
// fit its setting is a usage error naming where it came from (the flag,
// the variable, or the config file and line).
func resolveSettings(profile string, cf *configfile.File, flags *pflag.FlagSet, getenv func(string) string) (*resolved, error) {
	r := &resolved{fromFlags: map[string]any{}}
	for _, st := range settings {
		raw, origin, err := lookupSetting(st, profile, cf, flags, getenv)
		if err != nil {
			return nil, err
		}
		if err := r.set(st.Key, raw); err != nil {
			if origin == "" {
				origin = "default " + st.Key
			}
			return nil, usageErrorf("%s: %v", origin, err)
		}
		if strings.HasPrefix(origin, "--") {
			r.fromFlags[st.Key] = raw
		}
	}
	return r, nil
}

// lookupSetting returns the raw value of st and where it came from ("" for
// the default).
func lookupSetting(st setting, profile string, cf *configfile.File, flags *pflag.FlagSet, getenv func(string) string) (any, string, error) {
	if flags != nil && st.Flag != "" {
		if f := flags.Lookup(st.Flag); f != nil && f.Changed {
			return flagValue(flags, f), "--" + st.Flag, nil
		}
	}
	if st.Env != "" && getenv(st.Env) != "" {
		return getenv(st.Env), "$" + st.Env, nil
	}
	if n := cf.Lookup("profiles", profile, st.Key); n != nil {
		origin := fmt.Sprintf("config %s:%d: profiles.%s.%s", cf.Path(), n.Line, profile, st.Key)
		var raw any
		if err := n.Decode(&raw); err != nil {
			return nil, "", usageErrorf("%s: %v", origin, err)
		}
		return raw, origin, nil
	}
	return st.Default, "", nil
}

// flagValue returns a flag's value typed as it would be written in YAML.
func flagValue(flags *pflag.FlagSet, f *pflag.Flag) any {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	switch f.Value.Type() {
	case "stringToString":
		if m, err := flags.GetStringToString(f.Name); err == nil {
			return m
		}
	case "int":
		if n, err := strconv.Atoi(f.Value.String()); err == nil {
			return n
		}
	case "bool":
		if b, err := strconv.ParseBool(f.Value.String()); err == nil {
			return b
		}
	case "duration":
		// Written as given ("15m"), not as Go prints it ("15m0s").
		if d, err := time.ParseDuration(f.Value.String()); err == nil {
			return shortDuration(d)
		}
	}
	return f.Value.String()
}

// shortDuration writes d without zero units: 15m rather than 15m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// set converts raw (from a flag, the environment, YAML or a default) and
// stores it in the field for key.
func (s *Settings) set(key string, raw any) error {
	var err error
	str := func(dst *string) { *dst, err = cast.ToStringE(raw) }
	boolean := func(dst *bool) {
		if *dst, err = cast.ToBoolE(raw); err != nil {
			err = fmt.Errorf("%v is not true or false", raw)
		}
	}
	switch key {
	case "issuer":
		str(&s.Issuer)
	case "client_id":
		str(&s.ClientID)
	case "scopes":
		s.Scopes, err = toList(raw)
	case "port":
		s.Port, err = toPort(raw)
	case "redirect_host":
		str(&s.RedirectHost)
		if err == nil && s.RedirectHost != "127.0.0.1" && s.RedirectHost != "localhost" && s.RedirectHost != "[::1]" {
			err = fmt.Errorf("redirect host %q: use 127.0.0.1, localhost or [::1]", s.RedirectHost)
		}
	case "callback_path":
		str(&s.CallbackPath)
		if err == nil && !strings.HasPrefix(s.CallbackPath, "/") {
			err = fmt.Errorf("callback path %q must start with /", s.CallbackPath)
		}
	case "timeout":
		s.Timeout, err = toDuration(raw)
	case "no_browser":
		boolean(&s.NoBrowser)
	case "device":
		boolean(&s.Device)
	case "auth_url":
		str(&s.AuthURL)
	case "token_url":
		str(&s.TokenURL)
	case "device_auth_url":
		str(&s.DeviceAuthURL)
	case "revocation_url":
		str(&s.RevocationURL)
	case "userinfo_url":
		str(&s.UserinfoURL)
	case "jwks_url":
		str(&s.JWKSURL)
	case "consent_prompt":
		boolean(&s.ConsentPrompt)
	case "auth_params":
		s.AuthParams, err = toParams(raw)
	case "dpop":
		boolean(&s.DPoP)
	case "base_url":
		str(&s.BaseURL)
	case "login_on_demand":
		boolean(&s.LoginOnDemand)
	case "git_username":
		str(&s.GitUsername)
		if err == nil && (s.GitUsername == "" || strings.ContainsAny(s.GitUsername, "\x00\r\n")) {
			err = fmt.Errorf("git user name %q must be one line, not empty", s.GitUsername)
		}
	case "insecure_storage":
		boolean(&s.InsecureStorage)
	case "keychain_timeout":
		s.KeychainTimeout, err = toDuration(raw)
	default:
		err = fmt.Errorf("unknown setting %q", key)
	}
	return err
}

func toPort(raw any) (int, error) {
	n, err := cast.ToIntE(raw)
	if err != nil {
		return 0, fmt.Errorf("%v is not a port number", raw)
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("port %d is out of range", n)
	}
	return n, nil
}

func toList(raw any) ([]string, error) {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	}
	switch v := raw.(type) {
	case nil:
		return nil, nil
	case string:
		return split(v), nil
	}
	l, err := cast.ToStringSliceE(raw)
	if err != nil {
		return nil, err
	}
	var items []string
	for _, s := range l {
		items = append(items, split(s)...)
	}
	return items, nil
}

// toParams reads key=value pairs: a map from YAML or a flag, or
// "k=v,k2=v2" from the environment. Keys keep their case.
func toParams(raw any) (map[string]string, error) {
	if s, ok := raw.(string); ok {
		m := map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			if strings.TrimSpace(kv) == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("%q is not key=value", kv)
			}
			m[strings.TrimSpace(k)] = v
		}
		return m, nil
	}
	if raw == nil {
		return map[string]string{}, nil
	}
	return cast.ToStringMapStringE(raw)
}

func toDuration(raw any) (time.Duration, error) {
	// A bare number means seconds wherever it comes from: YAML's
	// "timeout: 45" is an int here, not 45 nanoseconds.
	switch n := raw.(type) {
	case int:
		return time.Duration(n) * time.Second, nil
	case int64:
		return time.Duration(n) * time.Second, nil
	case uint64:
		return time.Duration(n) * time.Second, nil
	case float64:
		return time.Duration(n * float64(time.Second)), nil
	case time.Duration:
		return n, nil
	}
	s, err := cast.ToStringE(raw)
	if err != nil {
		return 0, fmt.Errorf("%v is not a duration (try 30s or 5m)", raw)
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (try 30s or 5m)", s)
	}
	return d, nil
}

// checkConfig rejects what makes the whole file unusable: keys other than
// default_profile and profiles, profiles that are not a mapping of valid
// names, and an invalid default_profile. Errors name the file and line.
func checkConfig(cf *configfile.File) error {
	for _, e := range cf.Entries() {
		switch e.Key {
		case "default_profile":
			if e.Value.Kind != yaml.ScalarNode {
				return lineError(cf, e.Value, "default_profile must be a profile name")
			}
			if err := validProfileName(e.Value.Value); err != nil {
				return lineError(cf, e.Value, "default_profile: "+err.Error())
			}
		case "profiles":
			if e.Value.Kind != yaml.MappingNode && !(e.Value.Kind == yaml.ScalarNode && e.Value.Tag == "!!null") {
				return lineError(cf, e.Value, "profiles must be a mapping of profile names to settings")
			}
			for _, p := range cf.Entries("profiles") {
				if err := validProfileName(p.Key); err != nil {
					return lineError(cf, p.KeyAt, err.Error())
				}
			}
		default:
			return lineError(cf, e.KeyAt, fmt.Sprintf("unknown setting %q (settings go under profiles.NAME)", e.Key))
		}
	}
	return nil
}

// checkProfile rejects what makes one profile of the file unusable: a
// value that is not a mapping, or an unknown setting.
func checkProfile(cf *configfile.File, name string) error {
	n := cf.Lookup("profiles", name)
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return lineError(cf, n, fmt.Sprintf("profile %q must be a mapping of settings", name))
	}
	for _, e := range cf.Entries("profiles", name) {
		if lookupSettingKey(e.Key) == nil {
			return lineError(cf, e.KeyAt, fmt.Sprintf("unknown setting %q in profile %q (see: authctl help environment)", e.Key, name))
		}
	}
	return nil
}

func lookupSettingKey(key string) *setting {
	for i := range settings {
		if settings[i].Key == key {
			return &settings[i]
		}
	}
	return nil
}

func lineError(cf *configfile.File, n *yaml.Node, msg string) error {
	return &usageError{msg: (&configfile.Error{Path: cf.Path(), Line: n.Line, Msg: msg}).Error()}
}

// validProfileName accepts up to 64 lowercase letters, digits, '-' and
// '_', starting with a letter or digit: names that are safe as keychain
// accounts, file names and config keys.
func validProfileName(name string) error {
	ok := name != "" && len(name) <= 64 && name[0] != '-' && name[0] != '_'
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			ok = false
		}
	}
	if !ok {
		return usageErrorf("invalid profile name %q: use lowercase letters, digits, '-' and '_'", name)
	}
	return nil
}
