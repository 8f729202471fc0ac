package http_test

import (
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/demo"
	"github.com/doorman/doorman/geoip/geoiptest"
	"github.com/doorman/doorman/internal/smtptest"
	"github.com/doorman/doorman/passkey"
	"github.com/doorman/doorman/smtp"
	"github.com/doorman/doorman/useragent"
	"github.com/doorman/doorman/webhook"
)

// The widths every page must fit: a phone held upright (iPhone 12 to 15)
// and a laptop.
const (
	phoneWidth  = 390
	laptopWidth = 1280
)

// longEmail is an address that no line break helps: it must wrap inside
// tables and cards rather than widen the page.
const longEmail = "maximilian.vonderheide-schwarzenberg@subsidiary.example-company.com"

// widthCheck measures the page a tab shows at both widths, without loading
// it again (a page reached by a form cannot be), and looks for emoji.
type widthCheck struct {
	t     *testing.T
	seen  map[string]bool
	pages int
}

// check fails, naming the page and the width, when the page scrolls
// sideways, and when its markup holds an emoji.
func (w *widthCheck) check(b *tab, name string) {
	w.t.Helper()
	if w.seen[name] {
		w.t.Fatalf("page %q checked twice", name)
	}
	w.seen[name] = true
	w.pages++
	for _, width := range []int64{phoneWidth, laptopWidth} {
		if width == phoneWidth {
			b.viewport(phoneWidth, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile)
		} else {
			b.viewport(laptopWidth, 900)
		}
		scroll := eval[int64](b, "document.documentElement.scrollWidth")
		inner := eval[int64](b, "window.innerWidth")
		// On a phone Chromium zooms out to show a page wider than the
		// screen, which widens innerWidth with it: the width asked for is
		// the one to fit.
		if scroll > inner || scroll > width {
			w.t.Errorf("%s (%s) at %d px: scrolls sideways, %d px wide (%s)", name, b.path(), width, scroll, widest(b, width))
		}
		if width == phoneWidth {
			if bad := hiddenCells(b); bad != "" {
				w.t.Errorf("%s (%s) at %d px: table cells not shown as stacked rows: %s", name, b.path(), width, bad)
			}
		}
		if dir := os.Getenv("DOORMAN_WIDTH_SHOTS"); dir != "" {
			w.shoot(b, dir, fmt.Sprintf("%s-%d", name, width))
		}
	}
	b.viewport(laptopWidth, 900)
	if bad := emojiIn(run(b, chromedp.OuterHTML(chromedp.CSS("html")))); bad != "" {
		w.t.Errorf("%s (%s): emoji on the page: %s", name, b.path(), bad)
	}
}

// shoot saves the whole page as dir/name.png, for a person to look at:
// DOORMAN_WIDTH_SHOTS=/tmp/shots go test ./http -run TestWidthBrowser.
func (w *widthCheck) shoot(b *tab, dir, name string) {
	w.t.Helper()
	png := run(b, chromedp.FullScreenshot(100))
	name = strings.Map(func(r rune) rune {
		if r == ' ' || r == ',' || r == '\'' {
			return '-'
		}
		return r
	}, name)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// hiddenCells lists the table cells of the page that a phone does not
// show whole, and those of stacked tables that do not name their column:
// every figure must stay, under its column's name (data-label). Cells of a
// closed <details> and the column headings (read by screen readers) are
// left out; a cell holding a row's action needs no name.
func hiddenCells(b *tab) string {
	return eval[string](b, `(() => {
		const bad = [];
		for (const c of document.querySelectorAll("main table td, main table tbody th")) {
			if (c.closest("details:not([open])")) { continue; }
			const r = c.getBoundingClientRect(), what = (c.getAttribute("data-label") || "") + " " + JSON.stringify(c.textContent.trim().slice(0, 30));
			if (r.width < 1 || r.height < 1 || r.right > window.innerWidth + 0.5 || getComputedStyle(c).visibility === "hidden") {
				bad.push("hidden " + what);
				continue;
			}
			if (c.tagName === "TD" && c.closest(".table-card") && !c.classList.contains("table-action")) {
				const label = c.getAttribute("data-label");
				if (!label) {
					bad.push("no data-label " + what);
				} else if (getComputedStyle(c, "::before").content !== JSON.stringify(label)) {
					bad.push("label not shown " + what);
				}
			}
		}
		return bad.slice(0, 4).join("; ");
	})()`)
}

// widest names the elements that reach past the window, for the message.
func widest(b *tab, width int64) string {
	return eval[string](b, `((w) => {
		const out = [];
		const clipped = (el) => {
			for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
				if (getComputedStyle(p).overflowX !== "visible") { return true; }
			}
			return false;
		};
		for (const el of document.body.querySelectorAll("*")) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 0.5 && getComputedStyle(el).position !== "fixed" && !clipped(el)) {
				out.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") + " " + Math.round(r.right));
			}
		}
		return out.slice(0, 4).join(", ");
	})(`+fmt.Sprint(width)+`)`)
}

// isEmoji reports whether r is a code point that needs an emoji font:
// pictographs, the dingbats and miscellaneous symbols that render as emoji,
// and the selector that asks for emoji presentation.
func isEmoji(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF: // pictographs, emoticons, transport, symbols
	case r >= 0x2600 && r <= 0x27BF: // ☀ … ✅ ❌ ➿
	case r >= 0x2B00 && r <= 0x2BFF: // ⬛ ⭐ ⭕
	case r >= 0x231A && r <= 0x231B, r >= 0x23E9 && r <= 0x23FA: // ⌚ ⏰ ⏳
	case r == 0xFE0F || r == 0x20E3: // emoji presentation, keycap
	default:
		return false
	}
	return true
}

// emojiIn lists the emoji of s with what surrounds them, "" when there is none.
func emojiIn(s string) string {
	var out []string
	for i, r := range s {
		if !isEmoji(r) {
			continue
		}
		from, to := max(0, i-40), min(len(s), i+40)
		for from > 0 && !utf8.RuneStart(s[from]) {
			from--
		}
		for to < len(s) && !utf8.RuneStart(s[to]) {
			to++
		}
		out = append(out, fmt.Sprintf("U+%04X in %q", r, s[from:to]))
		if len(out) == 5 {
			break
		}
	}
	return strings.Join(out, "; ")
}

func TestIsEmoji(t *testing.T) {
	for _, r := range "🔴🟡🟢⚪⚠✅❌⭐⌚\uFE0F" {
		if !isEmoji(r) {
			t.Errorf("%q (U+%04X) is not taken for an emoji", r, r)
		}
	}
	for _, r := range "Aé—…›·“”€№→" {
		if isEmoji(r) {
			t.Errorf("%q (U+%04X) is taken for an emoji", r, r)
		}
	}
}

// TestWidthBrowser loads every page of the web interface in Chromium, as a
// signed-out visitor, the demo team's admin and one of its members, at 390
// and 1280 px wide: none may scroll sideways, and none may need an emoji
// font. Pages are enumerated from the routes in ui_routes.go; the test
// fails if a GET page route was not visited.
func TestWidthBrowser(t *testing.T) {
	path := chromiumPath(t)
	sink := smtptest.Start(t)
	e := newEnv(t, withTrustedProxies("127.0.0.1"))
	e.clock.mu.Lock()
	e.clock.t = time.Date(2024, 1, 15, 12, 30, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	det, err := useragent.New()
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Devices = det
	e.svc.Places = geoiptest.Open(t)
	m, err := smtp.New(sink.Addr, "Doorman <doorman@company.com>", "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Alerts = doorman.AlertConfig{Mailer: m, Webhooks: webhook.New(), LinkBase: e.srv.URL}
	if _, err := demo.Seed(context.Background(), e.svc, password); err != nil {
		t.Fatal(err)
	}
	// Passkeys need a domain as relying party id: the tabs reach the
	// server as localhost.
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	base := "http://localhost:" + port
	baseURL, _ := url.Parse(base)
	rp, err := passkey.New(baseURL, "Doorman")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WebAuthn = rp
	rc := newReceiver(t, e.clock.Now)
	browser := startBrowser(t, path)
	w := &widthCheck{t: t, seen: map[string]bool{}}
	visited := map[string]bool{} // GET page patterns
	visit := func(pattern string) { visited[pattern] = true }

	// Signed out.
	s := newTab(t, browser, base, client{userAgent: iPhoneSafari.userAgent, ip: geoiptest.Madrid})
	s.navigate("/login")
	visit("GET /login")
	w.check(s, "sign-in")
	s.do(chromedp.SendKeys(chromedp.CSS("#email"), longEmail), chromedp.SendKeys(chromedp.CSS("#password"), "wrong password"))
	s.clickAndLoad("form[action='/login'] button[type=submit]")
	w.check(s, "sign-in, refused")
	s.navigate("/password/forgot")
	visit("GET /password/forgot")
	w.check(s, "forgot password")
	s.do(chromedp.SendKeys(chromedp.CSS("#email"), "sarah@company.com"))
	s.clickAndLoad("form[action='/password/forgot'] button[type=submit]")
	w.check(s, "forgot password, sent")
	token, _, _ := e.resetMail(sink, 0, "sarah@company.com")
	s.navigate("/password/reset/" + token)
	visit("GET /password/reset/{token}")
	w.check(s, "reset password")
	s.navigate("/password/reset/" + strings.Repeat("x", 43))
	w.check(s, "reset password, used link")
	s.navigate("/no/such/page")
	w.check(s, "error page, signed out")

	// The admin, remembered on this device.
	a := newTab(t, browser, base, macChrome)
	a.navigate("/settings/security/sessions")
	a.signIn("admin@company.com", true)
	visit("GET /{$}")
	visit("GET /settings")
	visit("GET /settings/security")
	visit("GET /settings/security/sessions")
	w.check(a, "sessions")
	p := a.dom()
	current := attr(p.one(".session-current a.session-link"), "href")
	other := attr(p.all("li.session a.session-link")[1], "href")
	a.navigate(current)
	visit("GET /settings/security/sessions/{id}")
	w.check(a, "session details, this device")
	a.navigate(other)
	w.check(a, "session details")
	a.navigate(other + "/sign-out")
	visit("GET /settings/security/sessions/{id}/sign-out")
	w.check(a, "sign out session")
	a.navigate("/settings/security/sessions/sign-out-others")
	visit("GET /settings/security/sessions/sign-out-others")
	w.check(a, "sign out other sessions")
	a.navigate("/settings/security/sessions/sign-out-all")
	visit("GET /settings/security/sessions/sign-out-all")
	w.check(a, "sign out all sessions")
	a.navigate("/reauth?next=%2Fadmin%2Fteam%2Finvite")
	visit("GET /reauth")
	w.check(a, "confirm password")
	a.navigate("/settings/security/password")
	visit("GET /settings/security/password")
	w.check(a, "password")

	// Two-factor authentication, set up from its pages.
	a.navigate("/settings/security/two-factor")
	visit("GET /settings/security/two-factor")
	w.check(a, "two-factor, off")
	a.clickAndLoad("form[action='/settings/security/two-factor/setup'] button[type=submit]")
	visit("GET /settings/security/two-factor/setup")
	w.check(a, "two-factor setup")
	key := a.dom().text("#setup-key")
	a.do(chromedp.SendKeys(chromedp.CSS("#code"), e.totpCode(key)))
	a.clickAndLoad("form[action='/settings/security/two-factor/confirm'] button[type=submit]")
	w.check(a, "two-factor, recovery codes")
	// With a virtual authenticator the page offers to add a passkey.
	a.virtualAuthenticator()
	a.navigate("/settings/security/two-factor")
	if !a.waitFor(`!document.getElementById("passkey-add").hidden`) {
		t.Error("the Add a passkey form stays hidden")
	}
	w.check(a, "two-factor, on")
	a.navigate("/settings/security/passkeys/pk_none/remove") // leads back to the page above
	if got := a.path(); got != "/settings/security/two-factor" {
		t.Errorf("GET a passkey's remove: at %q", got)
	}
	visit("GET /settings/security/passkeys/{id}/remove")
	for _, p := range []string{"/settings/security/two-factor/confirm", "/settings/security/two-factor/recovery-codes", "/settings/security/two-factor/disable"} {
		a.navigate(p) // each leads back to the page above
		if got := a.path(); got != "/settings/security/two-factor" {
			t.Errorf("GET %s: at %q", p, got)
		}
		visit("GET " + p)
	}

	// Team pages.
	a.navigate("/admin")
	visit("GET /admin")
	a.navigate("/admin/team/invite")
	visit("GET /admin/team/invite")
	w.check(a, "invite a person")
	a.do(chromedp.SendKeys(chromedp.CSS("#email"), longEmail), chromedp.SendKeys(chromedp.CSS("#name"), "Maximilian von der Heide-Schwarzenberg"))
	a.clickAndLoad("form[action='/admin/team/invite'] button[type=submit]")
	w.check(a, "invitation sent")
	invite := attr(a.dom().one("input#secret"), "value")
	a.navigate("/admin/team")
	visit("GET /admin/team")
	w.check(a, "people")
	team := a.dom()
	var sarah, invited string
	for _, l := range team.all("table.people-table tbody th a") {
		switch textOf(l) {
		case "sarah@company.com":
			sarah = attr(l, "href")
		case longEmail:
			invited = attr(l, "href")
		}
	}
	if sarah == "" || invited == "" {
		t.Fatalf("people: no link to sarah (%q) or the invited person (%q)", sarah, invited)
	}
	a.navigate(sarah)
	visit("GET /admin/team/{id}")
	w.check(a, "person")
	a.navigate(sarah + "/disable")
	visit("GET /admin/team/{id}/{action}")
	a.navigate(invited)
	w.check(a, "person, invited")
	a.navigate("/admin/sessions")
	visit("GET /admin/sessions")
	w.check(a, "team sessions")
	a.navigate("/admin/sessions?user=guest%40agency.com")
	w.check(a, "team sessions, filtered")
	a.navigate("/admin/sessions/sign-out-all")
	visit("GET /admin/sessions/sign-out-all")
	w.check(a, "sign out all team sessions")
	a.navigate("/admin/sessions")
	for _, l := range a.dom().all("table.team-table tbody th a") {
		who := "team member"
		switch textOf(l) {
		case "guest@agency.com": // four sessions
		case longEmail: // none
			who = "team member without sessions"
		default:
			continue
		}
		a.navigate(attr(l, "href"))
		visit("GET /admin/users/{id}/sessions")
		w.check(a, who+" sessions")
		a.navigate(strings.TrimSuffix(attr(l, "href"), "/sessions") + "/sign-out")
		visit("GET /admin/users/{id}/sign-out")
		w.check(a, "force sign out "+who)
	}
	a.navigate("/admin/settings/sessions")
	visit("GET /admin/settings/sessions")
	w.check(a, "session settings")
	a.navigate("/admin/audit")
	visit("GET /admin/audit")
	w.check(a, "audit log")
	for _, l := range a.dom().all("td.audit-action a")[:1] {
		a.navigate(attr(l, "href"))
		visit("GET /admin/audit/{id}")
		w.check(a, "audit event")
	}

	// API keys.
	a.navigate("/settings/api-keys")
	visit("GET /settings/api-keys")
	w.check(a, "api keys")
	a.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "Nightly export to the data warehouse in eu-west"))
	a.clickAndLoad("form.create-key button[type=submit]")
	w.check(a, "api key created")
	secret := attr(a.dom().one("input#secret"), "value")
	e.mu.Lock()
	e.tokens = append(e.tokens, secret)
	e.mu.Unlock()
	details := attr(a.dom().all(".group-actions a")[0], "href")
	a.navigate("/settings/api-keys")
	a.clickAndLoad("table.apikey-table tbody tr:first-child th a")
	visit("GET /settings/api-keys/{id}")
	w.check(a, "api key details")
	a.navigate(details + "/revoke")
	visit("GET /settings/api-keys/{id}/revoke")
	w.check(a, "revoke api key")

	// The webhook, empty then with its secret and deliveries.
	a.navigate("/admin/settings/webhook")
	visit("GET /admin/settings/webhook")
	w.check(a, "webhook, none")
	a.do(chromedp.SendKeys(chromedp.CSS("#url"), rc.srv.URL+"/doorman/hooks/sign-in-alerts/production"))
	a.clickAndLoad("form.settings-form button[type=submit]")
	rc.set(attr(a.dom().one("input#secret"), "value"), http.StatusOK)
	w.check(a, "webhook, secret")
	a.clickAndLoad("form[action='/admin/settings/webhook/test'] button[type=submit]")
	if n := e.deliver(); n != 1 {
		t.Fatalf("webhook deliveries: %d", n)
	}
	a.navigate("/admin/settings/webhook")
	w.check(a, "webhook, deliveries")
	a.navigate("/admin/settings/webhook/delete")
	visit("GET /admin/settings/webhook/delete")
	w.check(a, "delete webhook")
	a.navigate("/no/such/page")
	w.check(a, "error page")

	// The sign-in's second step, now that the admin has two-factor on.
	s.navigate("/login")
	s.signIn("admin@company.com", false)
	if got := s.path(); got != "/login/two-factor" {
		t.Fatalf("two-factor sign-in: at %q", got)
	}
	visit("GET /login/two-factor")
	w.check(s, "two-factor sign-in")

	// The invitation, accepted in its own browser.
	inv := newTab(t, browser, base, client{userAgent: iPhoneSafari.userAgent, ip: geoiptest.London})
	invURL, err := url.Parse(invite)
	if err != nil {
		t.Fatal(err)
	}
	inv.navigate(invURL.Path)
	visit("GET /invite/{token}")
	w.check(inv, "invitation")
	inv.navigate("/invite/" + strings.Repeat("x", 43))
	w.check(inv, "invitation, not valid")

	// A member: Sarah signs in from a new browser in Berlin, which emails
	// her a "This wasn't me" link.
	mem := newTab(t, browser, base, client{userAgent: uaFirefoxWindows, ip: geoiptest.Berlin})
	mem.navigate("/settings/security/sessions")
	mem.signIn("sarah@company.com", false)
	w.check(mem, "sessions, member")
	mem.navigate("/admin/audit")
	w.check(mem, "admin page, member")
	e.svc.WaitBackground()
	e.deliver()
	link := ""
	for _, msg := range sink.Messages() {
		parsed, err := mail.ReadMessage(msg.Reader())
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
		if m := alertLinkRE.FindString(string(raw)); m != "" {
			link = m
		}
	}
	if link == "" {
		t.Fatal("no sign-in alert with a This wasn't me link")
	}
	al := newTab(t, browser, base, client{userAgent: iPhoneSafari.userAgent, ip: geoiptest.Madrid})
	al.navigate(link)
	visit("GET /alerts/{token}")
	w.check(al, "this wasn't me")
	al.clickAndLoad("form[method=post] button[type=submit]")
	w.check(al, "this wasn't me, signed out")
	al.navigate(link)
	w.check(al, "this wasn't me, used link")

	// The stylesheet and the script draw and write no emoji either.
	head := a.dom()
	for _, href := range []string{attr(head.one("link[rel=stylesheet]"), "href"), attr(head.one("script[src]"), "src")} {
		resp := e.do(nil, "GET", href, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("GET %s: %d", href, resp.status)
		}
		if bad := emojiIn(string(resp.body)); bad != "" {
			t.Errorf("%s: emoji: %s", href, bad)
		}
	}

	// Every GET page route was loaded.
	for _, rt := range e.server.PageRoutes() {
		if rt.Method == "GET" && !visited[rt.Pattern()] && rt.Path != "/static/{name}" {
			t.Errorf("page %s was not loaded", rt.Pattern())
		}
	}
	t.Logf("%d pages checked at %d and %d px", w.pages, phoneWidth, laptopWidth)
}

// uaFirefoxWindows is a browser none of the demo team used.
const uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
