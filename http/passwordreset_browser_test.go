package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/smtptest"
)

// TestPasswordResetBrowser walks "Forgot password?" in Chromium: from the
// sign-in page to the form, the emailed link (from a real SMTP server), the
// new password, and a sign-in with it.
func TestPasswordResetBrowser(t *testing.T) {
	path := chromiumPath(t)
	sink := smtptest.Start(t)
	e := alertEnv(t, sink.Addr)
	e.clock.mu.Lock()
	e.clock.t = time.Date(2024, 1, 15, 12, 30, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	const email, newPassword = "ana@acme.example", "a brand new passphrase"
	e.user(email, doorman.RoleMember)
	browser := startBrowser(t, path)
	b := newTab(t, browser, e.srv.URL, macChrome)

	b.navigate("/login")
	b.clickAndLoad("a[data-forgot-link]")
	if got := b.path(); got != "/password/forgot" {
		t.Fatalf("Forgot password? led to %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email))
	b.clickAndLoad("form[action='/password/forgot'] button[type=submit]")
	if got := b.dom().text("h1"); got != "Check your email" {
		t.Fatalf("after sending: %q", got)
	}
	token, _, _ := e.resetMail(sink, 0, email)

	b.navigate("/password/reset/" + token)
	if got := b.dom().text("h1"); got != "Choose a new password" {
		t.Fatalf("the link's page: %q", got)
	}
	if got := eval[string](b, `document.querySelector('meta[name=referrer]').content`); got != "no-referrer" {
		t.Errorf("referrer policy %q", got)
	}
	b.screenshot("password-reset", false)
	b.do(chromedp.SendKeys(chromedp.CSS("#new_password"), newPassword), chromedp.SendKeys(chromedp.CSS("#confirm_password"), newPassword))
	b.clickAndLoad("form.form button[type=submit]")
	if got := b.path(); got != "/login" {
		t.Fatalf("after the new password: at %q, want the sign-in page", got)
	}
	if got := b.dom().text(".alert"); !strings.Contains(got, "Sign in with your new password") {
		t.Errorf("the sign-in page says %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), newPassword))
	b.clickAndLoad("form[action='/login'] button[type=submit]")
	if got := b.path(); got != "/settings/security/sessions" {
		t.Fatalf("signed in with the new password: at %q", got)
	}
	if c := b.sessionCookie(); c == nil {
		t.Error("no session cookie after signing in")
	}

	// The used link offers a new one.
	b.navigate("/password/reset/" + token)
	p := b.dom()
	if got := p.text("h1"); got != "This link was already used or has expired" || attr(p.one("a[data-new-link]"), "href") != "/password/forgot" {
		t.Errorf("the used link: %q", got)
	}
}
