package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version describes a build. Releases stamp it with -ldflags; a plain
// `go install` leaves it empty and FromBuildInfo fills in what the Go
// toolchain recorded.
type Version struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// FromBuildInfo completes v with the module version and VCS stamps the
// Go toolchain embedded, for builds that were not stamped with -ldflags.
func (v Version) FromBuildInfo(info *debug.BuildInfo, ok bool) Version {
	v.Go, v.OS, v.Arch = runtime.Version(), runtime.GOOS, runtime.GOARCH
	if ok && info != nil {
		if v.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			// Release builds are stamped "1.2.3"; `go install …@v1.2.3`
			// records "v1.2.3". Show both the same way.
			v.Version = strings.TrimPrefix(info.Main.Version, "v")
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.time" && v.Date == "":
				v.Date = s.Value
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// String is the one-line form shown by version and --version.
func (v Version) String() string {
	s := v.Version
	if v.Commit != "" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (commit " + c
		if v.Date != "" {
			s += ", built " + v.Date
		}
		s += ")"
	}
	if v.Go != "" {
		s += " " + v.Go + " " + v.OS + "/" + v.Arch
	}
	return s
}

// VersionOptions is one `authctl version`.
type VersionOptions struct {
	IO      IOStreams
	Version Version
	JSON    bool
}

// NewCmdVersion returns `authctl version`; runF, when not nil, receives
// the options instead of versionRun (tests).
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IO(), Version: f.deps.Version}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print authctl's version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return c
}

func versionRun(opts *VersionOptions) error {
	if opts.JSON {
		b, _ := json.MarshalIndent(opts.Version, "", "  ")
		fmt.Fprintf(opts.IO.Out, "%s\n", b)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "authctl %s\n", opts.Version)
	return nil
}
