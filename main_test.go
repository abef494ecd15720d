package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/authctl/authctl/cmd"
	"github.com/authctl/authctl/internal/rogueidp"
	"github.com/authctl/authctl/internal/testapi"
	"github.com/authctl/authctl/internal/testbrowser"
	"github.com/authctl/authctl/internal/testidp"
	"github.com/authctl/authctl/internal/testkube"
	"github.com/authctl/authctl/internal/testproxy"
	"github.com/authctl/authctl/keychain"
	"github.com/authctl/authctl/provider"
	"github.com/authctl/authctl/token"
)

// TestMain makes this test binary double as the authctl and testbrowser
// commands of the scripts in testdata/script.
func TestMain(m *testing.M) {
	handDownSignals()
	testscript.Main(m, map[string]func(){
		"authctl":     func() { os.Exit(run(scriptKeychain())) },
		"testbrowser": func() { os.Exit(testbrowser.Main(os.Args[1:], os.Stdout, os.Stderr)) },
		"argcheck":    func() { os.Exit(argcheckMain(os.Args[1:])) },
	})
}

// TestScript runs the end-to-end scripts: the real authctl binary against a
// real OpenID provider (node-oidc-provider) and the real Secret Service, or
// a file store where there is none (see storeMode). Scripts see which as
// the condition [keychain]; $STORAGE matches the storage status names, and
// $NOKEYCHAIN says why there is no keychain, for skips:
//
//	[!keychain] skip 'about the keychain itself: '$NOKEYCHAIN
func TestScript(t *testing.T) {
	if err := testidp.Available(); err != nil {
		testidp.SkipOrFail(t, err.Error())
	}
	mode := chooseStore(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			profile := setupScript(env)
			mode.setup(env, profile, profile+"-b")
			return nil
		},
		Cmds:                scriptCommands(),
		RequireExplicitExec: true,
		Condition:           mode.condition(scriptCondition),
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// passedThrough are the variables of the test process the scripts keep.
var passedThrough = []string{"DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "GOCOVERDIR"}

// setupScript gives each script its own home, config and state
// directories and its own profile name (the keychain is shared between
// scripts running in parallel), which it returns.
func setupScript(env *testscript.Env) string {
	for _, k := range passedThrough {
		if v := os.Getenv(k); v != "" {
			env.Setenv(k, v)
		}
	}
	home := filepath.Join(env.WorkDir, ".home")
	env.Setenv("HOME", home)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	env.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	env.Setenv("BROWSER", "testbrowser")
	env.Setenv("TESTBROWSER_LOG", filepath.Join(env.WorkDir, "browser.log"))
	// gnome-keyring on a loaded 2-core machine, serving many scripts at
	// once, can take longer than the default 5 s to answer; a keychain
	// that waits for an unlock prompt fails the scripts' checks at this
	// limit all the same.
	env.Setenv("AUTHCTL_KEYCHAIN_TIMEOUT", "60s")
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(filepath.Base(env.T().(testing.TB).Name()), "-"))
	profile := fmt.Sprintf("t%s-%s", randomHex(3), strings.Trim(name, "-"))
	if len(profile) > 40 {
		profile = profile[:40]
	}
	profile = strings.TrimRight(profile, "-")
	env.Values["state"] = &scriptState{}
	env.Setenv("AUTHCTL_PROFILE", profile)
	env.Setenv("PROFILE", profile)
	env.Defer(func() { clearCachedTokens(profile, profile+"-b") })
	return profile
}

// scriptState is what a script's custom commands share.
type scriptState struct {
	idp   *testidp.IdP
	api   *testapi.API
	rogue *rogueidp.IdP
	proxy *testproxy.Proxy
	kube  *testkube.Server
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value("state").(*scriptState)
}

func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"idp":      cmdIdP,
		"api":      cmdAPI,
		"cred":     cmdCred,
		"parallel": cmdParallel,
		"nofile":   cmdNoFile,
		"exits":    cmdExits,
		"interact": cmdInteract,
		"holdport": cmdHoldPort,
		"waitfile": cmdWaitFile,
		"expand":   cmdExpand,
		"signal":   cmdSignal,

		"rogueidp": cmdRogueIdP,
		"proxy":    cmdProxy,
		"rehost":   cmdRehost,
		"jsonset":  cmdJSONSet,
		"rss":      cmdRSS,
		"kube":     cmdKube,
		"execsig":  cmdExecSig,
		"envfile":  cmdEnvFile,

		"hang":      cmdHang,
		"twologins": cmdTwoLogins,

		"bus":         cmdBus,
		"keyring":     cmdKeyring,
		"requirereal": cmdRequireReal,
		"nouserbus":   cmdNoUserBus,
		"perm":        cmdPerm,
		"exitswithin": cmdExitsWithin,
		"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: sleep DURATION")
			}
			d, err := time.ParseDuration(args[0])
			ts.Check(err)
			time.Sleep(d)
		},
	}
}

// cmdIdP controls the script's provider:
//
//	idp start [ACCESS_TTL [VAR]]  start it; sets $ISSUER (or $VAR, for a second provider), $CLIENT_ID,
//	                         and $SECRET_CLIENT_ID with its $CLIENT_SECRET;
//	                         $IDP_ID_TOKEN_PADDING=N pads every ID token with N characters;
//	                         $IDP_DPOP=1 turns DPoP on, with a nonce required in every proof
//	idp stop                 stop it (a provider that is down)
//	idp reset                zero its request counts
//	idp count KIND N         assert the count of KIND (refresh_token, authorization_code, revocation, userinfo, jwks,
//	                         dpop_proofs, use_dpop_nonce, ...)
//	idp bound KIND           assert the provider's introspection of the stored KIND (access_token or refresh_token)
//	                         says active and bound to the stored DPoP key (cnf.jkt); ! idp bound: active, not bound
//	idp revoke-refresh       revoke the stored refresh token at the provider, behind authctl's back
//	idp userinfo FILE        assert the provider accepts the access token in FILE (! idp userinfo: refuses it)
//	idp slow-refresh DUR     hold each refresh answer (the refresh token already rotated) for DUR; 0s ends it
//	idp slow-jwks DUR        hold each answer to a request for the provider's keys for DUR; 0s ends it
//	idp release              send the answers held now
//	idp tamper MODE          alter refreshed ID tokens: signature (another key signs), subject (sub mallory), off
func cmdIdP(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: idp start|stop|reset|count|revoke-refresh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	switch args[0] {
	case "start":
		opts := testidp.Options{}
		if len(args) > 1 {
			d, err := time.ParseDuration(args[1])
			ts.Check(err)
			opts.AccessTTL = d
		}
		if p := ts.Getenv("IDP_ID_TOKEN_PADDING"); p != "" {
			n, err := strconv.Atoi(p)
			ts.Check(err)
			opts.IDTokenPadding = n
		}
		opts.DPoP = ts.Getenv("IDP_DPOP") == "1"
		var log bytes.Buffer
		opts.Stderr = &lockedWriter{w: &log}
		idp, err := testidp.Start(ctx, opts)
		if err != nil {
			ts.Fatalf("start provider: %v\n%s", err, log.String())
		}
		ts.Defer(func() { _ = idp.Close() })
		if len(args) > 2 {
			ts.Setenv(args[2], idp.Issuer)
			return
		}
		st.idp = idp
		ts.Setenv("ISSUER", idp.Issuer)
		ts.Setenv("CLIENT_ID", testidp.ClientID)
		ts.Setenv("SECRET_CLIENT_ID", testidp.SecretClientID)
		ts.Setenv("CLIENT_SECRET", testidp.ClientSecret)
	case "stop":
		ts.Check(st.idp.Close())
	case "reset":
		ts.Check(st.idp.Reset(ctx))
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: idp count KIND N")
		}
		stats, err := st.idp.Stats(ctx)
		ts.Check(err)
		counts := map[string]int{
			"authorization_code": stats.AuthorizationCode, "refresh_token": stats.RefreshToken,
			"device_code": stats.DeviceCode, "token": stats.Token, "token_errors": stats.TokenErrors,
			"revocation": stats.Revocation, "userinfo": stats.Userinfo, "authorization": stats.Authorization,
			"jwks": stats.JWKS, "dpop_proofs": stats.DPoPProofs, "use_dpop_nonce": stats.UseDPoPNonce,
			"introspection": stats.Introspection,
		}
		got, ok := counts[args[1]]
		if !ok {
			ts.Fatalf("unknown count %q", args[1])
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if (got == want) == neg {
			ts.Fatalf("provider saw %d %s requests; want %s%d", got, args[1], map[bool]string{true: "not "}[neg], want)
		}
	case "userinfo":
		if len(args) != 2 {
			ts.Fatalf("usage: idp userinfo FILE")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.idp.UserinfoURL(), nil)
		ts.Check(err)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(ts.ReadFile(args[1])))
		resp, err := http.DefaultClient.Do(req)
		ts.Check(err)
		resp.Body.Close()
		if (resp.StatusCode == http.StatusOK) == neg {
			ts.Fatalf("userinfo answered %s", resp.Status)
		}
	case "bound":
		if len(args) != 2 {
			ts.Fatalf("usage: idp bound access_token|refresh_token")
		}
		idpBound(ts, ctx, st.idp, args[1], neg)
	case "revoke-refresh":
		c := loadCred(ts, ts.Getenv("AUTHCTL_PROFILE"))
		ts.Check(token.Revoke(ctx, nil, st.idp.RevocationURL(), provider.Client{ID: c.ClientID}, c.RefreshToken, "refresh_token"))
	default:
		if !idpKnob(ts, st.idp, args) {
			ts.Fatalf("unknown idp command %q", args[0])
		}
	}
}

// idpBound asserts that the provider reports the stored token of kind as
// active and, unless neg, bound to the stored DPoP key; with neg, as
// bound to no key.
func idpBound(ts *testscript.TestScript, ctx context.Context, idp *testidp.IdP, kind string, neg bool) {
	c := loadCred(ts, ts.Getenv("AUTHCTL_PROFILE"))
	tok := map[string]string{"access_token": c.AccessToken, "refresh_token": c.RefreshToken}[kind]
	if tok == "" {
		ts.Fatalf("the stored credential has no %s", kind)
	}
	res, err := idp.Introspect(ctx, c.ClientID, tok)
	ts.Check(err)
	cnf, _ := res["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	if res["active"] != true {
		ts.Fatalf("the provider says the %s is not active: %v", kind, res)
	}
	switch {
	case neg && jkt != "":
		ts.Fatalf("the provider says the %s is bound to %s", kind, jkt)
	case neg:
		return
	case jkt == "" || jkt != credJKT(ts, c):
		ts.Fatalf("the provider says the %s is bound to %q, not to the stored key %q", kind, jkt, credJKT(ts, c))
	}
	fmt.Fprintf(ts.Stdout(), "%s bound to %s\n", kind, jkt)
}

// credJKT is the thumbprint of c's DPoP key, or "" when it has none.
func credJKT(ts *testscript.TestScript, c *token.Credential) string {
	k, err := c.ProofKey()
	ts.Check(err)
	if k == nil {
		return ""
	}
	return k.Thumbprint()
}

// cmdAPI controls the script's protected test API:
//
//	api start [VAR]      start one; sets $API (or $VAR) to its URL
//	api refuse-next      refuse the next token it sees (the provider still accepts it)
//	api refuse-all       refuse every token
//	api dpop-nonce on|off  ask for a DPoP nonce of the API's own in every proof, or stop
//	api replay FILE      send the access token in FILE to /hello without a proof, as Bearer and as DPoP,
//	                     and print "api: SCHEME STATUS ERROR" for each (a stolen token replayed)
//	api send FILE METHOD PATH  send a request to the API with the "Name: value" header lines of FILE (as
//	                     another HTTP client would with authctl dpop-proof's output) and print
//	                     "api: STATUS ERROR"
//	api count FIELD N    assert a request count of testapi.Stats by JSON name
func cmdAPI(ts *testscript.TestScript, neg bool, args []string) {
	st := state(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: api start|refuse-next|refuse-all|count")
	}
	switch args[0] {
	case "start":
		if st.idp == nil {
			ts.Fatalf("api start needs idp start first")
		}
		name := "API"
		if len(args) > 1 {
			name = args[1]
		}
		a := testapi.New(st.idp.Issuer)
		ts.Check(a.Start())
		ts.Defer(func() { _ = a.Close() })
		if name == "API" {
			st.api = a
		}
		ts.Setenv(name, a.URL())
	case "refuse-next":
		st.api.RefuseNext()
	case "refuse-all":
		st.api.RefuseAll()
	case "reset":
		st.api.Reset()
	case "dpop-nonce":
		if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
			ts.Fatalf("usage: api dpop-nonce on|off")
		}
		st.api.RequireDPoPNonce(args[1] == "on")
	case "replay":
		if len(args) != 2 {
			ts.Fatalf("usage: api replay FILE")
		}
		tok := strings.TrimSpace(ts.ReadFile(args[1]))
		for _, scheme := range []string{"Bearer", "DPoP"} {
			apiSend(ts, http.MethodGet, st.api.URL()+"/hello", scheme, http.Header{"Authorization": {scheme + " " + tok}})
		}
	case "send":
		if len(args) != 4 {
			ts.Fatalf("usage: api send FILE METHOD PATH")
		}
		h := http.Header{}
		for _, line := range strings.Split(strings.TrimSpace(ts.ReadFile(args[1])), "\n") {
			name, value, ok := strings.Cut(line, ": ")
			if !ok {
				ts.Fatalf("%s: %q is not a header line", args[1], line)
			}
			h.Add(name, value)
		}
		apiSend(ts, args[2], st.api.URL()+args[3], "", h)
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: api count FIELD N")
		}
		got, ok := statField(st.api.Stats(), args[1])
		if !ok {
			ts.Fatalf("unknown api count %q", args[1])
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if (got == want) == neg {
			ts.Fatalf("api saw %d %s; want %s%d", got, args[1], map[bool]string{true: "not "}[neg], want)
		}
	default:
		ts.Fatalf("unknown api command %q", args[0])
	}
}

// cmdCred inspects the profile's credential in the store the script's
// authctl uses (the real keychain, or file mode's store):
//
//	cred exists [PROFILE]       assert it is there (! cred exists: that it is not)
//	cred get FIELD [PROFILE]    print refresh_token, access_token, id_token, client_secret, issuer, client_id,
//	                            token_type, dpop_jkt (the thumbprint of the DPoP key) or dpop_d (its private part)
//	cred len|sum FIELD [PROFILE]  print its length or SHA-256 (for values too big to show)
func cmdCred(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: cred exists|get")
	}
	profile := ts.Getenv("AUTHCTL_PROFILE")
	switch args[0] {
	case "exists":
		if len(args) > 1 {
			profile = args[1]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := scriptStore(ts).Get(ctx, profile)
		switch {
		case err == nil && neg:
			ts.Fatalf("a credential is stored for %s", profile)
		case errors.Is(err, keychain.ErrNotFound) && !neg:
			ts.Fatalf("no credential stored for %s", profile)
		case err != nil && !errors.Is(err, keychain.ErrNotFound):
			ts.Fatalf("keychain: %v", err)
		}
	case "get", "len", "sum":
		if neg || len(args) < 2 {
			ts.Fatalf("usage: cred get|len|sum FIELD [PROFILE]")
		}
		if len(args) > 2 {
			profile = args[2]
		}
		c := loadCred(ts, profile)
		v := map[string]string{
			"refresh_token": c.RefreshToken, "access_token": c.AccessToken, "id_token": c.IDToken, "client_secret": c.ClientSecret,
			"issuer": c.Issuer, "client_id": c.ClientID, "token_type": c.TokenType,
			"dpop_jkt": credJKT(ts, c), "dpop_d": jwkD(c.DPoPKey),
		}[args[1]]
		switch args[0] {
		case "len":
			fmt.Fprintln(ts.Stdout(), len(v))
		case "sum":
			fmt.Fprintf(ts.Stdout(), "%x\n", sha256.Sum256([]byte(v)))
		default:
			fmt.Fprintln(ts.Stdout(), v)
		}
	default:
		ts.Fatalf("unknown cred command %q", args[0])
	}
}

// jwkD is the private part ("d") of a stored JWK, or "".
func jwkD(raw []byte) string {
	var k struct {
		D string `json:"d"`
	}
	_ = json.Unmarshal(raw, &k)
	return k.D
}

func loadCred(ts *testscript.TestScript, profile string) *token.Credential {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := scriptStore(ts).Get(ctx, profile)
	if err != nil {
		ts.Fatalf("read credential of %s: %v", profile, err)
	}
	c, err := token.Decode(b)
	ts.Check(err)
	return c
}

// cmdParallel runs N authctl processes at once with the same arguments and
// asserts that all succeed and print the same thing, which it prints once:
//
//	parallel N ARGS...
func cmdParallel(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: parallel N ARGS...")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	bin := lookPath(ts, "authctl")
	env := scriptEnv(ts)
	outs := make([]string, n)
	errs := make([]error, n)
	stderrs := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var stdout, stderr bytes.Buffer
			c := exec.Command(bin, args[1:]...)
			c.Env, c.Dir, c.Stdout, c.Stderr = env, ts.Getenv("WORK"), &stdout, &stderr
			errs[i] = c.Run()
			outs[i], stderrs[i] = stdout.String(), stderr.String()
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			ts.Fatalf("process %d of %d: %v\nstderr: %s", i+1, n, errs[i], stderrs[i])
		}
		if outs[i] != outs[0] {
			ts.Fatalf("process %d printed something else than process 1", i+1)
		}
	}
	fmt.Fprint(ts.Stdout(), outs[0])
}

// cmdExpand copies a file of the script with the script's variables
// ($VAR, ${VAR}) replaced, for config files that name $PROFILE or
// $ISSUER; the target's directory is created:
//
//	expand SRC DST
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o700))
	ts.Check(os.WriteFile(dst, []byte(out), 0o600))
}

// cmdNoFile asserts that no file under DIR contains the text of file
// NEEDLE (trimmed): no token in any plain file.
//
//	nofile NEEDLE DIR
func cmdNoFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: nofile NEEDLE DIR")
	}
	needle := bytes.TrimSpace([]byte(ts.ReadFile(args[0])))
	if len(needle) < 8 {
		ts.Fatalf("needle %q is too short to mean anything", needle)
	}
	dir := ts.MkAbs(args[1])
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == ts.MkAbs(args[0]) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			return fmt.Errorf("%s contains the secret", path)
		}
		return nil
	})
	ts.Check(err)
}

// cmdExits runs authctl and asserts its exact exit code; its stdout and
// stderr are then those of the script's last command:
//
//	exits CODE ARGS...
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: exits CODE ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := execAuthctl(ts, args[1:]); got != want {
		ts.Fatalf("authctl exited %d, want %d\nstderr: %s", got, want, ts.ReadFile("stderr"))
	}
}

// execAuthctl runs authctl as the script's exec command would, with the
// script's whole environment, and returns its exit code.
func execAuthctl(ts *testscript.TestScript, args []string) int {
	err := ts.Exec("authctl", args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		ts.Fatalf("run authctl: %v", err)
		return -1
	}
}

// scriptEnv rebuilds the environment the script's own commands get, for
// commands that start authctl themselves: every variable authctl reads
// (cmd.Environment), the test browser's, and those the suite passes
// through. testscript does not hand out the script's whole environment.
func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	keys := append([]string{"PATH", "WORK", "TMPDIR", "TESTBROWSER_LOG", "TESTBROWSER_MODE", envFileStore}, passedThrough...)
	keys = append(keys, cmd.Environment()...)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func lookPath(ts *testscript.TestScript, name string) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	ts.Fatalf("%s not in the script's PATH", name)
	return ""
}

// apiSend sends a request with headers h to the API and prints
// "api: [LABEL ]STATUS ERROR", the error from the answer's JSON.
func apiSend(ts *testscript.TestScript, method, u, label string, h http.Header) {
	req, err := http.NewRequest(method, u, nil)
	ts.Check(err)
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if label != "" {
		label += " "
	}
	fmt.Fprintf(ts.Stdout(), "api: %s%d %s\n", label, resp.StatusCode, body.Error)
}

// statField returns the count named name: a field of testapi.Stats by
// its JSON name ("unauthorized", "dpop", ...), or a route such as
// "GET /hello".
func statField(s testapi.Stats, name string) (int, bool) {
	b, _ := json.Marshal(s)
	var fields map[string]any
	_ = json.Unmarshal(b, &fields)
	if v, ok := fields[name].(float64); ok {
		return int(v), true
	}
	v, ok := s.Routes[name]
	return v, ok || strings.Contains(name, "/")
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
