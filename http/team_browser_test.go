package http_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// peopleRows returns Team → People as "email | role | status" lines.
func peopleRows(p *page) map[string]string {
	out := map[string]string{}
	for _, tr := range p.all("table.people-table tbody tr") {
		tds := within(tr, "td")
		out[textOf(only(p.t, within(tr, "th a"), "th a"))] = visibleText(tds[0]) + " | " + visibleText(tds[1])
	}
	return out
}

// TestTeamBrowser drives Team → People in Chromium: the admin invites a
// person, who opens the link in a browser of their own, sets a password
// and is signed in; the admin sees them Active, then disables them, and
// the person's live browser session ends at its next page. It saves the
// People page's screenshot in docs/screenshots (with -update).
func TestTeamBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := guideEnv(t)
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)
	a.navigate("/admin/team")
	a.signIn("admin@company.com", false)
	if got := a.path(); got != "/admin/team" {
		t.Fatalf("after sign-in: at %q", got)
	}
	rows := peopleRows(a.dom())
	if got := rows["admin@company.com"]; got != "Admin | Active" {
		t.Errorf("admin row %q", got)
	}
	if got := rows["guest@agency.com"]; got != "Member | Active" {
		t.Errorf("guest row %q", got)
	}

	// Invite: the page shows the link to hand over (no SMTP here).
	a.clickAndLoad("a[href='/admin/team/invite']")
	a.do(chromedp.SendKeys(chromedp.CSS("#email"), "nora@company.com"), chromedp.SendKeys(chromedp.CSS("#name"), "Nora Diaz"))
	a.clickAndLoad("form[action='/admin/team/invite'] button[type=submit]")
	link := attr(a.dom().one("input[data-secret]"), "value")
	if !strings.HasPrefix(link, e.srv.URL+"/invite/") {
		t.Fatalf("invitation link %q", link)
	}
	a.navigate("/admin/team")
	if got := peopleRows(a.dom())["nora@company.com"]; got != "Member | Invited" {
		t.Errorf("invited row %q", got)
	}
	a.screenshot("team-people", true)

	// The person accepts in a browser of their own and is signed in.
	n := newTab(t, browser, e.srv.URL, iPhoneSafari)
	n.navigate(strings.TrimPrefix(link, e.srv.URL))
	if got := n.dom().text("h1"); got != "Join Company" {
		t.Errorf("invitation page h1 %q", got)
	}
	if got := eval[string](n, `document.querySelector("meta[name=referrer]").content`); got != "no-referrer" {
		t.Errorf("invitation page referrer policy %q", got)
	}
	n.do(chromedp.SendKeys(chromedp.CSS("#password"), "nora's long passphrase"))
	n.clickAndLoad("form button[type=submit]")
	if got := n.path(); got != "/settings/security/sessions" {
		t.Fatalf("after accepting: at %q", got)
	}
	if got := n.dom().text(".who-detail"); !strings.HasPrefix(got, "nora@company.com") {
		t.Errorf("signed in as %q", got)
	}
	if n.sessionCookie() == nil {
		t.Fatal("no session cookie after accepting")
	}
	a.navigate("/admin/team")
	if got := peopleRows(a.dom())["nora@company.com"]; got != "Member | Active" {
		t.Errorf("accepted row %q", got)
	}

	// Disabling ends the live browser session at its next page.
	a.navigate("/admin/team")
	var noraPath string
	for _, tr := range a.dom().all("table.people-table tbody tr") {
		if l := within(tr, "th a"); len(l) == 1 && textOf(l[0]) == "nora@company.com" {
			noraPath = attr(l[0], "href")
		}
	}
	a.navigate(noraPath)
	a.do(chromedp.SendKeys(chromedp.CSS("#disable-reason"), "Laptop stolen"))
	a.clickAndLoad("form[action$='/disable'] button[type=submit]")
	if got := a.path(); got != "/admin/team" {
		t.Fatalf("after disabling: at %q", got)
	}
	if got := peopleRows(a.dom())["nora@company.com"]; got != "Member | Disabled" {
		t.Errorf("disabled row %q", got)
	}
	n.navigate("/settings/security/sessions")
	if got := n.path(); !strings.HasPrefix(got, "/login") {
		t.Fatalf("the disabled person's browser is still in: at %q", got)
	}
	if got := n.dom().text(".alert"); got != "An administrator signed you out" {
		t.Errorf("sign-in page says %q", got)
	}
}
