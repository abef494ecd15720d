package cmd

// Environment returns the name of every environment variable authctl
// reads: the settings' AUTHCTL_* variables, AUTHCTL_PROFILE,
// AUTHCTL_CONFIG, AUTHCTL_CLIENT_SECRET, and those of the system it runs
// on (browser, display, directories, D-Bus). A wrapper that runs authctl
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
		"DBUS_SESSION_BUS_ADDRESS")
}

// SecretEnvironment returns the variables among Environment that hold
// secrets: a program authctl starts (the browser) must not inherit them.
func SecretEnvironment() []string { return []string{clientSecretEnv} }
