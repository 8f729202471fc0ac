package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
)

// TestSuspiciousSessionBrowser drives Chromium through the guide's
// "Suspicious Session Detected?" box: an admin who signs in from Madrid
// sees a sign-in from Berlin in a new browser flagged high with both
// reasons, and each of the box's actions works from there: Review Audit
// Log shows the flagged sign-in, Change Password opens the form, Sign Out
// This Session ends it, and Sign Out All Sessions ends every one.
func TestSuspiciousSessionBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := placedEnv(t)
	e.user("ana@acme.example", doorman.RoleAdmin)
	browser := startBrowser(t, path)

	home := newTab(t, browser, e.srv.URL, client{userAgent: riskUAMac, ip: geoiptest.Madrid})
	home.navigate("/login")
	home.signIn("ana@acme.example", false)
	e.clock.Advance(3 * time.Hour)
	awayClient := client{userAgent: riskUAFirefox, ip: geoiptest.Berlin}
	away := newTab(t, browser, e.srv.URL, awayClient)
	away.navigate("/login")
	away.signIn("ana@acme.example", false)
	awayToken := away.sessionCookie().Value

	// The list flags the Berlin session; its details hold the box.
	home.navigate("/settings/security/sessions")
	p := home.dom()
	if got := p.texts(".risk"); !slices.Equal(got, []string{"High concern"}) {
		t.Fatalf("risk badges %q, want one high", got)
	}
	var details string
	for _, a := range p.all("li.session a.session-link") {
		if strings.Contains(visibleText(a), "Firefox on Windows") {
			details = attr(a, "href")
		}
	}
	if details == "" {
		t.Fatal("no link to the Firefox on Windows session")
	}
	home.navigate(details)
	box := home.dom().text(".suspicious")
	for _, want := range []string{"Suspicious Session Detected?", "High concern",
		"Unknown location: first sign-in from Berlin, Germany", "Unknown device: first sign-in from Firefox on Windows"} {
		if !strings.Contains(box, want) {
			t.Errorf("box %q lacks %q", box, want)
		}
	}
	home.screenshot("suspicious-session", true)

	// 4. Review Audit Log: the flagged sign-in, with its concern and reasons.
	home.clickAndLoad(".risk-actions a[href='/admin/audit']")
	var flagged []string
	for _, tr := range home.dom().all(".audit-table tbody tr") {
		if strings.Contains(visibleText(tr), "High: ") {
			flagged = append(flagged, visibleText(tr))
		}
	}
	if len(flagged) != 1 || !strings.Contains(flagged[0], "Unknown location, Unknown device") || !strings.Contains(flagged[0], geoiptest.Berlin) {
		t.Errorf("audit rows flagged %q, want the Berlin sign-in with both reasons", flagged)
	}

	// 3. Change Password: the form.
	home.navigate(details)
	home.clickAndLoad(".risk-actions a[href='/settings/security/password']")
	if got := home.path(); got != "/settings/security/password" {
		t.Errorf("Change Password: at %q", got)
	}
	if n := len(home.dom().all("#current_password")); n != 1 {
		t.Error("Change Password: no current-password field")
	}

	// 1. Sign Out This Session: the dialog, then that session is over.
	home.navigate(details)
	home.click(".risk-actions a[data-confirm]")
	if got := home.dom().text("dialog[open] h2"); got != "Sign Out Session?" {
		t.Fatalf("dialog %q", got)
	}
	home.clickAndLoad("dialog[open] button[type=submit]")
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(awayToken)...).wantError(t, 401, doorman.EUNAUTHORIZED)
	if got := home.dom().texts(".risk"); len(got) != 0 {
		t.Errorf("after signing it out, risk badges %q", got)
	}

	// 2. Sign Out All Sessions: Berlin again, then every session ends, this
	// one included, once the password is confirmed (the sign-in here is
	// three hours old).
	again := newTab(t, browser, e.srv.URL, awayClient)
	again.navigate("/login")
	again.signIn("ana@acme.example", false)
	againToken := again.sessionCookie().Value
	home.navigate("/settings/security/sessions")
	for _, a := range home.dom().all("li.session a.session-link") {
		if strings.Contains(visibleText(a), "Firefox on Windows") {
			details = attr(a, "href")
		}
	}
	home.navigate(details)
	home.clickAndLoad(".risk-actions a[href='/settings/security/sessions/sign-out-all']")
	if got := home.path(); !strings.HasPrefix(got, "/reauth?") {
		t.Fatalf("Sign Out All Sessions three hours on: at %q, want the password confirmation", got)
	}
	home.do(chromedp.SendKeys(chromedp.CSS("#password"), password))
	home.clickAndLoad("form[action='/reauth'] button[type=submit]")
	home.clickAndLoad("form.confirm-actions button[type=submit]")
	if got := home.path(); got != "/login" {
		t.Fatalf("after Sign Out All Sessions: at %q", got)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(againToken)...).wantError(t, 401, doorman.EUNAUTHORIZED)
}
