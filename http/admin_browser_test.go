package http_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman/demo"
	"github.com/doorman/doorman/useragent"
)

// guideEnv is a server with the guide's demo team on the guide's date,
// naming and placing browsers as TestBrowser does.
func guideEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, withTrustedProxies("127.0.0.1"))
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
	return e
}

// teamRows returns the Team Sessions table as "email | sessions | last
// active" lines of visible text.
func teamRows(p *page) []string {
	var out []string
	for _, tr := range p.all("table.team-table tbody tr") {
		var cells []string
		cells = append(cells, textOf(only(p.t, within(tr, "th a"), "th a")))
		for _, td := range within(tr, "td") {
			cells = append(cells, visibleText(td))
		}
		out = append(out, strings.Join(cells, " | "))
	}
	return out
}

// TestAdminBrowser drives the Team pages in Chromium as the demo team's
// admin: the team view and its filter, "Force Sign Out User" (the browser
// refuses an empty reason; with one the user's browser is signed out and
// told why), the Session settings form with its script, and the audit log.
// It saves their screenshots in docs/screenshots.
func TestAdminBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := guideEnv(t)
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)
	a.navigate("/admin/sessions")
	if got := a.path(); got != "/login?next=%2Fadmin%2Fsessions" {
		t.Fatalf("signed out: at %q", got)
	}
	a.signIn("admin@company.com", false)
	if got := a.path(); got != "/admin/sessions" {
		t.Fatalf("after sign-in: at %q, want the page asked for", got)
	}

	// The guide's Team Sessions, with the admin's browser as a fourth session.
	p := a.dom()
	want := []string{
		"admin@company.com | 4 | Now",
		"sarah@company.com | 2 | 1 hour ago",
		"mike@company.com | 1 | Yesterday",
		"guest@agency.com | 4 | 3 days ago",
	}
	if got := teamRows(p); !slices.Equal(got, want) {
		t.Errorf("team sessions:\n got %q\nwant %q", got, want)
	}
	if got := p.text(".total"); got != "Total active sessions: 11" {
		t.Errorf("total %q", got)
	}
	if got := p.texts("nav.sidenav a[aria-current=page]"); !slices.Equal(got, []string{"Sessions"}) ||
		attr(p.one("nav.sidenav a[aria-current=page]"), "href") != "/admin/sessions" {
		t.Errorf("navigation marks %q", got)
	}
	if got := eval[string](a, `getComputedStyle(document.querySelector(".team-table td.num")).textAlign`); got != "right" {
		t.Errorf("numbers aligned %q, want right", got)
	}
	a.screenshot("team-sessions", true)

	// Filter by user, without script: the form's GET.
	a.do(chromedp.SetValue(chromedp.CSS("#user"), "guest@agency.com"))
	a.clickAndLoad("form.filter button[type=submit]")
	if got := a.path(); got != "/admin/sessions?user=guest%40agency.com" {
		t.Errorf("filtered: at %q", got)
	}
	if got := teamRows(a.dom()); !slices.Equal(got, []string{"guest@agency.com | 4 | 3 days ago"}) {
		t.Errorf("filtered rows %q", got)
	}

	// The guest's row opens their sessions, then Force Sign Out User.
	a.clickAndLoad("table.team-table tbody th a")
	if got := a.path(); !strings.HasPrefix(got, "/admin/users/usr_") || !strings.HasSuffix(got, "/sessions") {
		t.Fatalf("guest's page at %q", got)
	}
	guestPage := a.path()
	if n := len(a.dom().all("li.session")); n != 4 {
		t.Errorf("%d session cards for the guest, want 4", n)
	}
	a.clickAndLoad("a.btn-danger")
	forcePath := a.path()
	if !strings.HasSuffix(forcePath, "/sign-out") {
		t.Fatalf("force sign-out at %q", forcePath)
	}
	f := a.dom()
	if got := visibleText(f.one(".confirm-facts")); got != "User: guest@agency.com Active Sessions: 4" {
		t.Errorf("facts %q", got)
	}
	if got := f.texts(".confirm-list li"); !slices.Equal(got, []string{"Terminate all 4 active sessions",
		"Require user to sign in again", "Log the action in audit trail"}) {
		t.Errorf("signing out will %q", got)
	}
	a.do(chromedp.SendKeys(chromedp.CSS("#reason"), "Security concern - unusual activity"))
	a.screenshot("force-sign-out", false)

	// The guest signs in from a browser of their own.
	g := newTab(t, browser, e.srv.URL, iPhoneSafari)
	g.navigate("/login")
	g.signIn("guest@agency.com", false)
	if got := g.path(); got != "/settings/security/sessions" {
		t.Fatalf("guest at %q", got)
	}

	// An empty reason: the browser refuses to send the form.
	a.navigate(forcePath)
	if got := a.dom().text(".confirm-facts"); got != "User: guest@agency.com Active Sessions: 5" {
		t.Errorf("facts %q", got)
	}
	a.click(".confirm form button[type=submit]")
	if !eval[bool](a, `document.querySelector("#reason").validity.valueMissing`) {
		t.Error("the reason is not required in the browser")
	}
	if got := a.path(); got != forcePath {
		t.Errorf("an empty reason was sent: at %q", got)
	}
	// With one, it works.
	a.do(chromedp.SendKeys(chromedp.CSS("#reason"), "Contract ended"))
	a.clickAndLoad(".confirm form button[type=submit]")
	if got := a.path(); got != "/admin/sessions" {
		t.Errorf("after force sign-out: at %q", got)
	}
	p = a.dom()
	if got := p.text(".alert"); got != "Signed out guest@agency.com from 5 sessions. They must sign in again." {
		t.Errorf("flash %q", got)
	}
	if got := teamRows(p); !slices.Contains(got, "guest@agency.com | 0 | —") {
		t.Errorf("team after force sign-out %q", got)
	}
	// The guest's next page is the sign-in page, saying why.
	g.navigate("/settings/security/sessions")
	if got := g.path(); got != "/login" {
		t.Errorf("forced-out browser at %q, want /login", got)
	}
	if got := g.dom().text(".alert"); got != "An administrator signed you out" {
		t.Errorf("reason %q", got)
	}
	a.navigate(guestPage)
	if got := a.dom().text(".empty"); got != "guest@agency.com is not signed in anywhere." {
		t.Errorf("guest's page after: %q", got)
	}

	// Session settings as the guide draws them; the script shows what applies.
	a.navigate("/admin/settings/sessions")
	s := a.dom()
	if got := s.texts(".choices label"); !slices.Equal(got, []string{"1 day", "7 days", "30 days", "Never (not recommended)"}) {
		t.Errorf("timeouts %q", got)
	}
	if !eval[bool](a, `document.querySelector("#idle-7d").checked && document.querySelector("#remember_me_allowed").checked`) {
		t.Error("the defaults are not shown")
	}
	visible := func(sel string) bool {
		t.Helper()
		return eval[bool](a, `document.querySelector("`+sel+`").offsetParent !== null`)
	}
	if !visible("[data-when=on]") || visible("[data-when=off]") || visible(".when") {
		t.Error("with Remember Me allowed, only \"Remembered sessions last\" shows")
	}
	a.screenshot("session-settings", true)
	a.click("#remember_me_allowed")
	a.click("#idle-1d")
	if visible("[data-when=on]") || !visible("[data-when=off]") {
		t.Error("with Remember Me off, \"All sessions expire after\" shows")
	}
	if got := eval[string](a, `document.querySelector("[data-expires-text]").textContent`); got != "1 day of inactivity" {
		t.Errorf("expires after %q", got)
	}
	a.clickAndLoad(".form-actions button[type=submit]")
	s = a.dom()
	if got := s.text(".alert"); !strings.HasPrefix(got, "Session settings saved.") {
		t.Errorf("flash %q", got)
	}
	if !eval[bool](a, `document.querySelector("#idle-1d").checked && !document.querySelector("#remember_me_allowed").checked`) {
		t.Error("the saved settings are not shown")
	}
	if got := eval[string](a, `document.querySelector("#remember_me_days").value`); got != "30" {
		t.Errorf("remembered days %q: kept while Remember Me is off", got)
	}

	// The audit log: the forced sign-out with its reason, the settings change.
	a.navigate("/admin/audit")
	l := a.dom()
	rows := l.all("table.audit-table tbody tr")
	if len(rows) < 3 {
		t.Fatalf("%d audit rows", len(rows))
	}
	var first []string
	for _, td := range within(rows[0], "td") {
		first = append(first, auditText(td))
	}
	// The 1-day timeout ended the admin's two sessions idle 3 and 4 days and
	// mike's of 26 hours (the guest's were signed out above).
	if first[1] != "admin@company.com" || first[2] != "Changed session settings 3 sessions ended" {
		t.Errorf("newest event %q", first)
	}
	first = first[:0]
	for _, td := range within(rows[1], "td") {
		first = append(first, auditText(td))
	}
	if want := []string{"admin@company.com", "Forced sign-out 5 sessions", "guest@agency.com Guest Contractor", "Contract ended", "192.168.1.50", "Chrome on macOS"}; !slices.Equal(first[1:], want) {
		t.Errorf("forced sign-out event %q, want %q", first[1:], want)
	}
	a.screenshot("audit-log", true)

	// A phone, 360 px wide: nothing scrolls sideways but the tables inside
	// their cards.
	a.viewport(360, 780, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	for _, path := range []string{"/admin/sessions", guestPage, forcePath, "/admin/settings/sessions", "/admin/audit"} {
		a.navigate(path)
		if eval[bool](a, `document.documentElement.scrollWidth > window.innerWidth`) {
			t.Errorf("%s: sideways scrolling at 360 px: %d", path, eval[int64](a, "document.documentElement.scrollWidth"))
		}
	}
	a.viewport(1280, 900)
	a.navigate("/admin/audit")
	a.do(chromedp.SetValue(chromedp.CSS("#action"), "user_sessions_revoked"))
	a.clickAndLoad("form.filter button[type=submit]")
	if n := len(a.dom().all("table.audit-table tbody tr")); n != 1 {
		t.Errorf("%d forced sign-outs, want 1", n)
	}
	if got := attr(a.dom().all("a[download]")[0], "href"); !strings.Contains(got, "action=user_sessions_revoked") {
		t.Errorf("export link %q keeps no filter", got)
	}
}
