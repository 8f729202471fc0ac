package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var historyTests = []test{
	{"FirstAddress", testHistoryFirst},
	{"TouchUpserts", testHistoryTouch},
	{"Order", testHistoryOrder},
	{"Scoped", testHistoryScoped},
	{"PurgeCascades", testHistoryPurge},
}

var (
	madrid = doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Telefonica de Espana", Latitude: 40.4165, Longitude: -3.7026}
	london = doorman.Location{City: "London", Region: "England", Country: "United Kingdom", CountryCode: "GB", ISP: "Andrews & Arnold Ltd", Latitude: 51.5085, Longitude: -0.1257}
	berlin = doorman.Location{City: "Berlin", Region: "Berlin", Country: "Germany", CountryCode: "DE", ISP: "Strato AG", Latitude: 52.5244, Longitude: 13.4105}
)

// history returns FindSessionIPs(accountID, id) or fails.
func (e *env) history(accountID, id string) []*doorman.SessionIP {
	e.tb.Helper()
	list, err := e.s.FindSessionIPs(e.ctx, accountID, id)
	if err != nil {
		e.tb.Fatalf("FindSessionIPs(%q, %q): %v", accountID, id, err)
	}
	if list == nil {
		e.tb.Errorf("FindSessionIPs(%q, %q) = nil, want a list (empty when there is nothing)", accountID, id)
	}
	return list
}

func fmtHistory(list []*doorman.SessionIP) string {
	var b strings.Builder
	for _, r := range list {
		fmt.Fprintf(&b, "\n\t%s %+v first %s last %s", r.IP, r.Location, fmtTime(r.FirstSeen), fmtTime(r.LastSeen))
	}
	return b.String()
}

// wantHistory compares a session's address history with want, in order.
func (e *env) wantHistory(t *testing.T, s *doorman.Session, what string, want ...doorman.SessionIP) {
	t.Helper()
	got := e.history(s.AccountID, s.ID)
	same := len(got) == len(want)
	for i := 0; same && i < len(want); i++ {
		g, w := got[i], want[i]
		same = g.IP == w.IP && g.Location == w.Location && g.FirstSeen.Equal(w.FirstSeen) && g.LastSeen.Equal(w.LastSeen)
	}
	if !same {
		wp := make([]*doorman.SessionIP, len(want))
		for i := range want {
			wp[i] = &want[i]
		}
		t.Errorf("%s: history%s\nwant%s", what, fmtHistory(got), fmtHistory(wp))
	}
}

func testHistoryFirst(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, func(s *doorman.Session) {
		s.CreatedAt, s.LastActiveAt, s.IP, s.Location = at(7*us), at(7*us), "83.45.123.78", madrid
	})
	e.wantHistory(t, s, "after CreateSession", doorman.SessionIP{IP: "83.45.123.78", Location: madrid, FirstSeen: at(7 * us), LastSeen: at(7 * us)})
	local := e.session(u, func(s *doorman.Session) { s.IP, s.Location = "192.168.1.50", doorman.Location{Local: true} })
	e.wantHistory(t, local, "local address", doorman.SessionIP{IP: "192.168.1.50", Location: doorman.Location{Local: true}, FirstSeen: Base, LastSeen: Base})
	// A session without an address has an empty history, not an error.
	none := e.session(u, func(s *doorman.Session) { s.IP, s.Location = "", doorman.Location{} })
	e.wantHistory(t, none, "session without an address")
}

func testHistoryTouch(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, func(s *doorman.Session) { s.IP, s.Location = "83.45.123.78", madrid })
	bystander := e.session(u, func(s *doorman.Session) { s.IP, s.Location = "83.45.123.78", madrid })
	want := *s
	step := func(what string, tc doorman.Touch, history ...doorman.SessionIP) {
		t.Helper()
		ok(t, e.s.TouchSession(e.ctx, s.ID, tc), "TouchSession "+what)
		diffSession(e.sessionByID(s.ID), &want).report(t, "session after TouchSession "+what)
		e.wantHistory(t, s, what, history...)
	}
	first := doorman.SessionIP{IP: "83.45.123.78", Location: madrid, FirstSeen: Base}

	// The same address again: last seen moves, first seen stays, the place too.
	first.LastSeen = at(time.Minute)
	want.LastActiveAt, want.Activity.Actions = at(time.Minute), 3
	step("same address", doorman.Touch{At: at(time.Minute), IP: "83.45.123.78", Location: &madrid, Actions: 3}, first)

	// A new address with its place: the session moves, the history grows.
	second := doorman.SessionIP{IP: "81.2.69.142", Location: london, FirstSeen: at(2 * time.Minute), LastSeen: at(2 * time.Minute)}
	want.LastActiveAt, want.IP, want.Location, want.Activity.Actions = at(2*time.Minute), "81.2.69.142", london, 4
	step("new address", doorman.Touch{At: at(2 * time.Minute), IP: "81.2.69.142", Location: &london, Actions: 1}, second, first)

	// A late write from a slower node moves no time back; its address and
	// place are written as every touch's are.
	first.LastSeen = at(90 * time.Second)
	want.IP, want.Location = "83.45.123.78", madrid
	step("late write of the first address", doorman.Touch{At: at(90 * time.Second), IP: "83.45.123.78", Location: &madrid}, second, first)

	// An address without a place keeps the session's place and the row's.
	second.LastSeen = at(3 * time.Minute)
	want.LastActiveAt, want.IP = at(3*time.Minute), "81.2.69.142"
	step("known address without a place", doorman.Touch{At: at(3 * time.Minute), IP: "81.2.69.142"}, second, first)
	// A new one gets an empty place in the history.
	third := doorman.SessionIP{IP: "9.9.9.9", FirstSeen: at(4 * time.Minute), LastSeen: at(4 * time.Minute)}
	want.LastActiveAt, want.IP = at(4*time.Minute), "9.9.9.9"
	step("new address without a place", doorman.Touch{At: at(4 * time.Minute), IP: "9.9.9.9"}, third, second, first)

	// A place for the same address (a newer database) replaces the row's.
	third.Location, third.LastSeen = berlin, at(5*time.Minute)
	want.LastActiveAt, want.Location = at(5*time.Minute), berlin
	step("place for a known address", doorman.Touch{At: at(5 * time.Minute), IP: "9.9.9.9", Location: &berlin}, third, second, first)

	// A zero At is seen at the session's last activity; a tie in last seen
	// is ordered by address.
	want.IP, want.Location = "192.168.1.50", doorman.Location{Local: true}
	fourth := doorman.SessionIP{IP: "192.168.1.50", Location: doorman.Location{Local: true}, FirstSeen: at(5 * time.Minute), LastSeen: at(5 * time.Minute)}
	step("zero At", doorman.Touch{IP: "192.168.1.50", Location: &doorman.Location{Local: true}}, fourth, third, second, first)

	// No address: the history does not change, whatever else does.
	want.LastActiveAt, want.Activity.LastPage = at(6*time.Minute), "Settings"
	step("no address", doorman.Touch{At: at(6 * time.Minute), LastPage: "Settings"}, fourth, third, second, first)

	// A place without an address changes the session only.
	want.Location = london
	step("place without an address", doorman.Touch{At: at(6 * time.Minute), Location: &london}, fourth, third, second, first)

	diffSession(e.sessionByID(bystander.ID), bystander).report(t, "other session after the touches")
	e.wantHistory(t, bystander, "other session", doorman.SessionIP{IP: "83.45.123.78", Location: madrid, FirstSeen: Base, LastSeen: Base})
}

func testHistoryOrder(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, func(s *doorman.Session) { s.IP, s.Location = "83.45.123.78", madrid })
	// Addresses last seen at the same instant come in byte order of the
	// address ("10…" before "9…"), whatever the database's collation.
	for _, ip := range []string{"9.0.0.1", "2a02:8100::1", "10.0.0.2", "100.0.0.1"} {
		ok(t, e.s.TouchSession(e.ctx, s.ID, doorman.Touch{At: at(time.Minute), IP: ip}), "TouchSession "+ip)
	}
	seen := func(ip string) doorman.SessionIP {
		return doorman.SessionIP{IP: ip, FirstSeen: at(time.Minute), LastSeen: at(time.Minute)}
	}
	e.wantHistory(t, s, "addresses seen at once",
		seen("10.0.0.2"), seen("100.0.0.1"), seen("2a02:8100::1"), seen("9.0.0.1"),
		doorman.SessionIP{IP: "83.45.123.78", Location: madrid, FirstSeen: Base, LastSeen: Base})
}

func testHistoryScoped(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	sa := e.session(e.user(a, "ana@example.com"), func(s *doorman.Session) { s.IP, s.Location = "83.45.123.78", madrid })
	sb := e.session(e.user(b, "bo@example.com"), func(s *doorman.Session) { s.IP, s.Location = "81.2.69.142", london })

	_, err := e.s.FindSessionIPs(e.ctx, b.ID, sa.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionIPs(account B, session of A)")
	_, err = e.s.FindSessionIPs(e.ctx, a.ID, "sess_missing")
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionIPs(unknown session)")
	_, err = e.s.FindSessionIPs(e.ctx, "", "sess_missing")
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionIPs(any account, unknown session)")
	none := e.session(e.user(a, "cy@example.com"), func(s *doorman.Session) { s.IP, s.Location = "", doorman.Location{} })
	_, err = e.s.FindSessionIPs(e.ctx, b.ID, none.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionIPs(account B, session of A without addresses)")

	if got := e.history("", sb.ID); len(got) != 1 || got[0].IP != "81.2.69.142" {
		t.Errorf("FindSessionIPs(any account) =%s, want B's one address", fmtHistory(got))
	}
	if got := e.history(a.ID, sa.ID); len(got) != 1 || got[0].IP != "83.45.123.78" || got[0].Location != madrid {
		t.Errorf("FindSessionIPs(own account) =%s, want A's one address", fmtHistory(got))
	}
}

func testHistoryPurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	gone := e.session(u, func(s *doorman.Session) { keyed("laptop", 0)(s); s.ExpiresAt = ptr(at(time.Hour)) })
	ok(t, e.s.TouchSession(e.ctx, gone.ID, doorman.Touch{At: at(time.Minute), IP: "81.2.69.142", Location: &london}), "TouchSession")
	kept := e.session(u, func(s *doorman.Session) { s.ExpiresAt = ptr(at(3 * time.Hour)) })
	n, err := e.s.PurgeSessions(e.ctx, at(2*time.Hour), 10)
	ok(t, err, "PurgeSessions")
	if n != 1 {
		t.Fatalf("PurgeSessions = %d, want 1", n)
	}
	// Rows left behind would be found: the history is scoped by its own
	// account column, not by the session's.
	_, err = e.s.FindSessionIPs(e.ctx, a.ID, gone.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionIPs(purged session)")
	_, err = e.s.FindSessionIPs(e.ctx, "", gone.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionIPs(any account, purged session)")
	e.wantHistory(t, kept, "session kept by the purge", doorman.SessionIP{IP: kept.IP, Location: kept.Location, FirstSeen: Base, LastSeen: Base})
	// A purged session's id may be stored again, with a history of its own.
	again := e.session(u, func(s *doorman.Session) { s.ID, s.IP, s.Location = gone.ID, "85.214.132.117", berlin })
	e.wantHistory(t, again, "session stored under a purged id", doorman.SessionIP{IP: "85.214.132.117", Location: berlin, FirstSeen: Base, LastSeen: Base})
}
