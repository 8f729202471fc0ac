package http_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/doorman/doorman"
)

func TestTeamPeoplePage(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/admin/team", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "People" {
		t.Errorf("h1 %q", got)
	}
	if got := navCurrent(p); got != "Team › People" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.texts("table.people-table thead th"); !slices.Equal(got, []string{"User", "Role", "Status", "2FA", "Last Active", "Sessions", "Actions"}) {
		t.Errorf("columns %q", got)
	}
	rows := map[string][]string{}
	for _, tr := range p.all("table.people-table tbody tr") {
		var cells []string
		for _, td := range within(tr, "td") {
			cells = append(cells, textOf(td))
		}
		email := textOf(within(tr, "th a")[0])
		rows[email] = cells
	}
	if got := rows["admin@company.com"]; len(got) < 3 || got[0] != "Admin" || got[1] != "Active" {
		t.Errorf("admin row %q", got)
	}
	if got := rows["mike@company.com"]; len(got) < 3 || got[0] != "Member" || got[1] != "Active" {
		t.Errorf("mike row %q", got)
	}
	// Members are refused.
	m := e.browser()
	e.signIn(m, "mike@company.com", false, "")
	e.page(m, "GET", "/admin/team", nil).wantStatus(http.StatusForbidden)
}

// TestInvitePageFlow invites through the page (no SMTP: the link is shown
// to hand over), opens the link in another browser, sets a password there
// and lands signed in; the link then no longer works.
func TestInvitePageFlow(t *testing.T) {
	e, c := demoEnv(t)
	form := e.page(c, "GET", "/admin/team/invite", nil).wantStatus(http.StatusOK).one("form[action=/admin/team/invite]")
	v := formValues(form)
	v.Set("email", "mike@company.com")
	bad := e.page(c, "POST", "/admin/team/invite", v).wantStatus(http.StatusConflict)
	if !strings.Contains(bad.text(".alert-error"), "already has a user") {
		t.Errorf("duplicate email error %q", bad.text(".alert-error"))
	}
	v.Set("email", "new@company.com")
	v.Set("role", "member")
	done := e.page(c, "POST", "/admin/team/invite", v).wantStatus(http.StatusOK)
	if done.header.Get("Referrer-Policy") != "no-referrer" || done.header.Get("Cache-Control") != "no-store" {
		t.Errorf("invitation page headers %v", done.header)
	}
	link := attr(done.one("input[data-secret]"), "value")
	if !strings.HasPrefix(link, e.srv.URL+"/invite/") {
		t.Fatalf("link %q", link)
	}
	path := strings.TrimPrefix(link, e.srv.URL)

	nb := e.browser()
	open := e.page(nb, "GET", path, nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, open)
	if open.header.Get("Referrer-Policy") != "no-referrer" || attr(open.one("meta[name=referrer]"), "content") != "no-referrer" {
		t.Errorf("invitation link page sends a Referer: %v", open.header.Get("Referrer-Policy"))
	}
	if got := open.text("h1"); got != "Join Company" {
		t.Errorf("h1 %q", got)
	}
	af := formValues(open.one("form"))
	af.Set("name", "Nora New")
	af.Set("password", "short")
	short := e.page(nb, "POST", path, af).wantStatus(http.StatusBadRequest)
	if !strings.Contains(short.text(".alert-error"), "at least 12 characters") {
		t.Errorf("short password error %q", short.text(".alert-error"))
	}
	af.Set("password", "nora's long passphrase")
	// Without the form token, nothing.
	e.page(nb, "POST", path, url.Values{"password": {"nora's long passphrase"}}).wantStatus(http.StatusForbidden)
	e.page(nb, "POST", path, af).wantRedirect("/settings/security/sessions")
	home := e.page(nb, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if got := home.text(".who-detail"); !strings.HasPrefix(got, "new@company.com") {
		t.Errorf("signed in as %q", got)
	}
	gone := e.page(e.browser(), "GET", path, nil).wantStatus(http.StatusBadRequest)
	if got := gone.text("h1"); got != "Invitation link not valid" {
		t.Errorf("used link h1 %q", got)
	}
	list := e.page(c, "GET", "/admin/team", nil).wantStatus(http.StatusOK)
	found := false
	for _, tr := range list.all("table.people-table tbody tr") {
		if textOf(within(tr, "th a")[0]) == "new@company.com" {
			found = true
			if got := textOf(within(tr, "td")[1]); got != "Active" {
				t.Errorf("new member's status %q", got)
			}
		}
	}
	if !found {
		t.Error("the new member is not listed")
	}
	if strings.Contains(e.logs.String(), strings.TrimPrefix(path, "/invite/")) {
		t.Error("the invitation token is in the logs")
	}
}

// TestDisablePersonPage disables a member from their page: without a
// reason nothing happens; with one the member's browser is signed out at
// its next request.
func TestDisablePersonPage(t *testing.T) {
	e, c := demoEnv(t)
	mike := e.browser()
	e.signIn(mike, "mike@company.com", false, "")
	id := ""
	for _, u := range e.teamUsers(c) {
		if u.Email == "mike@company.com" {
			id = u.UserID
		}
	}
	p := e.page(c, "GET", "/admin/team/"+id, nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, p)
	// The GET of an action's path shows the page; an unknown action is 404.
	e.page(c, "GET", "/admin/team/"+id+"/disable", nil).wantStatus(http.StatusOK)
	e.page(c, "GET", "/admin/team/"+id+"/explode", nil).wantStatus(http.StatusNotFound)
	form := p.one("form[action=/admin/team/" + id + "/disable]")
	if got := within(form, ".confirm-actions .btn"); len(got) != 2 || textOf(got[0]) != "Cancel" {
		t.Errorf("disable buttons: Cancel first")
	}
	v := formValues(form)
	v.Set("reason", " ")
	e.page(c, "POST", "/admin/team/"+id+"/disable", v).wantRedirect("/admin/team/" + id)
	if flash := e.page(c, "GET", "/admin/team/"+id, nil).text(".alert-error"); !strings.Contains(flash, "Reason is required. Nothing was changed.") {
		t.Errorf("flash %q", flash)
	}
	e.page(mike, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	v.Set("reason", "Laptop stolen")
	e.page(c, "POST", "/admin/team/"+id+"/disable", v).wantRedirect("/admin/team")
	e.page(mike, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
	after := e.page(c, "GET", "/admin/team/"+id, nil).wantStatus(http.StatusOK)
	if got := after.text(".page-head .status"); got != "Disabled" {
		t.Errorf("status %q after disabling", got)
	}
	// The last admin cannot demote themselves.
	var adminID string
	for _, u := range e.teamUsers(c) {
		if u.Role == string(doorman.RoleAdmin) && u.Email == "admin@company.com" {
			adminID = u.UserID
		}
	}
	rv := formValues(e.page(c, "GET", "/admin/team/"+adminID, nil).one("form[action=/admin/team/" + adminID + "/role]"))
	rv.Set("role", "member")
	rv.Set("reason", "stepping down")
	e.page(c, "POST", "/admin/team/"+adminID+"/role", rv).wantRedirect("/admin/team/" + adminID)
	if flash := e.page(c, "GET", "/admin/team/"+adminID, nil).text(".alert-error"); !strings.Contains(flash, "last active administrator") {
		t.Errorf("flash %q", flash)
	}
}
