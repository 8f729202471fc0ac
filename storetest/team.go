package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var teamTests = []test{
	{"Members", testTeamMembers},
	{"FilterByEmail", testTeamFilterEmail},
	{"Paging", testTeamPaging},
	{"Ties", testTeamTies},
	{"FewUsersOwnRecentSessions", testTeamFewUsers},
	{"AgreesWithFindSessions", testTeamAgrees},
	{"UnknownAccount", testTeamUnknownAccount},
}

// teamRow is what the suite compares of a TeamMember.
type teamRow struct {
	email    string
	sessions int
	last     string // fmtTime, or "none"
}

func (r teamRow) String() string { return fmt.Sprintf("%s:%d@%s", r.email, r.sessions, r.last) }

func teamRows(list []doorman.TeamMember) []teamRow {
	out := make([]teamRow, len(list))
	for i, m := range list {
		out[i] = teamRow{email: m.User.Email, sessions: m.Sessions, last: "none"}
		if m.LastActiveAt != nil {
			out[i].last = fmtTime(*m.LastActiveAt)
		}
	}
	return out
}

func row(email string, sessions int, last *time.Time) teamRow {
	r := teamRow{email: email, sessions: sessions, last: "none"}
	if last != nil {
		r.last = fmtTime(*last)
	}
	return r
}

// team returns FindTeamMembers or fails.
func (e *env) team(accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter) ([]doorman.TeamMember, int, int) {
	e.tb.Helper()
	list, users, active, err := e.s.FindTeamMembers(e.ctx, accountID, w, f)
	if err != nil {
		e.tb.Fatalf("FindTeamMembers(%+v): %v", f, err)
	}
	return list, users, active
}

// wantTeam compares a page of the team view and its totals.
func wantTeam(t *testing.T, what string, list []doorman.TeamMember, users, active int, want []teamRow, wantUsers, wantActive int) {
	t.Helper()
	got := teamRows(list)
	if !slices.Equal(got, want) || users != wantUsers || active != wantActive {
		t.Errorf("%s:\n\tgot  %v (users %d, active %d)\n\twant %v (users %d, active %d)", what, got, users, active, want, wantUsers, wantActive)
	}
}

// teamEnv is the user guide's team in account Company, with sessions the
// window must leave out, beside account Agency whose users and sessions
// must never count, one of them with an email also in Company.
type teamEnv struct {
	*env
	a, b                    *doorman.Account
	w                       *doorman.ActiveWindow
	admin, sarah, mike, gst *doorman.User
	nobody                  *doorman.User // no session at all
	expired                 *doorman.User // only sessions the window leaves out
	lastAdmin, lastSarah    time.Time
	lastMike, lastGuest     time.Time
}

func newTeamEnv(t *testing.T, open opener) *teamEnv {
	e := &teamEnv{env: newEnv(t, open)}
	e.a = e.account("Company", doorman.DefaultSettings())
	e.b = e.account("Agency", doorman.DefaultSettings())
	e.w = doorman.Window(e.a.Settings, Base)
	e.admin = e.user(e.a, "admin@company.com")
	e.sarah = e.user(e.a, "sarah@company.com")
	e.mike = e.user(e.a, "mike@company.com")
	e.gst = e.user(e.a, "guest@agency.com")
	e.nobody = e.user(e.a, "zed@company.com")
	e.expired = e.user(e.a, "amy@company.com")
	mk := func(u *doorman.User, last time.Duration, edit func(*doorman.Session)) *doorman.Session {
		return e.session(u, func(s *doorman.Session) {
			s.CreatedAt, s.LastActiveAt = at(last-time.Hour), at(last)
			if edit != nil {
				edit(s)
			}
		})
	}
	e.lastAdmin, e.lastSarah, e.lastMike, e.lastGuest = at(-us), at(-time.Hour), at(-26*time.Hour), at(-3*day)
	// admin: 3 active, the latest one microsecond ago.
	mk(e.admin, -us, nil)
	mk(e.admin, -2*day, nil)
	mk(e.admin, -4*day, nil)
	// sarah: 2 active; a revoked session more recent than both.
	mk(e.sarah, -time.Hour, nil)
	mk(e.sarah, -5*time.Hour, nil)
	revoked := mk(e.sarah, -time.Minute, nil)
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: e.a.ID, SessionID: revoked.ID},
		doorman.Revocation{At: at(-time.Minute), By: e.sarah.ID, Reason: doorman.ReasonSignedOut}, nil)
	ok(t, err, "RevokeSessions")
	// mike: 1 active; one idle exactly the idle timeout (over).
	mk(e.mike, -26*time.Hour, nil)
	mk(e.mike, -7*day, nil)
	// guest: 4 active, one of them remembered and idle for 20 days.
	mk(e.gst, -3*day, nil)
	mk(e.gst, -3*day-2*time.Hour, nil)
	mk(e.gst, -4*day, nil)
	mk(e.gst, -20*day, func(s *doorman.Session) {
		s.RememberMe, s.CreatedAt, s.ExpiresAt = true, at(-25*day), ptr(at(5*day))
	})
	// amy: past her absolute end a microsecond ago; remembered too long ago.
	mk(e.expired, -time.Minute, func(s *doorman.Session) { s.ExpiresAt = ptr(at(-us)) })
	mk(e.expired, -time.Minute, func(s *doorman.Session) { s.RememberMe, s.CreatedAt = true, at(-30*day) })
	// Agency: more recent than anyone in Company, and a guest@agency.com of its own.
	other := e.user(e.b, "guest@agency.com")
	eve := e.user(e.b, "eve@agency.com")
	for range 3 {
		mk(other, 0, nil)
		mk(eve, 0, nil)
	}
	return e
}

// guide is the team view of newTeamEnv: the guide's drawing, then the users
// without an active session by email.
func (e *teamEnv) guide() []teamRow {
	return []teamRow{
		row("admin@company.com", 3, &e.lastAdmin),
		row("sarah@company.com", 2, &e.lastSarah),
		row("mike@company.com", 1, &e.lastMike),
		row("guest@agency.com", 4, &e.lastGuest),
		row("amy@company.com", 0, nil),
		row("zed@company.com", 0, nil),
	}
}

func testTeamMembers(t *testing.T, open opener) {
	e := newTeamEnv(t, open)
	list, users, active := e.team(e.a.ID, e.w, doorman.TeamFilter{})
	wantTeam(t, "FindTeamMembers(every user)", list, users, active, e.guide(), 6, 10)
	for _, m := range list {
		if m.User.AccountID != e.a.ID {
			t.Errorf("FindTeamMembers listed %s of account %s", m.User.Email, m.User.AccountID)
		}
		if m.User.Email == "admin@company.com" {
			diffUser(m.User, e.admin).report(t, "FindTeamMembers user")
		}
	}
	list, users, active = e.team(e.a.ID, e.w, doorman.TeamFilter{Limit: 50})
	wantTeam(t, "FindTeamMembers(Limit 50)", list, users, active, e.guide(), 6, 10)

	list, users, active = e.team(e.b.ID, e.w, doorman.TeamFilter{Limit: 50})
	if users != 2 || active != 6 || len(list) != 2 || list[0].Sessions != 3 || list[1].Sessions != 3 {
		t.Errorf("FindTeamMembers(Agency) = %v (users %d, active %d), want its 2 users with 3 sessions each", teamRows(list), users, active)
	}
}

func testTeamFilterEmail(t *testing.T, open opener) {
	e := newTeamEnv(t, open)
	// The total stays the account's, whatever the filter.
	list, users, active := e.team(e.a.ID, e.w, doorman.TeamFilter{Email: "guest@agency.com", Limit: 50})
	wantTeam(t, "FindTeamMembers(guest@agency.com)", list, users, active,
		[]teamRow{row("guest@agency.com", 4, &e.lastGuest)}, 1, 10)
	if len(list) == 1 && list[0].User.ID != e.gst.ID {
		t.Errorf("FindTeamMembers(guest@agency.com) found user %s of account %s, want %s of Company",
			list[0].User.ID, list[0].User.AccountID, e.gst.ID)
	}
	list, users, active = e.team(e.a.ID, e.w, doorman.TeamFilter{Email: "zed@company.com", Limit: 50})
	wantTeam(t, "FindTeamMembers(user without sessions)", list, users, active, []teamRow{row("zed@company.com", 0, nil)}, 1, 10)
	list, users, active = e.team(e.a.ID, e.w, doorman.TeamFilter{Email: "eve@agency.com", Limit: 50})
	wantTeam(t, "FindTeamMembers(another account's email)", list, users, active, nil, 0, 10)
	list, users, active = e.team(e.a.ID, e.w, doorman.TeamFilter{Email: "sarah@company.com", Limit: 1, Offset: 1})
	wantTeam(t, "FindTeamMembers(email, past its one row)", list, users, active, nil, 1, 10)
}

func testTeamPaging(t *testing.T, open opener) {
	e := newTeamEnv(t, open)
	guide := e.guide()
	cases := []struct{ limit, offset int }{
		{1, 0}, {2, 0}, {2, 1}, {3, 3}, {2, 4}, {4, 4}, {1, 5}, {50, 2}, {1, 6}, {10, 100}, {0, 2},
	}
	for _, c := range cases {
		want := guide[min(c.offset, len(guide)):]
		if c.limit > 0 && len(want) > c.limit {
			want = want[:c.limit]
		}
		list, users, active := e.team(e.a.ID, e.w, doorman.TeamFilter{Limit: c.limit, Offset: c.offset})
		wantTeam(t, fmt.Sprintf("FindTeamMembers(Limit %d, Offset %d)", c.limit, c.offset), list, users, active, want, 6, 10)
	}
}

// testTeamTies checks that users whose latest activity is the same instant
// come by email, also at the edge of the recent sessions a page is ranked
// from.
func testTeamTies(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	w := doorman.Window(a.Settings, Base)
	var want []teamRow
	// Twelve users, active at three instants, four at each; emails in reverse order of creation.
	for i := range 12 {
		u := e.user(a, fmt.Sprintf("u%02d@example.com", 11-i))
		last := at(-time.Duration(i/4) * time.Hour)
		e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-day), last })
		e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-day), last.Add(-time.Minute) })
		want = append(want, row(u.Email, 2, &last))
	}
	slices.SortFunc(want, func(x, y teamRow) int {
		return cmpOr(strings.Compare(y.last, x.last), strings.Compare(x.email, y.email))
	})
	for _, c := range []struct{ limit, offset int }{{1, 0}, {3, 0}, {5, 0}, {1, 4}, {2, 3}, {6, 5}, {4, 8}, {12, 0}} {
		list, users, active := e.team(a.ID, w, doorman.TeamFilter{Limit: c.limit, Offset: c.offset})
		end := min(c.offset+c.limit, len(want))
		wantTeam(t, fmt.Sprintf("FindTeamMembers(Limit %d, Offset %d) with ties", c.limit, c.offset), list, users, active,
			want[c.offset:end], 12, 24)
	}
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// testTeamFewUsers has one user own every recent session, so that the
// users of a page are not all among the most recent sessions.
func testTeamFewUsers(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	w := doorman.Window(a.Settings, Base)
	busy := e.user(a, "busy@example.com")
	for i := range 60 {
		e.session(busy, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-day), at(-time.Duration(i)*time.Second) })
	}
	lastBusy := Base
	want := []teamRow{row(busy.Email, 60, &lastBusy)}
	for i := range 5 {
		u := e.user(a, fmt.Sprintf("quiet%d@example.com", i))
		last := at(-time.Duration(i+1) * time.Hour)
		e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-day), last })
		want = append(want, row(u.Email, 1, &last))
	}
	e.user(a, "idle@example.com")
	want = append(want, row("idle@example.com", 0, nil))
	for _, c := range []struct{ limit, offset int }{{3, 0}, {2, 2}, {2, 5}, {7, 0}} {
		list, users, active := e.team(a.ID, w, doorman.TeamFilter{Limit: c.limit, Offset: c.offset})
		end := min(c.offset+c.limit, len(want))
		wantTeam(t, fmt.Sprintf("FindTeamMembers(Limit %d, Offset %d), one user owning the recent sessions", c.limit, c.offset),
			list, users, active, want[c.offset:end], 7, 65)
	}
}

// testTeamAgrees checks, for several settings and instants, that every
// user's count and latest activity are those of FindSessions with the same
// window, and the total the account's.
func testTeamAgrees(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	instants := []time.Duration{-31 * day, -30 * day, -8 * day, -7 * day, -7*day + us, -day - us, -day, -time.Hour, 0}
	var users []*doorman.User
	for i := range 6 {
		u := e.user(a, fmt.Sprintf("user%d@example.com", i))
		users = append(users, u)
		for j, last := range instants {
			if (i+j)%3 == 0 {
				continue
			}
			remember := (i*j)%4 == 1
			e.session(u, func(s *doorman.Session) {
				s.CreatedAt, s.LastActiveAt, s.RememberMe = at(last-time.Duration(i)*time.Hour), at(last), remember
				if j%4 == 2 {
					s.ExpiresAt = ptr(at(day))
				}
			})
		}
	}
	settings := []doorman.Settings{
		{IdleTimeout: doorman.Idle7Days, RememberMeAllowed: true, RememberMeDays: 30},
		{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: false, RememberMeDays: 30},
		{IdleTimeout: doorman.IdleNever, RememberMeAllowed: true, RememberMeDays: 1},
		{IdleTimeout: doorman.Idle30Days, RememberMeAllowed: true, RememberMeDays: 365},
	}
	for _, set := range settings {
		for _, now := range []time.Time{Base, at(day), at(8 * day)} {
			w := doorman.Window(set, now)
			_, wantActive := e.sessions(doorman.SessionFilter{AccountID: a.ID, Active: w})
			for _, limit := range []int{0, 2} {
				list, n, active := e.team(a.ID, w, doorman.TeamFilter{Limit: limit})
				if n != len(users) || active != wantActive {
					t.Errorf("settings %+v, now %s, Limit %d: users %d, active %d; want %d, %d",
						set, fmtTime(now), limit, n, active, len(users), wantActive)
				}
				for _, m := range list {
					ss, _ := e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: m.User.ID, Active: w})
					want := row(m.User.Email, len(ss), nil)
					if len(ss) > 0 {
						want = row(m.User.Email, len(ss), &ss[0].LastActiveAt)
					}
					if got := teamRows([]doorman.TeamMember{m})[0]; got != want {
						t.Errorf("settings %+v, now %s: team row %v, FindSessions says %v", set, fmtTime(now), got, want)
					}
				}
			}
		}
	}
}

func testTeamUnknownAccount(t *testing.T, open opener) {
	e := newTeamEnv(t, open)
	list, users, active := e.team("acc_missing", e.w, doorman.TeamFilter{Limit: 50})
	wantTeam(t, "FindTeamMembers(unknown account)", list, users, active, nil, 0, 0)
}
