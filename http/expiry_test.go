package http_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/demo"
)

// TestSettingsEndSessionsForGood is the demo team through the real API: an
// admin sets the idle timeout to 1 day and the guest's four idle sessions
// end; setting it back to 7 days leaves them ended (4 -> 0 -> 0), and the
// audit log counts the sessions each change ended.
func TestSettingsEndSessionsForGood(t *testing.T) {
	e := newEnv(t)
	if _, err := demo.Seed(context.Background(), e.svc, password); err != nil {
		t.Fatal(err)
	}
	admin := e.browser()
	e.login(admin, "admin@company.com", false)
	guest := func(what string) (sessions, total int) {
		t.Helper()
		v := e.team(admin, "?user=guest%40agency.com")
		if len(v.Users) != 1 || v.Users[0].Email != "guest@agency.com" {
			t.Fatalf("%s: team view for the guest = %+v", what, v.Users)
		}
		return v.Users[0].Sessions, v.TotalActive
	}
	put := func(idle string) {
		t.Helper()
		a := e.do(admin, "PUT", "/api/v1/settings/sessions",
			map[string]any{"idle_timeout": idle, "remember_me_allowed": true, "remember_me_days": 30})
		if a.status != http.StatusOK {
			t.Fatalf("PUT settings %s: %d %s", idle, a.status, a.body)
		}
	}

	guestID := e.userIDs(admin)["guest@agency.com"]
	guestSessions := func() []session {
		t.Helper()
		a := e.do(admin, "GET", "/api/v1/team/users/"+guestID+"/sessions", nil)
		var v struct {
			Sessions []session `json:"sessions"`
		}
		a.decode(t, &v)
		if a.status != http.StatusOK || v.Sessions == nil {
			t.Fatalf("the guest's sessions: %d %s", a.status, a.body)
		}
		return v.Sessions
	}
	if n := len(guestSessions()); n != 4 {
		t.Fatalf("the guest's sessions at 7 days: %d, want 4", n)
	}

	// The demo's team: admin 3 + this sign-in, sarah 2, mike 1, guest 4.
	if n, total := guest("at 7 days"); n != 4 || total != 11 {
		t.Fatalf("at 7 days: guest %d sessions, %d active in all; want 4 and 11", n, total)
	}
	put("1d")
	// Ended: the guest's 4, the admin's two idle 3 and 4 days, mike's of 26 hours.
	if n, total := guest("at 1 day"); n != 0 || total != 4 {
		t.Fatalf("at 1 day: guest %d sessions, %d active in all; want 0 and 4", n, total)
	}
	e.clock.Advance(time.Minute)
	put("7d")
	if n, total := guest("back at 7 days"); n != 0 || total != 4 {
		t.Fatalf("back at 7 days: guest %d sessions, %d active in all; want 0 and 4: ended sessions came back", n, total)
	}
	if n := len(guestSessions()); n != 0 {
		t.Fatalf("the guest's sessions back at 7 days: %d, want none", n)
	}

	evs := e.audit(admin, "?action=settings_updated").Events
	if len(evs) != 2 || evs[0].Count != 0 || evs[1].Count != 7 {
		t.Fatalf("settings events = %+v, want two, newest first, counting 0 and 7 ended sessions", evs)
	}
	p := e.page(admin, "GET", "/admin/audit?action=settings_updated", nil).wantStatus(http.StatusOK)
	var actions []string
	for _, row := range p.all("table.audit-table tbody tr") {
		actions = append(actions, visibleText(within(row, "td")[2]))
	}
	if want := []string{"Changed session settings", "Changed session settings 7 sessions ended"}; !slices.Equal(actions, want) {
		t.Errorf("audit log actions %q, want %q", actions, want)
	}
}

// TestEndedSessionSaysWhy: the details of one of a person's own sessions
// that ended answer 404 saying why, on the page and in the API (with the
// 401's reason code); another person's session says nothing.
func TestEndedSessionSaysWhy(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	e.user("bob@acme.example", doorman.RoleMember)
	idle := e.login(nil, "ana@acme.example", false).Session.ID
	remembered := e.login(nil, "ana@acme.example", true).Session.ID
	bobs := e.login(nil, "bob@acme.example", false).Session.ID
	e.clock.Advance(2 * 24 * time.Hour)
	ana := e.browser()
	e.login(ana, "ana@acme.example", false)
	set := doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: true, RememberMeDays: 1, MembersSeeSessions: true}
	acct, err := e.store.FindAccountByName(context.Background(), "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateSettings(context.Background(), nil, acct.ID, set, app.Meta{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ id, reason, words string }{
		{idle, doorman.ReasonIdle, "This session no longer exists. Ended: idle timeout."},
		{remembered, doorman.ReasonExpired, "This session no longer exists. Ended: session lifetime."},
	} {
		v := e.do(ana, "GET", "/api/v1/sessions/"+tc.id, nil).wantError(t, http.StatusNotFound, doorman.ENOTFOUND)
		if v.Error.Reason != tc.reason || v.Error.Message != tc.words {
			t.Errorf("GET /api/v1/sessions/%s: reason %q, message %q; want %q, %q", tc.id, v.Error.Reason, v.Error.Message, tc.reason, tc.words)
		}
		p := e.page(ana, "GET", "/settings/security/sessions/"+tc.id, nil).wantStatus(http.StatusNotFound)
		if got := p.text("main"); !strings.Contains(got, tc.words) {
			t.Errorf("session page %s: %q, want it to say %q", tc.id, got, tc.words)
		}
	}
	v := e.do(ana, "GET", "/api/v1/sessions/"+bobs, nil).wantError(t, http.StatusNotFound, doorman.ENOTFOUND)
	if v.Error.Reason != "" || strings.Contains(v.Error.Message, "Ended") {
		t.Errorf("another person's session: %+v, want nothing said about it", v.Error)
	}
	p := e.page(ana, "GET", "/settings/security/sessions/"+bobs, nil).wantStatus(http.StatusNotFound)
	if got := p.text("main"); strings.Contains(got, "Ended") {
		t.Errorf("another person's session page says %q", got)
	}
}
