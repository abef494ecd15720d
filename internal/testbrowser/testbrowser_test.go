package testbrowser_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/authctl/authctl/internal/testbrowser"
)

// fakeApp is a loopback callback server that records what it received.
type fakeApp struct {
	*httptest.Server
	mu   sync.Mutex
	hits []url.Values
}

func newFakeApp(t *testing.T) *fakeApp {
	a := &fakeApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits = append(a.hits, r.URL.Query())
		a.mu.Unlock()
		fmt.Fprint(w, "<html><head><title>x</title></head><body><h1>Signed in</h1><p>You may close this window.</p></body></html>")
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *fakeApp) received() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.hits...)
}

// newFakeProvider mimics the test provider's redirects: /auth sends the
// browser to /interaction/u1, which needs the cookie set by /auth and sends
// it on to the callback; /interaction/u1/abort sends error=access_denied.
func newFakeProvider(t *testing.T, callback string) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		back := func(q url.Values) {
			q.Set("state", "s1")
			q.Set("iss", srv.URL)
			http.Redirect(w, r, callback+"?"+q.Encode(), http.StatusSeeOther)
		}
		switch r.URL.Path {
		case "/auth":
			http.SetCookie(w, &http.Cookie{Name: "_interaction", Value: "u1", Path: "/interaction/u1"})
			http.Redirect(w, r, "/interaction/u1", http.StatusSeeOther)
		case "/interaction/u1":
			if c, err := r.Cookie("_interaction"); err != nil || c.Value != "u1" {
				http.Error(w, "no interaction cookie", http.StatusBadRequest)
				return
			}
			back(url.Values{"code": {"c1"}})
		case "/interaction/u1/abort":
			back(url.Values{"error": {"access_denied"}})
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVisitActsPerModeAtTheCallback(t *testing.T) {
	for _, tc := range []struct {
		mode testbrowser.Mode
		want url.Values // what the callback received; nil: not called
	}{
		{testbrowser.Follow, url.Values{"code": {"c1"}, "state": {"s1"}, "iss": {"ISS"}}},
		{"", url.Values{"code": {"c1"}, "state": {"s1"}, "iss": {"ISS"}}},
		{testbrowser.Deny, url.Values{"error": {"access_denied"}, "state": {"s1"}, "iss": {"ISS"}}},
		{testbrowser.ForgeState, url.Values{"code": {"c1"}, "state": {testbrowser.ForgedState}, "iss": {"ISS"}}},
		{testbrowser.ForeignIss, url.Values{"code": {"c1"}, "state": {"s1"}, "iss": {testbrowser.ForeignIssuer}}},
		{testbrowser.DropIss, url.Values{"code": {"c1"}, "state": {"s1"}}},
		{testbrowser.Print, nil},
		{testbrowser.None, nil},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			app := newFakeApp(t)
			idp := newFakeProvider(t, app.URL+"/callback")
			res, err := testbrowser.Visit(context.Background(), nil, idp.URL+"/auth", tc.mode)
			if err != nil {
				t.Fatal(err)
			}
			got := app.received()
			if tc.want == nil {
				if len(got) != 0 {
					t.Errorf("callback called with %v, want not called", got)
				}
			} else {
				if tc.want.Has("iss") && tc.want.Get("iss") == "ISS" {
					tc.want.Set("iss", idp.URL)
				}
				if len(got) != 1 || got[0].Encode() != tc.want.Encode() {
					t.Fatalf("callback received %v, want once %v", got, tc.want)
				}
				if res.Status != 200 || res.Text != "Signed in You may close this window." {
					t.Errorf("result = %d %q, want the callback page's text", res.Status, res.Text)
				}
			}
			switch tc.mode {
			case testbrowser.Print:
				if res.Callback == nil || !strings.HasPrefix(res.Callback.String(), app.URL+"/callback?") || res.Callback.Query().Get("code") != "c1" {
					t.Errorf("print: callback = %v, want the callback URL with its code", res.Callback)
				}
			case testbrowser.None:
				if res.Callback != nil {
					t.Errorf("none: callback = %v, want nil", res.Callback)
				}
			}
		})
	}
}

func TestVisitGivesUpOnRedirectLoops(t *testing.T) {
	idp := newFakeProvider(t, "http://127.0.0.1:1/callback")
	_, err := testbrowser.Visit(context.Background(), nil, idp.URL+"/loop", testbrowser.Follow)
	if err == nil || !strings.Contains(err.Error(), "redirect loop") {
		t.Errorf("err = %v, want a redirect-loop error", err)
	}
}

func TestVisitRejectsUnknownModeAndBadURL(t *testing.T) {
	if _, err := testbrowser.Visit(context.Background(), nil, "http://127.0.0.1/", "bogus"); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := testbrowser.Visit(context.Background(), nil, "not a url", testbrowser.Follow); err == nil {
		t.Error("bad URL accepted")
	}
}

// newFakeDevicePages mimics the provider's device pages: an input form with
// xsrf and user_code, a confirm form, then the interaction and a success page.
func newFakeDevicePages(t *testing.T, posts *[]url.Values) *httptest.Server {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/device" && r.Method == http.MethodGet:
			fmt.Fprintf(w, `<form id="op.deviceInputForm" novalidate method="post" action="/device">
<input type="hidden" name="xsrf" value="x1"/>
<input value="%s" type="text" name="user_code" placeholder="Enter code"></input></form>`, r.URL.Query().Get("user_code"))
		case r.URL.Path == "/device" && r.Method == http.MethodPost:
			r.ParseForm()
			mu.Lock()
			*posts = append(*posts, r.PostForm)
			mu.Unlock()
			switch {
			case r.PostForm.Get("xsrf") != "x1":
				http.Error(w, "bad xsrf", http.StatusBadRequest)
			case r.PostForm.Get("abort") == "yes":
				fmt.Fprint(w, "<h1>Sign-in aborted</h1>")
			case r.PostForm.Get("confirm") == "yes":
				http.Redirect(w, r, "/interaction/d1", http.StatusSeeOther)
			default:
				fmt.Fprintf(w, `<form id="op.deviceConfirmForm" method="post" action="/device">
<input type="hidden" name="xsrf" value="x1"/><input type="hidden" name="user_code" value="%s"/>
<input type="hidden" name="confirm" value="yes"/></form>`, r.PostForm.Get("user_code"))
			}
		case r.URL.Path == "/interaction/d1":
			http.Redirect(w, r, "/device/done", http.StatusSeeOther)
		case r.URL.Path == "/device/done":
			fmt.Fprint(w, "<h1>Sign-in Success</h1>")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestApproveDeviceSubmitsCodeAndConfirms(t *testing.T) {
	var posts []url.Values
	srv := newFakeDevicePages(t, &posts)
	if err := testbrowser.ApproveDevice(context.Background(), nil, srv.URL+"/device?user_code=ABCD-EFGH"); err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 || posts[0].Get("user_code") != "ABCD-EFGH" || posts[1].Get("confirm") != "yes" {
		t.Errorf("posts = %v, want the code, then the confirmation", posts)
	}
}

func TestDenyModeAbortsADeviceLogin(t *testing.T) {
	var posts []url.Values
	srv := newFakeDevicePages(t, &posts)
	res, err := testbrowser.Visit(context.Background(), nil, srv.URL+"/device?user_code=ABCD-EFGH", testbrowser.Deny)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Sign-in aborted" || len(posts) != 2 || posts[1].Get("abort") != "yes" || posts[1].Has("confirm") {
		t.Errorf("page %q after posts %v, want an abort", res.Text, posts)
	}
}

func TestApproveDeviceFailsWithoutSuccessPage(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if err := testbrowser.ApproveDevice(context.Background(), nil, srv.URL+"/device?user_code=X"); err == nil {
		t.Error("ApproveDevice succeeded on a 404")
	}
}

func TestMainPrintModeWritesCallbackURLToFile(t *testing.T) {
	app := newFakeApp(t)
	idp := newFakeProvider(t, app.URL+"/callback")
	dir := t.TempDir()
	out, log := filepath.Join(dir, "out"), filepath.Join(dir, "log")
	t.Setenv("TESTBROWSER_MODE", "print")
	t.Setenv("TESTBROWSER_OUT", out)
	t.Setenv("TESTBROWSER_LOG", log)
	var stdout, stderr strings.Builder
	if code := testbrowser.Main([]string{idp.URL + "/auth"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q, log %q", code, stderr.String(), readFile(t, log))
	}
	got := readFile(t, out)
	u, err := url.Parse(strings.TrimSuffix(got, "\n"))
	if err != nil || !strings.HasSuffix(got, "\n") || u.Query().Get("code") != "c1" || u.Query().Get("state") != "s1" {
		t.Errorf("out file = %q, want the callback URL and a newline", got)
	}
	if len(app.received()) != 0 {
		t.Error("print mode called the callback")
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("stdout %q stderr %q, want both empty (out and log files set)", stdout.String(), stderr.String())
	}
}

func TestMainFollowReportsCallbackPage(t *testing.T) {
	app := newFakeApp(t)
	idp := newFakeProvider(t, app.URL+"/callback")
	t.Setenv("TESTBROWSER_MODE", "")
	t.Setenv("TESTBROWSER_LOG", "")
	var stdout, stderr strings.Builder
	if code := testbrowser.Main([]string{"--some-flag", idp.URL + "/auth"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if want := "testbrowser: callback 200\nSigned in You may close this window.\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want empty", stdout.String())
	}
}

func TestMainNoneModeMakesNoRequest(t *testing.T) {
	t.Setenv("TESTBROWSER_MODE", "none")
	var stdout, stderr strings.Builder
	if code := testbrowser.Main([]string{"http://127.0.0.1:1/never"}, &stdout, &stderr); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", stderr.String())
	}
}

func TestMainUsage(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := testbrowser.Main(nil, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
