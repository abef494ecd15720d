package cmd

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestResolvePaths pins where authctl keeps its config, state (locks and
// --insecure-storage credentials) and cache on each OS.
func TestResolvePaths(t *testing.T) {
	// Absolute on the machine running the test: resolvePaths checks
	// XDG variables with filepath.IsAbs.
	root := "/"
	if runtime.GOOS == "windows" {
		root = `C:\`
	}
	abs := func(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }
	home := abs("home", "ann")

	tests := []struct {
		name    string
		goos    string
		env     map[string]string
		want    paths
		wantErr bool
	}{
		{
			name: "linux without XDG variables",
			goos: "linux",
			env:  map[string]string{"HOME": home},
			want: paths{
				Config: filepath.Join(home, ".config", "authctl", "config.yaml"),
				State:  filepath.Join(home, ".local", "state", "authctl"),
				Cache:  filepath.Join(home, ".cache", "authctl"),
			},
		},
		{
			name: "linux with XDG variables",
			goos: "linux",
			env: map[string]string{
				"HOME":            home,
				"XDG_CONFIG_HOME": abs("xdg", "config"),
				"XDG_STATE_HOME":  abs("xdg", "state"),
				"XDG_CACHE_HOME":  abs("xdg", "cache"),
			},
			want: paths{
				Config: abs("xdg", "config", "authctl", "config.yaml"),
				State:  abs("xdg", "state", "authctl"),
				Cache:  abs("xdg", "cache", "authctl"),
			},
		},
		{
			// The XDG spec: a relative path is invalid and must be ignored.
			name: "linux ignores relative XDG variables",
			goos: "linux",
			env: map[string]string{
				"HOME":            home,
				"XDG_CONFIG_HOME": "config",
				"XDG_STATE_HOME":  "state",
				"XDG_CACHE_HOME":  "cache",
			},
			want: paths{
				Config: filepath.Join(home, ".config", "authctl", "config.yaml"),
				State:  filepath.Join(home, ".local", "state", "authctl"),
				Cache:  filepath.Join(home, ".cache", "authctl"),
			},
		},
		{
			name: "linux needs no HOME when every XDG variable is set",
			goos: "linux",
			env: map[string]string{
				"XDG_CONFIG_HOME": abs("c"),
				"XDG_STATE_HOME":  abs("s"),
				"XDG_CACHE_HOME":  abs("k"),
			},
			want: paths{
				Config: abs("c", "authctl", "config.yaml"),
				State:  abs("s", "authctl"),
				Cache:  abs("k", "authctl"),
			},
		},
		{
			name:    "linux without HOME or XDG variables",
			goos:    "linux",
			env:     map[string]string{},
			wantErr: true,
		},
		{
			name: "freebsd follows XDG like linux",
			goos: "freebsd",
			env:  map[string]string{"HOME": home, "XDG_STATE_HOME": abs("xdg", "state")},
			want: paths{
				Config: filepath.Join(home, ".config", "authctl", "config.yaml"),
				State:  abs("xdg", "state", "authctl"),
				Cache:  filepath.Join(home, ".cache", "authctl"),
			},
		},
		{
			name: "AUTHCTL_CONFIG names the config file on any OS",
			goos: "linux",
			env:  map[string]string{"HOME": home, "AUTHCTL_CONFIG": abs("etc", "authctl.yaml")},
			want: paths{
				Config: abs("etc", "authctl.yaml"),
				State:  filepath.Join(home, ".local", "state", "authctl"),
				Cache:  filepath.Join(home, ".cache", "authctl"),
			},
		},
		{
			// The config file where the contract promises it; state and
			// cache in the Library folders macOS tools use.
			name: "darwin",
			goos: "darwin",
			env:  map[string]string{"HOME": home, "XDG_STATE_HOME": abs("ignored")},
			want: paths{
				Config: filepath.Join(home, ".config", "authctl", "config.yaml"),
				State:  filepath.Join(home, "Library", "Application Support", "authctl"),
				Cache:  filepath.Join(home, "Library", "Caches", "authctl"),
			},
		},
		{
			name: "darwin with XDG_CONFIG_HOME",
			goos: "darwin",
			env:  map[string]string{"HOME": home, "XDG_CONFIG_HOME": abs("xdg", "config")},
			want: paths{
				Config: abs("xdg", "config", "authctl", "config.yaml"),
				State:  filepath.Join(home, "Library", "Application Support", "authctl"),
				Cache:  filepath.Join(home, "Library", "Caches", "authctl"),
			},
		},
		{
			name:    "darwin without HOME",
			goos:    "darwin",
			env:     map[string]string{"XDG_CONFIG_HOME": abs("xdg", "config")},
			wantErr: true,
		},
		{
			// Roaming settings, machine-local state and cache; HOME and
			// XDG variables (set by Git Bash, say) do not count.
			name: "windows",
			goos: "windows",
			env: map[string]string{
				"USERPROFILE":     abs("Users", "ann"),
				"HOME":            abs("msys", "home", "ann"),
				"XDG_CONFIG_HOME": abs("msys", "config"),
				"AppData":         abs("Users", "ann", "AppData", "Roaming"),
				"LocalAppData":    abs("Users", "ann", "AppData", "Local"),
			},
			want: paths{
				Config: abs("Users", "ann", "AppData", "Roaming", "authctl", "config.yaml"),
				State:  abs("Users", "ann", "AppData", "Local", "authctl"),
				Cache:  abs("Users", "ann", "AppData", "Local", "authctl", "cache"),
			},
		},
		{
			name:    "windows without AppData",
			goos:    "windows",
			env:     map[string]string{"USERPROFILE": abs("Users", "ann")},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolvePaths(tt.goos, func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("resolvePaths = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolvePaths: %v", err)
			}
			if got != tt.want {
				t.Errorf("resolvePaths =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}
