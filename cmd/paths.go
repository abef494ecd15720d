package cmd

import (
	"path/filepath"
)

// paths are where authctl keeps its files, per operating system.
type paths struct {
	Config string // the config file
	State  string // lock files and, with --insecure-storage, credentials
	Cache  string // cached discovery documents
}

// resolvePaths follows each OS's conventions: the XDG base directories on
// Linux and the BSDs (and for the config file on macOS, as the contract
// promises), Library folders on macOS, AppData on Windows.
func resolvePaths(goos string, getenv func(string) string) (paths, error) {
	home := getenv("HOME")
	if goos == "windows" {
		home = getenv("USERPROFILE")
	}
	xdg := func(env, fallback string) (string, error) {
		if d := getenv(env); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "authctl"), nil
		}
		if home == "" {
			return "", usageErrorf("cannot find your home directory: set HOME")
		}
		return filepath.Join(home, fallback, "authctl"), nil
	}
	var p paths
	var err error
	switch goos {
	case "windows":
		appData, local := getenv("AppData"), getenv("LocalAppData")
		if appData == "" || local == "" {
			return p, usageErrorf("cannot find %%AppData%% and %%LocalAppData%%")
		}
		p.Config = filepath.Join(appData, "authctl", "config.yaml")
		p.State = filepath.Join(local, "authctl")
		p.Cache = filepath.Join(local, "authctl", "cache")
	case "darwin":
		dir, err := xdg("XDG_CONFIG_HOME", ".config")
		if err != nil {
			return p, err
		}
		p.Config = filepath.Join(dir, "config.yaml")
		if home == "" {
			return p, usageErrorf("cannot find your home directory: set HOME")
		}
		p.State = filepath.Join(home, "Library", "Application Support", "authctl")
		p.Cache = filepath.Join(home, "Library", "Caches", "authctl")
	default:
		var dir string
		if dir, err = xdg("XDG_CONFIG_HOME", ".config"); err != nil {
			return p, err
		}
		p.Config = filepath.Join(dir, "config.yaml")
		if p.State, err = xdg("XDG_STATE_HOME", filepath.Join(".local", "state")); err != nil {
			return p, err
		}
		if p.Cache, err = xdg("XDG_CACHE_HOME", ".cache"); err != nil {
			return p, err
		}
	}
	if c := getenv("AUTHCTL_CONFIG"); c != "" {
		p.Config = c
	}
	return p, nil
}
