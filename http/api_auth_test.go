package http_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

func TestLoginSetsSessionCookie(t *testing.T) {
	e := newEnv(t)
	u := e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	a := e.do(c, "POST", "/api/v1/login", map[string]any{"email": "Ana@Acme.example", "password": password})
	if a.status != http.StatusOK {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	var v loginAnswer
	a.decode(t, &v)
	e.tokens = append(e.tokens, v.Token)
	if !doorman.TokenWellFormed(v.Token) {
		t.Errorf("token %q is not a well-formed token", v.Token)
	}
	want := user{ID: u.ID, Email: "ana@acme.example", Name: u.Name, Role: "member", AccountID: u.AccountID}
	if v.User != want {
		t.Errorf("user = %+v, want %+v", v.User, want)
	}
	if !v.Session.Current || v.Session.RememberMe || !strings.HasPrefix(v.Session.ID, "sess_") {
		t.Errorf("session = %+v, want current, not remembered, sess_ id", v.Session)
	}

	ck := cookieNamed(t, a.header, "doorman_session")
	if ck.Value != v.Token {
		t.Errorf("cookie value is not the token")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Errorf("cookie %q: want HttpOnly, SameSite=Lax, Path=/, not Secure over http", a.header.Get("Set-Cookie"))
	}
	if ck.MaxAge != 0 || !ck.Expires.IsZero() {
		t.Errorf("cookie %q: a session that is not remembered gets a browser-session cookie", a.header.Get("Set-Cookie"))
	}

	// The jar sends the cookie back.
	var who struct {
		Session session `json:"session"`
		User    user    `json:"user"`
	}
	w := e.do(c, "GET", "/api/v1/whoami", nil)
	if w.status != http.StatusOK {
		t.Fatalf("whoami with the cookie: %d %s", w.status, w.body)
	}
	w.decode(t, &who)
	if who.Session.ID != v.Session.ID || !who.Session.Current || who.User != want {
		t.Errorf("whoami = %s, want the session that signed in", w.body)
	}
}

func TestLoginCookieOverHTTPS(t *testing.T) {
	e := newEnv(t, withBaseURL("https://doorman.example"))
	e.user("ana@acme.example", doorman.RoleMember)
	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password})
	if a.status != http.StatusOK {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	var v loginAnswer
	a.decode(t, &v)
	e.tokens = append(e.tokens, v.Token)
	ck := cookieNamed(t, a.header, "__Host-doorman_session")
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("cookie %q: want Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", a.header.Get("Set-Cookie"))
	}
	if got := a.header.Get("Strict-Transport-Security"); got == "" {
		t.Error("no Strict-Transport-Security over https")
	}
	// The __Host- cookie authenticates; the development name does not.
	if w := e.do(nil, "GET", "/api/v1/whoami", nil, "Cookie", "__Host-doorman_session="+v.Token); w.status != http.StatusOK {
		t.Errorf("whoami with __Host- cookie: %d %s", w.status, w.body)
	}
	if w := e.do(nil, "GET", "/api/v1/whoami", nil, "Cookie", "doorman_session="+v.Token); w.status != http.StatusUnauthorized {
		t.Errorf("whoami with the plain cookie name over https: %d, want 401", w.status)
	}
}

func TestLoginRememberMe(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password, "remember_me": true})
	if a.status != http.StatusOK {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	var v loginAnswer
	a.decode(t, &v)
	e.tokens = append(e.tokens, v.Token)
	if !v.Session.RememberMe || v.Session.ExpiresAt == nil {
		t.Fatalf("session = %s, want remembered with an end", a.body)
	}
	end, err := time.Parse(time.RFC3339, *v.Session.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Now().Add(30 * 24 * time.Hour); !end.Equal(want) {
		t.Errorf("expires_at %s, want %s (30 days, the default)", end, want)
	}
	ck := cookieNamed(t, a.header, "doorman_session")
	if ck.MaxAge != 30*24*3600 || ck.Expires.IsZero() {
		t.Errorf("cookie %q: want a persistent cookie of 30 days", a.header.Get("Set-Cookie"))
	}

	// A remembered session outlives the idle timeout (7 days).
	e.clock.Advance(10 * 24 * time.Hour)
	if w := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...); w.status != http.StatusOK {
		t.Errorf("remembered session after 10 idle days: %d %s", w.status, w.body)
	}
}

func TestLoginBadCredentialsSameAnswer(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	unknown := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "nobody@acme.example", "password": password}).
		wantError(t, http.StatusUnauthorized, "unauthorized")
	wrong := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": "not the password"}).
		wantError(t, http.StatusUnauthorized, "unauthorized")
	if unknown.Error.Message != wrong.Error.Message {
		t.Errorf("unknown email says %q, wrong password says %q: they must not differ", unknown.Error.Message, wrong.Error.Message)
	}
}

func TestLoginMalformed(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	for name, body := range map[string]string{
		"not JSON":         `{"email": "ana@acme.example", "password": `,
		"empty":            ``,
		"array":            `[1, 2]`,
		"no password":      `{"email": "ana@acme.example"}`,
		"no email":         `{"password": "correct horse battery"}`,
		"wrong type":       `{"email": "ana@acme.example", "password": 12345678}`,
		"unknown field":    `{"email": "ana@acme.example", "password": "correct horse battery", "admin": true}`,
		"two JSON objects": `{"email": "ana@acme.example", "password": "correct horse battery"} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			e.do(nil, "POST", "/api/v1/login", body).wantError(t, http.StatusBadRequest, "invalid")
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	big, _ := json.Marshal(map[string]string{"email": "ana@acme.example", "password": strings.Repeat("x", 70<<10)})
	v := e.do(nil, "POST", "/api/v1/login", big).wantError(t, http.StatusRequestEntityTooLarge, "invalid")
	if v.Error.Message != "request body too large" {
		t.Errorf("message %q", v.Error.Message)
	}
}

func TestWhoamiCookieAndBearer(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)

	if a := e.do(c, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("whoami by cookie: %d %s", a.status, a.body)
	}
	if a := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...); a.status != http.StatusOK {
		t.Errorf("whoami by Bearer: %d %s", a.status, a.body)
	}
	if a := e.do(nil, "GET", "/api/v1/whoami", nil, "Authorization", "bearer "+v.Token); a.status != http.StatusOK {
		t.Errorf("whoami by lower-case bearer: %d %s", a.status, a.body)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer("garbage")...).wantError(t, http.StatusUnauthorized, "unauthorized")
	other, _ := doorman.NewToken()
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(other)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	a := e.do(nil, "GET", "/api/v1/whoami", nil)
	if a.header.Get("Www-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)

	a := e.do(c, "POST", "/api/v1/logout", nil)
	if a.status != http.StatusNoContent || len(a.body) != 0 {
		t.Fatalf("logout: %d %s, want 204", a.status, a.body)
	}
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 || ck.Value != "" {
		t.Errorf("logout Set-Cookie %q does not clear the cookie", a.header.Get("Set-Cookie"))
	}
	e.do(c, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	w := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	if w.Error.Reason != doorman.ReasonSignedOut {
		t.Errorf("reason %q, want %q", w.Error.Reason, doorman.ReasonSignedOut)
	}
	e.do(nil, "POST", "/api/v1/logout", nil, bearer(v.Token)...).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestIdleExpiry(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)

	e.clock.Advance(6 * 24 * time.Hour)
	if a := e.do(c, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Fatalf("after 6 idle days of 7: %d %s", a.status, a.body)
	}
	e.clock.Advance(7*24*time.Hour + time.Minute)
	v := e.do(c, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	if v.Error.Reason != doorman.ReasonIdle {
		t.Errorf("reason %q, want idle", v.Error.Reason)
	}
	// The dead cookie is dropped, so the browser stops sending it.
	if a := e.do(c, "GET", "/api/v1/whoami", nil); a.status != http.StatusUnauthorized {
		t.Errorf("after expiry: %d", a.status)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)

	cross := []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}
	e.do(c, "POST", "/api/v1/logout", nil, cross...).wantError(t, http.StatusForbidden, "forbidden")
	e.do(c, "POST", "/api/v1/sessions/sign-out-others", nil, cross...).wantError(t, http.StatusForbidden, "forbidden")
	e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password}, cross...).
		wantError(t, http.StatusForbidden, "forbidden")
	// Origin alone, from an older browser.
	e.do(c, "POST", "/api/v1/logout", nil, "Origin", "https://evil.example").wantError(t, http.StatusForbidden, "forbidden")

	// Nothing happened, and safe methods still pass.
	if a := e.do(c, "GET", "/api/v1/whoami", nil, cross...); a.status != http.StatusOK {
		t.Errorf("cross-site GET whoami: %d %s", a.status, a.body)
	}
	// The same origin passes.
	if a := e.do(c, "POST", "/api/v1/logout", nil, "Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL); a.status != http.StatusNoContent {
		t.Errorf("same-origin logout: %d %s", a.status, a.body)
	}
}
