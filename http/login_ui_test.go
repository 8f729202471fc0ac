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
)

const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// signIn signs c in through the sign-in page as a person would: the form
// first (for its token and the device cookie), then the post. It returns
// the redirect's Location.
func (e *env) signIn(c *http.Client, email string, remember bool, next string) string {
	e.t.Helper()
	path := "/login"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	form := e.page(c, "GET", path, nil).wantStatus(http.StatusOK).one("form[action=/login]")
	v := formValues(form)
	v.Set("email", email)
	v.Set("password", password)
	if remember {
		v.Set("remember_me", "1")
	}
	a := e.page(c, "POST", "/login", v)
	if a.status != http.StatusSeeOther {
		e.t.Fatalf("sign in %s: %d\n%s", email, a.status, a.body)
	}
	e.collectToken(a.header)
	return a.header.Get("Location")
}

// collectToken notes a session cookie's token for the leak check.
func (e *env) collectToken(h http.Header) {
	for _, line := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == "doorman_session" && c.Value != "" {
			e.mu.Lock()
			e.tokens = append(e.tokens, c.Value)
			e.mu.Unlock()
		}
	}
}

// checkPageHeaders checks the headers every page sends.
func checkPageHeaders(t *testing.T, p *page) {
	t.Helper()
	for h, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": pageCSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Accept-Ch":               "Sec-CH-UA-Platform-Version, Sec-CH-UA-Model, Sec-CH-UA-Full-Version-List",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
	} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// checkPageMarkup checks what the CSP and accessibility need of every page:
// no inline script, style or event handler; a language; labelled inputs; a
// skip link to the main content.
func checkPageMarkup(t *testing.T, p *page) {
	t.Helper()
	if attr(p.one("html"), "lang") != "en" {
		t.Error("<html> has no lang")
	}
	if p.text("head title") == "" {
		t.Error("the page has no title")
	}
	for _, n := range p.allElements() {
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: inline style and handlers break the CSP", n.Data, a.Key, a.Val)
			}
			if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.HasPrefix(a.Val, "javascript:") {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
		switch n.Data {
		case "style":
			t.Error("a <style> element: styles come from /static/app.css only")
		case "script":
			if attr(n, "src") == "" || n.FirstChild != nil {
				t.Error("an inline <script>")
			}
		case "input":
			if attr(n, "type") == "hidden" {
				continue
			}
			id := attr(n, "id")
			if id == "" || len(within(p.root, "label[for="+id+"]")) != 1 {
				t.Errorf("input %q has no label", attr(n, "name"))
			}
		case "button", "a":
			if textOf(n) == "" && attr(n, "aria-label") == "" {
				t.Errorf("<%s> without text", n.Data)
			}
		}
	}
	skip := p.all("a.skip-link")
	if len(skip) != 1 || attr(skip[0], "href") != "#main" || len(p.all("main#main")) != 1 {
		t.Error("no skip link to main#main")
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	p := e.page(nil, "GET", "/login", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Sign in" {
		t.Errorf("h1 %q", got)
	}
	form := p.one("form[action=/login]")
	if attr(form, "method") != "post" {
		t.Errorf("form method %q", attr(form, "method"))
	}
	email := p.one("input#email")
	if attr(email, "type") != "email" || attr(email, "name") != "email" || attr(email, "autocomplete") != "username" || !hasAttr(email, "required") {
		t.Errorf("email input %v", email.Attr)
	}
	pw := p.one("input#password")
	if attr(pw, "type") != "password" || attr(pw, "autocomplete") != "current-password" {
		t.Errorf("password input %v", pw.Attr)
	}
	box := p.one("input#remember_me")
	if attr(box, "type") != "checkbox" || hasAttr(box, "checked") {
		t.Errorf("remember me %v: want an unchecked checkbox", box.Attr)
	}
	if got := p.text("label[for=remember_me]"); got != "Remember me" {
		t.Errorf("remember me label %q", got)
	}
	if v := attr(p.one("input[name=csrf]"), "value"); len(v) < 40 {
		t.Errorf("form token %q", v)
	}
	cookieNamed(t, p.header, "doorman_device") // the form token is tied to it
	if len(p.all("nav.sidenav")) != 0 {
		t.Error("the sign-in page shows the settings navigation")
	}
}

// Unknown emails and wrong passwords get the same page; the email is kept,
// the password never sent back.
func TestLoginBadCredentialsPage(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	var msgs []string
	for _, email := range []string{"ana@acme.example", "nobody@acme.example"} {
		c := e.browser()
		v := formValues(e.page(c, "GET", "/login", nil).one("form"))
		v.Set("email", email)
		v.Set("password", "wrong password 123")
		p := e.page(c, "POST", "/login", v).wantStatus(http.StatusUnauthorized)
		checkPageHeaders(t, p)
		msgs = append(msgs, p.text("#login-error"))
		if attr(p.one("#login-error"), "role") != "alert" {
			t.Error("the error is not announced (role=alert)")
		}
		if got := attr(p.one("input#email"), "value"); got != email {
			t.Errorf("email field %q, want %q kept", got, email)
		}
		if strings.Contains(string(p.body), "wrong password 123") {
			t.Error("the password was sent back")
		}
		if attr(p.one("input#email"), "aria-invalid") != "true" {
			t.Error("the fields are not marked invalid")
		}
		if p.header.Get("Set-Cookie") != "" && strings.Contains(p.header.Get("Set-Cookie"), "doorman_session=") {
			t.Error("a failed sign-in set a session cookie")
		}
	}
	if msgs[0] != msgs[1] || msgs[0] != "Invalid email or password." {
		t.Errorf("messages %q: want the same for unknown email and wrong password", msgs)
	}

	c := e.browser()
	v := formValues(e.page(c, "GET", "/login", nil).one("form"))
	p := e.page(c, "POST", "/login", v).wantStatus(http.StatusBadRequest)
	if got := p.text("#login-error"); got != "Email is required." {
		t.Errorf("empty form: %q", got)
	}
}

// The sign-in form carries a token tied to the device cookie: a post
// without it (another site's form) signs nobody in.
func TestLoginFormToken(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.page(c, "GET", "/login", nil)
	for _, tok := range []string{"", "forged"} {
		v := url.Values{"email": {"ana@acme.example"}, "password": {password}, "csrf": {tok}}
		p := e.page(c, "POST", "/login", v).wantStatus(http.StatusForbidden)
		if got := p.text("#login-error"); !strings.Contains(got, "expired") {
			t.Errorf("error %q", got)
		}
		if strings.Contains(p.header.Get("Set-Cookie"), "doorman_session=") {
			t.Error("signed in without the form token")
		}
		// The new form works.
		v = formValues(p.one("form"))
		v.Set("password", password)
		e.page(c, "POST", "/login", v).wantRedirect("/settings/security/sessions")
		c = e.browser()
		e.page(c, "GET", "/login", nil)
	}
	// Another browser's token is no good either.
	other := formValues(e.page(e.browser(), "GET", "/login", nil).one("form"))
	other.Set("email", "ana@acme.example")
	other.Set("password", password)
	e.page(c, "POST", "/login", other).wantStatus(http.StatusForbidden)

	// A cross-site post is refused before it is read.
	p := e.page(c, "POST", "/login", other, "Sec-Fetch-Site", "cross-site").wantStatus(http.StatusForbidden)
	checkPageHeaders(t, p)
	if !strings.Contains(p.text("main"), "another site") {
		t.Errorf("cross-site refusal page: %q", p.text("main"))
	}
}

func TestLoginRedirectsBackSafely(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)

	// A signed-out person asking for a page lands on sign-in and returns.
	c := e.browser()
	loc := e.page(c, "GET", "/settings/security/sessions/sess_abc?x=1", nil).
		wantRedirect("/login?next=%2Fsettings%2Fsecurity%2Fsessions%2Fsess_abc%3Fx%3D1")
	next := attr(e.page(c, "GET", loc, nil).one("input[name=next]"), "value")
	if next != "/settings/security/sessions/sess_abc?x=1" {
		t.Errorf("hidden next %q", next)
	}
	if got := e.signIn(c, "ana@acme.example", false, next); got != next {
		t.Errorf("after sign-in: %q, want %q", got, next)
	}
	// Signed in, /login goes straight on.
	e.page(c, "GET", "/login?next=%2Fsettings%2Fsecurity%2Fsessions", nil).wantRedirect("/settings/security/sessions")

	// No open redirect: anything but a local path goes to the sessions page.
	for _, bad := range []string{
		"https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
		"/\t/evil.example", "/\r\nSet-Cookie:x", "evil.example", "http:/evil.example", "/login", "/static/app.css",
		"/" + strings.Repeat("a", 2000),
	} {
		c := e.browser()
		e.clock.Advance(12 * time.Second) // within the sign-in limit of 5 a minute
		got := e.signIn(c, "ana@acme.example", false, bad)
		if got != "/settings/security/sessions" {
			t.Errorf("next=%q: redirected to %q", bad, got)
		}
	}
	// The login page does not even carry it.
	if p := e.page(nil, "GET", "/login?next="+url.QueryEscape("//evil.example"), nil); len(p.all("input[name=next]")) != 0 {
		t.Error("an unsafe next is carried in the form")
	}
}

func TestLoginPageRememberMe(t *testing.T) {
	e := newEnv(t)
	u := e.user("ana@acme.example", doorman.RoleMember)

	c := e.browser()
	v := formValues(e.page(c, "GET", "/login", nil).one("form"))
	v.Set("email", "ana@acme.example")
	v.Set("password", password)
	v.Set("remember_me", "1")
	a := e.page(c, "POST", "/login", v)
	a.wantRedirect("/settings/security/sessions")
	e.collectToken(a.header)
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge < 29*24*3600 {
		t.Errorf("remembered session cookie Max-Age %d, want about 30 days", ck.MaxAge)
	}

	c = e.browser()
	v = formValues(e.page(c, "GET", "/login", nil).one("form"))
	v.Set("email", "ana@acme.example")
	v.Set("password", password)
	a = e.page(c, "POST", "/login", v)
	e.collectToken(a.header)
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge != 0 {
		t.Errorf("session cookie Max-Age %d, want a browser-session cookie", ck.MaxAge)
	}

	// An account that does not allow it: the box is ignored, and the first
	// page says so.
	set := doorman.DefaultSettings()
	set.RememberMeAllowed = false
	if _, err := e.svc.UpdateSettings(context.Background(), nil, u.AccountID, set, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	c = e.browser()
	v = formValues(e.page(c, "GET", "/login", nil).one("form"))
	v.Set("email", "ana@acme.example")
	v.Set("password", password)
	v.Set("remember_me", "1")
	a = e.page(c, "POST", "/login", v)
	a.wantRedirect("/settings/security/sessions")
	e.collectToken(a.header)
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge != 0 {
		t.Errorf("Max-Age %d although the account disallows remember me", ck.MaxAge)
	}
	p := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if got := p.text(".alert"); got != "Remember me is turned off for your account, so this session ends after 7 days without use." {
		t.Errorf("flash %q", got)
	}
}

func TestLogoutFromHeader(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	p := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	form := p.one("header form[action=/logout]")
	if got := textOf(p.one("header form[action=/logout] button")); got != "Sign out" {
		t.Errorf("header button %q", got)
	}
	a := e.page(c, "POST", "/logout", formValues(form))
	a.wantRedirect("/login")
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 {
		t.Error("the session cookie was not cleared")
	}
	login := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	if got := login.text(".alert"); got != "You signed out." {
		t.Errorf("flash %q", got)
	}
	// The flash shows once.
	if again := e.page(c, "GET", "/login", nil); len(again.all(".alert")) != 0 {
		t.Error("the flash shows twice")
	}
	e.page(c, "GET", "/settings/security/sessions", nil).wantRedirect("/login")

	// Without the form token nothing happens.
	c = e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	e.page(c, "POST", "/logout", url.Values{}).wantStatus(http.StatusForbidden)
	e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
}

// A session that ended sends its browser to sign-in with the reason, on its
// very next request, and the dead cookie goes.
func TestEndedSessionLandsOnLoginWithReason(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	a, b := e.browser(), e.browser()
	e.signIn(a, "ana@acme.example", false, "")
	e.signIn(b, "ana@acme.example", false, "")

	// a signs b out through the confirmation.
	list := e.page(a, "GET", "/settings/security/sessions", nil)
	href := attr(list.one("li.session a.btn-danger"), "href")
	confirm := e.page(a, "GET", href, nil).wantStatus(http.StatusOK)
	e.page(a, "POST", href, formValues(confirm.one("form.confirm-actions"))).wantRedirect("/settings/security/sessions")

	r := e.page(b, "GET", "/settings/security/sessions", nil)
	r.wantRedirect("/login")
	if ck := cookieNamed(t, r.header, "doorman_session"); ck.MaxAge >= 0 {
		t.Error("the dead session cookie was not cleared")
	}
	if strings.Contains(r.header.Get("Location"), "signed") {
		t.Error("the reason travels in the URL")
	}
	login := e.page(b, "GET", "/login", nil).wantStatus(http.StatusOK)
	if got := login.text(".alert"); got != "You were signed out from another device" {
		t.Errorf("reason %q", got)
	}

	// An operator or administrator signs a session out.
	o := e.browser()
	e.signIn(o, "ana@acme.example", false, "")
	oID := strings.TrimPrefix(attr(e.page(o, "GET", "/settings/security/sessions", nil).one(".session-current a.session-link"), "href"),
		"/settings/security/sessions/")
	if err := e.svc.OperatorRevokeSession(context.Background(), oID, "laptop stolen"); err != nil {
		t.Fatal(err)
	}
	e.page(o, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
	if got := e.page(o, "GET", "/login", nil).text(".alert"); got != "An administrator signed you out" {
		t.Errorf("reason %q", got)
	}

	// Idle expiry, on a details page: the way back is kept.
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	e.clock.Advance(7*24*time.Hour + time.Minute)
	r = e.page(c, "GET", "/settings/security/sessions/sess_x", nil)
	r.wantRedirect("/login?next=%2Fsettings%2Fsecurity%2Fsessions%2Fsess_x")
	login = e.page(c, "GET", r.header.Get("Location"), nil)
	if got := login.text(".alert"); got != "Your session expired after 7 days of inactivity" {
		t.Errorf("reason %q", got)
	}

	// A form posted with a dead session returns to its confirmation page.
	d := e.browser()
	e.signIn(d, "ana@acme.example", false, "")
	e.signIn(e.browser(), "ana@acme.example", false, "")
	tok := formValues(e.page(d, "GET", "/settings/security/sessions/sign-out-others", nil).one("form.confirm-actions"))
	e.clock.Advance(7*24*time.Hour + time.Minute)
	e.page(d, "POST", "/settings/security/sessions/sign-out-others", tok).
		wantRedirect("/login?next=%2Fsettings%2Fsecurity%2Fsessions%2Fsign-out-others")
}

// The sign-in page is where an ended session's browser lands straight
// after a direct visit too.
func TestLoginPageSaysWhyWithDeadCookie(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	e.clock.Advance(8 * 24 * time.Hour)
	p := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	if got := p.texts(".alert"); !slices.Equal(got, []string{"Your session expired after 7 days of inactivity"}) {
		t.Errorf("alerts %q", got)
	}
}
