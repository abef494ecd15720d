package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/internal/procscan"
	"github.com/authctl/authctl/internal/testidp"
	"github.com/authctl/authctl/internal/testkube"
)

// The commands of the integration scripts (kubectl.txtar,
// git_credential.txtar, exec.txtar): the real kubectl and git run
// authctl, and argcheck, a program of this test binary, stands where
// they expect a command, checking that no token is in any process's
// arguments while it runs.

// integrationCondition answers [kubectl], [git] and [script] (util-linux
// script, a terminal for kubectl): whether the program is installed; a
// missing one is an error under AUTHCTL_TEST_REQUIRE_REAL=1, so CI cannot
// skip these scripts.
func integrationCondition(cond string) (bool, error) {
	if _, err := exec.LookPath(cond); err != nil {
		if os.Getenv("AUTHCTL_TEST_REQUIRE_REAL") == "1" {
			return false, fmt.Errorf("%s is not installed and AUTHCTL_TEST_REQUIRE_REAL=1 (see .ci/run)", cond)
		}
		return false, nil
	}
	return true, nil
}

// argcheckMain is the argcheck program:
//
//	argcheck env NAME...          for each NAME, print the SHA-256 of its value (it must be
//	                              set) after checking that no process has the value in its
//	                              arguments; !NAME asserts that NAME is not set
//	argcheck wait READY           write the file READY, wait for SIGINT, SIGTERM, SIGHUP or
//	                              SIGQUIT (2 minutes at most), print "argcheck: got SIGNAL"
//	                              and die of that signal
//	argcheck windup READY GOT CODE  write READY, wait for a signal as wait does, write GOT
//	                              (still winding down), wait for a second one, print
//	                              "argcheck: wound down" and exit CODE
//	argcheck wrap CMD ARGS...     run CMD (kubectl's exec plugin, git's credential helper)
//	                              with stdin passed on, take the token from its output
//	                              (status.token of an ExecCredential, or password=), check
//	                              that no process has it in its arguments, append
//	                              "START EXPIRY" (RFC 3339; EXPIRY "-" when none) to
//	                              $ARGCHECK_LOG, then print the output and exit as CMD did
//
// It exits 1 with a message on stderr when a check fails.
func argcheckMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: argcheck env|wait|windup|wrap ...")
		return 2
	}
	var err error
	code := 0
	switch args[0] {
	case "env":
		err = argcheckEnv(args[1:])
	case "wait":
		err = argcheckWait(args[1:])
	case "windup":
		code, err = argcheckWindup(args[1:])
	case "wrap":
		code, err = argcheckWrap(args[1:])
	default:
		err = fmt.Errorf("unknown mode %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "argcheck:", err)
		return 1
	}
	return code
}

// notInArgs fails when some process has secret in its arguments.
func notInArgs(what, secret string) error {
	procs, err := procscan.Find(secret)
	if err != nil {
		return err
	}
	if len(procs) > 0 {
		return fmt.Errorf("%s is in the arguments of %v", what, procs)
	}
	return nil
}

func argcheckEnv(names []string) error {
	for _, n := range names {
		if unset, ok := strings.CutPrefix(n, "!"); ok {
			if _, set := os.LookupEnv(unset); set {
				return fmt.Errorf("$%s is set", unset)
			}
			continue
		}
		v := os.Getenv(n)
		if v == "" {
			return fmt.Errorf("$%s is not set", n)
		}
		if err := notInArgs("$"+n, v); err != nil {
			return err
		}
		fmt.Printf("%x\n", sha256.Sum256([]byte(v)))
	}
	return nil
}

func argcheckWrap(args []string) (int, error) {
	if len(args) == 0 {
		return 0, errors.New("usage: argcheck wrap CMD ARGS...")
	}
	start := time.Now().UTC()
	var out bytes.Buffer
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, &out, os.Stderr
	runErr := c.Run()
	var ee *exec.ExitError
	if runErr != nil && !errors.As(runErr, &ee) {
		return 0, runErr
	}
	secret, expiry := tokenIn(out.Bytes())
	if secret != "" {
		if err := notInArgs("the token "+args[0]+" printed", secret); err != nil {
			return 0, err
		}
	}
	if log := os.Getenv("ARGCHECK_LOG"); log != "" && secret != "" {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(f, "%s %s\n", start.Format(time.RFC3339Nano), expiry)
		if err := f.Close(); err != nil {
			return 0, err
		}
	}
	_, _ = os.Stdout.Write(out.Bytes())
	if ee != nil {
		return ee.ExitCode(), nil
	}
	return 0, nil
}

// tokenIn finds the token and its expiry (RFC 3339, "-" when none) in an
// ExecCredential or a git credential helper's answer.
func tokenIn(out []byte) (secret, expiry string) {
	var ec struct {
		Status struct {
			Token               string `json:"token"`
			ExpirationTimestamp string `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if json.Unmarshal(out, &ec) == nil && ec.Status.Token != "" {
		return ec.Status.Token, orDash(ec.Status.ExpirationTimestamp)
	}
	expiry = "-"
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "password":
			secret = v
		case "password_expiry_utc":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				expiry = time.Unix(n, 0).UTC().Format(time.RFC3339)
			}
		}
	}
	return secret, expiry
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cmdKube runs the script's stand-in for a Kubernetes API server
// (internal/testkube) and drives kubectl proxy:
//
//	kube start                    start it; sets $KUBE_SERVER and $KUBE_CA (its CA's PEM file)
//	kube count FIELD N            assert access, id, unauthorized, leaks or tokens
//	kube poll SOCKET LOG RUNS     GET /hello through kubectl proxy's unix socket, one request
//	                              after another, until the plugin log LOG ($ARGCHECK_LOG) has
//	                              at least RUNS lines and there were more requests than runs
//	                              (kubectl served some from its cache; 3 minutes at most);
//	                              then assert that every run but the first began after the
//	                              expirationTimestamp of the run before it; prints
//	                              "kube: N requests, M runs"
func cmdKube(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: kube start|count|poll")
	}
	switch args[0] {
	case "start":
		if st.idp == nil {
			ts.Fatalf("kube start needs idp start first")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		k, err := testkube.Start(ctx, st.idp.Issuer, testidp.ClientID)
		ts.Check(err)
		ts.Defer(k.Close)
		st.kube = k
		ca := filepath.Join(ts.Getenv("WORK"), "kube-ca.pem")
		ts.Check(os.WriteFile(ca, k.CAPEM(), 0o600))
		ts.Setenv("KUBE_SERVER", k.URL())
		ts.Setenv("KUBE_CA", ca)
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: kube count FIELD N")
		}
		s := st.kube.Stats()
		got, ok := map[string]int{"access": s.Access, "id": s.ID, "unauthorized": s.Unauthorized, "leaks": s.Leaks, "tokens": s.Tokens}[args[1]]
		if !ok {
			ts.Fatalf("unknown kube count %q", args[1])
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if (got == want) == neg {
			ts.Fatalf("the API stand-in saw %d %s; want %s%d (leaked: %v)", got, args[1], map[bool]string{true: "not "}[neg], want, s.Leaked)
		}
	case "poll":
		if neg || len(args) != 4 {
			ts.Fatalf("usage: kube poll SOCKET LOG RUNS")
		}
		runs, err := strconv.Atoi(args[3])
		ts.Check(err)
		kubePoll(ts, ts.MkAbs(args[1]), ts.MkAbs(args[2]), runs)
	default:
		ts.Fatalf("unknown kube command %q", args[0])
	}
}

func kubePoll(ts *testscript.TestScript, socket, log string, runs int) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	deadline := time.Now().Add(3 * time.Minute)
	requests := 0
	// Until kubectl has run the plugin RUNS times and served a request
	// from its cache: a first run can hand out a token close to its
	// expirationTimestamp, the later ones (refreshed) cannot.
	for n := 0; n < runs || requests <= n; n = len(pluginRuns(ts, log)) {
		if time.Now().After(deadline) {
			ts.Fatalf("after %d requests in 3 minutes, kubectl ran authctl %d times; want %d, and fewer than the requests", requests, n, runs)
		}
		resp, err := client.Get("http://localhost/hello") // kubectl proxy accepts only local host names
		if err != nil {
			if requests == 0 {
				time.Sleep(100 * time.Millisecond) // kubectl proxy is not listening yet
				continue
			}
			ts.Fatalf("request %d through kubectl proxy: %v", requests+1, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		requests++
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"sub":"alice"`)) {
			ts.Fatalf("request %d through kubectl proxy: %s %s", requests, resp.Status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := pluginRuns(ts, log)
	for i := 1; i < len(got); i++ {
		if got[i-1].expiry.IsZero() {
			ts.Fatalf("run %d printed no expirationTimestamp", i)
		}
		if got[i].start.Before(got[i-1].expiry) {
			ts.Fatalf("kubectl ran authctl again at %s, before the credential of %s expired at %s", got[i].start, got[i-1].start, got[i-1].expiry)
		}
	}
	fmt.Fprintf(ts.Stdout(), "kube: %d requests, %d runs\n", requests, len(got))
}

type pluginRun struct{ start, expiry time.Time }

// pluginRuns reads the log argcheck wrap appends to.
func pluginRuns(ts *testscript.TestScript, log string) []pluginRun {
	b, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	ts.Check(err)
	var runs []pluginRun
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		start, expiry, _ := strings.Cut(line, " ")
		var r pluginRun
		r.start, err = time.Parse(time.RFC3339Nano, start)
		ts.Check(err)
		if expiry != "-" {
			r.expiry, err = time.Parse(time.RFC3339, expiry)
			ts.Check(err)
		}
		runs = append(runs, r)
	}
	return runs
}

// cmdEnvFile sets the script variable VAR to the contents of FILE,
// trimmed (a token to look for in a command's output):
//
//	envfile VAR FILE
func cmdEnvFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}
