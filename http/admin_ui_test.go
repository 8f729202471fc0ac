package http_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// navCurrent is the navigation's marked page as "Section › Label".
func navCurrent(p *page) string {
	p.t.Helper()
	cur := p.one("nav.sidenav a[aria-current=page]")
	ul := cur.Parent.Parent
	for _, sec := range p.all("nav.sidenav p.sidenav-section") {
		if attr(sec, "id") == attr(ul, "aria-labelledby") {
			return textOf(sec) + " › " + textOf(cur)
		}
	}
	return "? › " + textOf(cur)
}

func TestTeamSessionsPage(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/admin/sessions", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Team Sessions" {
		t.Errorf("h1 %q", got)
	}
	if got := navCurrent(p); got != "Team › Sessions" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.texts("nav.sidenav a"); !slices.Equal(got, []string{"Sessions", "Password", "Two-factor authentication", "People", "Sessions", "Session settings", "API keys", "Webhook", "Audit log"}) {
		t.Errorf("navigation %q", got)
	}
	if got := p.texts("table.team-table thead th"); !slices.Equal(got, []string{"User", "Sessions", "Last Active"}) {
		t.Errorf("columns %q", got)
	}
	want := []string{
		"admin@company.com | 4 | Now",
		"sarah@company.com | 2 | 1 hour ago",
		"mike@company.com | 1 | Yesterday",
		"guest@agency.com | 4 | 3 days ago",
	}
	if got := teamRows(p); !slices.Equal(got, want) {
		t.Errorf("rows:\n got %q\nwant %q", got, want)
	}
	// Numbers right-aligned, exact times on hover.
	for _, td := range p.all("table.team-table td") {
		if !hasClass(td, "num") {
			t.Errorf("cell %q is not a number cell", textOf(td))
		}
	}
	for _, tm := range p.all("table.team-table time") {
		if attr(tm, "datetime") == "" || !strings.HasSuffix(attr(tm, "title"), " UTC") {
			t.Errorf("time %q without exact time", textOf(tm))
		}
	}
	if got := p.text(".total"); got != "Total active sessions: 11" {
		t.Errorf("total %q", got)
	}
	if len(p.all(".pager")) != 0 {
		t.Error("a pager for one page")
	}
	if a := p.one("a.btn-danger"); textOf(a) != "Sign Out All Team Sessions" || attr(a, "href") != "/admin/sessions/sign-out-all" {
		t.Errorf("sign out all %q → %q", textOf(a), attr(a, "href"))
	}

	// "Filter by user": a GET form with a select, that works without script.
	form := p.one("form.filter")
	if attr(form, "method") != "get" || attr(form, "action") != "/admin/sessions" || p.text("label[for=user]") != "Filter by user:" {
		t.Errorf("filter form %v", form.Attr)
	}
	if got := p.texts("select#user option"); !slices.Equal(got, []string{"All users", "admin@company.com",
		"guest@agency.com", "mike@company.com", "sarah@company.com"}) {
		t.Errorf("options %q", got)
	}
	f := e.page(c, "GET", "/admin/sessions?user=mike%40company.com", nil).wantStatus(http.StatusOK)
	if got := teamRows(f); !slices.Equal(got, []string{"mike@company.com | 1 | Yesterday"}) {
		t.Errorf("filtered %q", got)
	}
	if got := f.text("select#user option[selected]"); got != "mike@company.com" {
		t.Errorf("selected %q", got)
	}
	if got := f.text("a.btn-plain"); got != "Show all users" {
		t.Errorf("way back %q", got)
	}
	none := e.page(c, "GET", "/admin/sessions?user=nobody%40company.com", nil).wantStatus(http.StatusOK)
	if got := none.text(".empty"); got != "nobody@company.com has no active sessions." {
		t.Errorf("empty %q", got)
	}

	// Each row opens the user's sessions.
	for _, a := range p.all("table.team-table tbody th a") {
		if u := e.page(c, "GET", attr(a, "href"), nil).wantStatus(http.StatusOK); u.text("h1") != textOf(a) {
			t.Errorf("%s opens %q", textOf(a), u.text("h1"))
		}
	}
}

func TestTeamSessionsPaging(t *testing.T) {
	e, c := demoEnv(t)
	for i := range 55 {
		e.user(fmt.Sprintf("user%02d@company.com", i), doorman.RoleMember, "Company")
	}
	p := e.page(c, "GET", "/admin/sessions", nil).wantStatus(http.StatusOK)
	if n := len(teamRows(p)); n != 50 {
		t.Errorf("%d rows on page 1", n)
	}
	if got := p.text(".pager-text"); got != "Showing 1–50 of 59 users" {
		t.Errorf("pager %q", got)
	}
	next := attr(p.one(".pager a[rel=next]"), "href")
	if next != "/admin/sessions?page=2" || len(p.all(".pager a[rel=prev]")) != 0 {
		t.Errorf("next %q", next)
	}
	p2 := e.page(c, "GET", next, nil).wantStatus(http.StatusOK)
	rows := teamRows(p2)
	if len(rows) != 9 || rows[8] != "user54@company.com | 0 | —" {
		t.Errorf("page 2: %d rows, last %q", len(rows), rows[len(rows)-1])
	}
	if got := p2.text(".pager-text"); got != "Showing 51–59 of 59 users" || attr(p2.one(".pager a[rel=prev]"), "href") != "/admin/sessions" {
		t.Errorf("page 2 pager %q", got)
	}
	if got := p2.text(".total"); got != "Total active sessions: 11" {
		t.Errorf("total %q", got)
	}
}

func TestTeamUserPage(t *testing.T) {
	e, c := demoEnv(t)
	ids := e.userIDs(c)
	p := e.page(c, "GET", "/admin/users/"+ids["guest@agency.com"]+"/sessions", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "guest@agency.com" {
		t.Errorf("h1 %q", got)
	}
	if got := navCurrent(p); got != "Team › Sessions" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.texts(".crumbs a"); !slices.Equal(got, []string{"Team Sessions"}) {
		t.Errorf("breadcrumb %q", got)
	}
	want := []string{
		"Chrome on macOS | Paris, France | IP: 90.84.33.12 | Last active: 3 days ago",
		"Safari on iPhone | Paris, France | IP: 90.84.33.12 | Last active: 3 days ago",
		"Chrome on Windows | London, United Kingdom | IP: 203.0.113.77 | Last active: 4 days ago",
		"Firefox on Ubuntu | Berlin, Germany | IP: 91.64.12.99 | Last active: 5 days ago",
	}
	if got := sessionCards(p, "user-sessions"); !slices.Equal(got, want) {
		t.Errorf("cards:\n got %q\nwant %q", got, want)
	}
	// The same cards, but no link to another person's session details or
	// sign-out: the one action is Force Sign Out User.
	if len(p.all("li.session a")) != 0 || len(p.all(".badge")) != 0 {
		t.Error("cards carry links or badges")
	}
	if a := p.one("a.btn-danger"); textOf(a) != "Force Sign Out User" || attr(a, "href") != "/admin/users/"+ids["guest@agency.com"]+"/sign-out" {
		t.Errorf("action %q → %q", textOf(a), attr(a, "href"))
	}
	// The admin's own: the current session first, with This Device.
	own := e.page(c, "GET", "/admin/users/"+ids["admin@company.com"]+"/sessions", nil).wantStatus(http.StatusOK)
	if cards := sessionCards(own, "user-sessions"); len(cards) != 4 || !strings.Contains(cards[0], "This Device") {
		t.Errorf("own cards %q", cards)
	}
	// A user without sessions.
	u := e.user("new@company.com", doorman.RoleMember, "Company")
	empty := e.page(c, "GET", "/admin/users/"+u.ID+"/sessions", nil).wantStatus(http.StatusOK)
	if got := empty.text(".empty"); got != "new@company.com is not signed in anywhere." || len(empty.all("a.btn-danger")) != 0 {
		t.Errorf("empty %q", got)
	}
}

// A user of another account, or none, is 404 on every admin page, never 403.
func TestAdminPagesNotFound(t *testing.T) {
	e, c := demoEnv(t)
	other := e.user("root@else.example", doorman.RoleAdmin, "Else")
	oc := e.browser()
	e.signIn(oc, "root@else.example", false, "")
	form := formValues(e.page(c, "GET", "/admin/users/"+e.userIDs(c)["mike@company.com"]+"/sign-out", nil).one(".confirm form"))
	form.Set("reason", "probe")
	for _, id := range []string{other.ID, "usr_nope"} {
		for _, r := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/admin/users/" + id + "/sessions", nil},
			{"GET", "/admin/users/" + id + "/sign-out", nil},
			{"POST", "/admin/users/" + id + "/sign-out", form},
		} {
			p := e.page(c, r.method, r.path, r.form).wantStatus(http.StatusNotFound)
			if p.text("h1") != "Not found" || !strings.Contains(p.text("main"), "There is no such user in your account.") {
				t.Errorf("%s %s: %q", r.method, r.path, p.text("main"))
			}
		}
	}
	// Nor can that account's admin reach Company's users.
	e.page(oc, "GET", "/admin/users/"+e.userIDs(c)["mike@company.com"]+"/sessions", nil).wantStatus(http.StatusNotFound)
	if got := e.team(c, "?user=root@else.example"); len(got.Users) != 0 {
		t.Errorf("another account's user in the team: %+v", got.Users)
	}
}

// A member opening any admin page gets a 403 page naming who may.
func TestAdminPagesForbiddenForMembers(t *testing.T) {
	e, c := demoEnv(t)
	ids := e.userIDs(c)
	m := e.browser()
	e.signIn(m, "sarah@company.com", false, "")
	home := e.page(m, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if got := p2s(home.texts("nav.sidenav p.sidenav-section")); got != "Security" {
		t.Errorf("a member's navigation: %q", got)
	}
	hf := formValues(home.one("header form"))
	form := url.Values{"csrf": hf["csrf"], "once": hf["once"], "reason": {"mine now"}, "idle_timeout": {"1d"}, "remember_me_days": {"30"}}
	guest := ids["guest@agency.com"]
	for _, r := range []struct{ method, path string }{
		{"GET", "/admin"}, {"GET", "/admin/sessions"}, {"GET", "/admin/sessions?user=guest%40agency.com"},
		{"GET", "/admin/sessions/sign-out-all"}, {"POST", "/admin/sessions/sign-out-all"},
		{"GET", "/admin/users/" + guest + "/sessions"}, {"GET", "/admin/users/usr_nope/sessions"},
		{"GET", "/admin/users/" + guest + "/sign-out"}, {"POST", "/admin/users/" + guest + "/sign-out"},
		{"GET", "/admin/settings/sessions"}, {"POST", "/admin/settings/sessions"},
		{"GET", "/admin/audit"}, {"GET", "/admin/audit?from=nonsense"},
	} {
		var f url.Values
		if r.method == "POST" {
			f = form
		}
		p := e.page(m, r.method, r.path, f).wantStatus(http.StatusForbidden)
		checkPageHeaders(t, p)
		if p.text("h1") != "This page is for administrators" ||
			!strings.Contains(p.text("main"), "Only administrators of Company can open this page. You are signed in as sarah@company.com, a member") {
			t.Errorf("%s %s: %q", r.method, r.path, p.text("main"))
		}
		if got := p.texts(".restricted-links a"); !slices.Equal(got, []string{"Review where you are signed in", "Change your password", "Two-factor authentication"}) {
			t.Errorf("%s %s: links on %q", r.method, r.path, got)
		}
		if len(p.all("nav.sidenav")) != 1 {
			t.Errorf("%s %s: the 403 page keeps the navigation", r.method, r.path)
		}
	}
	if got := e.team(c, "").TotalActive; got != 12 {
		t.Errorf("after a member's posts %d active sessions, want 12", got)
	}
	var set settings
	e.do(c, "GET", "/api/v1/settings/sessions", nil).decode(t, &set)
	if set.IdleTimeout != "7d" {
		t.Errorf("a member changed the settings: %+v", set)
	}
	// Signed out, the pages send to sign-in and come back.
	e.page(nil, "GET", "/admin/audit", nil).wantRedirect("/login?next=%2Fadmin%2Faudit")

	// A member who signs in on the way to a Team page lands on the
	// explanation, with the way on, not on a bare refusal.
	mike := e.browser()
	to := e.signIn(mike, "mike@company.com", false, "/admin/audit")
	p := e.page(mike, "GET", to, nil).wantStatus(http.StatusForbidden)
	if p.text("h1") != "This page is for administrators" || len(p.all(".restricted-links a[href='/settings/security/sessions']")) != 1 {
		t.Errorf("after signing in on the way to %s: %q", to, p.text("main"))
	}
}

func p2s(v []string) string { return strings.Join(v, ", ") }

func TestForceSignOutFlow(t *testing.T) {
	e, c := demoEnv(t)
	ids := e.userIDs(c)
	guest := e.browser()
	e.signIn(guest, "guest@agency.com", false, "")
	path := "/admin/users/" + ids["guest@agency.com"] + "/sign-out"

	p := e.page(c, "GET", path, nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Force Sign Out User" {
		t.Errorf("h1 %q", got)
	}
	if got := visibleText(p.one(".confirm")); got != "Force Sign Out User User: guest@agency.com Active Sessions: 5 "+
		"Signing out will: Terminate all 5 active sessions Require user to sign in again Log the action in audit trail "+
		"Reason (required): Recorded in the audit log with your name. Cancel Force Sign Out" {
		t.Errorf("confirmation reads %q", got)
	}
	in := p.one("input#reason")
	if !hasAttr(in, "required") || attr(in, "type") != "text" || p.text("label[for=reason]") != "Reason (required):" {
		t.Errorf("reason input %v", in.Attr)
	}
	if got := p.texts(".confirm-actions > .btn"); !slices.Equal(got, []string{"Cancel", "Force Sign Out"}) {
		t.Errorf("buttons %q: Cancel first", got)
	}
	if got := attr(p.one(".confirm-actions a"), "href"); got != "/admin/users/"+ids["guest@agency.com"]+"/sessions" {
		t.Errorf("Cancel → %q", got)
	}
	form := p.one(".confirm form")
	if attr(form, "method") != "post" || attr(form, "action") != path {
		t.Errorf("form %v", form.Attr)
	}

	// Without the token, from another site, or without a reason: nothing.
	v := formValues(form)
	e.page(c, "POST", path, url.Values{"reason": {"x"}}).wantStatus(http.StatusForbidden)
	v.Set("reason", "x")
	e.page(c, "POST", path, v, "Sec-Fetch-Site", "cross-site").wantStatus(http.StatusForbidden)
	for _, reason := range []string{"", "   "} {
		v.Set("reason", reason)
		bad := e.page(c, "POST", path, v).wantStatus(http.StatusBadRequest)
		checkPageMarkup(t, bad)
		if got := bad.text(".alert-error"); got != "Enter a reason: it is recorded in the audit log. Nothing was signed out." {
			t.Errorf("error %q", got)
		}
		if in := bad.one("input#reason"); attr(in, "aria-invalid") != "true" || !strings.Contains(attr(in, "aria-describedby"), "form-error") {
			t.Errorf("input %v does not point at the error", in.Attr)
		}
		if got := bad.text(".confirm-facts"); got != "User: guest@agency.com Active Sessions: 5" {
			t.Errorf("facts %q", got)
		}
	}
	v.Set("reason", strings.Repeat("long ", 101))
	if got := e.page(c, "POST", path, v).wantStatus(http.StatusBadRequest).text(".alert-error"); got !=
		"Reason is longer than 500 characters. Nothing was signed out." {
		t.Errorf("error %q", got)
	}
	e.page(guest, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if n := e.actions(c)[doorman.ActionUserSessionsRevoked]; n != 0 {
		t.Fatalf("%d forced sign-outs audited after refusals", n)
	}

	// With a reason; the member is read once.
	v.Set("reason", "Security concern - unusual activity")
	reads := e.store.userReads.Load()
	e.page(c, "POST", path, v).wantRedirect("/admin/sessions")
	if n := e.store.userReads.Load() - reads; n != 1 {
		t.Errorf("the forced sign-out read the member %d times, want once", n)
	}
	after := e.page(c, "GET", "/admin/sessions", nil)
	if got := after.text(".alert"); got != "Signed out guest@agency.com from 5 sessions. They must sign in again." {
		t.Errorf("flash %q", got)
	}
	if got := teamRows(after); !slices.Contains(got, "guest@agency.com | 0 | —") {
		t.Errorf("rows %q", got)
	}
	// The guest's next page request lands on sign-in, saying why.
	e.page(guest, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
	if got := e.page(guest, "GET", "/login", nil).text(".alert"); got != "An administrator signed you out" {
		t.Errorf("sign-in page says %q", got)
	}
	evs := e.audit(c, "?action=user_sessions_revoked").Events
	if len(evs) != 1 || evs[0].Reason != "Security concern - unusual activity" || evs[0].Count != 5 {
		t.Errorf("audit %+v", evs)
	}
	// The member's page lists the five under Recently Ended, saying why.
	member := e.page(c, "GET", "/admin/users/"+ids["guest@agency.com"]+"/sessions", nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, member)
	if got := member.text("#ended-sessions-title"); got != "Recently Ended" {
		t.Errorf("ended heading %q", got)
	}
	forced := 0
	for _, why := range member.texts(".ended-table td[data-label=Why]") {
		if why == "Signed out by an administrator: Security concern - unusual activity" {
			forced++
		}
	}
	if forced != 5 {
		t.Errorf("%d ended sessions give the forced sign-out's reason, want 5: %q", forced, member.texts(".ended-table tbody tr"))
	}
	// Nothing left: the page says so and offers no form.
	done := e.page(c, "GET", path, nil).wantStatus(http.StatusOK)
	if len(done.all(".confirm form")) != 0 || !strings.Contains(done.text(".confirm"), "guest@agency.com is not signed in anywhere") {
		t.Errorf("after: %q", done.text(".confirm"))
	}

	// Admins who sign themselves out keep this session.
	self := "/admin/users/" + ids["admin@company.com"] + "/sign-out"
	sp := e.page(c, "GET", self, nil).wantStatus(http.StatusOK)
	if got := sp.texts(".confirm-list li")[0]; got != "Terminate 3 active sessions; the one you are using now stays" {
		t.Errorf("self %q", got)
	}
	sv := formValues(sp.one(".confirm form"))
	sv.Set("reason", "Lost my laptop")
	e.page(c, "POST", self, sv).wantRedirect("/admin/sessions")
	if got := e.page(c, "GET", "/admin/sessions", nil).wantStatus(http.StatusOK).text(".alert"); got !=
		"Signed out 3 of your sessions. The one you are using now stays active." {
		t.Errorf("flash %q", got)
	}
}

func TestSignOutTeamFlow(t *testing.T) {
	e, c := demoEnv(t)
	sarah := e.browser()
	e.signIn(sarah, "sarah@company.com", false, "")
	p := e.page(c, "GET", "/admin/sessions/sign-out-all", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Sign Out All Team Sessions?" {
		t.Errorf("h1 %q", got)
	}
	if got := p.texts(".confirm > p"); !slices.Equal(got, []string{"This will sign out 11 sessions in Company:",
		"Your current session will remain active."}) {
		t.Errorf("confirmation %q", got)
	}
	if got := p.texts(".confirm-list")[0]; got != "admin@company.com (3 sessions) sarah@company.com (3 sessions) "+
		"mike@company.com (1 session) guest@agency.com (4 sessions)" {
		t.Errorf("list %q", got)
	}
	if got := p.texts(".confirm-actions > .btn"); !slices.Equal(got, []string{"Cancel", "Sign Out All"}) {
		t.Errorf("buttons %q", got)
	}
	v := formValues(p.one(".confirm form"))
	bad := e.page(c, "POST", "/admin/sessions/sign-out-all", v).wantStatus(http.StatusBadRequest)
	if got := bad.text(".alert-error"); got != "Enter a reason: it is recorded in the audit log. Nothing was signed out." {
		t.Errorf("error %q", got)
	}
	if got := e.team(c, "").TotalActive; got != 12 {
		t.Fatalf("after a refusal %d active", got)
	}
	v.Set("reason", "Incident 42")
	e.page(c, "POST", "/admin/sessions/sign-out-all", v).wantRedirect("/admin/sessions")
	after := e.page(c, "GET", "/admin/sessions", nil).wantStatus(http.StatusOK)
	if got := after.text(".alert"); got != "Signed out 11 sessions in Company. Your current session stays active." {
		t.Errorf("flash %q", got)
	}
	if got := after.text(".total"); got != "Total active sessions: 1" {
		t.Errorf("total %q", got)
	}
	e.page(sarah, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
	if got := e.page(sarah, "GET", "/login", nil).text(".alert"); got != "An administrator signed you out" {
		t.Errorf("sarah is told %q", got)
	}
	if evs := e.audit(c, "?action=team_sessions_revoked").Events; len(evs) != 1 || evs[0].Count != 11 {
		t.Errorf("audit %+v", evs)
	}
	// Nothing left to sign out.
	empty := e.page(c, "GET", "/admin/sessions/sign-out-all", nil).wantStatus(http.StatusOK)
	if len(empty.all(".confirm form")) != 0 || !strings.Contains(empty.text(".confirm"), "only yours on this device") {
		t.Errorf("empty %q", empty.text(".confirm"))
	}
}

// settingsFormValues are the values the Session settings form would send.
func settingsFormValues(p *page) url.Values {
	return formValues(p.one("form[data-settings]"))
}

func TestSessionSettingsPage(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/admin/settings/sessions", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := navCurrent(p); got != "Team › Session settings" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.text("fieldset.choices legend"); got != "Sign out inactive sessions after:" {
		t.Errorf("legend %q", got)
	}
	var choices []string
	for _, in := range p.all("input[name=idle_timeout]") {
		mark := "○"
		if hasAttr(in, "checked") {
			mark = "●"
		}
		choices = append(choices, mark+" "+p.text("label[for="+attr(in, "id")+"]"))
	}
	if !slices.Equal(choices, []string{"○ 1 day", "● 7 days", "○ 30 days", "○ Never (not recommended)"}) {
		t.Errorf("choices %q", choices)
	}
	if !strings.Contains(p.text("main"), "This applies to all users in your account.") {
		t.Error("no word that it applies to all users")
	}
	if got := p.text("label[for=remember_me_allowed]"); got != `Allow "Remember Me" on login` || !hasAttr(p.one("#remember_me_allowed"), "checked") {
		t.Errorf("remember me %q", got)
	}
	days := p.one("input#remember_me_days")
	if attr(days, "type") != "number" || attr(days, "min") != "1" || attr(days, "max") != "365" || attr(days, "value") != "30" {
		t.Errorf("days %v", days.Attr)
	}
	if got := p.text("[data-when=on]"); got != "When enabled: Remembered sessions last: days" {
		t.Errorf("enabled %q", got)
	}
	if got := p.text("[data-when=off]"); got != "When disabled: All sessions expire after: 7 days of inactivity Users must sign in more frequently" {
		t.Errorf("disabled %q", got)
	}
	if got := p.text("label[for=members_see_sessions]"); got != "Members can see their Sessions page" || !hasAttr(p.one("#members_see_sessions"), "checked") {
		t.Errorf("members %q", got)
	}

	// Refused values: the form again, saying why; nothing saved.
	base := settingsFormValues(p)
	for _, tt := range []struct {
		set   map[string]string
		field string
		msg   string
	}{
		{map[string]string{"idle_timeout": "2d"}, "fieldset.choices", "Choose when inactive sessions are signed out"},
		{map[string]string{"idle_timeout": ""}, "fieldset.choices", "Choose when inactive sessions are signed out"},
		{map[string]string{"remember_me_days": "0"}, "input#remember_me_days", "Remembered sessions must last a whole number of days from 1 to 365"},
		{map[string]string{"remember_me_days": "366"}, "input#remember_me_days", "Remembered sessions must last"},
		{map[string]string{"remember_me_days": "1.5"}, "input#remember_me_days", "Remembered sessions must last"},
		{map[string]string{"remember_me_days": ""}, "input#remember_me_days", "Remembered sessions must last"},
	} {
		v := url.Values{}
		for k, vs := range base {
			v[k] = slices.Clone(vs)
		}
		for k, x := range tt.set {
			v.Set(k, x)
		}
		bad := e.page(c, "POST", "/admin/settings/sessions", v).wantStatus(http.StatusBadRequest)
		checkPageMarkup(t, bad)
		if got := bad.text(".alert-error"); !strings.HasPrefix(got, tt.msg) || !strings.HasSuffix(got, "Nothing was saved.") {
			t.Errorf("%v: error %q", tt.set, got)
		}
		if attr(bad.one(tt.field), "aria-invalid") != "true" {
			t.Errorf("%v: %s not marked invalid", tt.set, tt.field)
		}
		if d, ok := tt.set["remember_me_days"]; ok && attr(bad.one("#remember_me_days"), "value") != d {
			t.Errorf("%v: the form lost what was typed", tt.set)
		}
	}
	e.page(c, "POST", "/admin/settings/sessions", url.Values{"idle_timeout": {"1d"}}).wantStatus(http.StatusForbidden)
	var set map[string]any
	e.do(c, "GET", "/api/v1/settings/sessions", nil).decode(t, &set)
	if set["idle_timeout"] != "7d" || set["remember_me_days"] != float64(30) || set["remember_me_allowed"] != true {
		t.Fatalf("refused posts changed the settings: %v", set)
	}

	// The same settings: nothing to save, nothing audited.
	e.page(c, "POST", "/admin/settings/sessions", base).wantRedirect("/admin/settings/sessions")
	if got := e.page(c, "GET", "/admin/settings/sessions", nil).text(".alert"); got != "Nothing changed: these are the settings already in force." {
		t.Errorf("flash %q", got)
	}
	if n := e.actions(c)[doorman.ActionSettingsUpdated]; n != 0 {
		t.Errorf("%d settings events for no change", n)
	}

	// Remember Me off (the script leaves the days out), members restricted.
	v := url.Values{"csrf": base["csrf"], "once": {e.once(c, "/admin/settings/sessions")}, "idle_timeout": {"30d"}}
	e.page(c, "POST", "/admin/settings/sessions", v).wantRedirect("/admin/settings/sessions")
	saved := e.page(c, "GET", "/admin/settings/sessions", nil).wantStatus(http.StatusOK)
	if got := saved.text(".alert"); got != "Session settings saved. They apply to every session in Company from its next request." {
		t.Errorf("flash %q", got)
	}
	if !hasAttr(saved.one("#idle-30d"), "checked") || hasAttr(saved.one("#remember_me_allowed"), "checked") ||
		hasAttr(saved.one("#members_see_sessions"), "checked") || attr(saved.one("#remember_me_days"), "value") != "30" {
		t.Error("the saved settings are not shown")
	}
	e.do(c, "GET", "/api/v1/settings/sessions", nil).decode(t, &set)
	if set["idle_timeout"] != "30d" || set["remember_me_allowed"] != false || set["remember_me_days"] != float64(30) || set["members_see_sessions"] != false {
		t.Errorf("saved %v", set)
	}
	if n := e.actions(c)[doorman.ActionSettingsUpdated]; n != 1 {
		t.Errorf("%d settings events, want 1", n)
	}
	// "Never": sessions end at the server's cap from sign-in.
	v.Set("idle_timeout", "never")
	v.Set("once", e.once(c, "/admin/settings/sessions"))
	e.page(c, "POST", "/admin/settings/sessions", v).wantRedirect("/admin/settings/sessions")
	if got := e.page(c, "GET", "/admin/settings/sessions", nil).text("[data-expires-text]"); got != "30 days from sign-in" {
		t.Errorf("never expires after %q", got)
	}
}

// A shorter timeout ends an existing session on its next request.
func TestSessionSettingsShortenSessions(t *testing.T) {
	e, c := demoEnv(t)
	m := e.browser()
	e.signIn(m, "sarah@company.com", false, "")
	e.clock.Advance(2 * 24 * time.Hour)
	// Signed in two days ago: the password is asked first.
	e.page(c, "GET", "/admin/settings/sessions", nil).wantRedirect("/reauth?next=%2Fadmin%2Fsettings%2Fsessions")
	e.reauth(c, "/admin/settings/sessions")
	p := e.page(c, "GET", "/admin/settings/sessions", nil).wantStatus(http.StatusOK)
	v := settingsFormValues(p)
	v.Set("idle_timeout", "1d")
	e.page(c, "POST", "/admin/settings/sessions", v).wantRedirect("/admin/settings/sessions")
	e.page(m, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
	if got := e.page(m, "GET", "/login", nil).text(".alert"); got != "Your session expired after 1 day of inactivity" {
		t.Errorf("sign-in page says %q", got)
	}
	e.page(c, "GET", "/admin/sessions", nil).wantStatus(http.StatusOK)
	if got := e.team(c, "").TotalActive; got != 1 {
		t.Errorf("%d sessions active after 2 days with a 1-day timeout, want the admin's 1", got)
	}
}

// A member whose admins restricted the Sessions page is told so.
func TestRestrictedSessionsPage(t *testing.T) {
	e, c := demoEnv(t)
	m := e.browser()
	e.signIn(m, "sarah@company.com", false, "")
	own := e.page(m, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	mine := attr(own.one(".session-current a.session-link"), "href")
	hf := formValues(own.one("header form"))

	p := e.page(c, "GET", "/admin/settings/sessions", nil)
	v := settingsFormValues(p)
	v.Del("members_see_sessions")
	e.page(c, "POST", "/admin/settings/sessions", v).wantRedirect("/admin/settings/sessions")

	for _, r := range []struct{ method, path string }{
		{"GET", "/settings/security/sessions"}, {"GET", mine}, {"GET", mine + "/sign-out"}, {"POST", mine + "/sign-out"},
		{"GET", "/settings/security/sessions/sign-out-others"}, {"POST", "/settings/security/sessions/sign-out-others"},
	} {
		var f url.Values
		if r.method == "POST" {
			f = url.Values{"csrf": hf["csrf"], "once": hf["once"]}
		}
		r := e.page(m, r.method, r.path, f).wantStatus(http.StatusForbidden)
		checkPageHeaders(t, r)
		if got := r.text("h1"); got != "Your Sessions page is restricted" {
			t.Errorf("h1 %q", got)
		}
		if !strings.Contains(r.text("main"), "An administrator of Company restricted the Sessions page for members of this account.") {
			t.Errorf("message %q", r.text("main"))
		}
		// It sends them on to what they may open, not back to the Sessions page.
		if got := r.texts(".restricted-links a"); !slices.Equal(got, []string{"Change your password", "Two-factor authentication"}) {
			t.Errorf("links %q", got)
		}
	}
	// Signing out still works; the admin still sees their own page.
	e.page(m, "POST", "/logout", hf).wantRedirect("/login")
	e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
}

func TestAuditPage(t *testing.T) {
	e, c := demoEnv(t)
	ids := e.userIDs(c)
	e.do(c, "POST", "/api/v1/team/users/"+ids["mike@company.com"]+"/sign-out", map[string]any{"reason": "Left the company"})
	p := e.page(c, "GET", "/admin/audit", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := navCurrent(p); got != "Team › Audit log" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.texts("table.audit-table thead th"); !slices.Equal(got, []string{"When", "Actor", "Action", "Target", "Reason", "IP", "Device"}) {
		t.Errorf("columns %q", got)
	}
	rows := p.all("table.audit-table tbody tr")
	if len(rows) != 19 { // with the demo API keys' creation
		t.Errorf("%d rows, want 19", len(rows))
	}
	var first []string
	for _, td := range within(rows[0], "td") {
		first = append(first, auditText(td))
	}
	if want := []string{"Just now", "admin@company.com", "Forced sign-out 1 session", "mike@company.com Mike Chen", "Left the company", "127.0.0.1", "Go-http-client/1.1"}; !slices.Equal(first, want) {
		t.Errorf("first row %q, want %q", first, want)
	}
	// A session is named by its client and place, not its id.
	var signIn []string
	for _, td := range within(rows[1], "td") {
		signIn = append(signIn, auditText(td))
	}
	if signIn[2] != "Signed in" || signIn[3] != "Go-http-client/1.1 Unknown location" {
		t.Errorf("sign-in row %q", signIn)
	}
	if len(p.all(".pager")) != 0 {
		t.Error("a pager for one page")
	}
	if got := p.texts("select#action option"); len(got) < 18 || got[0] != "Any action" || !slices.Contains(got, "Forced sign-out") {
		t.Errorf("actions %q", got)
	}
	if got := p.texts("select#actor option"); !slices.Equal(got, []string{"Anyone", "admin@company.com", "guest@agency.com",
		"mike@company.com", "sarah@company.com", "System (operator commands)"}) {
		t.Errorf("actors %q", got)
	}
	exports := p.all("a[download]")
	if len(exports) != 2 || textOf(exports[0]) != "Export CSV" || attr(exports[0], "href") != "/api/v1/audit/export?format=csv" ||
		textOf(exports[1]) != "Export JSON Lines" || attr(exports[1], "href") != "/api/v1/audit/export?format=jsonl" {
		t.Errorf("exports %v", exports)
	}
	if a := e.do(c, "GET", attr(exports[0], "href"), nil); a.status != http.StatusOK || !strings.HasPrefix(string(a.body), "id,at,actor") {
		t.Errorf("export link: %d", a.status)
	}

	// Filters.
	day := e.clock.Now().Format(time.DateOnly)
	f := e.page(c, "GET", "/admin/audit?actor=mike%40company.com&action=sign_in&from=2000-01-01&to="+day, nil).wantStatus(http.StatusOK)
	if n := len(f.all("table.audit-table tbody tr")); n != 1 {
		t.Errorf("filtered: %d rows", n)
	}
	if f.text("select#actor option[selected]") != "mike@company.com" || f.text("select#action option[selected]") != "Signed in" ||
		attr(f.one("input#from"), "value") != "2000-01-01" || attr(f.one("input#to"), "value") != day {
		t.Error("the filter does not show what it filters by")
	}
	tomorrow := e.clock.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	if got := attr(f.all("a[download]")[0], "href"); got != "/api/v1/audit/export?action=sign_in&actor=mike%40company.com&format=csv&since=2000-01-01&until="+tomorrow {
		t.Errorf("export keeps the filter: %q", got)
	}
	if got := e.page(c, "GET", "/admin/audit?from="+tomorrow, nil).wantStatus(http.StatusOK).text(".empty"); got != "No events match this filter. Clear it to see the whole log." {
		t.Errorf("empty %q", got)
	}
	for q, msg := range map[string]string{
		"from=yesterday":                "The From date is not a date.",
		"to=2024-02-30":                 "The To date is not a date.",
		"from=2024-02-02&to=2024-01-01": "The From date is after the To date.",
	} {
		bad := e.page(c, "GET", "/admin/audit?"+q, nil).wantStatus(http.StatusBadRequest)
		if got := bad.text(".alert-error"); !strings.HasPrefix(got, msg) {
			t.Errorf("%s: %q", q, got)
		}
		if len(bad.all("table.audit-table")) != 0 {
			t.Errorf("%s: rows shown for a broken filter", q)
		}
	}
}

func TestAuditPagePaging(t *testing.T) {
	e, c := demoEnv(t)
	for range 40 {
		e.do(c, "POST", "/api/v1/sessions/sign-out-others", nil)
	}
	p := e.page(c, "GET", "/admin/audit?action=other_sessions_revoked", nil).wantStatus(http.StatusOK)
	if n := len(p.all("table.audit-table tbody tr")); n != 40 || len(p.all(".pager")) != 0 {
		t.Errorf("%d rows on one page", n)
	}
	all := e.page(c, "GET", "/admin/audit", nil).wantStatus(http.StatusOK)
	if got := all.text(".pager-text"); got != "Showing 1–50 of 58 events" {
		t.Errorf("pager %q", got)
	}
	next := attr(all.one(".pager a[rel=next]"), "href")
	if next != "/admin/audit?page=2" {
		t.Errorf("next %q", next)
	}
	if n := len(e.page(c, "GET", next, nil).all("table.audit-table tbody tr")); n != 8 {
		t.Errorf("page 2: %d rows", n)
	}
}
