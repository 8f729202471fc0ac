package http_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
)

// TestTwoFactorBrowser drives Chromium through two-factor authentication:
// set up from the page (the key read off the page, the code computed at
// the test clock's time), sign out, sign in with the password then the
// code, with a recovery code, a used recovery code refused, then turn it
// off.
func TestTwoFactorBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)

	a.navigate("/settings/security/two-factor")
	a.signIn("ana@acme.example", false)
	if got := a.path(); got != "/settings/security/two-factor" {
		t.Fatalf("after sign-in: at %q", got)
	}
	if got := a.dom().text("#two-factor-status .badge"); got != "Off" {
		t.Fatalf("status %q, want Off", got)
	}
	a.clickAndLoad("form[action='/settings/security/two-factor/setup'] button[type=submit]")
	p := a.dom()
	key := p.text("#setup-key")
	if key == "" || !strings.HasPrefix(attr(p.one("img.qr"), "src"), "data:image/png;base64,") {
		t.Fatalf("setup page: key %q, QR %.30q", key, attr(p.one("img.qr"), "src"))
	}
	if w := eval[float64](a, `document.querySelector("img.qr").naturalWidth`); w == 0 {
		t.Error("the QR code image did not load (Content-Security-Policy?)")
	}
	a.screenshot("two-factor-setup", true)
	a.do(chromedp.SendKeys(chromedp.CSS("#code"), e.totpCode(key)))
	a.clickAndLoad("form[action='/settings/security/two-factor/confirm'] button[type=submit]")
	p = a.dom()
	codes := p.texts("#recovery-codes code")
	if len(codes) != doorman.RecoveryCodeCount {
		t.Fatalf("recovery codes %q", codes)
	}
	a.screenshot("two-factor-recovery-codes", false)
	a.clickAndLoad("a.btn-primary[href='/settings/security/two-factor']")
	if got := a.dom().text("#two-factor-status .badge"); got != "On" {
		t.Fatalf("status %q, want On", got)
	}
	a.screenshot("two-factor", true)

	var shot sync.Once
	signOut := func() {
		t.Helper()
		a.clickAndLoad("form[action='/logout'] button[type=submit]")
		if got := a.path(); got != "/login" {
			t.Fatalf("after sign out: at %q", got)
		}
	}
	secondStep := func(code string) {
		t.Helper()
		a.signIn("ana@acme.example", false)
		if got := a.path(); got != "/login/two-factor" {
			t.Fatalf("after the password: at %q, want the second step", got)
		}
		if len(a.dom().all("input[type=password]")) != 0 {
			t.Fatal("the second step has a password field")
		}
		shot.Do(func() { a.screenshot("login-two-factor", false) })
		a.do(chromedp.SendKeys(chromedp.CSS("#code"), code))
		a.clickAndLoad("form[action='/login/two-factor'] button[type=submit]")
	}

	// The password, then the code of the next time step (the setup's is used).
	signOut()
	e.clock.Advance(30 * time.Second)
	secondStep(e.totpCode(key))
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after the code: at %q", got)
	}
	a.navigate("/settings/security/sessions")
	a.clickAndLoad(".session-current a.session-link")
	if got := a.dom().text("#session-two-factor"); got != "Used at sign-in" {
		t.Errorf("session details: two-factor %q", got)
	}

	// A recovery code, once.
	signOut()
	secondStep(codes[0])
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after a recovery code: at %q", got)
	}
	signOut()
	secondStep(codes[0])
	if got := a.path(); got != "/login/two-factor" {
		t.Fatalf("a used recovery code: at %q, want the second step again", got)
	}
	if got := a.dom().text("#login-error"); got != "Invalid two-factor code." {
		t.Errorf("a used recovery code: %q", got)
	}
	e.clock.Advance(30 * time.Second)
	a.do(chromedp.SendKeys(chromedp.CSS("#code"), e.totpCode(key)))
	a.clickAndLoad("form[action='/login/two-factor'] button[type=submit]")
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after the code: at %q", got)
	}

	// Turn it off with the password and a code.
	a.navigate("/settings/security/two-factor")
	e.clock.Advance(30 * time.Second)
	a.do(chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), e.totpCode(key)))
	a.clickAndLoad("form#two-factor-disable button[type=submit]")
	p = a.dom()
	if got := p.text("#two-factor-status .badge"); got != "Off" || p.text(".alert-success") != "Two-factor authentication is off." {
		t.Errorf("after turning off: status %q, flash %q", got, p.text(".alert-success"))
	}
	if !slices.Contains(p.texts("nav.sidenav a"), "Two-factor authentication") {
		t.Error("the Security navigation has no Two-factor authentication")
	}
}
