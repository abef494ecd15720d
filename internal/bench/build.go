package main

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

const helloSource = `package main

import "os"

func main() { os.Stdout.WriteString("hello, world\n") }
`

// build is one way of building: a hello-world and authctl, with and
// without keyctl.
type build struct {
	name      string // "plain go build", "release build"
	hello     string
	authctl   string
	noKeyctl  string // authctl built with -tags authctl_nokeyctl
	goEnv     []string
	goFlags   []string
	dynamicLd bool // the binary is dynamically linked (cgo)
}

// binaries are the two builds the benchmark compares.
type binaries struct{ plain, release build }

// buildAll builds every binary into dir: as `go build` does by default
// (cgo where a C compiler is found), and as releases are built.
func buildAll(ctx context.Context, dir string) (binaries, error) {
	if err := os.WriteFile(filepath.Join(dir, "hello.go"), []byte(helloSource), 0o600); err != nil {
		return binaries{}, err
	}
	bins := binaries{
		plain:   build{name: "plain go build"},
		release: build{name: "release build", goEnv: []string{"CGO_ENABLED=0"}, goFlags: []string{"-trimpath", "-ldflags", "-s -w"}},
	}
	for _, b := range []*build{&bins.plain, &bins.release} {
		short := strings.Fields(b.name)[0]
		b.hello = filepath.Join(dir, "hello-"+short)
		b.authctl = filepath.Join(dir, "authctl-"+short)
		b.noKeyctl = filepath.Join(dir, "authctl-nokeyctl-"+short)
		for _, t := range []struct{ out, pkg, dir, tags string }{
			{b.hello, filepath.Join(dir, "hello.go"), dir, ""},
			{b.authctl, "github.com/authctl/authctl", "", ""},
			{b.noKeyctl, "github.com/authctl/authctl", "", "authctl_nokeyctl"},
		} {
			if err := goBuild(ctx, *b, t.out, t.pkg, t.dir, t.tags); err != nil {
				return binaries{}, err
			}
		}
		b.dynamicLd = dynamic(b.authctl)
	}
	return bins, nil
}

func goBuild(ctx context.Context, b build, out, pkg, dir, tags string) error {
	args := append([]string{"build", "-o", out}, b.goFlags...)
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	c := exec.CommandContext(ctx, "go", append(args, pkg)...)
	c.Dir = dir
	c.Env = append(os.Environ(), b.goEnv...)
	c.Stderr = os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// dynamic reports whether an ELF binary asks for a program interpreter
// (ld.so), as cgo binaries do.
func dynamic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
}

func goVersion() string {
	return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func numCPU() int { return runtime.NumCPU() }

// loadAverage is the machine's one-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
