package http_test

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
	"github.com/doorman/doorman/internal/smtptest"
)

// TestAlertBrowser opens an alert email's "This wasn't me" link in
// Chromium, signed out: the page shows the sign-in, its button signs that
// session out and offers the password change (which asks to sign in first),
// and the link then shows that it was used.
func TestAlertBrowser(t *testing.T) {
	path := chromiumPath(t)
	mailSrv := smtptest.Start(t)
	e := alertEnv(t, mailSrv.Addr)
	// A fixed "now", so that the screenshot changes only when the page does.
	e.clock.mu.Lock()
	e.clock.t = time.Date(2024, 1, 15, 12, 30, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	e.user("ana@acme.example", doorman.RoleMember)
	e.signInFrom(e.browser(), "ana@acme.example", geoiptest.Madrid, riskUAMac)
	e.clock.Advance(time.Hour)
	away := e.browser()
	e.signInFrom(away, "ana@acme.example", geoiptest.Berlin, riskUAFirefox)
	awayHdr := []string{"X-Forwarded-For", geoiptest.Berlin, "User-Agent", riskUAFirefox}
	if n := e.deliver(); n != 1 {
		t.Fatalf("deliveries: %d, want the email", n)
	}
	msgs := mailSrv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("emails: %d", len(msgs))
	}
	parsed, err := mail.ReadMessage(msgs[0].Reader())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	m := alertLinkRE.FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("no link in:\n%s", raw)
	}

	browser := startBrowser(t, path)
	phone := client{userAgent: iPhoneSafari.userAgent, ip: geoiptest.Madrid}
	b := newTab(t, browser, e.srv.URL, phone)
	b.navigate(m[0])
	p := b.dom()
	if p.text("h1") != "Was this you?" || p.text("[data-device]") != "Firefox on Windows" || p.text("[data-place]") != "Berlin, Germany" {
		t.Fatalf("confirmation page: h1 %q", p.text("h1"))
	}
	if got := eval[string](b, `document.querySelector('meta[name=referrer]').content`); got != "no-referrer" {
		t.Errorf("referrer policy %q", got)
	}
	b.screenshot("alert-this-wasnt-me", false)
	e.page(away, "GET", "/settings/security/sessions", nil, awayHdr...).wantStatus(http.StatusOK) // opening it changed nothing

	b.clickAndLoad("form[method=post] button[type=submit]")
	done := b.dom()
	if got := done.text("h1"); got != "The session was signed out" {
		t.Fatalf("after the button: %q", got)
	}
	if a := e.do(away, "GET", "/api/v1/whoami", nil, awayHdr...); a.status != http.StatusUnauthorized {
		t.Errorf("the reported session answers %d, want 401", a.status)
	}
	b.clickAndLoad("[data-change-password]")
	if got := b.path(); got != "/login?next=%2Fsettings%2Fsecurity%2Fpassword" {
		t.Errorf("Change password led to %q, want sign-in then the password page", got)
	}

	b.navigate(m[0])
	if got := b.dom().text("h1"); got != "This link was already used or has expired" {
		t.Errorf("the used link: %q", got)
	}
}

// TestWebhookBrowser sets up the account's webhook on Team → Webhook in
// Chromium: the secret shown once, a test event sent, signed and delivered,
// and its delivery in the table.
func TestWebhookBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := alertEnv(t, "127.0.0.1:1")
	e.clock.mu.Lock()
	e.clock.t = time.Date(2024, 1, 15, 12, 30, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	rc := newReceiver(t, e.clock.Now)
	e.user("admin@acme.example", doorman.RoleAdmin)
	browser := startBrowser(t, path)
	b := newTab(t, browser, e.srv.URL, macChrome)

	b.navigate("/admin/settings/webhook")
	b.signIn("admin@acme.example", false)
	if got := b.path(); got != "/admin/settings/webhook" {
		t.Fatalf("after sign-in: at %q", got)
	}
	if got := navCurrent(b.dom()); got != "Team › Webhook" {
		t.Errorf("navigation marks %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.CSS("#url"), rc.srv.URL+"/doorman"))
	b.clickAndLoad("form.settings-form button[type=submit]")
	secret := attr(b.dom().one("input#secret"), "value")
	if len(secret) != len("whsec_")+43 {
		t.Fatalf("secret %q", secret)
	}
	rc.set(secret, http.StatusOK)

	b.clickAndLoad("form[action='/admin/settings/webhook/test'] button[type=submit]")
	if got := b.dom().text(".alert"); got != "Test event queued. Its delivery shows below in a few seconds; reload the page." {
		t.Errorf("after Send test event: %q", got)
	}
	if n := e.deliver(); n != 1 {
		t.Fatalf("deliveries: %d", n)
	}
	if rc.count() != 1 || rc.verified != 1 {
		t.Fatalf("the receiver got %d requests, %d verified", rc.count(), rc.verified)
	}
	b.navigate("/admin/settings/webhook")
	p := b.dom()
	rows := p.all("tr[data-delivery]")
	if len(rows) != 1 || textOf(only(t, within(rows[0], "[data-status]"), "status")) != "delivered" {
		t.Fatalf("deliveries table: %d rows", len(rows))
	}
	if len(p.all("input#secret")) != 0 {
		t.Error("the secret is shown again")
	}
	// The receiver's port changes every run; the screenshot shows a fixed URL.
	eval[string](b, `document.querySelector('#url').value = 'https://hooks.example.com/doorman'`)
	b.screenshot("webhook-settings", true)
}
