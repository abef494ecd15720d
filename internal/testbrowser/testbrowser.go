// Package testbrowser is a headless "browser" for end-to-end tests: it
// follows redirects with a cookie jar, submits the test provider's device
// pages, and, when the provider redirects to a loopback callback, calls the
// callback or misbehaves on purpose, as chosen by a Mode.
//
// Main makes it usable as $BROWSER (authctl runs "$BROWSER URL" without
// waiting for it); Visit and ApproveDevice serve Go tests directly. It
// understands the pages of the provider in testdata/idp, whose interaction
// page /interaction/UID grants login and consent on a GET and whose
// /interaction/UID/abort denies.
package testbrowser

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Mode says what the browser does once the provider redirects it to a
// loopback callback.
type Mode string

// The modes. Their names are the values of TESTBROWSER_MODE.
const (
	// Follow GETs the callback and reports the page's text (the default).
	Follow Mode = "follow"
	// Deny aborts at the provider's interaction (error=access_denied), or
	// presses "abort" on a device confirmation page, then follows as Follow.
	Deny Mode = "deny"
	// ForgeState replaces the callback's state parameter with ForgedState.
	ForgeState Mode = "forge-state"
	// ForeignIss replaces the callback's iss parameter with ForeignIssuer.
	ForeignIss Mode = "foreign-iss"
	// DropIss removes the callback's iss parameter.
	DropIss Mode = "drop-iss"
	// Print does not call the callback: it only reports the callback URL
	// (Main writes it to TESTBROWSER_OUT), for "paste the URL" logins.
	Print Mode = "print"
	// None does nothing at all: no request is made (for timeout tests).
	None Mode = "none"
	// Device approves a device login: the URL is a verification_uri_complete.
	Device Mode = "device"
)

// Values the misbehaving modes put in the callback URL.
const (
	ForgedState   = "forged-state"
	ForeignIssuer = "https://evil.example"
)

// maxSteps bounds the number of requests of one visit, to end redirect loops.
const maxSteps = 30

// Result is what a visit saw.
type Result struct {
	// Callback is the loopback callback URL the provider redirected to, as
	// the browser called it (after the mode's change); nil if none was reached.
	Callback *url.URL
	// Status is the HTTP status of the last page loaded (0 if none).
	Status int
	// Text is the visible text of the last page loaded (the callback's page,
	// or the provider's last page when no callback was reached).
	Text string
}

// Visit opens rawURL as a user would and acts per mode at the loopback
// callback. client may be nil; a copy of it gets a cookie jar if it has
// none and never follows redirects on its own. It returns an error when a
// request fails or no page ends the visit within a bounded number of steps;
// a page with an error status is not an error (see Result.Status).
func Visit(ctx context.Context, client *http.Client, rawURL string, mode Mode) (Result, error) {
	switch mode {
	case "":
		mode = Follow
	case Follow, Deny, ForgeState, ForeignIss, DropIss, Print, Device:
	case None:
		return Result{}, nil
	default:
		return Result{}, fmt.Errorf("unknown mode %q", mode)
	}
	b, err := newBrowser(client, mode)
	if err != nil {
		return Result{}, err
	}
	return b.visit(ctx, rawURL)
}

// ApproveDevice drives the provider's device pages at verificationURIComplete
// (confirming the user code, then logging in and consenting) as a user would.
// client may be nil. It fails if the provider does not end on a success page.
func ApproveDevice(ctx context.Context, client *http.Client, verificationURIComplete string) error {
	b, err := newBrowser(client, Device)
	if err != nil {
		return err
	}
	res, err := b.visit(ctx, verificationURIComplete)
	if err != nil {
		return err
	}
	if res.Callback != nil {
		return errors.New("approve device: the provider redirected to a loopback callback")
	}
	if res.Status != http.StatusOK || !strings.Contains(strings.ToLower(res.Text), "success") {
		return fmt.Errorf("approve device: provider ended on %d: %s", res.Status, shorten(res.Text))
	}
	return nil
}

type browser struct {
	client *http.Client
	mode   Mode
}

func newBrowser(client *http.Client, mode Mode) (*browser, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	if client != nil {
		cp := *client
		c = &cp
	}
	if c.Jar == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("cookie jar: %w", err)
		}
		c.Jar = jar
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{client: c, mode: mode}, nil
}

// step is one request to make: a GET, or a POST of a form.
type step struct {
	method string
	url    *url.URL
	form   url.Values
}

func (b *browser) visit(ctx context.Context, rawURL string) (Result, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("not an http(s) URL: %q", rawURL)
	}
	next := step{method: http.MethodGet, url: u}
	var codeSent, aborted bool // a user code was submitted; the user pressed abort
	for range maxSteps {
		resp, body, err := b.do(ctx, next)
		if err != nil {
			return Result{}, err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			target, err := next.url.Parse(loc)
			if err != nil {
				return Result{}, fmt.Errorf("bad redirect %q: %w", loc, err)
			}
			if isCallback(target, next.url) {
				return b.callback(ctx, target)
			}
			if b.mode == Deny && isInteraction(target) {
				target = target.JoinPath("abort")
			}
			next = step{method: http.MethodGet, url: target}
			continue
		}
		f, ok := findForm(body)
		if !ok || resp.StatusCode != http.StatusOK || aborted {
			return Result{Status: resp.StatusCode, Text: pageText(body)}, nil
		}
		if f.fields.Has("user_code") && !f.fields.Has("confirm") {
			if codeSent {
				return Result{Status: resp.StatusCode, Text: pageText(body)},
					fmt.Errorf("provider rejected the user code: %s", shorten(pageText(body)))
			}
			codeSent = true
		}
		if b.mode == Deny && f.fields.Get("confirm") != "" {
			f.fields.Del("confirm")
			f.fields.Set("abort", "yes")
			aborted = true
		}
		action, err := next.url.Parse(f.action)
		if err != nil {
			return Result{}, fmt.Errorf("bad form action %q: %w", f.action, err)
		}
		next = step{method: http.MethodPost, url: action, form: f.fields}
	}
	return Result{}, fmt.Errorf("gave up after %d requests (redirect loop?)", maxSteps)
}

// callback acts per mode at the loopback callback target.
func (b *browser) callback(ctx context.Context, target *url.URL) (Result, error) {
	q := target.Query()
	switch b.mode {
	case ForgeState:
		q.Set("state", ForgedState)
	case ForeignIss:
		q.Set("iss", ForeignIssuer)
	case DropIss:
		q.Del("iss")
	}
	cb := *target
	if b.mode == ForgeState || b.mode == ForeignIss || b.mode == DropIss {
		cb.RawQuery = q.Encode()
	}
	if b.mode == Print {
		return Result{Callback: &cb}, nil
	}
	resp, body, err := b.do(ctx, step{method: http.MethodGet, url: &cb})
	if err != nil {
		return Result{Callback: &cb}, err
	}
	return Result{Callback: &cb, Status: resp.StatusCode, Text: pageText(body)}, nil
}

func (b *browser) do(ctx context.Context, s step) (*http.Response, []byte, error) {
	var body io.Reader
	if s.method == http.MethodPost {
		body = strings.NewReader(s.form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, s.method, s.url.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", s.method, redact(s.url), err)
	}
	if s.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html,*/*")
	req.Header.Set("User-Agent", "authctl-testbrowser")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", s.method, redact(s.url), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", s.method, redact(s.url), err)
	}
	return resp, data, nil
}

// redact drops the query, which may hold a code, from a URL for messages.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}

// isCallback reports whether target is a loopback redirect back to the
// application: a loopback host on another host:port than the server that
// sent the redirect, carrying an authorization response (code, error or state).
func isCallback(target, from *url.URL) bool {
	if target.Scheme != "http" || !isLoopback(target.Hostname()) {
		return false
	}
	if strings.EqualFold(target.Host, from.Host) {
		return false
	}
	q := target.Query()
	return q.Has("code") || q.Has("error") || q.Has("state")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var interactionPath = regexp.MustCompile(`^/interaction/[^/]+$`)

func isInteraction(u *url.URL) bool { return interactionPath.MatchString(u.Path) }

type form struct {
	id     string
	action string
	fields url.Values
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRe = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_:.-]+)\s*=\s*"([^"]*)"`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// findForm returns the first POST form of the page with its named inputs.
func findForm(page []byte) (form, bool) {
	for _, m := range formRe.FindAllSubmatch(page, -1) {
		fa := attrs(string(m[1]))
		if !strings.EqualFold(fa["method"], "post") {
			continue
		}
		f := form{id: fa["id"], action: fa["action"], fields: url.Values{}}
		for _, in := range inputRe.FindAllSubmatch(m[2], -1) {
			ia := attrs(string(in[1]))
			if ia["name"] != "" {
				f.fields.Add(ia["name"], ia["value"])
			}
		}
		return f, true
	}
	return form{}, false
}

var (
	hiddenRe = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)>`)
	tagRe    = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRe  = regexp.MustCompile(`\s+`)
)

// pageText returns the visible text of an HTML page (or a plain-text body)
// on one line.
func pageText(page []byte) string {
	s := hiddenRe.ReplaceAllString(string(page), " ")
	s = tagRe.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	return strings.TrimSpace(spaceRe.ReplaceAllString(s, " "))
}

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// Main runs the browser as a command: "testbrowser [device] URL". The URL
// is the last argument. The environment chooses what it does:
//
//	TESTBROWSER_MODE  a Mode (default follow); a first argument "device" means Device
//	TESTBROWSER_LOG   append the report here instead of writing it to stderr
//	TESTBROWSER_OUT   Print mode: write the callback URL and a newline here (default stdout)
//
// The report is one line "testbrowser: callback STATUS" (or "testbrowser:
// page STATUS" when no callback was reached) followed by the page's text.
// Exit status: 0 when the visit ended on a page or callback, 1 when a request
// failed, 2 for bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	mode := Mode(os.Getenv("TESTBROWSER_MODE"))
	if len(args) >= 2 && args[0] == "device" {
		mode = Device
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: testbrowser [device] URL")
		return 2
	}
	if mode == None {
		return 0
	}
	report := stderr
	if path := os.Getenv("TESTBROWSER_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "testbrowser: open log: %v\n", err)
			return 1
		}
		defer f.Close()
		report = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rawURL := args[len(args)-1]

	if mode == Device {
		if err := ApproveDevice(ctx, nil, rawURL); err != nil {
			fmt.Fprintf(report, "testbrowser: %v\n", err)
			return 1
		}
		fmt.Fprintln(report, "testbrowser: device approved")
		return 0
	}
	res, err := Visit(ctx, nil, rawURL, mode)
	if err != nil {
		fmt.Fprintf(report, "testbrowser: %v\n", err)
		return 1
	}
	if mode == Print {
		if res.Callback == nil {
			fmt.Fprintf(report, "testbrowser: no callback reached; page %d: %s\n", res.Status, res.Text)
			return 1
		}
		line := res.Callback.String() + "\n"
		var err error
		if path := os.Getenv("TESTBROWSER_OUT"); path != "" {
			err = writeAtomic(path, line)
		} else {
			_, err = io.WriteString(stdout, line)
		}
		if err != nil {
			fmt.Fprintf(report, "testbrowser: write callback URL: %v\n", err)
			return 1
		}
		fmt.Fprintln(report, "testbrowser: callback URL written")
		return 0
	}
	what := "page"
	if res.Callback != nil {
		what = "callback"
	}
	fmt.Fprintf(report, "testbrowser: %s %d\n%s\n", what, res.Status, res.Text)
	return 0
}

// writeAtomic writes data to path so that a reader polling for path sees
// either nothing or all of it.
func writeAtomic(path, data string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".testbrowser-*")
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
