package cmd

import (
	"slices"
	"strings"
)

// Environment returns the name of every environment variable authctl
// reads: the settings' AUTHCTL_* variables, AUTHCTL_PROFILE,
// AUTHCTL_CONFIG, AUTHCTL_CLIENT_SECRET, and those of the system it runs
// on (browser, display, directories, D-Bus), and what kubectl tells its
// credential plugins ($KUBERNETES_EXEC_INFO). A wrapper that runs authctl
// in a cleaned environment passes these along.
func Environment() []string {
	names := []string{"AUTHCTL_PROFILE", "AUTHCTL_CONFIG", clientSecretEnv}
	for _, s := range settings {
		if s.Env != "" {
			names = append(names, s.Env)
		}
	}
	return append(names,
		"BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY",
		"HOME", "USERPROFILE", "AppData", "LocalAppData",
		"XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
		"DBUS_SESSION_BUS_ADDRESS", execInfoEnv)
}

// SecretEnvironment returns the variables among Environment that hold
// secrets: a program authctl starts (the browser) must not inherit them.
func SecretEnvironment() []string { return []string{clientSecretEnv} }

// outputEnvironment are the AUTHCTL_* variables authctl sets for the
// commands it runs (authctl exec), which may run authctl again.
var outputEnvironment = []string{"AUTHCTL_ACCESS_TOKEN", "AUTHCTL_ID_TOKEN"}

// checkEnvironment rejects an AUTHCTL_* variable that means nothing to
// authctl: a misspelt setting would otherwise be ignored in silence. An
// empty one counts as unset, as for the settings' variables.
func (f *Factory) checkEnvironment() error {
	if f.deps.Environ == nil {
		return nil
	}
	var known []string
	for _, k := range append(Environment(), outputEnvironment...) {
		if strings.HasPrefix(k, "AUTHCTL_") {
			known = append(known, k)
		}
	}
	for _, kv := range f.deps.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "AUTHCTL_") || v == "" || slices.Contains(known, k) {
			continue
		}
		hint := ""
		if s := closest(k, known); s != "" {
			hint = "; did you mean $" + s + "?"
		}
		return usageErrorf("$%s is not a variable authctl knows%s (see: authctl help environment)", k, hint)
	}
	return nil
}
