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
	ana := e.user("ana@acme.example", doorman.RoleMember)
	e.user("boss@acme.example", doorman.RoleAdmin)
	v := e.login(nil, "ana@acme.example", false)
	admin := e.browser()
	e.login(admin, "boss@acme.example", false)
	// Ana's last page as her admin sees it: the admin's own request is
	// no page of hers.
	lastPage := func() string {
		t.Helper()
		var got struct {
			Sessions []session `json:"sessions"`
		}
		e.do(admin, "GET", "/api/v1/team/users/"+ana.ID+"/sessions", nil).decode(t, &got)
		if len(got.Sessions) != 1 {
			t.Fatalf("%d sessions", len(got.Sessions))
		}
		return got.Sessions[0].Activity.LastPage
	}

	w := e.serveDirect("GET", "/auth/verify", "10.0.0.2:4000", nil,
		"Authorization", "Bearer "+v.Token, "X-Forwarded-Uri", "/invoices/42?secret=x")
	if w.Code != http.StatusOK {
		t.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	if got := lastPage(); got != "/invoices/42" {
		t.Errorf("last_page %q, want the forwarded path without its query", got)
	}

	// From an untrusted peer the header is not believed.
	e.serveDirect("GET", "/auth/verify", "192.0.2.7:4000", nil,
		"Authorization", "Bearer "+v.Token, "X-Forwarded-Uri", "/spoofed")
	if got := lastPage(); got != "Forward auth" {
		t.Errorf("last_page %q, want %q", got, "Forward auth")
	}

	// whoami shows the page seen before it, and is itself the next one's.
	var who struct {
		Session session `json:"session"`
	}
	for _, want := range []string{"Forward auth", "Who am I"} {
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...).decode(t, &who)
		if who.Session.Activity.LastPage != want {
			t.Errorf("whoami's last_page %q, want %q", who.Session.Activity.LastPage, want)
		}
	}
}
