package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// measure is one kind of timed run.
type measure struct {
	what string
	// cmd returns the binary and arguments of build b's run; before,
	// when set, runs untimed just before it.
	cmd    func(b build) (string, []string)
	before func() error
	// token says that the run prints the profile's access token.
	token bool
}

// results are the median times of each measure, per build.
type results struct {
	measures []measure
	medians  map[string][2]time.Duration // what -> plain, release
	bins     binaries
	hasCache bool
}

func (m *machine) measures() []measure {
	return []measure{
		{what: "hello-world Go", cmd: func(b build) (string, []string) { return b.hello, nil }},
		{what: "authctl version (start-up)", cmd: func(b build) (string, []string) { return b.authctl, []string{"version"} }},
		{what: "token print, cached in the kernel keyring", token: true,
			cmd: func(b build) (string, []string) { return b.authctl, []string{"token", "print"} }},
		{what: "token print, keychain read (no keyctl)", token: true,
			cmd: func(b build) (string, []string) { return b.noKeyctl, []string{"token", "print"} }},
		{what: "token print, cold (keychain read, cached)", token: true,
			cmd:    func(b build) (string, []string) { return b.authctl, []string{"token", "print"} },
			before: func() error { return m.cache.Invalidate(m.long.name) }},
	}
}

// timeAll runs every measure of both builds runs times, in an order that
// rotates every round, and checks that no run made a token request and
// every token print printed the profile's token.
func (m *machine) timeAll(ctx context.Context, runs int) (*results, error) {
	want, err := m.authctl(ctx, m.bins.release.authctl, m.long, "token", "print")
	if err != nil {
		return nil, err
	}
	if err := m.long.idp.Reset(ctx); err != nil {
		return nil, err
	}
	ms := m.measures()
	builds := []build{m.bins.plain, m.bins.release}
	times := map[string][2][]time.Duration{}
	n := len(ms) * len(builds)
	for round := range runs {
		for k := range n {
			i := (k + round) % n
			me, bi := ms[i%len(ms)], i/len(ms)
			d, out, err := m.timeOne(ctx, me, builds[bi])
			if err != nil {
				return nil, err
			}
			if me.token && !bytes.Equal(out, want) {
				return nil, fmt.Errorf("%s (%s) printed another token", me.what, builds[bi].name)
			}
			t := times[me.what]
			t[bi] = append(t[bi], d)
			times[me.what] = t
		}
	}
	st, err := m.long.idp.Stats(ctx)
	if err != nil {
		return nil, err
	}
	if st.Token != 0 {
		return nil, fmt.Errorf("the timed runs made %d token requests", st.Token)
	}
	r := &results{measures: ms, medians: map[string][2]time.Duration{}, bins: m.bins, hasCache: m.hasKernel}
	for what, t := range times {
		r.medians[what] = [2]time.Duration{median(t[0]), median(t[1])}
	}
	return r, nil
}

// timeOne runs one measure of build b and returns its wall time and
// stdout.
func (m *machine) timeOne(ctx context.Context, me measure, b build) (time.Duration, []byte, error) {
	if me.before != nil {
		if err := me.before(); err != nil {
			return 0, nil, err
		}
	}
	bin, args := me.cmd(b)
	c := exec.CommandContext(ctx, bin, args...)
	c.Env = append(m.env, "AUTHCTL_PROFILE="+m.long.name)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	start := time.Now()
	err := c.Run()
	d := time.Since(start)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, errOut.String())
	}
	return d, out.Bytes(), nil
}

// print writes the table: each measure's median and its ratio to the
// hello-world of the same build.
func (r *results) print(out io.Writer) {
	link := func(b build) string {
		if b.dynamicLd {
			return "cgo, dynamically linked"
		}
		return "static"
	}
	fmt.Fprintf(out, "%-42s | %-32s | %s\n", "median wall time, ratio to hello-world", r.bins.plain.name+" ("+link(r.bins.plain)+")", r.bins.release.name+" ("+link(r.bins.release)+")")
	hello := r.medians[r.measures[0].what]
	for _, me := range r.measures {
		md := r.medians[me.what]
		cell := func(i int) string {
			return fmt.Sprintf("%5.2f ms %5.2fx", float64(md[i])/1e6, float64(md[i])/float64(hello[i]))
		}
		fmt.Fprintf(out, "%-42s | %-32s | %s\n", me.what, cell(0), cell(1))
	}
	if !r.hasCache {
		fmt.Fprintln(out, "(the kernel keyring is not available here: the \"cached\" rows read the keychain too)")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
