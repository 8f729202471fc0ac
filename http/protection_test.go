package http_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

func TestSignOutAllAPI(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	a := e.login(c, "ana@acme.example", false)
	b := e.login(nil, "ana@acme.example", false)
	ans := e.do(nil, "POST", "/api/v1/sessions/sign-out-all", nil, bearer(a.Token)...)
	var v struct {
		SignedOut int `json:"signed_out"`
	}
	if ans.status != http.StatusOK {
		t.Fatalf("sign-out-all: %d %s", ans.status, ans.body)
	}
	ans.decode(t, &v)
	if v.SignedOut != 2 {
		t.Fatalf("signed_out %d, want 2", v.SignedOut)
	}
	for _, tok := range []string{a.Token, b.Token} {
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(tok)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	}
}

func TestSignOutAllPage(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	other := e.login(nil, "ana@acme.example", false)

	sessions := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	link := sessions.one("a[href=/settings/security/sessions/sign-out-all]")
	if got := textOf(link); got != "Sign Out All Sessions" {
		t.Errorf("button %q", got)
	}
	confirm := e.page(c, "GET", attr(link, "href"), nil).wantStatus(http.StatusOK)
	if got := confirm.text("h1"); got != "Sign Out All Sessions?" {
		t.Errorf("heading %q", got)
	}
	if got := confirm.texts(".confirm p")[0]; got != "This will sign out 2 sessions, including this one." {
		t.Errorf("confirmation %q", got)
	}
	form := confirm.one("form.confirm-actions")
	e.page(c, "POST", attr(form, "action"), formValues(form)).wantRedirect("/login")
	login := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	if got := login.text(".alert"); got != "You signed out of all 2 of your sessions." {
		t.Errorf("flash %q", got)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(other.Token)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	e.page(c, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
}

func TestChangePasswordAPI(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	a := e.login(nil, "ana@acme.example", false)
	b := e.login(nil, "ana@acme.example", false)
	const newPassword = "a brand new passphrase"

	e.do(nil, "POST", "/api/v1/password", map[string]any{"current_password": "wrong password!", "new_password": newPassword},
		bearer(a.Token)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	e.do(nil, "POST", "/api/v1/password", map[string]any{"current_password": password, "new_password": "short"},
		bearer(a.Token)...).wantError(t, http.StatusBadRequest, doorman.EINVALID)

	ans := e.do(nil, "POST", "/api/v1/password", map[string]any{"current_password": password, "new_password": newPassword},
		bearer(a.Token)...)
	if ans.status != http.StatusOK {
		t.Fatalf("change password: %d %s", ans.status, ans.body)
	}
	var v struct {
		Token     string  `json:"token"`
		Session   session `json:"session"`
		SignedOut int     `json:"signed_out"`
	}
	ans.decode(t, &v)
	e.mu.Lock()
	e.tokens = append(e.tokens, v.Token)
	e.mu.Unlock()
	if v.Token == "" || v.Token == a.Token || v.Session.ID == a.Session.ID || !v.Session.Current || v.SignedOut != 1 {
		t.Fatalf("answer %s", ans.body)
	}
	// The old token and the other session are signed out; the new token works.
	for _, tok := range []string{a.Token, b.Token} {
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(tok)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	}
	if w := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...); w.status != http.StatusOK {
		t.Fatalf("new token: %d", w.status)
	}
	e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password}).
		wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
}

func TestChangePasswordPage(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	other := e.login(nil, "ana@acme.example", false)

	p := e.page(c, "GET", "/settings/security/password", nil).wantStatus(http.StatusOK)
	if got := navCurrent(p); got != "Security › Password" {
		t.Errorf("navigation marks %q", got)
	}
	if !hasAttr(p.one("input#sign_out_others"), "checked") {
		t.Error(`"Sign out all other sessions" is not checked by default`)
	}
	form := formValues(p.one("form.settings-form"))
	form.Set("current_password", password)
	form.Set("new_password", "a brand new passphrase")
	form.Set("confirm_password", "a brand new passphras")
	bad := e.page(c, "POST", "/settings/security/password", form).wantStatus(http.StatusBadRequest)
	if got := bad.text("#form-error"); got != "The new passwords do not match." {
		t.Errorf("mismatch error %q", got)
	}
	form.Set("confirm_password", "a brand new passphrase")
	form.Set("current_password", "wrong password!")
	bad = e.page(c, "POST", "/settings/security/password", form).wantStatus(http.StatusBadRequest)
	if got := bad.text("#form-error"); got != "The current password is wrong." || attr(bad.one("input#current_password"), "aria-invalid") != "true" {
		t.Errorf("wrong password error %q", got)
	}

	form.Set("current_password", password)
	done := e.page(c, "POST", "/settings/security/password", form)
	done.wantRedirect("/settings/security/password")
	e.collectToken(done.header)
	if cookieNamed(t, done.header, "doorman_session").Value == "" {
		t.Fatal("no new session cookie")
	}
	after := e.page(c, "GET", "/settings/security/password", nil).wantStatus(http.StatusOK)
	if got := after.text(".alert"); got != "Your password was changed. Signed out 1 other session." {
		t.Errorf("flash %q", got)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(other.Token)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
}

// reauth confirms the password on /reauth and checks it goes on to next.
func (e *env) reauth(c *http.Client, next string) {
	e.t.Helper()
	p := e.page(c, "GET", "/reauth?next="+url.QueryEscape(next), nil).wantStatus(http.StatusOK)
	v := formValues(p.one("form[action=/reauth]"))
	v.Set("password", password)
	e.page(c, "POST", "/reauth", v).wantRedirect(next)
}

// TestReauthPages: 15 minutes after sign-in, the sensitive pages ask for
// the password first (a wrong one is refused and nothing happens), then
// return to the action.
func TestReauthPages(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleAdmin)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	e.page(c, "GET", "/settings/security/sessions/sign-out-all", nil).wantStatus(http.StatusOK)
	form := formValues(e.page(c, "GET", "/settings/security/sessions/sign-out-all", nil).one("form.confirm-actions"))

	e.clock.Advance(15 * time.Minute)
	for _, path := range []string{"/settings/security/sessions/sign-out-all", "/admin/settings/sessions", "/admin/sessions/sign-out-all"} {
		e.page(c, "GET", path, nil).wantRedirect("/reauth?next=" + url.QueryEscape(path))
	}
	// A form shown before is sent to confirm too, and nothing happens.
	e.page(c, "POST", "/settings/security/sessions/sign-out-all", form).
		wantRedirect("/reauth?next=%2Fsettings%2Fsecurity%2Fsessions%2Fsign-out-all")
	e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)

	p := e.page(c, "GET", "/reauth?next=%2Fsettings%2Fsecurity%2Fsessions%2Fsign-out-all", nil).wantStatus(http.StatusOK)
	if got := p.text("h1"); got != "Confirm your password" {
		t.Errorf("heading %q", got)
	}
	v := formValues(p.one("form[action=/reauth]"))
	if v.Get("next") != "/settings/security/sessions/sign-out-all" {
		t.Errorf("next %q", v.Get("next"))
	}
	v.Set("password", "wrong password!")
	bad := e.page(c, "POST", "/reauth", v).wantStatus(http.StatusBadRequest)
	if got := bad.text("#form-error"); got != "The password is wrong." {
		t.Errorf("wrong password error %q", got)
	}
	v.Set("password", password)
	e.page(c, "POST", "/reauth", v).wantRedirect("/settings/security/sessions/sign-out-all")
	e.page(c, "GET", "/settings/security/sessions/sign-out-all", nil).wantStatus(http.StatusOK)
	e.page(c, "POST", "/settings/security/sessions/sign-out-all", form).wantRedirect("/login")
}

// TestReauthAPI: the API answers 403 reauth_required and takes the
// password in the body.
func TestReauthAPI(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleAdmin)
	a := e.login(nil, "ana@acme.example", false)
	e.clock.Advance(16 * time.Minute)
	auth := bearer(a.Token)
	e.do(nil, "POST", "/api/v1/api-keys", map[string]any{"name": "CI"}, auth...).wantError(t, http.StatusForbidden, doorman.EREAUTH)
	e.do(nil, "POST", "/api/v1/sessions/sign-out-all", nil, auth...).wantError(t, http.StatusForbidden, doorman.EREAUTH)
	e.do(nil, "POST", "/api/v1/sessions/sign-out-all", map[string]any{"password": "wrong password!"}, auth...).
		wantError(t, http.StatusForbidden, doorman.EREAUTH)
	if ans := e.do(nil, "POST", "/api/v1/api-keys", map[string]any{"name": "CI", "password": password}, auth...); ans.status != http.StatusCreated {
		t.Fatalf("with the password: %d %s", ans.status, ans.body)
	}
	// The proof lasts: the next sensitive request needs no password.
	if ans := e.do(nil, "POST", "/api/v1/sessions/sign-out-all", nil, auth...); ans.status != http.StatusOK {
		t.Fatalf("sign-out-all after re-auth: %d %s", ans.status, ans.body)
	}
}
