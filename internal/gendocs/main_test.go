package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authctl/authctl/cmd"
)

// repoRoot is the module root, seen from this package's directory.
const repoRoot = "../.."

const regenerate = "run: go generate ./... (or: go run ./internal/gendocs)"

// listFiles returns the names of the regular files in dir, sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// TestCheckedInFilesAreCurrent fails when completions/ or man/ differ from
// what the command tree produces now: a changed flag, command or help text
// must come with regenerated files.
func TestCheckedInFilesAreCurrent(t *testing.T) {
	fresh := t.TempDir()
	if err := generate(fresh); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"completions", "man"} {
		want := listFiles(t, filepath.Join(fresh, sub))
		got := listFiles(t, filepath.Join(repoRoot, sub))
		for _, name := range got {
			if !slices.Contains(want, name) {
				t.Errorf("%s/%s is not generated any more (a removed command?): delete it; %s", sub, name, regenerate)
			}
		}
		for _, name := range want {
			if !slices.Contains(got, name) {
				t.Errorf("%s/%s is missing: %s", sub, name, regenerate)
				continue
			}
			w, err := os.ReadFile(filepath.Join(fresh, sub, name))
			if err != nil {
				t.Fatal(err)
			}
			g, err := os.ReadFile(filepath.Join(repoRoot, sub, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g, w) {
				t.Errorf("%s/%s is stale (differs from the command tree): %s", sub, name, regenerate)
			}
		}
	}
}

// TestGenerateIsReproducible runs the generator twice: the output must not
// depend on the time or on map order, or the staleness test would flap.
func TestGenerateIsReproducible(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := generate(a); err != nil {
		t.Fatal(err)
	}
	// A second run over existing output, as go generate does in a checkout.
	if err := generate(b); err != nil {
		t.Fatal(err)
	}
	if err := generate(b); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"completions", "man"} {
		names := listFiles(t, filepath.Join(a, sub))
		if other := listFiles(t, filepath.Join(b, sub)); !slices.Equal(names, other) {
			t.Fatalf("%s: first run wrote %v, second %v", sub, names, other)
		}
		for _, n := range names {
			x, _ := os.ReadFile(filepath.Join(a, sub, n))
			y, _ := os.ReadFile(filepath.Join(b, sub, n))
			if !bytes.Equal(x, y) {
				t.Errorf("%s/%s differs between two runs", sub, n)
			}
		}
	}
}

// TestManPagesCoverCommandsAndTopics checks the pages a user would look
// for: one per command and one per `authctl help TOPIC`, the topics
// listed from the main page.
func TestManPagesCoverCommandsAndTopics(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{
		"authctl.1", "authctl-login.1", "authctl-token-print.1", "authctl-curl.1", "authctl-logout.1",
		"authctl-version.1", "authctl-completion-bash.1",
		"authctl-exit-codes.1", "authctl-environment.1", "authctl-storage.1",
	} {
		if _, err := os.Stat(filepath.Join(dir, "man", page)); err != nil {
			t.Errorf("no man page %s: %v", page, err)
		}
	}
	exit, err := os.ReadFile(filepath.Join(dir, "man", "authctl-exit-codes.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`.TH "AUTHCTL-EXIT-CODES" "1"`, `\fBauthctl help exit-codes\fP`, "130  interrupted"} {
		if !bytes.Contains(exit, []byte(want)) {
			t.Errorf("authctl-exit-codes.1 lacks %q:\n%s", want, exit)
		}
	}
	root, err := os.ReadFile(filepath.Join(dir, "man", "authctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(root, []byte(`\fBauthctl-exit-codes(1)\fP`)) {
		t.Errorf("authctl.1 does not point to authctl-exit-codes(1):\n%s", root)
	}
	if bytes.Contains(root, []byte("Auto generated")) {
		t.Errorf("authctl.1 carries cobra's dated auto-generated tag:\n%s", root)
	}
}

// testDeps are dependencies for running authctl in-process with a home
// directory of its own and the given environment.
func testDeps(home string, env map[string]string, stdout *bytes.Buffer) cmd.Deps {
	return cmd.Deps{
		Stdin:  strings.NewReader(""),
		Stdout: stdout,
		Stderr: &bytes.Buffer{},
		Getenv: func(k string) string {
			if k == "HOME" {
				return home
			}
			return env[k]
		},
		GOOS:    "linux",
		Version: cmd.Version{Version: "dev"},
	}
}

// TestCompletionCommandPrintsTheCheckedInScripts: what `authctl completion
// SHELL` prints is what the packages install from completions/.
func TestCompletionCommandPrintsTheCheckedInScripts(t *testing.T) {
	for shell, file := range map[string]string{
		"bash": "authctl.bash", "zsh": "authctl.zsh", "fish": "authctl.fish", "powershell": "authctl.ps1",
	} {
		var out bytes.Buffer
		if code := cmd.Main(context.Background(), []string{"completion", shell}, testDeps(t.TempDir(), nil, &out)); code != 0 {
			t.Fatalf("authctl completion %s: exit %d", shell, code)
		}
		want, err := os.ReadFile(filepath.Join(repoRoot, "completions", file))
		if err != nil {
			t.Fatalf("%v: %s", err, regenerate)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("authctl completion %s differs from completions/%s: %s", shell, file, regenerate)
		}
	}
}

const twoProfiles = `default_profile: work
profiles:
  work:
    issuer: https://id.example.com
    client_id: authctl
  staging:
    issuer: https://id.staging.example.com
    client_id: authctl
`

// TestProfileFlagCompletesProfileNames asks authctl for the candidates a
// shell gets for `authctl token print --profile <TAB>`.
func TestProfileFlagCompletesProfileNames(t *testing.T) {
	home := t.TempDir()
	config := filepath.Join(home, "config.yaml")
	if err := os.WriteFile(config, []byte(twoProfiles), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"__complete", "token", "print", "--profile", ""}
	if code := cmd.Main(context.Background(), args, testDeps(home, map[string]string{"AUTHCTL_CONFIG": config}, &out)); code != 0 {
		t.Fatalf("authctl %s: exit %d", strings.Join(args, " "), code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// The last line is cobra's directive (":4" = no file completion).
	if got, want := lines[:len(lines)-1], []string{"staging", "work"}; !slices.Equal(got, want) {
		t.Errorf("profile candidates = %q, want %q (output %q)", got, want, out.String())
	}
}

// TestBashCompletionScriptCompletesProfiles sources the checked-in bash
// script in a real bash and completes `authctl -p <TAB>` against the real
// binary: the script, the binary and the config fit together.
func TestBashCompletionScriptCompletesProfiles(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		if os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
			t.Fatalf("bash not found (AUTHCTL_TEST_REQUIRE_REAL=1): %v", err)
		}
		t.Skipf("bash not found: %v", err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "authctl"), ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := t.TempDir()
	config := filepath.Join(home, "config.yaml")
	if err := os.WriteFile(config, []byte(twoProfiles), 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join(repoRoot, "completions", "authctl.bash"))
	if err != nil {
		t.Fatal(err)
	}
	// The script needs the bash-completion package (as installed shells
	// have it); where it is missing, a minimal _get_comp_words_by_ref
	// stands in. The completion function reads COMP_WORDS/COMP_CWORD and
	// fills COMPREPLY, as bash does on TAB.
	const driver = `if [ -r /usr/share/bash-completion/bash_completion ]; then
	source /usr/share/bash-completion/bash_completion
else
	_get_comp_words_by_ref() {
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cword=$COMP_CWORD
		words=("${COMP_WORDS[@]}")
	}
fi
source "$SCRIPT"
COMP_WORDS=(authctl token print -p "")
COMP_CWORD=4
COMP_LINE="authctl token print -p "
COMP_POINT=${#COMP_LINE}
__start_authctl authctl "" print
printf '%s\n' "${COMPREPLY[@]}"
`
	c := exec.Command(bash, "--noprofile", "--norc", "-c", driver)
	c.Env = []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"AUTHCTL_CONFIG=" + config,
		"SCRIPT=" + script,
	}
	// stderr carries bash's "compopt: not currently executing completion
	// function" outside a real TAB; only stdout holds the candidates.
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s%s", err, out, stderr.Bytes())
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		got = append(got, strings.TrimSpace(l))
	}
	slices.Sort(got)
	if want := []string{"staging", "work"}; !slices.Equal(got, want) {
		t.Errorf("bash completes `authctl token print -p ` to %q, want %q (stderr: %s)", got, want, stderr.Bytes())
	}
}
