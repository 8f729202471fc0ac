package http_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	ptotp "github.com/pquerna/otp/totp"
)

// totpCode returns the code of secret (spaces ignored) at the env's clock.
func (e *env) totpCode(secret string) string {
	e.t.Helper()
	c, err := ptotp.GenerateCode(strings.ReplaceAll(secret, " ", ""), e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// sessionCookie returns the session token c's jar holds for base.
func sessionCookie(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "doorman_session" {
			return ck.Value
		}
	}
	t.Fatal("no session cookie in the jar")
	return ""
}

// enable2FA turns two-factor authentication on for email through the
// Service, and returns the secret and the recovery codes.
func (e *env) enable2FA(email string) (string, []string) {
	e.t.Helper()
	ctx := context.Background()
	_, p, err := e.svc.SignIn(ctx, app.SignInRequest{Email: email, Password: password})
	if err != nil {
		e.t.Fatal(err)
	}
	key, err := e.svc.BeginTwoFactorSetup(ctx, p, "", app.Meta{})
	if err != nil {
		e.t.Fatal(err)
	}
	on, err := e.svc.ConfirmTwoFactorSetup(ctx, p, e.totpCode(key.Secret), app.Meta{})
	if err != nil {
		e.t.Fatal(err)
	}
	return key.Secret, on.RecoveryCodes
}

// signIn2FA signs c in through both steps of the sign-in page with code
// and returns the final redirect's Location.
func (e *env) signIn2FA(c *http.Client, email, code string) string {
	e.t.Helper()
	e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	loc := e.signIn(c, email, false, "")
	if loc != "/login/two-factor" {
		e.t.Fatalf("after the password: redirect to %q, want /login/two-factor", loc)
	}
	step := e.page(c, "GET", loc, nil).wantStatus(http.StatusOK)
	v := formValues(step.one("form[action=/login/two-factor]"))
	v.Set("code", code)
	a := e.page(c, "POST", "/login/two-factor", v)
	if a.status != http.StatusSeeOther {
		e.t.Fatalf("second step: %d\n%s", a.status, a.body)
	}
	return a.header.Get("Location")
}

func TestTwoFactorPages(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")

	p := e.page(c, "GET", "/settings/security/two-factor", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := navCurrent(p); got != "Security › Two-factor authentication" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.text("#two-factor-status .badge"); got != "Off" {
		t.Errorf("status %q, want Off", got)
	}
	setup := e.page(c, "POST", "/settings/security/two-factor/setup",
		formValues(p.one("form[action=/settings/security/two-factor/setup]"))).wantStatus(http.StatusOK)
	checkPageMarkup(t, setup)
	if src := attr(setup.one("img.qr"), "src"); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Errorf("QR code src %.40q, want a PNG data: URI", src)
	}
	key := setup.text("#setup-key")
	if len(key) != 39 || strings.Count(key, " ") != 7 {
		t.Errorf("setup key %q, want 32 characters in groups of 4", key)
	}
	confirm := formValues(setup.one("form[action=/settings/security/two-factor/confirm]"))
	confirm.Set("code", "000000")
	bad := e.page(c, "POST", "/settings/security/two-factor/confirm", confirm).wantStatus(http.StatusBadRequest)
	if !strings.HasPrefix(bad.text("#form-error"), "That code is not right") || bad.text("#setup-key") != key {
		t.Errorf("wrong code: error %q, key %q", bad.text("#form-error"), bad.text("#setup-key"))
	}
	// Reloading the setup shows the same key.
	if again := e.page(c, "GET", "/settings/security/two-factor/setup", nil).wantStatus(http.StatusOK); again.text("#setup-key") != key {
		t.Error("the setup page shows another key")
	}
	confirm.Set("code", e.totpCode(key))
	oldToken := sessionCookie(t, c, e.srv.URL)
	shown := e.page(c, "POST", "/settings/security/two-factor/confirm", confirm).wantStatus(http.StatusOK)
	// A privilege change: the browser gets a new session cookie, and the
	// old token stops working.
	if nc := cookieNamed(t, shown.header, "doorman_session"); nc.Value == "" || nc.Value == oldToken || !nc.HttpOnly {
		t.Errorf("session cookie after turning two-factor authentication on: %+v, want a new one", nc)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(oldToken)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	codes := shown.texts("#recovery-codes code")
	if len(codes) != 10 || !strings.Contains(shown.text(".lead"), "only time") {
		t.Fatalf("recovery codes %q, lead %q", codes, shown.text(".lead"))
	}
	if got := shown.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("recovery codes page Cache-Control %q, want no-store", got)
	}
	p = e.page(c, "GET", "/settings/security/two-factor", nil).wantStatus(http.StatusOK)
	if got := p.text("#two-factor-status .badge"); got != "On" {
		t.Errorf("status %q, want On", got)
	}
	if got := p.text("#recovery-left"); got != "10 unused recovery codes left." {
		t.Errorf("codes left %q", got)
	}

	// Sign out, then in again: the password, then the code.
	e.page(c, "POST", "/logout", formValues(p.one("form[action=/logout]"))).wantRedirect("/login")
	e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	first := e.one2FAFirstStep(c, "ana@acme.example")
	ch := cookieNamed(t, first.header, "doorman_challenge")
	if !ch.HttpOnly || ch.SameSite != http.SameSiteLaxMode || ch.MaxAge != 300 || ch.Path != "/" {
		t.Errorf("challenge cookie %+v", ch)
	}
	for _, line := range first.header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "doorman_session=") {
			t.Errorf("a session cookie before the second step: %q", line)
		}
	}
	step := e.page(c, "GET", "/login/two-factor", nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, step)
	if len(step.all("input[type=password]")) != 0 || strings.Contains(string(step.body), password) {
		t.Error("the second step carries the password")
	}
	v := formValues(step.one("form[action=/login/two-factor]"))
	if _, ok := v["password"]; ok {
		t.Error("the second step's form has a password")
	}
	v.Set("code", "123456")
	wrong := e.page(c, "POST", "/login/two-factor", v).wantStatus(http.StatusUnauthorized)
	if got := wrong.text("#login-error"); got != "Invalid two-factor code." {
		t.Errorf("wrong code error %q", got)
	}
	e.clock.Advance(30 * time.Second) // the setup's code cannot be used again
	v.Set("code", e.totpCode(key))
	done := e.page(c, "POST", "/login/two-factor", v)
	done.wantRedirect("/settings/security/sessions")
	if cookieNamed(t, done.header, "doorman_session").Value == "" || cookieNamed(t, done.header, "doorman_challenge").MaxAge >= 0 {
		t.Error("second step: no session cookie, or the challenge cookie kept")
	}
	sessions := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	details := e.page(c, "GET", attr(sessions.one(".session-current a.session-link"), "href"), nil).wantStatus(http.StatusOK)
	if got := details.text("#session-two-factor"); got != "Used at sign-in" {
		t.Errorf("session details: two-factor %q", got)
	}
	// The used challenge is gone: the step sends the browser back.
	e.page(c, "GET", "/login/two-factor", nil).wantRedirect("/login")

	// Re-authentication asks for the code too.
	e.clock.Advance(16 * time.Minute)
	re := e.page(c, "GET", "/reauth?next="+url.QueryEscape("/settings/security/sessions"), nil).wantStatus(http.StatusOK)
	rv := formValues(re.one("form[action=/reauth]"))
	if len(re.all("input#code")) != 1 {
		t.Fatal("/reauth has no code field for a 2FA user")
	}
	rv.Set("password", password)
	rv.Set("code", "")
	if got := e.page(c, "POST", "/reauth", rv).wantStatus(http.StatusBadRequest).text("#form-error"); got != "Two-factor code required." {
		t.Errorf("reauth without code: %q", got)
	}
	rv.Set("code", e.totpCode(key))
	e.page(c, "POST", "/reauth", rv).wantRedirect("/settings/security/sessions")

	// Regenerate: new codes, the old ones no longer work.
	p = e.page(c, "GET", "/settings/security/two-factor", nil).wantStatus(http.StatusOK)
	fresh := e.page(c, "POST", "/settings/security/two-factor/recovery-codes",
		formValues(p.one("form[action=/settings/security/two-factor/recovery-codes]"))).wantStatus(http.StatusOK).texts("#recovery-codes code")
	if len(fresh) != 10 || slices.Contains(fresh, codes[0]) {
		t.Fatalf("regenerated codes %q", fresh)
	}

	// Turn off: a wrong code is refused, a recovery code works.
	p = e.page(c, "GET", "/settings/security/two-factor", nil).wantStatus(http.StatusOK)
	off := formValues(p.one("form#two-factor-disable"))
	off.Set("password", password)
	off.Set("code", codes[1]) // replaced by the regeneration
	bad = e.page(c, "POST", "/settings/security/two-factor/disable", off).wantStatus(http.StatusBadRequest)
	if got := bad.text("#form-error"); got != "The two-factor code is wrong." || attr(bad.one("input#code"), "aria-invalid") != "true" {
		t.Errorf("turn off with a wrong code: %q", got)
	}
	off.Set("code", fresh[0])
	e.page(c, "POST", "/settings/security/two-factor/disable", off).wantRedirect("/settings/security/two-factor")
	p = e.page(c, "GET", "/settings/security/two-factor", nil).wantStatus(http.StatusOK)
	if got := p.text("#two-factor-status .badge"); got != "Off" || p.text(".alert-success") != "Two-factor authentication is off." {
		t.Errorf("after turning off: status %q, flash %q", got, p.text(".alert-success"))
	}

	evs, _, err := e.store.FindAuditEvents(context.Background(), doorman.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	for _, want := range []string{doorman.ActionTwoFactorEnabled, doorman.ActionRecoveryCodesRenewed,
		doorman.ActionRecoveryCodeUsed, doorman.ActionTwoFactorDisabled, doorman.ActionSignInFailed} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s event in %q", want, actions)
		}
	}
}

// one2FAFirstStep posts the sign-in form of a 2FA user and checks it goes
// to the second step.
func (e *env) one2FAFirstStep(c *http.Client, email string) *page {
	e.t.Helper()
	v := formValues(e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK).one("form[action=/login]"))
	v.Set("email", email)
	v.Set("password", password)
	a := e.page(c, "POST", "/login", v)
	a.wantRedirect("/login/two-factor")
	return a
}

func TestTwoFactorSecondStepEnds(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	secret, codes := e.enable2FA("ana@acme.example")

	// Without a pending sign-in the step goes back to the first.
	e.page(e.browser(), "GET", "/login/two-factor", nil).wantRedirect("/login")

	// After 5 minutes the pending sign-in is gone.
	c := e.browser()
	e.one2FAFirstStep(c, "ana@acme.example")
	v := formValues(e.page(c, "GET", "/login/two-factor", nil).wantStatus(http.StatusOK).one("form[action=/login/two-factor]"))
	e.clock.Advance(doorman.ChallengeTTL)
	v.Set("code", e.totpCode(secret))
	e.page(c, "POST", "/login/two-factor", v).wantRedirect("/login")
	if got := e.page(c, "GET", "/login", nil).text(".alert-error"); !strings.HasPrefix(got, "The sign-in expired") {
		t.Errorf("sign-in page after expiry says %q", got)
	}

	// A recovery code signs in, once.
	c = e.browser()
	if loc := e.signIn2FA(c, "ana@acme.example", codes[0]); loc != "/settings/security/sessions" {
		t.Fatalf("recovery code: redirect to %q", loc)
	}
	c = e.browser()
	e.one2FAFirstStep(c, "ana@acme.example")
	v = formValues(e.page(c, "GET", "/login/two-factor", nil).wantStatus(http.StatusOK).one("form[action=/login/two-factor]"))
	v.Set("code", codes[0])
	if got := e.page(c, "POST", "/login/two-factor", v).wantStatus(http.StatusUnauthorized).text("#login-error"); got != "Invalid two-factor code." {
		t.Errorf("used recovery code: %q", got)
	}
	// An empty code is a clear input error.
	v.Set("code", "")
	if got := e.page(c, "POST", "/login/two-factor", v).wantStatus(http.StatusBadRequest).text("#login-error"); !strings.HasPrefix(got, "Enter the 6-digit code") {
		t.Errorf("empty code: %q", got)
	}
}

func TestTwoFactorAPI(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", doorman.RoleAdmin)
	e.user("ana@acme.example", doorman.RoleMember)
	secret, codes := e.enable2FA("ana@acme.example")

	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password})
	if v := a.wantError(t, http.StatusUnauthorized, doorman.ETOTP); v.Error.Message != "Two-factor code required" {
		t.Errorf("message %q", v.Error.Message)
	}
	e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password, "totp_code": "999999"}).
		wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	// A wrong password with a right code says nothing about the code.
	e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": "wrong password!", "totp_code": codes[0]}).
		wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	e.clock.Advance(30 * time.Second)
	ok := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password, "totp_code": e.totpCode(secret)})
	if ok.status != http.StatusOK {
		t.Fatalf("login with code: %d %s", ok.status, ok.body)
	}
	var la struct {
		Token   string `json:"token"`
		Session struct {
			TwoFactor *bool `json:"two_factor"`
		} `json:"session"`
	}
	ok.decode(t, &la)
	e.mu.Lock()
	e.tokens = append(e.tokens, la.Token)
	e.mu.Unlock()
	if la.Session.TwoFactor == nil || !*la.Session.TwoFactor {
		t.Errorf("session two_factor %v, want true", la.Session.TwoFactor)
	}
	var who struct {
		Session struct {
			TwoFactor bool `json:"two_factor"`
		} `json:"session"`
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(la.Token)...).decode(t, &who)
	if !who.Session.TwoFactor {
		t.Error("whoami: two_factor false")
	}

	// Re-authentication through the API needs the code too.
	e.clock.Advance(16 * time.Minute)
	e.do(nil, "POST", "/api/v1/sessions/sign-out-all", map[string]any{"password": password}, bearer(la.Token)...).
		wantError(t, http.StatusForbidden, doorman.EREAUTH)
	a = e.do(nil, "POST", "/api/v1/sessions/sign-out-all", map[string]any{"password": password, "totp_code": e.totpCode(secret)}, bearer(la.Token)...)
	if a.status != http.StatusOK {
		t.Fatalf("sign-out-all with code: %d %s", a.status, a.body)
	}

	// Admins see who has 2FA.
	admin := e.login(nil, "admin@acme.example", false)
	var team struct {
		Users []struct {
			Email     string `json:"email"`
			TwoFactor *bool  `json:"two_factor"`
		} `json:"users"`
	}
	e.do(nil, "GET", "/api/v1/team/sessions", nil, bearer(admin.Token)...).decode(t, &team)
	got := map[string]bool{}
	for _, u := range team.Users {
		if u.TwoFactor == nil {
			t.Fatalf("team member %s without two_factor", u.Email)
		}
		got[u.Email] = *u.TwoFactor
	}
	if !got["ana@acme.example"] || got["admin@acme.example"] || len(got) != 2 {
		t.Errorf("team two_factor %v", got)
	}
	c := e.browser()
	e.signIn(c, "admin@acme.example", false, "")
	p := e.page(c, "GET", "/admin/sessions", nil).wantStatus(http.StatusOK)
	badges := map[string]bool{}
	for _, row := range p.all("table.team-table tbody tr") {
		email := textOf(within(row, "th a")[0])
		badges[email] = len(within(row, ".badge-2fa")) == 1
	}
	if !badges["ana@acme.example"] || badges["admin@acme.example"] {
		t.Errorf("team page 2FA badges %v", badges)
	}
	audit := e.page(c, "GET", "/admin/audit", nil).wantStatus(http.StatusOK)
	options := audit.texts("select#action option")
	for _, want := range []string{"Turned on two-factor authentication", "Turned off two-factor authentication",
		"Regenerated recovery codes", "Used a recovery code"} {
		if !slices.Contains(options, want) {
			t.Errorf("audit filter has no %q: %q", want, options)
		}
	}
	if rows := audit.texts("table tbody tr"); !slices.ContainsFunc(rows, func(r string) bool {
		return strings.Contains(r, "Turned on two-factor authentication")
	}) {
		t.Errorf("audit log rows %q: no two-factor event", rows)
	}
}

// TestTwoFactorChallengeCookieOverHTTPS: over HTTPS the pending sign-in's
// cookie is __Host-, Secure, HttpOnly and SameSite=Lax, like the session's.
func TestTwoFactorChallengeCookieOverHTTPS(t *testing.T) {
	e := newEnv(t, withBaseURL("https://doorman.example"))
	e.user("ana@acme.example", doorman.RoleMember)
	secret, _ := e.enable2FA("ana@acme.example")
	c := e.browser()
	first := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	dev := cookieNamed(t, first.header, "__Host-doorman_device")
	v := formValues(first.one("form[action=/login]"))
	v.Set("email", "ana@acme.example")
	v.Set("password", password)
	a := e.page(c, "POST", "/login", v, "Cookie", dev.Name+"="+dev.Value)
	a.wantRedirect("/login/two-factor")
	ck := cookieNamed(t, a.header, "__Host-doorman_challenge")
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("challenge cookie %+v: want Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", ck)
	}
	cookies := dev.Name + "=" + dev.Value + "; " + ck.Name + "=" + ck.Value
	step := e.page(c, "GET", "/login/two-factor", nil, "Cookie", cookies).wantStatus(http.StatusOK)
	sv := formValues(step.one("form[action=/login/two-factor]"))
	e.clock.Advance(30 * time.Second)
	sv.Set("code", e.totpCode(secret))
	done := e.page(c, "POST", "/login/two-factor", sv, "Cookie", cookies)
	done.wantRedirect("/settings/security/sessions")
	if s := cookieNamed(t, done.header, "__Host-doorman_session"); !s.Secure || s.Value == "" {
		t.Errorf("session cookie %+v", s)
	}
}

// TestTwoFactorSetupReauth: 15 minutes after the last password proof, the
// setup asks for the password again before showing or confirming the key.
func TestTwoFactorSetupReauth(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	p := e.page(c, "GET", "/settings/security/two-factor", nil).wantStatus(http.StatusOK)
	setup := e.page(c, "POST", "/settings/security/two-factor/setup",
		formValues(p.one("form[action=/settings/security/two-factor/setup]"))).wantStatus(http.StatusOK)
	key := setup.text("#setup-key")
	confirm := formValues(setup.one("form[action=/settings/security/two-factor/confirm]"))
	e.clock.Advance(16 * time.Minute)
	const again = "/reauth?next=%2Fsettings%2Fsecurity%2Ftwo-factor%2Fsetup"
	e.page(c, "GET", "/settings/security/two-factor/setup", nil).wantRedirect(again)
	confirm.Set("code", e.totpCode(key))
	e.page(c, "POST", "/settings/security/two-factor/confirm", confirm).wantRedirect(again)
	e.reauth(c, "/settings/security/two-factor/setup")
	if got := e.page(c, "GET", "/settings/security/two-factor/setup", nil).wantStatus(http.StatusOK).text("#setup-key"); got != key {
		t.Errorf("after the password: key %q, want the pending one", got)
	}
	e.page(c, "POST", "/settings/security/two-factor/confirm", confirm).wantStatus(http.StatusOK)
}
