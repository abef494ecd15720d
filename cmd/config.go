package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
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
// otherwise be silently ignored).
var settings = []setting{
	{Key: "issuer", Flag: "issuer", Env: "AUTHCTL_ISSUER", Usage: "the provider's issuer URL (endpoints by discovery)"},
	{Key: "client_id", Flag: "client-id", Env: "AUTHCTL_CLIENT_ID", Usage: "the OAuth client ID registered for authctl"},
	{Key: "scopes", Flag: "scopes", Env: "AUTHCTL_SCOPES", Default: []string{"openid", "offline_access"}, Usage: "scopes to ask for, comma separated"},
	{Key: "port", Flag: "port", Env: "AUTHCTL_PORT", Default: 0, Usage: "loopback port for the redirect (0 = any free port)"},
	{Key: "redirect_host", Flag: "redirect-host", Env: "AUTHCTL_REDIRECT_HOST", Default: "127.0.0.1", Usage: "redirect host: 127.0.0.1, localhost or [::1]"},
	{Key: "callback_path", Flag: "callback-path", Env: "AUTHCTL_CALLBACK_PATH", Default: "/callback", Usage: "path of the redirect URI"},
	{Key: "timeout", Flag: "timeout", Env: "AUTHCTL_TIMEOUT", Default: 5 * time.Minute, Usage: "how long to wait for the login to finish"},
	{Key: "auth_url", Flag: "auth-url", Env: "AUTHCTL_AUTH_URL", Usage: "authorization endpoint (instead of discovery)"},
	{Key: "token_url", Flag: "token-url", Env: "AUTHCTL_TOKEN_URL", Usage: "token endpoint (instead of discovery)"},
	{Key: "device_auth_url", Flag: "device-auth-url", Env: "AUTHCTL_DEVICE_AUTH_URL", Usage: "device authorization endpoint (instead of discovery)"},
	{Key: "revocation_url", Flag: "revocation-url", Env: "AUTHCTL_REVOCATION_URL", Usage: "revocation endpoint (instead of discovery)"},
	{Key: "userinfo_url", Flag: "userinfo-url", Env: "AUTHCTL_USERINFO_URL", Usage: "userinfo endpoint (instead of discovery)"},
	{Key: "jwks_url", Flag: "jwks-url", Env: "AUTHCTL_JWKS_URL", Usage: "JWKS URL for ID-token signatures (instead of discovery)"},
	{Key: "consent_prompt", Flag: "consent-prompt", Env: "AUTHCTL_CONSENT_PROMPT", Default: true, Usage: "with offline_access, send prompt=consent as OIDC Core asks; false where the provider issues refresh tokens without it (Entra ID)"},
	{Key: "auth_params", Flag: "auth-param", Env: "AUTHCTL_AUTH_PARAMS", Default: map[string]string{}, Usage: "extra authorization request parameters, key=value (repeatable), e.g. audience=https://api.example.com"},
	{Key: "base_url", Flag: "base-url", Env: "AUTHCTL_BASE_URL", Usage: "base URL that authctl curl puts before a URL starting with /"},
	{Key: "insecure_storage", Flag: "insecure-storage", Env: "AUTHCTL_INSECURE_STORAGE", Default: false, Usage: "store the credential in a 0600 file instead of the keychain"},
	{Key: "keychain_timeout", Env: "AUTHCTL_KEYCHAIN_TIMEOUT", Default: 5 * time.Second, Usage: "time limit of each keychain call"},
}

// Profile is a profile's settings after flags, environment, config file
// and defaults have been applied, in that order of precedence.
type Profile struct {
	Name            string
	Issuer          string
	ClientID        string
	Scopes          []string
	Port            int
	RedirectHost    string
	CallbackPath    string
	Timeout         time.Duration
	AuthURL         string
	TokenURL        string
	DeviceAuthURL   string
	RevocationURL   string
	UserinfoURL     string
	JWKSURL         string
	AuthParams      map[string]string
	ConsentPrompt   bool
	BaseURL         string
	InsecureStorage bool
	KeychainTimeout time.Duration

	// fromFlags lists the keys whose values came from flags; login saves
	// them to the config file.
	fromFlags map[string]any
}

// validProfileName accepts up to 64 lowercase letters, digits, '-' and
// '_', starting with a letter or digit: names that are safe as keychain
// accounts, file names and config keys (viper folds case and splits keys at
// dots).
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

// configFile is the parsed config file.
type configFile struct {
	path    string
	v       *viper.Viper
	missing bool // no file at path: an empty config
}

// exists reports whether the config was read from a file.
func (c *configFile) exists() bool { return !c.missing }

// loadConfig reads the config file at path with a fresh viper instance. A
// missing file is an empty config; a broken one is a usage error naming the
// file and, where the parser says, the line.
func loadConfig(path string) (*configFile, error) {
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &configFile{path: path, v: v, missing: true}, nil
		}
		var pe viper.ConfigParseError
		if errors.As(err, &pe) {
			return nil, usageErrorf("config %s: %s", path, strings.TrimPrefix(oneLine(pe.Unwrap().Error()), "yaml: "))
		}
		return nil, usageErrorf("config %s: %v", path, oneLine(err.Error()))
	}
	cf := &configFile{path: path, v: v}
	if err := cf.check(); err != nil {
		return nil, err
	}
	return cf, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// check rejects unknown keys and profile names authctl cannot use.
func (c *configFile) check() error {
	for _, k := range c.v.AllKeys() {
		parts := strings.Split(k, ".")
		switch {
		case len(parts) == 1 && parts[0] == "default_profile":
		case len(parts) == 4 && parts[0] == "profiles" && parts[2] == "auth_params":
			// Viper flattens the map; its keys are the parameter names.
			if err := validProfileName(parts[1]); err != nil {
				return usageErrorf("config %s: %v", c.path, err)
			}
		case len(parts) == 3 && parts[0] == "profiles":
			if err := validProfileName(parts[1]); err != nil {
				return usageErrorf("config %s: %v", c.path, err)
			}
			if lookupSetting(parts[2]) == nil {
				return usageErrorf("config %s: unknown setting %q in profile %q", c.path, parts[2], parts[1])
			}
		default:
			return usageErrorf("config %s: unknown setting %q", c.path, k)
		}
	}
	if d := c.v.GetString("default_profile"); d != "" {
		if err := validProfileName(d); err != nil {
			return usageErrorf("config %s: default_profile: %v", c.path, err)
		}
	}
	return nil
}

func lookupSetting(key string) *setting {
	for i := range settings {
		if settings[i].Key == key {
			return &settings[i]
		}
	}
	return nil
}

// DefaultProfile returns the config's default_profile, or "default".
func (c *configFile) DefaultProfile() string {
	if d := c.v.GetString("default_profile"); d != "" {
		return d
	}
	return "default"
}

// Profiles returns the names of the profiles the file defines, sorted.
func (c *configFile) Profiles() []string {
	m := c.v.GetStringMap("profiles")
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HasProfile reports whether the file defines profile name.
func (c *configFile) HasProfile(name string) bool {
	return c.v.IsSet("profiles." + name)
}

// resolveProfile applies, for each setting, the first of: a flag the user
// set in flags, the environment variable, the config file, the default.
func resolveProfile(name string, c *configFile, flags *pflag.FlagSet, getenv func(string) string) (*Profile, error) {
	p := &Profile{Name: name, fromFlags: map[string]any{}}
	for _, s := range settings {
		var raw any
		source := ""
		if flags != nil && s.Flag != "" {
			if f := flags.Lookup(s.Flag); f != nil && f.Changed {
				raw, source = flagValue(flags, f), "--"+s.Flag
			}
		}
		if source == "" && s.Env != "" && getenv(s.Env) != "" {
			raw, source = getenv(s.Env), "$"+s.Env
		}
		if source == "" && c.v.IsSet("profiles."+name+"."+s.Key) {
			raw, source = c.v.Get("profiles."+name+"."+s.Key), fmt.Sprintf("%s: profiles.%s.%s", c.path, name, s.Key)
		}
		if source == "" {
			raw = s.Default
		}
		if err := p.set(s.Key, raw); err != nil {
			return nil, usageErrorf("%s: %v", orDefault(source, "default "+s.Key), err)
		}
		if strings.HasPrefix(source, "--") {
			p.fromFlags[s.Key] = raw
		}
	}
	return p, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
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
	}
	return f.Value.String()
}

// set converts raw (from a flag, the environment, YAML or a default) and
// stores it in the field for key.
func (p *Profile) set(key string, raw any) error {
	str := func() (string, error) { return cast.ToStringE(raw) }
	var err error
	switch key {
	case "issuer":
		p.Issuer, err = str()
	case "client_id":
		p.ClientID, err = str()
	case "scopes":
		p.Scopes, err = toList(raw)
	case "port":
		p.Port, err = cast.ToIntE(raw)
		if err != nil {
			err = fmt.Errorf("%v is not a port number", raw)
		} else if p.Port < 0 || p.Port > 65535 {
			err = fmt.Errorf("port %d is out of range", p.Port)
		}
	case "redirect_host":
		p.RedirectHost, err = str()
		if err == nil && p.RedirectHost != "127.0.0.1" && p.RedirectHost != "localhost" && p.RedirectHost != "[::1]" {
			err = fmt.Errorf("redirect host %q: use 127.0.0.1, localhost or [::1]", p.RedirectHost)
		}
	case "callback_path":
		p.CallbackPath, err = str()
		if err == nil && !strings.HasPrefix(p.CallbackPath, "/") {
			err = fmt.Errorf("callback path %q must start with /", p.CallbackPath)
		}
	case "timeout":
		p.Timeout, err = toDuration(raw)
	case "auth_url":
		p.AuthURL, err = str()
	case "token_url":
		p.TokenURL, err = str()
	case "device_auth_url":
		p.DeviceAuthURL, err = str()
	case "revocation_url":
		p.RevocationURL, err = str()
	case "userinfo_url":
		p.UserinfoURL, err = str()
	case "jwks_url":
		p.JWKSURL, err = str()
	case "auth_params":
		p.AuthParams, err = toParams(raw)
	case "base_url":
		p.BaseURL, err = str()
	case "insecure_storage":
		if p.InsecureStorage, err = cast.ToBoolE(raw); err != nil {
			err = fmt.Errorf("%v is not true or false", raw)
		}
	case "consent_prompt":
		if p.ConsentPrompt, err = cast.ToBoolE(raw); err != nil {
			err = fmt.Errorf("%v is not true or false", raw)
		}
	case "keychain_timeout":
		p.KeychainTimeout, err = toDuration(raw)
	default:
		err = fmt.Errorf("unknown setting %q", key)
	}
	return err
}

func toList(raw any) ([]string, error) {
	var items []string
	switch v := raw.(type) {
	case string:
		items = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	case nil:
		return nil, nil
	default:
		l, err := cast.ToStringSliceE(v)
		if err != nil {
			return nil, err
		}
		for _, s := range l {
			items = append(items, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
		}
	}
	return items, nil
}

// toParams reads key=value pairs: a map from YAML or a flag, or
// "k=v,k2=v2" from the environment.
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
	}
	if s, ok := raw.(string); ok {
		if n, err := strconv.Atoi(s); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (try 30s or 5m)", s)
		}
		return d, nil
	}
	d, err := cast.ToDurationE(raw)
	if err != nil {
		return 0, err
	}
	return d, nil
}

// saveProfile writes values (setting key → value) into profile name of the
// config file at c.path, and makes it the default profile when the file
// names none. The file is replaced atomically with mode 0600.
func (c *configFile) saveProfile(name string, values map[string]any) error {
	w := viper.New()
	w.SetConfigType("yaml")
	w.SetConfigFile(c.path)
	if err := w.ReadInConfig(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config %s: %w", c.path, err)
	}
	for k, v := range values {
		w.Set("profiles."+name+"."+k, v)
	}
	if !w.IsSet("default_profile") {
		w.Set("default_profile", name)
	}
	if !w.IsSet("profiles." + name) {
		w.Set("profiles."+name, map[string]any{})
	}
	return writeViper(w, c.path)
}

// removeProfile deletes profile name from the config file.
func (c *configFile) removeProfile(name string) error {
	all := c.v.AllSettings()
	if profiles, ok := all["profiles"].(map[string]any); ok {
		delete(profiles, name)
	}
	if all["default_profile"] == name {
		delete(all, "default_profile")
	}
	w := viper.New()
	w.SetConfigType("yaml")
	if err := w.MergeConfigMap(all); err != nil {
		return err
	}
	return writeViper(w, c.path)
}

// setDefault makes name the default profile.
func (c *configFile) setDefault(name string) error {
	w := viper.New()
	w.SetConfigType("yaml")
	if err := w.MergeConfigMap(c.v.AllSettings()); err != nil {
		return err
	}
	w.Set("default_profile", name)
	return writeViper(w, c.path)
}

func writeViper(w *viper.Viper, path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// The temporary name ends in .yaml: viper picks the format by extension.
	tmp := filepath.Join(dir, "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid())+".yaml")
	w.SetConfigPermissions(0o600)
	if err := w.WriteConfigAs(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}
