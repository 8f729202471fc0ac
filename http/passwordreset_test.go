package http_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/smtptest"
)

// resetMail waits for the background work of the forgot requests made so
// far, delivers the outbox and returns the reset link's token of the one
// new message to email, with its text and HTML.
func (e *env) resetMail(sink *smtptest.Server, before int, email string) (token, text, html string) {
	e.t.Helper()
	e.svc.WaitBackground()
	e.deliver()
	msgs := sink.Messages()
	if len(msgs) != before+1 {
		e.t.Fatalf("%d new messages, want 1", len(msgs)-before)
	}
	m := msgs[len(msgs)-1]
	if len(m.To) != 1 || m.To[0] != email {
		e.t.Fatalf("message to %v, want %s", m.To, email)
	}
	text, html, err := m.Bodies()
	if err != nil {
		e.t.Fatal(err)
	}
	match := regexp.MustCompile(regexp.QuoteMeta(e.srv.URL) + `/password/reset/([A-Za-z0-9_-]{43})`).FindStringSubmatch(text)
	if match == nil {
		e.t.Fatalf("no reset link to this server in:\n%s", text)
	}
	return match[1], text, html
}

// TestForgotPasswordAnswersAlike asks for a link for a known and an unknown
// email: the answers are the same but for the request id and the date, and
// only the known email gets a message.
func TestForgotPasswordAnswersAlike(t *testing.T) {
	sink := smtptest.Start(t)
	e := alertEnv(t, sink.Addr)
	e.user("known@acme.example", doorman.RoleMember)

	known := e.do(nil, "POST", "/api/v1/password/forgot", map[string]any{"email": "known@acme.example"})
	unknown := e.do(nil, "POST", "/api/v1/password/forgot", map[string]any{"email": "nobody@acme.example"})
	if known.status != http.StatusAccepted || unknown.status != http.StatusAccepted {
		t.Fatalf("status %d and %d, want 202", known.status, unknown.status)
	}
	if string(known.body) != "{}\n" || string(unknown.body) != string(known.body) {
		t.Errorf("bodies %q and %q, want {} for both", known.body, unknown.body)
	}
	strip := func(h http.Header) http.Header {
		h = h.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		return h
	}
	kh, uh := strip(known.header), strip(unknown.header)
	keys := func(h http.Header) []string {
		var k []string
		for n := range h {
			k = append(k, n)
		}
		slices.Sort(k)
		return k
	}
	if !slices.Equal(keys(kh), keys(uh)) {
		t.Errorf("header names differ: %v and %v", keys(kh), keys(uh))
	}
	for n := range kh {
		if !slices.Equal(kh[n], uh[n]) {
			t.Errorf("header %s: %q and %q", n, kh[n], uh[n])
		}
	}
	e.resetMail(sink, 0, "known@acme.example")

	// A malformed email is a client's mistake, whatever the address.
	e.do(nil, "POST", "/api/v1/password/forgot", map[string]any{"email": "not an address"}).wantError(t, http.StatusBadRequest, "invalid")
	e.do(nil, "POST", "/api/v1/password/forgot", `{"email": 7}`).wantError(t, http.StatusBadRequest, "invalid")
}

// TestPasswordResetLink follows the emailed link: the page shows a form and
// uses nothing up; the reset works once, ends every session of the user and
// is audited; a second use, and the page then, say the link is gone.
func TestPasswordResetLink(t *testing.T) {
	sink := smtptest.Start(t)
	e := alertEnv(t, sink.Addr)
	u := e.user("sarah@acme.example", doorman.RoleAdmin)
	first := e.login(nil, u.Email, false)
	second := e.login(nil, u.Email, true)

	if a := e.do(nil, "POST", "/api/v1/password/forgot", map[string]any{"email": "Sarah@Acme.example"}); a.status != http.StatusAccepted {
		t.Fatalf("forgot: %d %s", a.status, a.body)
	}
	token, text, html := e.resetMail(sink, 0, u.Email)
	link := e.srv.URL + "/password/reset/" + token
	if !strings.Contains(text, "Acme") || !strings.Contains(text, "30 minutes") {
		t.Errorf("the text does not name the account and the link's life:\n%s", text)
	}
	if !strings.Contains(html, `href="`+link+`"`) || !strings.Contains(html, "Acme") {
		t.Errorf("the HTML part lacks the link or the account:\n%s", html)
	}

	// The page shows the form, twice: opening the link uses nothing up.
	for range 2 {
		p := e.page(nil, "GET", "/password/reset/"+token, nil).wantStatus(http.StatusOK)
		if p.header.Get("Referrer-Policy") != "no-referrer" || attr(p.one("meta[name=referrer]"), "content") != "no-referrer" {
			t.Errorf("Referrer-Policy %q", p.header.Get("Referrer-Policy"))
		}
		if attr(p.one("form"), "action") != "/password/reset/"+token || p.one("input[name=new_password]") == nil {
			t.Fatalf("no reset form:\n%s", p.body)
		}
	}
	// The password rules apply, and leave the link usable.
	short := e.do(nil, "POST", "/api/v1/password/reset", map[string]any{"token": token, "password": "short"}).wantError(t, http.StatusBadRequest, "invalid")
	if !strings.Contains(short.Error.Message, "at least 12 characters") {
		t.Errorf("short password: %q", short.Error.Message)
	}
	ok := e.do(nil, "POST", "/api/v1/password/reset", map[string]any{"token": token, "password": "a brand new passphrase"},
		"X-Forwarded-For", "198.51.100.23")
	if ok.status != http.StatusOK || string(ok.body) != "{}\n" {
		t.Fatalf("reset: %d %s", ok.status, ok.body)
	}
	for _, tok := range []string{first.Token, second.Token} {
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(tok)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	}
	again := e.do(nil, "POST", "/api/v1/password/reset", map[string]any{"token": token, "password": "yet another passphrase"}).
		wantError(t, http.StatusBadRequest, "invalid")
	if !strings.Contains(again.Error.Message, "already used or has expired") {
		t.Errorf("second use: %q", again.Error.Message)
	}
	gone := e.page(nil, "GET", "/password/reset/"+token, nil).wantStatus(http.StatusBadRequest)
	if attr(gone.one("a[data-new-link]"), "href") != "/password/forgot" {
		t.Errorf("the gone page offers no new link:\n%s", gone.body)
	}
	e.do(nil, "POST", "/api/v1/password/reset", map[string]any{"token": "nonsense", "password": "a brand new passphrase"}).
		wantError(t, http.StatusBadRequest, "invalid")

	// The new password signs in; the reset is in the audit log, by the user.
	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": u.Email, "password": "a brand new passphrase"})
	if a.status != http.StatusOK {
		t.Fatalf("sign-in with the new password: %d %s", a.status, a.body)
	}
	var in loginAnswer
	a.decode(t, &in)
	e.mu.Lock()
	e.tokens = append(e.tokens, in.Token)
	e.mu.Unlock()
	var audit struct {
		Events []struct {
			Actor  string `json:"actor"`
			Action string `json:"action"`
			Target string `json:"target"`
			IP     string `json:"ip"`
		} `json:"events"`
	}
	e.do(nil, "GET", "/api/v1/audit?action=password_reset", nil, bearer(in.Token)...).decode(t, &audit)
	if len(audit.Events) != 1 || audit.Events[0].Actor != u.Email || audit.Events[0].IP != "198.51.100.23" {
		t.Errorf("password_reset events: %+v", audit.Events)
	}
	logs := e.logs.String()
	if strings.Contains(logs, token) {
		t.Error("the reset link's token appears in the logs")
	}
	if !strings.Contains(logs, "/password/reset/[redacted]") {
		t.Error("the access log has no redacted reset path")
	}
}

// TestPasswordResetPages walks the pages: "Forgot password?" on the sign-in
// page, the request, the link's form (mismatch, then a new password), and
// the sign-in with it.
func TestPasswordResetPages(t *testing.T) {
	sink := smtptest.Start(t)
	e := alertEnv(t, sink.Addr)
	u := e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()

	login := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	href := attr(login.one("a[data-forgot-link]"), "href")
	if href != "/password/forgot" {
		t.Fatalf("Forgot password? links to %q", href)
	}
	form := e.page(c, "GET", href, nil).wantStatus(http.StatusOK)
	csrf := attr(form.one("input[name=csrf]"), "value")
	for _, email := range []string{"nobody@acme.example", u.Email} {
		sent := e.page(c, "POST", "/password/forgot", url.Values{"email": {email}, "csrf": {csrf}}).wantStatus(http.StatusOK)
		if sent.one("[data-forgot=sent]") == nil || !strings.Contains(visibleText(sent.root), "If an account uses "+email) {
			t.Fatalf("after asking for %s:\n%s", email, sent.body)
		}
	}
	e.page(c, "POST", "/password/forgot", url.Values{"email": {u.Email}, "csrf": {"forged"}}).wantStatus(http.StatusForbidden)
	token, _, _ := e.resetMail(sink, 0, u.Email)

	path := "/password/reset/" + token
	p := e.page(c, "GET", path, nil).wantStatus(http.StatusOK)
	rcsrf := attr(p.one("input[name=csrf]"), "value")
	e.page(c, "POST", path, url.Values{"csrf": {"forged"}, "new_password": {"a brand new passphrase"},
		"confirm_password": {"a brand new passphrase"}}).wantStatus(http.StatusForbidden)
	mismatch := e.page(c, "POST", path, url.Values{"csrf": {rcsrf}, "new_password": {"a brand new passphrase"},
		"confirm_password": {"a different passphrase"}}).wantStatus(http.StatusBadRequest)
	if attr(mismatch.one("#confirm_password"), "aria-invalid") != "true" || mismatch.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("mismatch page:\n%s", mismatch.body)
	}
	done := e.page(c, "POST", path, url.Values{"csrf": {rcsrf}, "new_password": {"a brand new passphrase"},
		"confirm_password": {"a brand new passphrase"}})
	done.wantRedirect("/login")
	flash := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	if !strings.Contains(visibleText(flash.root), "Sign in with your new password") {
		t.Errorf("the sign-in page does not say what happened:\n%s", flash.body)
	}
	e.page(c, "POST", path, url.Values{"csrf": {rcsrf}, "new_password": {"another passphrase!"},
		"confirm_password": {"another passphrase!"}}).wantStatus(http.StatusBadRequest).one("[data-reset=gone]")
	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": u.Email, "password": "a brand new passphrase"})
	if a.status != http.StatusOK {
		t.Fatalf("sign-in with the new password: %d %s", a.status, a.body)
	}
	var in loginAnswer
	a.decode(t, &in)
	e.mu.Lock()
	e.tokens = append(e.tokens, in.Token)
	e.mu.Unlock()
}

// TestForgotPasswordWithoutEmail: a server without SMTP says so, to anyone,
// and sends nothing.
func TestForgotPasswordWithoutEmail(t *testing.T) {
	e := newEnv(t)
	u := e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	form := e.page(c, "GET", "/password/forgot", nil).wantStatus(http.StatusOK)
	if !strings.Contains(visibleText(form.root), "doorman user reset-link") {
		t.Errorf("the form does not say whom to ask:\n%s", form.body)
	}
	sent := e.page(c, "POST", "/password/forgot", url.Values{"email": {u.Email}, "csrf": {attr(form.one("input[name=csrf]"), "value")}}).
		wantStatus(http.StatusOK)
	if txt := visibleText(sent.root); !strings.Contains(txt, "no link was sent") || strings.Contains(txt, "/password/reset/") {
		t.Errorf("after the request:\n%s", sent.body)
	}
	e.svc.WaitBackground()
	if n, _ := e.svc.DeliverAlerts(t.Context()); n != 0 {
		t.Errorf("%d deliveries without email", n)
	}
}
