package http_test

import (
	"net/http"
	"testing"

	"github.com/doorman/doorman"
)

func TestVerify(t *testing.T) {
	e := newEnv(t)
	u := e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)

	check := func(a answer) {
		t.Helper()
		if a.status != http.StatusOK {
			t.Fatalf("verify: %d %s", a.status, a.body)
		}
		if len(a.body) != 0 {
			t.Errorf("verify body %q, want empty", a.body)
		}
		for h, want := range map[string]string{
			"X-Doorman-User-Id":    u.ID,
			"X-Doorman-User-Email": "ana@acme.example",
			"X-Doorman-Session-Id": v.Session.ID,
		} {
			if got := a.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
	}
	check(e.do(c, "GET", "/auth/verify", nil))
	check(e.do(nil, "GET", "/auth/verify", nil, bearer(v.Token)...))
	// Proxies forward the browser's headers, cross-site ones included: a GET is never refused for that.
	check(e.do(c, "GET", "/auth/verify", nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"))

	a := e.do(nil, "GET", "/auth/verify", nil)
	a.wantError(t, http.StatusUnauthorized, "unauthorized")
	if a.header.Get("X-Doorman-User-Id") != "" {
		t.Error("401 carries a user header")
	}
	e.do(nil, "GET", "/auth/verify", nil, "Cookie", "doorman_session=forged").wantError(t, http.StatusUnauthorized, "unauthorized")
	e.do(c, "POST", "/auth/verify", nil).wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")

	e.do(c, "POST", "/api/v1/logout", nil)
	e.do(nil, "GET", "/auth/verify", nil, bearer(v.Token)...).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestVerifyRecordsForwardedPage(t *testing.T) {
	e := newEnv(t, withTrustedProxies("10.0.0.0/8"))
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)

	w := e.serveDirect("GET", "/auth/verify", "10.0.0.2:4000", nil,
		"Authorization", "Bearer "+v.Token, "X-Forwarded-Uri", "/invoices/42?secret=x")
	if w.Code != http.StatusOK {
		t.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	var who struct {
		Session session `json:"session"`
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...).decode(t, &who)
	if who.Session.Activity.LastPage != "/invoices/42" {
		t.Errorf("last_page %q, want the forwarded path without its query", who.Session.Activity.LastPage)
	}

	// From an untrusted peer the header is not believed.
	e.serveDirect("GET", "/auth/verify", "192.0.2.7:4000", nil,
		"Authorization", "Bearer "+v.Token, "X-Forwarded-Uri", "/spoofed")
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...).decode(t, &who)
	if who.Session.Activity.LastPage != "Forward auth" {
		t.Errorf("last_page %q, want %q", who.Session.Activity.LastPage, "Forward auth")
	}
}
