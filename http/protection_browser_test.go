package http_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
)

// TestProtectionBrowser drives Chromium through a password change (the
// session's cookie replaced, the other session signed out) and, 16 minutes
// later, Sign Out All Sessions through the password confirmation.
func TestProtectionBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	other := e.login(nil, "ana@acme.example", false)
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)

	a.navigate("/settings/security/password")
	a.signIn("ana@acme.example", false)
	if got := a.path(); got != "/settings/security/password" {
		t.Fatalf("after sign-in: at %q", got)
	}
	before := a.sessionCookie().Value
	const newPassword = "a brand new passphrase"
	a.do(chromedp.SendKeys(chromedp.CSS("#current_password"), password),
		chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#confirm_password"), newPassword))
	a.clickAndLoad("form.settings-form button[type=submit]")
	p := a.dom()
	if got := p.text(".alert"); got != "Your password was changed. Signed out 1 other session." {
		t.Errorf("after the change: %q", got)
	}
	if c := a.sessionCookie(); c == nil || c.Value == before {
		t.Error("the session cookie was not replaced")
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(other.Token)...).wantError(t, 401, doorman.EUNAUTHORIZED)

	e.clock.Advance(16 * time.Minute)
	a.navigate("/settings/security/sessions")
	a.clickAndLoad("a[href='/settings/security/sessions/sign-out-all']")
	if got := a.path(); got != "/reauth?next=%2Fsettings%2Fsecurity%2Fsessions%2Fsign-out-all" {
		t.Fatalf("sign out all, 16 minutes on: at %q, want the password confirmation", got)
	}
	a.do(chromedp.SendKeys(chromedp.CSS("#password"), newPassword))
	a.clickAndLoad("form[action='/reauth'] button[type=submit]")
	if got := a.path(); got != "/settings/security/sessions/sign-out-all" {
		t.Fatalf("after confirming: at %q", got)
	}
	a.clickAndLoad("form.confirm-actions button[type=submit]")
	if got := a.path(); got != "/login" {
		t.Fatalf("after sign out all: at %q", got)
	}
	if got := a.dom().text(".alert"); got != "You signed out of all your sessions." {
		t.Errorf("sign-in page says %q", got)
	}
}
