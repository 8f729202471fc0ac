package html_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

func TestAdminPagesRender(t *testing.T) {
	r, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	user := &pages.User{Name: "Alex Admin", Email: "admin@company.com", Account: "Company", Admin: true}
	l := pages.Layout{Title: "T", User: user, CSRF: "tok", RequestID: "rid", Flash: &pages.Flash{Kind: pages.FlashInfo, Text: "x <b>"}}
	u := &doorman.User{ID: "usr_1", Email: "guest@agency.com", Name: "Guest <b>", Role: doorman.RoleMember}
	last := now.Add(-3 * 24 * time.Hour)
	member := pages.NewTeamUser(u)
	sess := pages.NewSession(&doorman.Session{ID: "sess_01HMX0000000000000000000AA", CreatedAt: last, LastActiveAt: last},
		false, doorman.DefaultSettings(), now)
	row := pages.AuditRow{ID: "evt_1", When: pages.NewTime(now, now), Actor: pages.AuditLink{Text: "admin@company.com", Href: "/admin/team/usr_1"},
		Action: "Forced sign-out", Count: "4 sessions", Target: pages.AuditLink{Text: "guest<b>@agency.com", Sub: "Guest <b>", Note: "<b>"},
		Reason: "<b>", IP: "1.2.3.4<b>", Device: "Chrome on macOS", UserAgent: "Mozilla/5.0"}
	for _, p := range []pages.Page{
		&pages.TeamSessionsPage{Layout: l, TotalActive: "0"},
		&pages.TeamSessionsPage{Layout: l, Filter: "nobody@x.example", TotalActive: "0"},
		&pages.TeamSessionsPage{Layout: l, Users: []pages.Option{{Value: u.Email, Label: u.Email, Selected: true}},
			Rows: []pages.TeamRow{pages.NewTeamRow(u, 4, &last, now), pages.NewTeamRow(u, 0, nil, now)}, TotalActive: "1,234",
			Pager: pages.NewPager(2, 50, 1, 51, "users", pages.PathTeamSessions, nil)},
		&pages.TeamUserPage{Layout: l, Member: member},
		&pages.TeamUserPage{Layout: l, Member: member, Sessions: []pages.Session{sess}},
		&pages.ForceSignOutPage{Layout: l, Member: member, Active: 4, Ending: 4, Reason: "<b>", Error: "Enter a reason <b>"},
		&pages.ForceSignOutPage{Layout: l, Member: member, Active: 1, Ending: 0, Self: true},
		&pages.SignOutTeamPage{Layout: l, Sessions: 10, Users: []pages.TeamCount{{Email: "a@b.c", Sessions: 1}}, More: 3},
		&pages.SignOutTeamPage{Layout: l},
		&pages.SessionSettingsPage{Layout: l, Idle: []pages.IdleChoice{{Value: "7d", Label: "7 days", Checked: true, Expires: "7 days"}},
			RememberMeAllowed: true, RememberMeDays: "30", Expires: "7 days", Error: "<b>", ErrorField: "remember_me_days", MinDays: 1, MaxDays: 365},
		&pages.AuditPage{Layout: l},
		&pages.AuditPage{Layout: l, Filter: pages.AuditFilter{Action: "sign_in"}, Error: "The From date <b>"},
		&pages.AuditPage{Layout: l, Rows: []pages.AuditRow{row, {When: pages.NewTime(now, now)}}, ExportCSV: "/a?x=1&y=2"},
		&pages.AuditPage{Layout: l, Actions: pages.ActionGroups(doorman.ActionSignIn), Rows: []pages.AuditRow{row}},
		&pages.AuditEventPage{Layout: l, Event: row, Place: "Madrid <b>", Details: []pages.AuditFact{{Label: "<b>", Value: "<b>"}}},
		&pages.AuditEventPage{Layout: l, Event: pages.AuditRow{ID: "evt_2", When: pages.NewTime(now, now)}},
	} {
		var b bytes.Buffer
		if err := r.Render(&b, p); err != nil {
			t.Errorf("%T: %v", p, err)
			continue
		}
		if out := b.String(); strings.Contains(out, "<b>") || !strings.Contains(out, "</html>") {
			t.Errorf("%T: not a whole page, or text not escaped", p)
		}
	}
}

func TestNewPager(t *testing.T) {
	q := url.Values{"user": {"a@b.c"}, "page": {"2"}}
	for _, tt := range []struct {
		page, shown, total int
		text, prev, next   string
	}{
		{1, 0, 0, "", "", ""},
		{1, 3, 3, "Showing 1–3 of 3 users", "", ""},
		{1, 50, 51, "Showing 1–50 of 51 users", "", "/admin/sessions?page=2&user=a%40b.c"},
		{2, 1, 51, "Showing 51–51 of 51 users", "/admin/sessions?user=a%40b.c", ""},
		{3, 50, 1234, "Showing 101–150 of 1,234 users", "/admin/sessions?page=2&user=a%40b.c", "/admin/sessions?page=4&user=a%40b.c"},
	} {
		p := pages.NewPager(tt.page, 50, tt.shown, tt.total, "users", pages.PathTeamSessions, q)
		if p.Text() != tt.text || p.Prev != tt.prev || p.Next != tt.next || p.Paged() != (tt.prev != "" || tt.next != "") {
			t.Errorf("page %d of %d: %q prev %q next %q", tt.page, tt.total, p.Text(), p.Prev, p.Next)
		}
	}
	if p := pages.NewPager(2, 50, 1, 51, "users", pages.PathTeamSessions, nil); p.Prev != pages.PathTeamSessions {
		t.Errorf("prev to page 1: %q", p.Prev)
	}
}

func TestNewTeamRow(t *testing.T) {
	u := &doorman.User{ID: "usr_1", Email: "a@b.c", Role: doorman.RoleAdmin}
	just := now.Add(-time.Minute)
	if r := pages.NewTeamRow(u, 1234, &just, now); r.Sessions != "1,234" || !r.ActiveNow || !r.User.Admin || r.LastActive == nil {
		t.Errorf("active now: %+v", r)
	}
	old := now.Add(-26 * time.Hour)
	if r := pages.NewTeamRow(u, 1, &old, now); r.ActiveNow || r.LastActive.Relative != "Yesterday" {
		t.Errorf("yesterday: %+v", r)
	}
	if r := pages.NewTeamRow(u, 0, nil, now); r.LastActive != nil || r.Sessions != "0" {
		t.Errorf("none: %+v", r)
	}
}
