package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/internal/rogueidp"
	"github.com/authctl/authctl/internal/testproxy"
)

// The custom commands of the scripts about where authctl sends
// credentials and what it lets through from outside (endpoint_*.txtar,
// outside_*.txtar): a misbehaving provider, a proxy standing in for the
// network, and the tools to poison a file and to measure a process.

// cmdRogueIdP controls the script's misbehaving provider (package rogueidp):
//
//	rogueidp start [http]      start it, over https with a CA of its own (plain http with
//	                           "http"); sets $ROGUE to its issuer and $ROGUE_PLAIN to the
//	                           host:port of its plain-http listener; for https it writes the CA
//	                           to $WORK/rogue-ca.pem and sets SSL_CERT_FILE to it, so authctl
//	                           and the test browser trust it
//	rogueidp set KNOB [VALUE]  turn a knob (see rogueidp.Knobs; VALUE may hold Go escapes
//	                           such as \x1b); without VALUE, turn it off
//	rogueidp reset             every knob off, every count zero
//	rogueidp count KIND N      assert the count of KIND (see rogueidp.IdP.Count)
//	rogueidp refresh-token     print the newest refresh token it issued (the only live one)
func cmdRogueIdP(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: rogueidp start|set|reset|count|refresh-token")
	}
	if args[0] != "start" && st.rogue == nil {
		ts.Fatalf("rogueidp %s: no rogueidp started", args[0])
	}
	switch args[0] {
	case "start":
		p, err := rogueidp.Start(rogueidp.Options{TLS: !slices.Contains(args[1:], "http")})
		ts.Check(err)
		ts.Defer(func() { _ = p.Close() })
		st.rogue = p
		ts.Setenv("ROGUE", p.Issuer)
		ts.Setenv("ROGUE_PLAIN", p.PlainAddr)
		if p.CAPEM != nil {
			ca := filepath.Join(ts.Getenv("WORK"), "rogue-ca.pem")
			ts.Check(os.WriteFile(ca, p.CAPEM, 0o600))
			ts.Setenv("SSL_CERT_FILE", ca)
		}
	case "set":
		if len(args) < 2 || len(args) > 3 {
			ts.Fatalf("usage: rogueidp set KNOB [VALUE]")
		}
		value := ""
		if len(args) == 3 {
			v, err := strconv.Unquote(`"` + strings.ReplaceAll(args[2], `"`, `\"`) + `"`)
			ts.Check(err)
			value = v
		}
		ts.Check(st.rogue.Set(args[1], value))
	case "reset":
		st.rogue.Reset()
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: rogueidp count KIND N")
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if got := st.rogue.Count(args[1]); (got == want) == neg {
			ts.Fatalf("rogueidp saw %d %s requests; want %s%d (all counts: %s)", got, args[1], map[bool]string{true: "not "}[neg], want, st.rogue.Counts())
		}
	case "refresh-token":
		fmt.Fprintln(ts.Stdout(), st.rogue.RefreshToken())
	default:
		ts.Fatalf("unknown rogueidp command %q", args[0])
	}
}

// cmdProxy controls the script's HTTP proxy (package testproxy), which
// stands in for the network:
//
//	proxy start [UPSTREAM]  start it; sets $PROXY to its URL (a script sets HTTP_PROXY and
//	                        HTTPS_PROXY itself); plain-http requests go on to UPSTREAM (host:port,
//	                        or the host:port of a URL)
//	proxy count N           assert it received N requests (on failure they are shown)
//	proxy log               print every request it received
func cmdProxy(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: proxy start|count|log")
	}
	if args[0] != "start" && st.proxy == nil {
		ts.Fatalf("proxy %s: no proxy started", args[0])
	}
	switch args[0] {
	case "start":
		upstream := ""
		if len(args) > 1 {
			upstream = args[1]
			if u, err := url.Parse(upstream); err == nil && u.Host != "" {
				upstream = u.Host
			}
		}
		p, err := testproxy.Start(upstream)
		ts.Check(err)
		ts.Defer(func() { _ = p.Close() })
		st.proxy = p
		ts.Setenv("PROXY", p.URL)
	case "count":
		if len(args) != 2 {
			ts.Fatalf("usage: proxy count N")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		reqs := st.proxy.Requests()
		if (len(reqs) == want) == neg {
			var log strings.Builder
			for _, r := range reqs {
				log.WriteString(r.String() + "\n")
			}
			ts.Fatalf("the proxy received %d requests; want %s%d:\n%s", len(reqs), map[bool]string{true: "not "}[neg], want, log.String())
		}
	case "log":
		for _, r := range st.proxy.Requests() {
			fmt.Fprintln(ts.Stdout(), r.String())
		}
	default:
		ts.Fatalf("unknown proxy command %q", args[0])
	}
}

// cmdRehost sets VAR to URL with its host replaced by HOST (the port kept):
//
//	rehost HOST URL VAR
func cmdRehost(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: rehost HOST URL VAR")
	}
	u, err := url.Parse(args[1])
	ts.Check(err)
	u.Host = net.JoinHostPort(args[0], u.Port())
	ts.Setenv(args[2], u.String())
}

// cmdJSONSet sets the member at PATH (dot-separated names) of the JSON
// object in FILE to the string VALUE, keeping the file's mode:
//
//	jsonset FILE PATH VALUE
func cmdJSONSet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jsonset FILE PATH VALUE")
	}
	path := ts.MkAbs(args[0])
	var doc map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc))
	obj := doc
	names := strings.Split(args[1], ".")
	for _, n := range names[:len(names)-1] {
		next, ok := obj[n].(map[string]any)
		if !ok {
			ts.Fatalf("%s: no object at %q", args[0], n)
		}
		obj = next
	}
	if _, ok := obj[names[len(names)-1]]; !ok {
		ts.Fatalf("%s: no member %s", args[0], args[1])
	}
	obj[names[len(names)-1]] = args[2]
	b, err := json.Marshal(doc)
	ts.Check(err)
	fi, err := os.Stat(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, b, fi.Mode().Perm()))
}

// cmdRSS runs authctl with the script's environment, asserts its exit code
// and that its peak resident memory stayed under MB megabytes; its stdout
// and stderr become the command's:
//
//	rss MB CODE ARGS...
func cmdRSS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: rss MB CODE ARGS...")
	}
	limit, err := strconv.Atoi(args[0])
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	var stdout, stderr bytes.Buffer
	c := exec.Command(lookPath(ts, "authctl"), args[2:]...)
	c.Env = append(scriptEnv(ts), proxyEnv(ts)...)
	c.Dir, c.Stdout, c.Stderr = ts.Getenv("WORK"), &stdout, &stderr
	err = c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		ts.Fatalf("run authctl: %v", err)
	}
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	if got := c.ProcessState.ExitCode(); got != want {
		ts.Fatalf("authctl exited %d, want %d\nstderr: %s", got, want, stderr.String())
	}
	peak, ok := peakMB(c.ProcessState)
	if !ok {
		ts.Fatalf("rss: the peak memory of a process is not known on this system")
	}
	ts.Logf("rss: peak %d MB", peak)
	if peak > int64(limit) {
		ts.Fatalf("authctl's peak memory was %d MB, over %d MB", peak, limit)
	}
}

// proxyEnv is the part of the script's environment scriptEnv leaves out:
// the proxy and the CA a script may set.
func proxyEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE"} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}
