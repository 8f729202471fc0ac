package http_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/net/html"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/demo"
	"github.com/doorman/doorman/useragent"
)

// chromiumPath is Debian's Chromium, or DOORMAN_CHROMIUM. Without it the
// browser tests skip, saying how to install it; with CI set they fail, so
// that CI cannot pass by skipping them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("DOORMAN_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is not at %s and CI is set: browser tests must run in CI (apt-get install -y chromium)", path)
		}
		t.Skipf("browser tests need Chromium at %s: install it with `apt-get install -y chromium` (or set DOORMAN_CHROMIUM)", path)
	}
	return path
}

// screenshotDir is docs/screenshots in the repository, found from this
// file's own location so that it does not depend on the working directory.
func screenshotDir(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate browser_test.go")
	}
	return filepath.Join(filepath.Dir(file), "..", "docs", "screenshots")
}

// startBrowser runs one headless Chromium for the test. Each tab made from
// it by newTab has a browser context (cookies, storage) of its own; extra
// options (feature flags) come after the defaults.
func startBrowser(t *testing.T, path string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// The machine may have no internet: keep Chromium from trying.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("lang", "en-US"),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser and binds its life to ctx: no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab in a browser context of its own: one person's
// browser, as far as the server can tell.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// client describes the browser a tab pretends to be.
type client struct {
	userAgent string
	hints     *emulation.UserAgentMetadata
	ip        string // sent as X-Forwarded-For; the server trusts 127.0.0.1
}

var (
	// macChrome is the guide's "Chrome on macOS" in Madrid.
	macChrome = client{
		userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		hints: &emulation.UserAgentMetadata{
			Brands: []*emulation.UserAgentBrandVersion{{Brand: "Google Chrome", Version: "131"},
				{Brand: "Chromium", Version: "131"}, {Brand: "Not_A Brand", Version: "24"}},
			FullVersionList: []*emulation.UserAgentBrandVersion{{Brand: "Google Chrome", Version: "131.0.6778.86"},
				{Brand: "Chromium", Version: "131.0.6778.86"}, {Brand: "Not_A Brand", Version: "24.0.0.0"}},
			Platform: "macOS", PlatformVersion: "14.6.1", Architecture: "arm",
		},
		ip: "192.168.1.50",
	}
	// iPhoneSafari is a second device of the same person.
	iPhoneSafari = client{
		userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		ip:        "81.2.69.142",
	}
)

// guidePlaces places the test's browsers as the user guide draws them.
type guidePlaces struct{}

func (guidePlaces) Locate(ip netip.Addr) doorman.Location {
	if ip == netip.MustParseAddr("192.168.1.50") {
		return doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Movistar España"}
	}
	return doorman.Location{}
}

func newTab(t *testing.T, browser context.Context, base string, c client) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, base: base}
	// The first run opens the tab and binds it to its context: no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride,
			emulation.SetUserAgentOverrideParams{UserAgent: c.userAgent, AcceptLanguage: "en-US", UserAgentMetadata: c.hints}); err != nil {
			return fmt.Errorf("user agent: %w", err)
		}
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return fmt.Errorf("network: %w", err)
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Forwarded-For": c.ip}})
		return err
	}))
	b.viewport(1280, 900)
	b.colorScheme("light")
	return b
}

// colorScheme emulates a light or dark system theme. Motion is reduced
// too: no transition is caught half-way in a screenshot.
func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme},
				{Name: "prefers-reduced-motion", Value: "reduce"}}})
		return err
	}))
}

const stepTimeout = 30 * time.Second

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	return run(b, chromedp.Evaluate[T](expr))
}

// waitFor reports whether the expression became true within the step
// timeout; the page's script runs some steps (closing a dialog) later.
func (b *tab) waitFor(expr string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond)))
	return err == nil
}

func (b *tab) navigate(path string) { b.t.Helper(); b.do(chromedp.Navigate(b.base + path)) }

// clickAndLoad clicks and waits for the page that the click loads.
func (b *tab) clickAndLoad(sel string) {
	b.t.Helper()
	run(b, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

func (b *tab) click(sel string) { b.t.Helper(); b.do(chromedp.Click(chromedp.CSS(sel))) }

// path is the tab's current path and query.
func (b *tab) path() string {
	b.t.Helper()
	loc := run(b, chromedp.Location())
	return strings.TrimPrefix(loc, b.base)
}

// dom parses the tab's current document, as the HTTP tests parse answers.
// The document is read by script rather than through DevTools' node ids,
// which a navigation that has just finished can leave stale ("No node with
// given id found").
func (b *tab) dom() *page {
	b.t.Helper()
	src := eval[string](b, `document.documentElement.outerHTML`)
	root, err := html.Parse(strings.NewReader(src))
	if err != nil {
		b.t.Fatal(err)
	}
	return &page{t: b.t, status: 200, root: root}
}

func (b *tab) viewport(w, h int64, opts ...chromedp.EmulateViewportOption) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(w, h, opts...))
}

// update rewrites the README's screenshots: go test ./http/ -run Browser -update.
// Without it the screenshots are taken (and checked to be PNGs) but not
// saved, so that tests leave the tree as they found it.
var update = flag.Bool("update", false, "rewrite docs/screenshots from the browser tests")

// screenshot takes the page as a PNG and, with -update, saves it as
// docs/screenshots/name.png. full captures the whole page rather than the
// window.
func (b *tab) screenshot(name string, full bool) {
	b.t.Helper()
	// The pointer rests off the content, so that no hover state is captured.
	b.do(chromedp.MouseEvent(chromedp.MouseMoved, 0, 0))
	w := eval[int64](b, "window.innerWidth")
	h := eval[int64](b, "window.innerHeight")
	scale := eval[float64](b, "window.devicePixelRatio")
	if full {
		if ph := eval[int64](b, "document.documentElement.scrollHeight"); ph > h {
			b.viewport(w, ph, chromedp.EmulateScale(scale))
			defer b.viewport(w, h, chromedp.EmulateScale(scale))
		}
	}
	png := run(b, chromedp.CaptureScreenshot())
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Fatalf("screenshot %s is not a PNG", name)
	}
	if !*update {
		return
	}
	dir := screenshotDir(b.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn fills in and sends the sign-in form.
func (b *tab) signIn(email string, remember bool) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	if remember {
		b.click("#remember_me")
	}
	b.clickAndLoad("form[action='/login'] button[type=submit]")
}

// sessionCookie is the tab's session cookie.
func (b *tab) sessionCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "doorman_session" {
			return c
		}
	}
	return nil
}

// cards returns the session cards' visible texts, as "label | place | ip |
// status" lines.
func cards(p *page, list string) []string {
	var out []string
	for _, sec := range p.all("section.group") {
		if attr(sec, "aria-labelledby") != list+"-title" {
			continue
		}
		for _, li := range within(sec, "li.session") {
			var parts []string
			for _, sel := range []string{".session-title", ".session-place", ".session-ip", ".session-status"} {
				parts = append(parts, visibleText(only(p.t, within(li, sel), sel)))
			}
			out = append(out, strings.Join(parts, " | "))
		}
	}
	return out
}

// TestBrowser drives the pages in real Chromium with the guide's demo team:
// sign in with and without "Remember me", the current session marked, the
// details, signing out another session and all the others through their
// dialogs, and the signed-out browser sent to sign-in with the reason. It
// saves the screenshots in docs/screenshots.
func TestBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := newEnv(t, withTrustedProxies("127.0.0.1"))
	// The guide's "now", so that the screenshots change only when the pages do.
	e.clock.mu.Lock()
	e.clock.t = time.Date(2024, 1, 15, 12, 30, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	det, err := useragent.New()
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Devices = det
	e.svc.Places = guidePlaces{}
	if _, err := demo.Seed(context.Background(), e.svc, password); err != nil {
		t.Fatal(err)
	}
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)

	// A signed-out person asking for the page lands on sign-in.
	a.navigate("/settings/security/sessions")
	if got := a.path(); got != "/login" {
		t.Fatalf("signed out: at %q, want /login", got)
	}
	a.screenshot("login", false)
	a.signIn("admin@company.com", true)
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after sign-in: at %q", got)
	}
	if c := a.sessionCookie(); c == nil || c.Session || c.Expires < float64(time.Now().Add(29*24*time.Hour).Unix()) {
		t.Errorf("remember me: session cookie %+v, want one that lasts 30 days", c)
	}

	// The list reads like the guide.
	p := a.dom()
	if got := p.texts("main h2.group-title"); !slices.Equal(got, []string{"Current Session", "Other Sessions 3"}) {
		t.Errorf("sections %q", got)
	}
	want := []string{"Chrome on macOS This Device | Madrid, Spain | IP: 192.168.1.50 | Active now"}
	if got := cards(p, "current"); !slices.Equal(got, want) {
		t.Errorf("current session:\n got %q\nwant %q", got, want)
	}
	want = []string{
		"Safari on iPhone | Madrid, Spain | IP: 83.45.123.78 | Last active: 2 hours ago",
		"Chrome on Windows | London, United Kingdom | IP: 203.0.113.45 | Last active: 3 days ago",
		"Firefox on Ubuntu | Berlin, Germany | IP: 91.64.12.7 | Last active: 4 days ago",
	}
	if got := cards(p, "others"); !slices.Equal(got, want) {
		t.Errorf("other sessions:\n got %q\nwant %q", got, want)
	}
	if got := eval[string](a, `getComputedStyle(document.querySelector(".session-current .dot")).borderTopColor`); got == "" || got == "rgba(0, 0, 0, 0)" {
		t.Errorf("status dot colour %q", got)
	}
	if got := eval[string](a, `document.querySelector(".session time").title`); !strings.Contains(got, "(") {
		t.Errorf("exact time on hover %q: want it in the browser's time zone", got)
	}
	a.screenshot("sessions", true)

	// Dark theme, for the record.
	a.colorScheme("dark")
	a.do(chromedp.Reload())
	a.screenshot("sessions-dark", true)
	a.colorScheme("light")

	// Details of the iPhone session.
	iphone := attr(p.all("li.session a.session-link")[1], "href")
	a.clickAndLoad(fmt.Sprintf("a.session-link[href='%s']", iphone))
	d := a.dom()
	facts := map[string]string{}
	for _, row := range d.all(".facts dl > div") {
		facts[textOf(only(t, within(row, "dt"), "dt"))] = visibleText(only(t, within(row, "dd"), "dd"))
	}
	for k, v := range map[string]string{"Browser": "Safari 17.2", "OS": "iOS 17.2", "Device": "iPhone",
		"City": "Madrid", "Country": "Spain", "ISP": "Movistar España", "Logins": "3", "Last Page": "Dashboard"} {
		if facts[k] != v {
			t.Errorf("details %s = %q, want %q", k, facts[k], v)
		}
	}
	if !eval[bool](a, `!document.querySelector("button[data-copy]").hidden`) {
		t.Error("the copy button stays hidden with scripts on")
	}
	a.screenshot("session-details", true)

	// Sign out one session: the dialog, then Cancel changes nothing.
	a.navigate("/settings/security/sessions")
	windows := attr(a.dom().all("li.session a.session-link")[2], "href")
	signOutWindows := fmt.Sprintf("a[href='%s/sign-out']", windows)
	a.click(signOutWindows)
	dlg := a.dom()
	if got := dlg.text("dialog[open] h2"); got != "Sign Out Session?" {
		t.Fatalf("dialog title %q", got)
	}
	if got := visibleText(dlg.one("dialog[open] .confirm-target")); got != "Chrome on Windows London, United Kingdom IP: 203.0.113.45 · PC-"+windows[len(windows)-4:]+" Last active: 3 days ago" {
		t.Errorf("dialog names %q", got)
	}
	if got := dlg.texts("dialog[open] .confirm-actions > .btn"); !slices.Equal(got, []string{"Cancel", "Sign Out"}) {
		t.Errorf("dialog buttons %q: Cancel first", got)
	}
	a.click("dialog[open] [data-cancel]")
	if !a.waitFor(`document.querySelector("dialog") === null`) {
		t.Error("Cancel left the dialog open")
	}
	if n := len(cards(a.dom(), "others")); n != 3 {
		t.Errorf("after Cancel: %d other sessions, want 3", n)
	}

	// By keyboard: Enter opens the dialog with focus on Cancel, Escape
	// closes it and gives focus back. (The screenshots are taken here: no
	// pointer hovers anything.)
	a.do(chromedp.MouseEvent(chromedp.MouseMoved, 0, 0), chromedp.Focus(chromedp.CSS(signOutWindows)), chromedp.KeyEvent(kb.Enter))
	if !a.waitFor(`document.activeElement.textContent.trim() === "Cancel"`) {
		t.Errorf("focus in the dialog on %q, want Cancel", eval[string](a, `document.activeElement.outerHTML`))
	}
	a.screenshot("confirm-sign-out", false)
	a.do(chromedp.KeyEvent(kb.Escape))
	if !a.waitFor(fmt.Sprintf(`document.activeElement.getAttribute("href") === %q`, windows+"/sign-out")) {
		t.Errorf("focus after Escape on %q", eval[string](a, `document.activeElement.outerHTML`))
	}

	// Sign Out All Other Sessions?: lists every one, the current stays.
	a.do(chromedp.Focus(chromedp.CSS("a[data-confirm=confirm-others]")), chromedp.KeyEvent(kb.Enter))
	if !a.waitFor(`document.querySelector("dialog[open]") !== null`) {
		t.Fatal("no dialog for Sign Out All Other Sessions")
	}
	dlg = a.dom()
	if got := dlg.texts("dialog[open] .confirm-list li"); !slices.Equal(got,
		[]string{"Safari on iPhone (Madrid)", "Chrome on Windows (London)", "Firefox on Ubuntu (Berlin)"}) {
		t.Errorf("sign out all lists %q", got)
	}
	a.screenshot("confirm-sign-out-others", false)
	a.do(chromedp.KeyEvent(kb.Escape))
	a.waitFor(`document.querySelector("dialog") === null`)

	// A phone, 360 px wide: cards stack, nothing scrolls sideways.
	a.viewport(360, 780, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	a.navigate("/settings/security/sessions")
	if eval[bool](a, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Errorf("sideways scrolling at 360 px: %d > 360", eval[int64](a, "document.documentElement.scrollWidth"))
	}
	a.screenshot("sessions-phone", true)
	a.viewport(1280, 900)
	a.navigate("/settings/security/sessions")

	// A second browser signs in without "Remember me".
	b := newTab(t, browser, e.srv.URL, iPhoneSafari)
	b.navigate("/login")
	b.signIn("admin@company.com", false)
	if c := b.sessionCookie(); c == nil || !c.Session {
		t.Errorf("without remember me: cookie %+v, want a browser-session cookie", c)
	}
	bID := strings.TrimPrefix(attr(b.dom().one(".session-current a.session-link"), "href"), "/settings/security/sessions/")

	// The first signs it out through the dialog.
	a.navigate("/settings/security/sessions")
	a.click(fmt.Sprintf("a[href='/settings/security/sessions/%s/sign-out']", bID))
	a.clickAndLoad("dialog[open] button[type=submit]")
	p = a.dom()
	if got := p.text(".alert"); got != "Signed out Safari on iPhone." {
		t.Errorf("flash %q", got)
	}
	if len(p.all(fmt.Sprintf("a[href='/settings/security/sessions/%s']", bID))) != 0 {
		t.Error("the signed-out session is still listed")
	}

	// Its very next request lands on sign-in, saying why.
	b.navigate("/settings/security/sessions")
	if got := b.path(); got != "/login" {
		t.Errorf("signed-out browser at %q, want /login", got)
	}
	if got := b.dom().text(".alert"); got != "You were signed out from another device" {
		t.Errorf("reason %q", got)
	}

	// Sign out all the others.
	a.click("a[data-confirm=confirm-others]")
	a.clickAndLoad("dialog[open] button[type=submit]")
	p = a.dom()
	if got := p.text(".alert"); got != "Signed out 3 other sessions." {
		t.Errorf("flash %q", got)
	}
	if got := p.text(".empty"); !strings.HasPrefix(got, "No other sessions") {
		t.Errorf("empty state %q", got)
	}

	// Signing out the current session ends on the sign-in page.
	a.clickAndLoad(".session-current a.session-link")
	a.click("a[data-confirm^=confirm-]")
	a.clickAndLoad("dialog[open] button[type=submit]")
	if got := a.path(); got != "/login" {
		t.Errorf("after signing out this device: at %q", got)
	}
	if got := a.dom().text(".alert"); got != "You signed out." {
		t.Errorf("flash %q", got)
	}
	if c := a.sessionCookie(); c != nil {
		t.Errorf("session cookie kept: %+v", c)
	}
}
