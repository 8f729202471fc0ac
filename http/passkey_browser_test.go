package http_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/passkey"
)

// virtualAuthenticator gives the tab a platform authenticator through
// DevTools' WebAuthn domain: CTAP2, discoverable credentials, user
// verification that succeeds, presence that needs no touch.
func (b *tab) virtualAuthenticator() cdpwebauthn.AuthenticatorID {
	b.t.Helper()
	var id cdpwebauthn.AuthenticatorID
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{Protocol: cdpwebauthn.AuthenticatorProtocolCtap2,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true}})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// TestPasskeyBrowser drives Chromium, with a virtual authenticator,
// through passkeys: add one on the Two-factor authentication page, sign
// out, sign in with it alone (discoverable: no email typed), turn TOTP
// on and use the passkey in place of the code, then remove it after
// confirming the password. WebAuthn needs a domain as relying party id,
// so the tab reaches the test server as localhost.
func TestPasskeyBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := newEnv(t)
	u := e.user("ana@acme.example", doorman.RoleMember)
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	base := "http://localhost:" + port
	baseURL, _ := url.Parse(base)
	rp, err := passkey.New(baseURL, "Doorman")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WebAuthn = rp
	browser := startBrowser(t, path)
	a := newTab(t, browser, base, macChrome)
	a.virtualAuthenticator()

	a.navigate("/settings/security/two-factor")
	a.signIn("ana@acme.example", false)
	if got := a.path(); got != "/settings/security/two-factor" {
		t.Fatalf("after sign-in: at %q", got)
	}
	p := a.dom()
	if p.text("#passkey-none") != "You have no passkeys." {
		t.Fatalf("passkeys before adding one: %q", p.text("#passkeys"))
	}
	if !a.waitFor(`!document.getElementById("passkey-add").hidden`) {
		t.Fatal("the Add a passkey form stays hidden: no WebAuthn in the page?")
	}
	a.do(chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Work laptop"))
	a.clickAndLoad("#passkey-add button[type=submit]")
	p = a.dom()
	if got := p.texts("#passkey-list .passkey-name"); len(got) != 1 || got[0] != "Work laptop" {
		t.Fatalf("passkeys after adding one: %q (status %q)", got, p.text("[data-passkey-status]"))
	}
	if got := p.text(".alert-success"); !strings.Contains(got, "Work laptop") {
		t.Errorf("flash %q", got)
	}
	if got := p.text("#passkey-list .passkey .settings-note"); !strings.Contains(got, "Never used") {
		t.Errorf("a new passkey: %q", got)
	}
	a.screenshot("passkeys", true)

	signOut := func() {
		t.Helper()
		a.clickAndLoad("form[action='/logout'] button[type=submit]")
		if got := a.path(); got != "/login" {
			t.Fatalf("after sign out: at %q", got)
		}
	}

	// Signed out: the passkey alone signs in, no email typed.
	signOut()
	if !a.waitFor(`!document.getElementById("passkey-login").hidden`) {
		t.Fatal("the Sign in with a passkey button stays hidden")
	}
	a.clickAndLoad("#passkey-login button[type=submit]")
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after the passkey: at %q (%q)", got, a.dom().text("[data-passkey-status]"))
	}
	a.clickAndLoad(".session-current a.session-link")
	if got := a.dom().text("#session-two-factor"); got != "Used at sign-in" {
		t.Errorf("session details after a passkey: two-factor %q", got)
	}
	a.navigate("/settings/security/two-factor")
	if got := a.dom().text("#passkey-list .passkey .settings-note"); !strings.Contains(got, "Last used") {
		t.Errorf("a used passkey: %q", got)
	}

	// TOTP on: the password's second step takes the passkey in place of a code.
	a.clickAndLoad("form[action='/settings/security/two-factor/setup'] button[type=submit]")
	key := a.dom().text("#setup-key")
	a.do(chromedp.SendKeys(chromedp.CSS("#code"), e.totpCode(key)))
	a.clickAndLoad("form[action='/settings/security/two-factor/confirm'] button[type=submit]")
	signOut()
	a.signIn("ana@acme.example", false)
	if got := a.path(); got != "/login/two-factor" {
		t.Fatalf("after the password: at %q, want the second step", got)
	}
	if !a.waitFor(`!document.getElementById("passkey-second-factor").hidden`) {
		t.Fatal("the second step offers no passkey")
	}
	a.screenshot("login-two-factor-passkey", false)
	a.clickAndLoad("#passkey-second-factor button[type=submit]")
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after the passkey as second factor: at %q (%q)", got, a.dom().text("[data-passkey-status]"))
	}

	// Removing it needs a recent password (and code).
	e.clock.Advance(app.ReauthAfter)
	a.navigate("/settings/security/two-factor")
	a.clickAndLoad("#passkey-list form button[type=submit]")
	if got := a.path(); !strings.HasPrefix(got, "/reauth") {
		t.Fatalf("removing a passkey of a stale sign-in: at %q, want /reauth", got)
	}
	if got := a.dom().texts("#passkey-list .passkey-name"); len(got) != 0 {
		t.Fatal("the reauth page lists passkeys")
	}
	e.clock.Advance(30 * time.Second)
	a.do(chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.SendKeys(chromedp.CSS("#code"), e.totpCode(key)))
	a.clickAndLoad("form[action='/reauth'] button[type=submit]")
	a.navigate("/settings/security/two-factor")
	a.clickAndLoad("#passkey-list form button[type=submit]")
	p = a.dom()
	if p.text(".alert-success") != "Passkey removed." || p.text("#passkey-none") == "" {
		t.Fatalf("after removing: flash %q, list %q", p.text(".alert-success"), p.texts("#passkey-list .passkey-name"))
	}

	// The audit log has each step.
	evs, _, err := e.svc.Store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: u.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.Action]++
	}
	if count[doorman.ActionPasskeyAdded] != 1 || count[doorman.ActionPasskeyUsed] != 2 || count[doorman.ActionPasskeyRemoved] != 1 {
		t.Errorf("audit: %d added, %d used, %d removed; want 1, 2, 1", count[doorman.ActionPasskeyAdded],
			count[doorman.ActionPasskeyUsed], count[doorman.ActionPasskeyRemoved])
	}
}
