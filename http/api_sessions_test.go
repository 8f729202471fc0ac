package http_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

type sessionList struct {
	Sessions []session `json:"sessions"`
}

func TestListSessionsCurrentFirst(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	e.user("bob@acme.example", doorman.RoleMember)
	e.login(e.browser(), "bob@acme.example", false) // not Ana's: never listed

	phone, laptop, tablet := e.browser(), e.browser(), e.browser()
	s1 := e.login(phone, "ana@acme.example", false)
	e.clock.Advance(time.Hour)
	s2 := e.login(laptop, "ana@acme.example", true)
	e.clock.Advance(time.Hour)
	s3 := e.login(tablet, "ana@acme.example", false)
	e.clock.Advance(time.Hour)
	e.do(phone, "GET", "/api/v1/whoami", nil) // the phone is now the most recent after the caller

	a := e.do(laptop, "GET", "/api/v1/sessions", nil)
	if a.status != http.StatusOK {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	var v sessionList
	a.decode(t, &v)
	var ids []string
	for _, s := range v.Sessions {
		ids = append(ids, s.ID)
	}
	if want := []string{s2.Session.ID, s1.Session.ID, s3.Session.ID}; !slices.Equal(ids, want) {
		t.Fatalf("list order %v, want %v (current, then by last activity)", ids, want)
	}
	for i, s := range v.Sessions {
		if s.Current != (i == 0) {
			t.Errorf("session %d current = %t", i, s.Current)
		}
	}
	if !v.Sessions[0].RememberMe || v.Sessions[1].RememberMe {
		t.Errorf("remember_me wrong: %s", a.body)
	}
	if v.Sessions[1].Status != "active_now" || v.Sessions[2].Status != "recent" || v.Sessions[2].StatusText != "1 hour ago" {
		t.Errorf("status: %+v, %+v", v.Sessions[1], v.Sessions[2])
	}
	// The phone's last request was whoami.
	if v.Sessions[1].Activity.LastPage != "Who am I" {
		t.Errorf("last_page %q, want %q", v.Sessions[1].Activity.LastPage, "Who am I")
	}
}

func TestSessionObjectShape(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)
	a := e.do(c, "GET", "/api/v1/sessions", nil)
	var raw struct {
		Sessions []map[string]json.RawMessage `json:"sessions"`
	}
	a.decode(t, &raw)
	s := raw.Sessions[0]
	var keys []string
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"activity", "bound", "browser", "browser_version", "created_at", "current", "device", "device_type",
		"expires_at", "id", "ip", "label", "last_active_at", "location", "os", "os_version", "remember_me",
		"risk", "status", "status_text", "two_factor"}
	if !slices.Equal(keys, want) {
		t.Errorf("session keys %v, want %v", keys, want)
	}
	var loc map[string]string
	json.Unmarshal(s["location"], &loc)
	for _, k := range []string{"city", "region", "country", "country_code", "isp", "label"} {
		if _, ok := loc[k]; !ok {
			t.Errorf("location has no %q: %s", k, s["location"])
		}
	}
	if string(s["risk"]) != `{"level":"none","reasons":[]}` {
		t.Errorf("risk = %s, want level none and empty reasons", s["risk"])
	}
	var act map[string]any
	json.Unmarshal(s["activity"], &act)
	for _, k := range []string{"logins", "actions", "last_page"} {
		if _, ok := act[k]; !ok {
			t.Errorf("activity has no %q: %s", k, s["activity"])
		}
	}
	for _, k := range []string{"created_at", "last_active_at", "expires_at"} {
		var ts string
		json.Unmarshal(s[k], &ts)
		if tm, err := time.Parse(time.RFC3339, ts); err != nil || tm.Location() != time.UTC {
			t.Errorf("%s = %s, want RFC 3339 in UTC", k, s[k])
		}
	}
	if string(s["ip"]) != `"127.0.0.1"` {
		t.Errorf("ip = %s", s["ip"])
	}
	if string(s["device_type"]) != `"other"` && string(s["device_type"]) != `"desktop"` {
		t.Errorf("device_type = %s", s["device_type"])
	}

	// expires_at is null when the session never ends unused.
	admin := e.user("root@acme.example", doorman.RoleAdmin)
	_ = admin
	ac := e.browser()
	e.login(ac, "root@acme.example", false)
	if a := e.do(ac, "PUT", "/api/v1/settings/sessions", map[string]any{"idle_timeout": "never", "remember_me_allowed": true, "remember_me_days": 30}); a.status != http.StatusOK {
		t.Fatalf("put settings: %d %s", a.status, a.body)
	}
	e.svc.Policy.AbsoluteCap = 0
	nc := e.browser()
	e.login(nc, "ana@acme.example", false)
	var who struct {
		Session map[string]json.RawMessage `json:"session"`
	}
	e.do(nc, "GET", "/api/v1/whoami", nil).decode(t, &who)
	if string(who.Session["expires_at"]) != "null" {
		t.Errorf("expires_at = %s, want null with no idle timeout and no cap", who.Session["expires_at"])
	}
}

func TestGetSession(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	e.user("bob@acme.example", doorman.RoleMember)
	e.user("eve@other.example", doorman.RoleAdmin, "Other")
	c1, c2 := e.browser(), e.browser()
	s1 := e.login(c1, "ana@acme.example", false)
	s2 := e.login(c2, "ana@acme.example", false)
	bob := e.login(e.browser(), "bob@acme.example", false)
	eve := e.login(e.browser(), "eve@other.example", false)

	a := e.do(c1, "GET", "/api/v1/sessions/"+s2.Session.ID, nil)
	if a.status != http.StatusOK {
		t.Fatalf("get own other session: %d %s", a.status, a.body)
	}
	var v session
	a.decode(t, &v)
	if v.ID != s2.Session.ID || v.Current {
		t.Errorf("got %+v, want %s, not current", v, s2.Session.ID)
	}
	a = e.do(c1, "GET", "/api/v1/sessions/"+s1.Session.ID, nil)
	a.decode(t, &v)
	if a.status != http.StatusOK || !v.Current {
		t.Errorf("get current session: %d %s", a.status, a.body)
	}

	e.do(c1, "GET", "/api/v1/sessions/"+bob.Session.ID, nil).wantError(t, http.StatusNotFound, "not_found")
	e.do(c1, "GET", "/api/v1/sessions/"+eve.Session.ID, nil).wantError(t, http.StatusNotFound, "not_found")
	e.do(c1, "GET", "/api/v1/sessions/sess_01NOSUCHSESSION000000000000", nil).wantError(t, http.StatusNotFound, "not_found")
	// An admin of another account cannot probe either.
	e.do(nil, "GET", "/api/v1/sessions/"+s1.Session.ID, nil, bearer(eve.Token)...).wantError(t, http.StatusNotFound, "not_found")
	e.do(nil, "GET", "/api/v1/sessions/"+s1.Session.ID, nil).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestDeleteSession(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	e.user("bob@acme.example", doorman.RoleMember)
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "ana@acme.example", false)
	p := e.login(phone, "ana@acme.example", false)
	bob := e.login(e.browser(), "bob@acme.example", false)

	e.do(laptop, "DELETE", "/api/v1/sessions/"+bob.Session.ID, nil).wantError(t, http.StatusNotFound, "not_found")
	if a := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(bob.Token)...); a.status != http.StatusOK {
		t.Errorf("Bob's session after Ana tried to delete it: %d", a.status)
	}

	a := e.do(laptop, "DELETE", "/api/v1/sessions/"+p.Session.ID, nil)
	if a.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a.header.Get("Set-Cookie") != "" {
		t.Errorf("deleting another session must not touch this one's cookie: %q", a.header.Get("Set-Cookie"))
	}
	v := e.do(phone, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	if v.Error.Reason != doorman.ReasonRevokedByUser {
		t.Errorf("reason %q, want %q", v.Error.Reason, doorman.ReasonRevokedByUser)
	}
	e.do(laptop, "DELETE", "/api/v1/sessions/"+p.Session.ID, nil).wantError(t, http.StatusNotFound, "not_found")
	if a := e.do(laptop, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("the laptop after deleting the phone: %d", a.status)
	}
}

func TestDeleteCurrentSessionSignsOut(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)
	a := e.do(c, "DELETE", "/api/v1/sessions/"+v.Session.ID, nil)
	if a.status != http.StatusNoContent {
		t.Fatalf("delete current: %d %s", a.status, a.body)
	}
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 {
		t.Errorf("cookie not cleared: %q", a.header.Get("Set-Cookie"))
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestSignOutOthers(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	e.user("bob@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)
	o1 := e.login(e.browser(), "ana@acme.example", false)
	o2 := e.login(e.browser(), "ana@acme.example", true)
	bob := e.login(e.browser(), "bob@acme.example", false)

	a := e.do(c, "POST", "/api/v1/sessions/sign-out-others", nil)
	if a.status != http.StatusOK {
		t.Fatalf("sign-out-others: %d %s", a.status, a.body)
	}
	var v struct {
		SignedOut int `json:"signed_out"`
	}
	a.decode(t, &v)
	if v.SignedOut != 2 {
		t.Errorf("signed_out = %d, want 2", v.SignedOut)
	}
	for _, tok := range []string{o1.Token, o2.Token} {
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(tok)...).wantError(t, http.StatusUnauthorized, "unauthorized")
	}
	if a := e.do(c, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("current session after sign-out-others: %d", a.status)
	}
	if a := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(bob.Token)...); a.status != http.StatusOK {
		t.Errorf("another user's session after sign-out-others: %d", a.status)
	}
	var l sessionList
	e.do(c, "GET", "/api/v1/sessions", nil).decode(t, &l)
	if len(l.Sessions) != 1 {
		t.Errorf("%d sessions listed, want 1", len(l.Sessions))
	}
}
