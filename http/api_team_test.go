package http_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

type teamMember struct {
	UserID       string  `json:"user_id"`
	Email        string  `json:"email"`
	Name         string  `json:"name"`
	Role         string  `json:"role"`
	Sessions     int     `json:"sessions"`
	LastActiveAt *string `json:"last_active_at"`
	Flagged      bool    `json:"flagged"`
}

type teamAnswer struct {
	Users       []teamMember `json:"users"`
	TotalActive int          `json:"total_active"`
	TotalUsers  int          `json:"total_users"`
	Limit       int          `json:"limit"`
	Offset      int          `json:"offset"`
}

type auditEvent struct {
	ID        string `json:"id"`
	At        string `json:"at"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Reason    string `json:"reason"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Count     int    `json:"count"`
	Details   string `json:"details"`
}

type auditAnswer struct {
	Events []auditEvent `json:"events"`
	Total  int          `json:"total"`
}

// team returns GET /api/v1/team/sessions (with query) as c.
func (e *env) team(c *http.Client, query string) teamAnswer {
	e.t.Helper()
	a := e.do(c, "GET", "/api/v1/team/sessions"+query, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("team sessions: %d %s", a.status, a.body)
	}
	var v teamAnswer
	a.decode(e.t, &v)
	return v
}

// userIDs maps the team's emails to their ids.
func (e *env) userIDs(c *http.Client) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, u := range e.team(c, "").Users {
		out[u.Email] = u.UserID
	}
	return out
}

// audit returns GET /api/v1/audit (with query) as c.
func (e *env) audit(c *http.Client, query string) auditAnswer {
	e.t.Helper()
	a := e.do(c, "GET", "/api/v1/audit"+query, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("audit: %d %s", a.status, a.body)
	}
	var v auditAnswer
	a.decode(e.t, &v)
	return v
}

// actions counts the audit log's events by action.
func (e *env) actions(c *http.Client) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	for _, ev := range e.audit(c, "?limit=1000").Events {
		out[ev.Action]++
	}
	return out
}

func TestTeamSessionsAPI(t *testing.T) {
	e, admin := demoEnv(t)
	now := e.clock.Now()
	v := e.team(admin, "")
	var got []string
	for _, u := range v.Users {
		last := "null"
		if u.LastActiveAt != nil {
			at, err := time.Parse(time.RFC3339, *u.LastActiveAt)
			if err != nil {
				t.Fatalf("last_active_at %q", *u.LastActiveAt)
			}
			last = now.Sub(at).String()
		}
		got = append(got, fmt.Sprintf("%s %s %d %s", u.Email, u.Role, u.Sessions, last))
		if !strings.HasPrefix(u.UserID, doorman.PrefixUser) || u.Name == "" {
			t.Errorf("user %+v", u)
		}
	}
	want := []string{"admin@company.com admin 4 0s", "sarah@company.com member 2 1h0m0s",
		"mike@company.com member 1 26h0m0s", "guest@agency.com member 4 72h0m0s"}
	if !slices.Equal(got, want) {
		t.Errorf("team:\n got %q\nwant %q", got, want)
	}
	if v.TotalActive != 11 || v.TotalUsers != 4 || v.Limit != 50 || v.Offset != 0 {
		t.Errorf("totals %d active, %d users, limit %d offset %d", v.TotalActive, v.TotalUsers, v.Limit, v.Offset)
	}

	// Filtered by user: that user alone; the total stays the account's.
	f := e.team(admin, "?user=GUEST@agency.com")
	if len(f.Users) != 1 || f.Users[0].Email != "guest@agency.com" || f.TotalUsers != 1 || f.TotalActive != 11 {
		t.Errorf("filtered %+v", f)
	}
	// Paged.
	p := e.team(admin, "?limit=2&offset=2")
	if len(p.Users) != 2 || p.Users[0].Email != "mike@company.com" || p.TotalUsers != 4 || p.Limit != 2 || p.Offset != 2 {
		t.Errorf("page %+v", p)
	}
	for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?offset=-1", "?offset=x"} {
		e.do(admin, "GET", "/api/v1/team/sessions"+q, nil).wantError(t, http.StatusBadRequest, "invalid")
	}
	// A user without an active session has last_active_at null.
	e.user("new@company.com", doorman.RoleMember, "Company")
	n := e.team(admin, "?user=new@company.com")
	if len(n.Users) != 1 || n.Users[0].Sessions != 0 || n.Users[0].LastActiveAt != nil {
		t.Errorf("user without sessions %+v", n.Users)
	}
	if a := e.do(admin, "GET", "/api/v1/team/sessions?user=new@company.com", nil); !bytes.Contains(a.body, []byte(`"last_active_at":null`)) {
		t.Errorf("last_active_at not null: %s", a.body)
	}
}

func TestTeamUserSessionsAPI(t *testing.T) {
	e, admin := demoEnv(t)
	ids := e.userIDs(admin)
	var v struct {
		User     user      `json:"user"`
		Sessions []session `json:"sessions"`
	}
	a := e.do(admin, "GET", "/api/v1/team/users/"+ids["guest@agency.com"]+"/sessions", nil)
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	a.decode(t, &v)
	if v.User.Email != "guest@agency.com" || v.User.Role != "member" || len(v.Sessions) != 4 {
		t.Fatalf("guest: %+v with %d sessions", v.User, len(v.Sessions))
	}
	for _, s := range v.Sessions {
		if s.Current || !strings.HasPrefix(s.ID, doorman.PrefixSession) || s.Label == "" || s.Location.Label == "" {
			t.Errorf("session %+v", s)
		}
	}
	if v.Sessions[0].Label != "Chrome on macOS" || v.Sessions[0].Location.Label != "Paris, France" || v.Sessions[0].StatusText != "3 days ago" {
		t.Errorf("first session %+v", v.Sessions[0])
	}
	// The admin's own: the current session first, marked.
	e.do(admin, "GET", "/api/v1/team/users/"+ids["admin@company.com"]+"/sessions", nil).decode(t, &v)
	if len(v.Sessions) != 4 || !v.Sessions[0].Current || v.Sessions[1].Current {
		t.Errorf("admin's own sessions: %d, current first %v", len(v.Sessions), v.Sessions[0].Current)
	}
	// Another account's user, or none: 404, never 403.
	other := e.user("root@else.example", doorman.RoleAdmin, "Else")
	for _, id := range []string{other.ID, "usr_nope"} {
		e.do(admin, "GET", "/api/v1/team/users/"+id+"/sessions", nil).wantError(t, http.StatusNotFound, "not_found")
	}
}

// Members get 403 from every admin endpoint, whatever they send, and
// change nothing.
func TestAdminAPIForbiddenForMembers(t *testing.T) {
	e, admin := demoEnv(t)
	ids := e.userIDs(admin)
	member := e.browser()
	e.login(member, "sarah@company.com", false)
	reason := map[string]any{"reason": "because"}
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/team/sessions", nil},
		{"GET", "/api/v1/team/sessions?limit=x", nil},
		{"GET", "/api/v1/team/users/" + ids["guest@agency.com"] + "/sessions", nil},
		{"GET", "/api/v1/team/users/usr_nope/sessions", nil},
		{"POST", "/api/v1/team/users/" + ids["guest@agency.com"] + "/sign-out", reason},
		{"POST", "/api/v1/team/users/" + ids["guest@agency.com"] + "/sign-out", "{"},
		{"POST", "/api/v1/team/sessions/sign-out-all", reason},
		{"GET", "/api/v1/audit", nil},
		{"GET", "/api/v1/audit/export?format=csv", nil},
		{"GET", "/api/v1/audit/export?format=jsonl", nil},
		{"PUT", "/api/v1/settings/sessions", map[string]any{"idle_timeout": "1d", "remember_me_allowed": true,
			"remember_me_days": 30, "members_see_sessions": false}},
	} {
		v := e.do(member, r.method, r.path, r.body).wantError(t, http.StatusForbidden, "forbidden")
		if r.method != "PUT" && v.Error.Message != "only administrators of this account can use this endpoint" {
			t.Errorf("%s %s: %q", r.method, r.path, v.Error.Message)
		}
	}
	if got := e.team(admin, "").TotalActive; got != 12 {
		t.Errorf("after members' attempts %d active sessions, want 12", got)
	}
	if n := e.actions(admin); n[doorman.ActionUserSessionsRevoked]+n[doorman.ActionTeamSessionsRevoked]+n[doorman.ActionSettingsUpdated] != 0 {
		t.Errorf("audited: %v", n)
	}
	// Signed out, every one is 401.
	for _, path := range []string{"/api/v1/team/sessions", "/api/v1/audit"} {
		e.do(nil, "GET", path, nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	}
}

func TestForceSignOutAPI(t *testing.T) {
	e, admin := demoEnv(t)
	ids := e.userIDs(admin)
	guest := e.browser()
	e.signIn(guest, "guest@agency.com", false, "")
	path := "/api/v1/team/users/" + ids["guest@agency.com"] + "/sign-out"

	// Without a reason: 400, and nothing changes.
	for _, body := range []any{map[string]any{}, map[string]any{"reason": ""}, map[string]any{"reason": "   "}} {
		v := e.do(admin, "POST", path, body).wantError(t, http.StatusBadRequest, "invalid")
		if v.Error.Message != "reason is required" {
			t.Errorf("message %q", v.Error.Message)
		}
	}
	e.do(admin, "POST", path, map[string]any{"reason": strings.Repeat("x", 501)}).wantError(t, http.StatusBadRequest, "invalid")
	e.do(admin, "POST", path, map[string]any{"reason": "x", "extra": 1}).wantError(t, http.StatusBadRequest, "invalid")
	e.do(admin, "POST", path, "reason=x", "Content-Type", "application/x-www-form-urlencoded").wantError(t, http.StatusUnsupportedMediaType, "invalid")
	if got := e.team(admin, "?user=guest@agency.com").Users[0].Sessions; got != 5 {
		t.Fatalf("after refused sign-outs the guest has %d sessions, want 5", got)
	}
	e.page(guest, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if n := e.actions(admin)[doorman.ActionUserSessionsRevoked]; n != 0 {
		t.Errorf("%d forced sign-outs audited after refusals", n)
	}
	// Another account's user: 404.
	other := e.user("root@else.example", doorman.RoleAdmin, "Else")
	e.do(admin, "POST", "/api/v1/team/users/"+other.ID+"/sign-out", map[string]any{"reason": "x"}).wantError(t, http.StatusNotFound, "not_found")

	// With a reason.
	a := e.do(admin, "POST", path, map[string]any{"reason": "Security concern - unusual activity"})
	if a.status != http.StatusOK || string(bytes.TrimSpace(a.body)) != `{"signed_out":5}` {
		t.Fatalf("force sign-out: %d %s", a.status, a.body)
	}
	// The guest's next page is the sign-in page, saying why.
	e.page(guest, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
	if got := e.page(guest, "GET", "/login", nil).text(".alert"); got != "An administrator signed you out" {
		t.Errorf("sign-in page says %q", got)
	}
	if got := e.team(admin, "?user=guest@agency.com").Users[0].Sessions; got != 0 {
		t.Errorf("guest has %d sessions left", got)
	}
	// Exactly one event, with the reason.
	evs := e.audit(admin, "?action=user_sessions_revoked").Events
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	if ev := evs[0]; ev.Actor != "admin@company.com" || ev.Target != "guest@agency.com" || ev.Reason != "Security concern - unusual activity" ||
		ev.Count != 5 || ev.IP != "127.0.0.1" {
		t.Errorf("event %+v", ev)
	}
	// Again: nothing left to sign out, still answered.
	a = e.do(admin, "POST", path, map[string]any{"reason": "again"})
	if a.status != http.StatusOK || string(bytes.TrimSpace(a.body)) != `{"signed_out":0}` {
		t.Errorf("second force sign-out: %d %s", a.status, a.body)
	}
}

func TestSignOutTeamAPI(t *testing.T) {
	e, admin := demoEnv(t)
	sarah := e.browser()
	e.login(sarah, "sarah@company.com", false)
	e.do(admin, "POST", "/api/v1/team/sessions/sign-out-all", map[string]any{}).wantError(t, http.StatusBadRequest, "invalid")
	if got := e.team(admin, "").TotalActive; got != 12 {
		t.Fatalf("after a refusal %d active, want 12", got)
	}
	a := e.do(admin, "POST", "/api/v1/team/sessions/sign-out-all", map[string]any{"reason": "Incident 42"})
	if a.status != http.StatusOK || string(bytes.TrimSpace(a.body)) != `{"signed_out":11}` {
		t.Fatalf("sign out all: %d %s", a.status, a.body)
	}
	if a := e.do(admin, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("the admin's own session ended: %d", a.status)
	}
	v := e.do(sarah, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	if v.Error.Reason != doorman.ReasonRevokedByAdmin {
		t.Errorf("reason %q", v.Error.Reason)
	}
	if got := e.team(admin, "").TotalActive; got != 1 {
		t.Errorf("%d active after, want 1", got)
	}
	evs := e.audit(admin, "?action=team_sessions_revoked").Events
	if len(evs) != 1 || evs[0].Reason != "Incident 42" || evs[0].Count != 11 || evs[0].Target != "Company" {
		t.Errorf("events %+v", evs)
	}
}

// Each admin action writes exactly one audit event, which the log shows
// newest first and filters.
func TestAuditAPI(t *testing.T) {
	e, admin := demoEnv(t)
	ids := e.userIDs(admin)
	before := e.actions(admin)
	e.clock.Advance(time.Minute)
	mid := e.clock.Now()
	e.do(admin, "POST", "/api/v1/team/users/"+ids["mike@company.com"]+"/sign-out", map[string]any{"reason": "left"})
	e.do(admin, "PUT", "/api/v1/settings/sessions", map[string]any{"idle_timeout": "30d", "remember_me_allowed": true, "remember_me_days": 30})
	e.do(admin, "POST", "/api/v1/team/sessions/sign-out-all", map[string]any{"reason": "drill"})
	after := e.actions(admin)
	for _, a := range []string{doorman.ActionUserSessionsRevoked, doorman.ActionSettingsUpdated, doorman.ActionTeamSessionsRevoked} {
		if after[a]-before[a] != 1 {
			t.Errorf("%s: %d events, want 1", a, after[a]-before[a])
		}
	}
	all := e.audit(admin, "")
	if all.Total != len(e.audit(admin, "?limit=1000").Events) || len(all.Events) > 50 {
		t.Errorf("total %d, %d events", all.Total, len(all.Events))
	}
	if got := []string{all.Events[0].Action, all.Events[1].Action, all.Events[2].Action}; !slices.Equal(got,
		[]string{doorman.ActionTeamSessionsRevoked, doorman.ActionSettingsUpdated, doorman.ActionUserSessionsRevoked}) {
		t.Errorf("newest first: %q", got)
	}
	if d := all.Events[1].Details; !strings.Contains(d, "idle_timeout=7d->30d") {
		t.Errorf("settings details %q", d)
	}
	since := e.audit(admin, "?since="+mid.Format(time.RFC3339))
	if since.Total != 3 {
		t.Errorf("since: %d events, want 3", since.Total)
	}
	if got := e.audit(admin, "?actor=MIKE@company.com&action=sign_in"); got.Total != 1 || got.Events[0].Actor != "mike@company.com" {
		t.Errorf("actor filter: %+v", got)
	}
	if got := e.audit(admin, "?target=guest@agency.com"); got.Total != 1 || got.Events[0].Action != doorman.ActionUserCreated {
		t.Errorf("target filter: %+v", got)
	}
	if got := e.audit(admin, "?until=2000-01-01"); got.Total != 0 {
		t.Errorf("until 2000: %d", got.Total)
	}
	if got := e.audit(admin, "?since="+mid.AddDate(0, 0, 2).Format(time.DateOnly)); got.Total != 0 {
		t.Errorf("since the day after tomorrow: %d", got.Total)
	}
	page := e.audit(admin, "?limit=2&offset=1")
	if len(page.Events) != 2 || page.Events[0].ID != all.Events[1].ID {
		t.Errorf("paging %+v", page.Events)
	}
	for _, q := range []string{"?since=yesterday", "?until=2024-13-01", "?since=2024-01-02&until=2024-01-01", "?limit=1001", "?offset=-3"} {
		e.do(admin, "GET", "/api/v1/audit"+q, nil).wantError(t, http.StatusBadRequest, "invalid")
	}
	// Another account sees none of it.
	e.user("root@else.example", doorman.RoleAdmin, "Else")
	other := e.browser()
	e.login(other, "root@else.example", false)
	for _, ev := range e.audit(other, "?limit=1000").Events {
		if ev.Target != "root@else.example" && ev.Actor != "root@else.example" {
			t.Errorf("another account's event: %+v", ev)
		}
	}
}

func TestAuditExport(t *testing.T) {
	e, admin := demoEnv(t)
	e.do(admin, "POST", "/api/v1/team/users/"+e.userIDs(admin)["guest@agency.com"]+"/sign-out",
		map[string]any{"reason": "=HYPERLINK(\"x\")"})
	want := e.audit(admin, "?limit=1000").Events

	a := e.do(admin, "GET", "/api/v1/audit/export?format=csv", nil)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %q %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	if cd := a.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="doorman-audit-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(bytes.NewReader(a.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], doorman.AuditFields) || len(rows) != len(want)+1 {
		t.Fatalf("csv header %q, %d rows for %d events", rows[0], len(rows)-1, len(want))
	}
	for i, ev := range want {
		if r := rows[i+1]; r[0] != ev.ID || r[3] != ev.Action || r[2] != ev.Actor {
			t.Errorf("row %d %q, want %+v", i, r, ev)
		}
	}
	if r := rows[1]; r[3] != doorman.ActionUserSessionsRevoked || r[5] != `'=HYPERLINK("x")` || r[8] != "4" {
		t.Errorf("forced sign-out row %q: the reason must not run as a formula", r)
	}

	a = e.do(admin, "GET", "/api/v1/audit/export?format=jsonl&action=sign_in", nil)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/jsonl; charset=utf-8" ||
		!strings.HasSuffix(a.header.Get("Content-Disposition"), `.jsonl"`) {
		t.Fatalf("jsonl: %d %q %q", a.status, a.header.Get("Content-Type"), a.header.Get("Content-Disposition"))
	}
	var lines []auditEvent
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	for sc.Scan() {
		var ev auditEvent
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, ev)
	}
	signIns := e.audit(admin, "?action=sign_in&limit=1000").Events
	if len(lines) != len(signIns) || len(lines) < 11 {
		t.Fatalf("%d lines, %d sign-ins", len(lines), len(signIns))
	}
	for i := range lines {
		if lines[i] != signIns[i] {
			t.Errorf("line %d %+v, want %+v", i, lines[i], signIns[i])
		}
	}
	for _, q := range []string{"", "?format=xml", "?format=csv&since=nope"} {
		e.do(admin, "GET", "/api/v1/audit/export"+q, nil).wantError(t, http.StatusBadRequest, "invalid")
	}
}

func TestSettingsMembersSeeSessions(t *testing.T) {
	e, admin := demoEnv(t)
	sarah := e.browser()
	e.login(sarah, "sarah@company.com", false)
	get := func() map[string]any {
		t.Helper()
		var v map[string]any
		e.do(admin, "GET", "/api/v1/settings/sessions", nil).decode(t, &v)
		return v
	}
	if v := get(); v["members_see_sessions"] != true {
		t.Errorf("default %v", v)
	}
	// Clients that predate the field leave it out: it keeps its value.
	body := map[string]any{"idle_timeout": "7d", "remember_me_allowed": true, "remember_me_days": 30}
	if a := e.do(admin, "PUT", "/api/v1/settings/sessions", body); a.status != http.StatusOK || get()["members_see_sessions"] != true {
		t.Errorf("put without the field: %d %s", a.status, a.body)
	}
	e.do(admin, "PUT", "/api/v1/settings/sessions", map[string]any{"idle_timeout": "7d", "remember_me_allowed": true,
		"remember_me_days": 30, "members_see_sessions": "no"}).wantError(t, http.StatusBadRequest, "invalid")
	body["members_see_sessions"] = false
	if a := e.do(admin, "PUT", "/api/v1/settings/sessions", body); a.status != http.StatusOK || get()["members_see_sessions"] != false {
		t.Fatalf("put false: %d %s", a.status, a.body)
	}
	// Members read it, and their sessions API is closed; admins' is not.
	var v map[string]any
	e.do(sarah, "GET", "/api/v1/settings/sessions", nil).decode(t, &v)
	if v["members_see_sessions"] != false {
		t.Errorf("member reads %v", v)
	}
	r := e.do(sarah, "GET", "/api/v1/sessions", nil).wantError(t, http.StatusForbidden, "forbidden")
	if r.Error.Message != "An administrator restricted the Sessions page for members of this account" {
		t.Errorf("message %q", r.Error.Message)
	}
	e.do(sarah, "POST", "/api/v1/sessions/sign-out-others", nil).wantError(t, http.StatusForbidden, "forbidden")
	if a := e.do(admin, "GET", "/api/v1/sessions", nil); a.status != http.StatusOK {
		t.Errorf("admin's sessions: %d", a.status)
	}
	// Signing out stays open to everyone.
	if a := e.do(sarah, "POST", "/api/v1/logout", nil); a.status != http.StatusNoContent {
		t.Errorf("member's logout: %d %s", a.status, a.body)
	}
}
