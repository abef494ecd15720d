package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sample is a module whose tests pass, fail, skip (one reason logged
// after a plain log line), and run subtests.
var sample = map[string]string{
	"go.mod": "module example.test/sample\n\ngo 1.22\n",
	"a/a_test.go": `package a

import "testing"

func TestPass(t *testing.T) { t.Log("quiet when passing") }

func TestFail(t *testing.T) { t.Error("broken on purpose") }

func TestSkip(t *testing.T) {
	t.Log("looked around first")
	t.Skip("needs a widget (Debian: apt-get install widget)")
}

func TestSub(t *testing.T) {
	for _, name := range []string{"one", "two"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "two" {
				t.Skip("two is not here")
			}
		})
	}
}
`,
	"b/b_test.go": "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {}\n",
}

func writeSample(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range sample {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

// TestRunReportsLikeGoTest runs the real go test on the sample module.
func TestRunReportsLikeGoTest(t *testing.T) {
	writeSample(t)
	var out, errOut bytes.Buffer
	code := run("go", []string{"-count=1", "./..."}, &out, &errOut, time.Hour)
	got := out.String()
	if code != 1 {
		t.Errorf("exit status %d, want go test's 1\nstdout:\n%s\nstderr:\n%s", code, got, errOut.String())
	}
	for _, want := range []string{
		"--- FAIL: TestFail",
		"a_test.go:7: broken on purpose",
		"FAIL\texample.test/sample/a\t",
		"ok  \texample.test/sample/b\t",
		"Summary: 5 tests ran in 2 packages: 4 passed, 1 failed; 2 skipped.\n",
		"  FAILED   a TestFail\n",
		"  skipped  a TestSkip: needs a widget (Debian: apt-get install widget)\n",
		"  skipped  a TestSub/two: two is not here\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"=== RUN", "quiet when passing", "looked around first", "\nPASS\n"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q, which go test without -v does not print:\n%s", unwanted, got)
		}
	}
	if i, j := strings.Index(got, "FAIL\texample.test/sample/a"), strings.Index(got, "Summary:"); i < 0 || j < i {
		t.Errorf("the summary does not come after go test's result:\n%s", got)
	}
}

func TestRunPassesExitStatusAndVerbose(t *testing.T) {
	writeSample(t)
	var out, errOut bytes.Buffer
	if code := run("go", []string{"-count=1", "-run", "Nothing", "./b"}, &out, &errOut, time.Hour); code != 0 || strings.Contains(out.String(), "warning") {
		t.Errorf("exit status %d, want 0; output (without go test's warning that nothing ran):\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run("go", []string{"-count=1", "-v", "-run", "TestPass", "./a"}, &out, &errOut, time.Hour); code != 0 {
		t.Errorf("exit status %d, want 0\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "quiet when passing") || !strings.Contains(out.String(), "=== RUN   TestPass") {
		t.Errorf("-v output lacks the passing test's log:\n%s", out.String())
	}
	if code := run(filepath.Join(t.TempDir(), "no-such-go"), nil, &out, &errOut, time.Hour); code != 1 {
		t.Errorf("exit status %d without a go command, want 1", code)
	}
}

func TestSkipReason(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"t.Skip", []string{"=== RUN   TestX\n", "    x_test.go:12: no widget\n", "--- SKIP: TestX (0.00s)\n"}, "no widget"},
		{"the last message", []string{"    x_test.go:3: first\n", "    x_test.go:9: skipping: second\n", "        more of it\n"}, "skipping: second"},
		{"testscript's dump after the skip", []string{
			"    cmd.go:380: about the keychain itself: no Secret Service here\n",
			"    testscript.go:609: WORK=$WORK\n",
			"        > [!keychain] skip 'about the keychain itself: '$NOKEYCHAIN\n",
		}, "about the keychain itself: no Secret Service here"},
		{"nothing said", []string{"--- SKIP: TestX (0.00s)\n"}, "(no reason given)"},
	} {
		if got := skipReason(tc.lines); got != tc.want {
			t.Errorf("%s: skipReason = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestProgress(t *testing.T) {
	var out bytes.Buffer
	r := NewReport(&out, false, "example.test/m")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range []event{
		{Time: t0, Action: "run", Package: "example.test/m", Test: "TestScript"},
		{Time: t0, Action: "run", Package: "example.test/m", Test: "TestScript/a"},
		{Time: t0, Action: "run", Package: "example.test/m", Test: "TestScript/b"},
		{Time: t0, Action: "pause", Package: "example.test/m", Test: "TestScript/b"},
		{Time: t0, Action: "run", Package: "example.test/m", Test: "TestScript/c"},
		{Time: t0, Action: "pause", Package: "example.test/m", Test: "TestScript/c"},
		{Time: t0, Action: "run", Package: "example.test/m", Test: "TestScript/d"},
		{Time: t0, Action: "pause", Package: "example.test/m", Test: "TestScript/d"},
		{Time: t0, Action: "cont", Package: "example.test/m", Test: "TestScript/b"},
		{Time: t0, Action: "run", Package: "example.test/m", Test: "TestScript/b/nested"},
		{Time: t0, Action: "pass", Package: "example.test/m", Test: "TestScript/b/nested"},
		{Time: t0, Action: "skip", Package: "example.test/m", Test: "TestScript/a"},
		{Time: t0.Add(time.Second), Action: "run", Package: "example.test/m/slow", Test: "TestSlow"},
		{Time: t0.Add(time.Second), Action: "run", Package: "example.test/m", Test: "TestQuick"},
		{Time: t0.Add(time.Second), Action: "pass", Package: "example.test/m", Test: "TestQuick"},
	} {
		r.Event(e)
	}
	r.Progress(t0.Add(5*time.Second), 10*time.Second)
	if out.Len() != 0 {
		t.Errorf("progress before the interval: %q", out.String())
	}
	r.Progress(t0.Add(21*time.Second), 10*time.Second)
	want := "TestScript: 1/4 done after 21s (.); running: b; 2 waiting\n" +
		"TestSlow: running for 20s (slow)\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	for _, sub := range []string{"TestScript/b", "TestScript/c", "TestScript/d", "TestScript"} {
		r.Event(event{Action: "pass", Package: "example.test/m", Test: sub})
	}
	r.Progress(t0.Add(31*time.Second), 10*time.Second)
	if !regexp.MustCompile(`^TestSlow: running for 30s \(slow\)\n$`).MatchString(out.String()) {
		t.Errorf("progress once TestScript ended: %q", out.String())
	}
}

func TestLineKeepsWhatIsNotJSON(t *testing.T) {
	var out bytes.Buffer
	r := NewReport(&out, false, "")
	r.Line("# example.test/m [build failed]")
	r.Line(`{"Action":"build-output","ImportPath":"example.test/m","Output":"x.go:1:1: syntax error\n"}`)
	if want := "# example.test/m [build failed]\nx.go:1:1: syntax error\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
