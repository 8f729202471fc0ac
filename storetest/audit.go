package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var auditTests = []test{
	{"RoundTrip", testAuditRoundTrip},
	{"Order", testAuditOrder},
	{"Filters", testAuditFilters},
	{"Paging", testAuditPaging},
	{"Atomic", testAuditAtomic},
	{"PurgeByAge", testAuditPurge},
}

func testAuditRoundTrip(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	full := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, Base), AccountID: a.ID, At: at(-17 * us),
		ActorID: "usr_01", Actor: "ana@example.com", Action: doorman.ActionTeamSessionsRevoked, Target: "Acme",
		Reason: "security review", IP: "2001:db8::2", UserAgent: "Mozilla/5.0", Count: 12,
		Details: "idle_timeout=7d->1d remember_me_allowed=true->false"}
	anonymous := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, Base), At: at(-16 * us),
		Action: doorman.ActionSignInFailed, Target: "nobody@example.com", IP: "203.0.113.50"}
	ok(t, e.s.CreateAuditEvent(e.ctx, full), "CreateAuditEvent")
	ok(t, e.s.CreateAuditEvent(e.ctx, anonymous), "CreateAuditEvent(no account)")

	list, n := e.audits(doorman.AuditFilter{AccountID: a.ID})
	if n != 1 || len(list) != 1 {
		t.Fatalf("FindAuditEvents(account) = %v (total %d), want the account's event", eventIDs(list), n)
	}
	diffEvent(list[0], full).report(t, "audit event")

	list, n = e.audits(doorman.AuditFilter{})
	if !slices.Equal(eventIDs(list), []string{anonymous.ID, full.ID}) || n != 2 {
		t.Fatalf("FindAuditEvents(no filter) = %v (total %d), want [%s %s]", eventIDs(list), n, anonymous.ID, full.ID)
	}
	diffEvent(list[0], anonymous).report(t, "audit event without an account")

	dup := *full
	dup.At = Base
	if err := e.s.CreateAuditEvent(e.ctx, &dup); err == nil {
		t.Errorf("CreateAuditEvent(same id) succeeded, want an error")
	}
}

func testAuditOrder(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	// Inserted out of time order; two pairs share an instant.
	offsets := []time.Duration{5 * us, time.Second, 0, time.Second, 5 * us, -time.Hour}
	var evs []*doorman.AuditEvent
	for _, d := range offsets {
		ev := event(a.ID, doorman.ActionSignIn, at(d))
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
		evs = append(evs, ev)
	}
	// Newest first; at the same instant, the later-inserted first.
	want := []string{evs[3].ID, evs[1].ID, evs[4].ID, evs[0].ID, evs[2].ID, evs[5].ID}
	list, n := e.audits(doorman.AuditFilter{AccountID: a.ID})
	if !slices.Equal(eventIDs(list), want) || n != 6 {
		t.Errorf("FindAuditEvents order = %v (total %d), want %v: newest first, ties later-inserted first", eventIDs(list), n, want)
	}
}

func testAuditFilters(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	mk := func(acct, action, actorID, actor, target string, d time.Duration) *doorman.AuditEvent {
		ev := event(acct, action, at(d))
		ev.ActorID, ev.Actor, ev.Target = actorID, actor, target
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
		return ev
	}
	e1 := mk(a.ID, doorman.ActionSignIn, "usr_ana", "ana@example.com", "sess_1", 0)
	e2 := mk(a.ID, doorman.ActionSignOut, "usr_ana", "ana@example.com", "sess_1", time.Minute)
	e3 := mk(a.ID, doorman.ActionSignIn, "usr_bo", "bo@example.com", "sess_2", 2*time.Minute)
	e4 := mk(a.ID, doorman.ActionSessionRevoked, "usr_ana", "ana@example.com", "sess_2", 3*time.Minute)
	e5 := mk(a.ID, doorman.ActionSettingsUpdated, doorman.ActorSystem, doorman.ActorSystem, "Acme", 4*time.Minute)
	b1 := mk(b.ID, doorman.ActionSignIn, "usr_ana", "ana@example.com", "sess_1", time.Minute)
	none := mk("", doorman.ActionSignInFailed, "", "", "ana@example.com", 2*time.Minute)

	ids := func(evs ...*doorman.AuditEvent) []string { return eventIDs(evs) }
	cases := []struct {
		name string
		f    doorman.AuditFilter
		want []string
	}{
		{"account A", doorman.AuditFilter{AccountID: a.ID}, ids(e5, e4, e3, e2, e1)},
		{"account B", doorman.AuditFilter{AccountID: b.ID}, ids(b1)},
		{"every account", doorman.AuditFilter{}, ids(e5, e4, none, e3, b1, e2, e1)},
		{"unknown account", doorman.AuditFilter{AccountID: "acc_missing"}, nil},
		{"Action", doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionSignIn}, ids(e3, e1)},
		{"ActorID", doorman.AuditFilter{AccountID: a.ID, ActorID: "usr_ana"}, ids(e4, e2, e1)},
		{"Actor", doorman.AuditFilter{AccountID: a.ID, Actor: "bo@example.com"}, ids(e3)},
		{"Target", doorman.AuditFilter{AccountID: a.ID, Target: "sess_2"}, ids(e4, e3)},
		{"Target, any account", doorman.AuditFilter{Target: "ana@example.com"}, ids(none)},
		{"Since is inclusive", doorman.AuditFilter{AccountID: a.ID, Since: at(2 * time.Minute)}, ids(e5, e4, e3)},
		{"Since one microsecond later", doorman.AuditFilter{AccountID: a.ID, Since: at(2*time.Minute + us)}, ids(e5, e4)},
		{"Until is exclusive", doorman.AuditFilter{AccountID: a.ID, Until: at(2 * time.Minute)}, ids(e2, e1)},
		{"Until one microsecond later", doorman.AuditFilter{AccountID: a.ID, Until: at(2*time.Minute + us)}, ids(e3, e2, e1)},
		{"Since and Until", doorman.AuditFilter{AccountID: a.ID, Since: at(time.Minute), Until: at(3 * time.Minute)}, ids(e3, e2)},
		{"every filter", doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionSessionRevoked, ActorID: "usr_ana",
			Actor: "ana@example.com", Target: "sess_2", Since: at(3 * time.Minute), Until: at(4 * time.Minute)}, ids(e4)},
		{"every filter, one off", doorman.AuditFilter{AccountID: b.ID, Action: doorman.ActionSessionRevoked, ActorID: "usr_ana",
			Actor: "ana@example.com", Target: "sess_2", Since: at(3 * time.Minute), Until: at(4 * time.Minute)}, nil},
	}
	for _, c := range cases {
		list, n := e.audits(c.f)
		if !slices.Equal(eventIDs(list), c.want) || n != len(c.want) {
			t.Errorf("FindAuditEvents(%s) = %v (total %d), want %v (total %d)", c.name, eventIDs(list), n, c.want, len(c.want))
		}
	}
}

func testAuditPaging(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	var want []string
	for i := range 9 {
		ev := event(a.ID, doorman.ActionSignIn, at(time.Duration(i)*time.Second))
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
		want = append([]string{ev.ID}, want...)
		ok(t, e.s.CreateAuditEvent(e.ctx, event(b.ID, doorman.ActionSignIn, at(time.Duration(i)*time.Second))), "CreateAuditEvent")
	}
	cases := []struct {
		limit, offset int
		want          []string
	}{
		{0, 0, want},
		{4, 0, want[:4]},
		{4, 4, want[4:8]},
		{4, 8, want[8:]},
		{4, 9, nil},
	}
	for _, c := range cases {
		list, n := e.audits(doorman.AuditFilter{AccountID: a.ID, Limit: c.limit, Offset: c.offset})
		if !slices.Equal(eventIDs(list), c.want) || n != 9 {
			t.Errorf("FindAuditEvents(Limit %d, Offset %d) = %v (total %d), want %v (total 9)", c.limit, c.offset, eventIDs(list), n, c.want)
		}
	}
}

// testAppendOnly proves that the database itself, not only the Store
// interface, refuses to change or delete an audit event.
func testAppendOnly(t *testing.T, open opener, exec func(doorman.Store, string) error) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	var want []*doorman.AuditEvent
	for i := range 3 {
		ev := event(a.ID, doorman.ActionSignIn, at(time.Duration(i)*time.Second))
		ev.Reason = "original"
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
		want = append([]*doorman.AuditEvent{ev}, want...)
	}
	for _, q := range []string{
		"UPDATE audit_events SET reason = 'x'",
		"DELETE FROM audit_events",
	} {
		if err := exec(e.s, q); err == nil {
			t.Errorf("%s succeeded, want the database to refuse it", q)
		}
	}
	list, n := e.audits(doorman.AuditFilter{AccountID: a.ID})
	if n != len(want) || len(list) != len(want) {
		t.Fatalf("audit events after UPDATE and DELETE: %v (total %d), want all %d", eventIDs(list), n, len(want))
	}
	for i := range want {
		diffEvent(list[i], want[i]).report(t, "audit event after UPDATE and DELETE")
	}
}

// testAuditAtomic checks that a change and its audit event land together or
// not at all: when the event cannot be written (its id is taken), the change
// it records must roll back too.
func testAuditAtomic(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, nil)
	taken := event(a.ID, doorman.ActionSignIn, Base)
	ok(t, e.s.CreateAuditEvent(e.ctx, taken), "CreateAuditEvent")
	dup := func(action string) *doorman.AuditEvent {
		ev := event(a.ID, action, at(time.Minute))
		ev.ID = taken.ID
		return ev
	}

	set := doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: false, RememberMeDays: 2}
	if _, err := e.s.UpdateAccountSettings(e.ctx, a.ID, set, at(time.Minute), dup(doorman.ActionSettingsUpdated)); err == nil {
		t.Errorf("UpdateAccountSettings with an event whose id is taken succeeded, want an error")
	}
	got, err := e.s.FindAccountByID(e.ctx, a.ID)
	ok(t, err, "FindAccountByID")
	diffAccount(got, a).report(t, "account after UpdateAccountSettings failed to write its event")

	u2 := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: "bo@example.com",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: Base}
	if err := e.s.CreateUser(e.ctx, u2, dup(doorman.ActionUserCreated)); err == nil {
		t.Errorf("CreateUser with an event whose id is taken succeeded, want an error")
	}
	_, err = e.s.FindUserByID(e.ctx, a.ID, u2.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindUserByID(user whose event failed)")

	s2 := newSession(u, nil)
	if err := e.s.CreateSession(e.ctx, s2, dup(doorman.ActionSignIn)); err == nil {
		t.Errorf("CreateSession with an event whose id is taken succeeded, want an error")
	}
	_, err = e.s.FindSessionByID(e.ctx, "", s2.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByID(session whose event failed)")

	for _, f := range []doorman.RevokeFilter{
		{AccountID: a.ID, SessionID: s.ID},
		{AccountID: a.ID, UserID: u.ID},
		{AccountID: a.ID, All: true},
	} {
		if _, err := e.s.RevokeSessions(e.ctx, f, doorman.Revocation{At: at(time.Minute), By: u.ID}, dup(doorman.ActionSessionRevoked)); err == nil {
			t.Errorf("RevokeSessions(%+v) with an event whose id is taken succeeded, want an error", f)
		}
	}
	diffSession(e.sessionByID(s.ID), s).report(t, "session after RevokeSessions failed to write its event")

	list, n := e.audits(doorman.AuditFilter{})
	if n != 1 || len(list) != 1 {
		t.Fatalf("audit events: %v (total %d), want only the first", eventIDs(list), n)
	}
	diffEvent(list[0], taken).report(t, "the event whose id was reused")
}

// testAuditPurge checks that PurgeAuditEvents deletes only events older
// than its cutoff, oldest first, at most limit at a time, in every account.
func testAuditPurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	var old, kept []*doorman.AuditEvent
	mk := func(acct string, d time.Duration) *doorman.AuditEvent {
		ev := event(acct, doorman.ActionSignIn, at(d))
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
		return ev
	}
	// Written out of time order, in two accounts and none.
	for i, d := range []time.Duration{-us, -400 * day, -time.Hour, -2 * day} {
		acct := []string{a.ID, b.ID, "", a.ID}[i]
		old = append(old, mk(acct, d))
	}
	for _, d := range []time.Duration{0, us, time.Hour} {
		kept = append(kept, mk(a.ID, d), mk(b.ID, d))
	}
	n, err := e.s.PurgeAuditEvents(e.ctx, Base, 0)
	if err != nil || n != 0 || e.auditTotal() != 10 {
		t.Fatalf("PurgeAuditEvents(limit 0) = %d, %v; want 0 and nothing deleted", n, err)
	}
	// The oldest go first.
	n, err = e.s.PurgeAuditEvents(e.ctx, Base, 2)
	ok(t, err, "PurgeAuditEvents")
	if n != 2 {
		t.Fatalf("PurgeAuditEvents(limit 2) = %d, want 2", n)
	}
	left, _ := e.audits(doorman.AuditFilter{Until: Base})
	if !sameSet(eventIDs(left), []string{old[0].ID, old[2].ID}) {
		t.Errorf("after purging 2: %v remain before the cutoff, want the two newest of them [%s %s]", eventIDs(left), old[0].ID, old[2].ID)
	}
	n, err = e.s.PurgeAuditEvents(e.ctx, Base, 10)
	ok(t, err, "PurgeAuditEvents")
	if n != 2 {
		t.Errorf("PurgeAuditEvents(rest) = %d, want 2", n)
	}
	n, err = e.s.PurgeAuditEvents(e.ctx, Base, 10)
	if err != nil || n != 0 {
		t.Errorf("PurgeAuditEvents(nothing left) = %d, %v; want 0", n, err)
	}
	// An earlier cutoff afterwards deletes nothing more, and keeps the later one.
	n, err = e.s.PurgeAuditEvents(e.ctx, at(-day), 10)
	if err != nil || n != 0 {
		t.Errorf("PurgeAuditEvents(earlier cutoff) = %d, %v; want 0", n, err)
	}
	list, total := e.audits(doorman.AuditFilter{})
	if total != len(kept) || !sameSet(eventIDs(list), eventIDs(kept)) {
		t.Errorf("after purging: %v (total %d), want the events at or after the cutoff %v", eventIDs(list), total, eventIDs(kept))
	}
	// Events stay intact.
	byID := map[string]*doorman.AuditEvent{}
	for _, ev := range list {
		byID[ev.ID] = ev
	}
	for _, ev := range kept {
		diffEvent(byID[ev.ID], ev).report(t, "event kept by the purge")
	}
}

// testPurgeOnlyByAge proves that after a purge the database still refuses
// to change any event, or to delete one at or after the purge's cutoff,
// even from a raw statement; and that the cutoff itself cannot be removed.
func testPurgeOnlyByAge(t *testing.T, open opener, exec func(doorman.Store, string) error) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	old := event(a.ID, doorman.ActionSignIn, at(-30*day))
	recent := event(a.ID, doorman.ActionSignIn, at(-time.Hour))
	later := event(a.ID, doorman.ActionSignIn, at(time.Hour))
	for _, ev := range []*doorman.AuditEvent{old, recent, later} {
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
	}
	n, err := e.s.PurgeAuditEvents(e.ctx, at(-day), 10)
	if err != nil || n != 1 {
		t.Fatalf("PurgeAuditEvents = %d, %v; want the one old event", n, err)
	}
	for _, q := range []string{
		"DELETE FROM audit_events",
		"DELETE FROM audit_events WHERE id = '" + recent.ID + "'",
		"DELETE FROM audit_events WHERE id = '" + later.ID + "'",
		"UPDATE audit_events SET reason = 'x' WHERE id = '" + recent.ID + "'",
		"DELETE FROM audit_retention",
	} {
		if err := exec(e.s, q); err == nil {
			t.Errorf("%s succeeded, want the database to refuse it", q)
		}
	}
	list, total := e.audits(doorman.AuditFilter{})
	if total != 2 || !sameSet(eventIDs(list), []string{recent.ID, later.ID}) {
		t.Fatalf("events after the refused statements: %v (total %d), want [%s %s]", eventIDs(list), total, recent.ID, later.ID)
	}
	for i, want := range []*doorman.AuditEvent{later, recent} {
		diffEvent(list[i], want).report(t, "event after the refused statements")
	}
	// A purge still works after them.
	n, err = e.s.PurgeAuditEvents(e.ctx, Base, 10)
	if err != nil || n != 1 {
		t.Errorf("PurgeAuditEvents(Base) = %d, %v; want 1", n, err)
	}
}
