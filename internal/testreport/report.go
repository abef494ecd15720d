package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent, and the
// build-output events of Go 1.24 and later).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// testKey names a test (or subtest) within its package.
type testKey struct{ pkg, test string }

// skipped is a test that skipped, and why.
type skipped struct {
	testKey
	reason string
}

// running is a top-level test under way, for the progress lines.
type running struct {
	started time.Time
	// subtests started and finished (pass, fail or skip).
	subStarted, subDone int
	// live are the subtests started and not finished, in start order;
	// paused are those of them waiting for their turn (t.Parallel).
	live   []string
	paused map[string]bool
}

// Report turns `go test -json` events into go test's usual output (the
// output of failed tests, package results, build errors), progress lines
// for long tests, and a closing summary of what ran, failed and skipped.
// Its methods are not safe for concurrent use.
type Report struct {
	out io.Writer
	// verbose prints every output line, as go test -v does.
	verbose bool
	// module is trimmed from package paths in the summary.
	module string

	buffered map[testKey][]string
	running  map[testKey]*running
	passed   int
	failed   []testKey
	skipped  []skipped
	packages map[string]bool
}

// NewReport returns a Report writing to out; verbose prints all output;
// module (such as "github.com/authctl/authctl") is shortened in the summary.
func NewReport(out io.Writer, verbose bool, module string) *Report {
	return &Report{
		out: out, verbose: verbose, module: module,
		buffered: map[testKey][]string{},
		running:  map[testKey]*running{},
		packages: map[string]bool{},
	}
}

// Line takes one line of go test's stdout (without its newline). A line
// that is not a JSON event is printed as it is.
func (r *Report) Line(line string) {
	var e event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
		fmt.Fprintln(r.out, line)
		return
	}
	r.Event(e)
}

// Event takes one event.
func (r *Report) Event(e event) {
	switch {
	case e.Action == "build-output":
		io.WriteString(r.out, e.Output)
	case e.Package == "":
	case e.Test == "":
		r.packageEvent(e)
	default:
		r.testEvent(e)
	}
}

func (r *Report) packageEvent(e event) {
	if e.Action == "pass" || e.Action == "fail" {
		r.packages[e.Package] = true
	}
	if e.Action != "output" {
		return
	}
	// Without -v, go test shows neither a package's closing "PASS" nor
	// the warning that -run matched nothing (its result line says so).
	if !r.verbose && (e.Output == "PASS\n" || e.Output == "testing: warning: no tests to run\n") {
		return
	}
	if strings.HasPrefix(e.Output, "FAIL") {
		// Whatever a crash left unfinished belongs before the package's verdict.
		r.flushPackage(e.Package)
	}
	io.WriteString(r.out, e.Output)
}

func (r *Report) testEvent(e event) {
	k := testKey{e.Package, e.Test}
	top, sub, isSub := strings.Cut(e.Test, "/")
	parent := r.running[testKey{e.Package, top}]
	switch e.Action {
	case "run":
		if !isSub {
			r.running[k] = &running{started: e.Time, paused: map[string]bool{}}
		} else if parent != nil && !strings.Contains(sub, "/") {
			parent.subStarted++
			parent.live = append(parent.live, sub)
		}
	case "pause", "cont":
		if parent != nil && isSub {
			parent.paused[sub] = e.Action == "pause"
		}
	case "output":
		if r.verbose {
			io.WriteString(r.out, e.Output)
		} else {
			r.buffered[k] = append(r.buffered[k], e.Output)
		}
	case "pass", "fail", "skip":
		r.finish(k, e.Action)
		if !isSub {
			delete(r.running, k)
		} else if parent != nil && !strings.Contains(sub, "/") {
			parent.subDone++
			parent.live = slices.DeleteFunc(parent.live, func(s string) bool { return s == sub })
			delete(parent.paused, sub)
		}
	}
}

// finish records a test's result and prints its output if it failed.
func (r *Report) finish(k testKey, action string) {
	lines := r.buffered[k]
	delete(r.buffered, k)
	switch action {
	case "pass":
		r.passed++
	case "fail":
		r.failed = append(r.failed, k)
		r.print(lines)
	case "skip":
		r.skipped = append(r.skipped, skipped{k, skipReason(lines)})
	}
}

// print writes a test's buffered output without go test -v's progress lines.
func (r *Report) print(lines []string) {
	for _, l := range lines {
		if !progressLine.MatchString(l) {
			io.WriteString(r.out, l)
		}
	}
}

// flushPackage prints the output of pkg's unfinished tests (a panic or a
// timeout ended the test binary).
func (r *Report) flushPackage(pkg string) {
	var keys []testKey
	for k := range r.buffered {
		if k.pkg == pkg {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b testKey) int { return strings.Compare(a.test, b.test) })
	for _, k := range keys {
		r.print(r.buffered[k])
		delete(r.buffered, k)
	}
}

var (
	// progressLine matches go test -v's lines about tests starting, pausing and going on.
	progressLine = regexp.MustCompile(`^=== (RUN|PAUSE|CONT|NAME) `)
	// logLine matches the first line of a t.Log, t.Skip or t.Fatal message.
	logLine = regexp.MustCompile(`^ {4,}([\w.-]+\.go):\d+: (.*)$`)
)

// skipReason finds the message of t.Skip in a skipped test's output: the
// last message logged before the test ended, passing over testscript's
// dump of the script (logged from testscript.go after the skip). Only its
// first line is kept.
func skipReason(lines []string) string {
	reason := ""
	for _, l := range lines {
		m := logLine.FindStringSubmatch(strings.TrimRight(l, "\n"))
		if m != nil && m[1] != "testscript.go" {
			reason = m[2]
		}
	}
	if reason == "" {
		return "(no reason given)"
	}
	return reason
}

// Progress writes a line for each top-level test that has run for at least
// after: how many of its subtests are done, which are running and how many
// wait for their turn, or how long it has run.
func (r *Report) Progress(now time.Time, after time.Duration) {
	keys := make([]testKey, 0, len(r.running))
	for k, t := range r.running {
		if now.Sub(t.started) >= after {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b testKey) int { return strings.Compare(a.pkg+" "+a.test, b.pkg+" "+b.test) })
	for _, k := range keys {
		t := r.running[k]
		took := now.Sub(t.started).Round(time.Second)
		if t.subStarted == 0 {
			fmt.Fprintf(r.out, "%s: running for %s (%s)\n", k.test, took, r.short(k.pkg))
			continue
		}
		var active []string
		for _, sub := range t.live {
			if !t.paused[sub] {
				active = append(active, sub)
			}
		}
		line := fmt.Sprintf("%s: %d/%d done after %s (%s); running: %s", k.test, t.subDone, t.subStarted, took, r.short(k.pkg), names(active, 4))
		if waiting := len(t.live) - len(active); waiting > 0 {
			line += fmt.Sprintf("; %d waiting", waiting)
		}
		fmt.Fprintln(r.out, line)
	}
}

// count says "1 test", "2 tests".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// names lists up to n of list, and how many more there are.
func names(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:n], ", "), len(list)-n)
}

// short names pkg relative to the module ("." for its root).
func (r *Report) short(pkg string) string {
	if pkg == r.module {
		return "."
	}
	if rest, ok := strings.CutPrefix(pkg, r.module+"/"); ok && r.module != "" {
		return rest
	}
	return pkg
}

// Summary writes the closing summary: how many tests ran, and one line for
// each that failed or skipped, with the reason it skipped.
func (r *Report) Summary() {
	ran := r.passed + len(r.failed)
	fmt.Fprintf(r.out, "\nSummary: %s ran in %s: %d passed, %d failed; %d skipped.\n",
		count(ran, "test"), count(len(r.packages), "package"), r.passed, len(r.failed), len(r.skipped))
	for _, k := range r.failed {
		fmt.Fprintf(r.out, "  FAILED   %s %s\n", r.short(k.pkg), k.test)
	}
	for _, s := range r.skipped {
		fmt.Fprintf(r.out, "  skipped  %s %s: %s\n", r.short(s.pkg), s.test, s.reason)
	}
}
