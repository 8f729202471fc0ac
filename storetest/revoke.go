package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var revokeTests = []test{
	{"One", testRevokeOne},
	{"OneNotFound", testRevokeOneNotFound},
	{"UserExceptOne", testRevokeUser},
	{"AccountExceptOne", testRevokeAll},
	{"NoSelector", testRevokeInvalid},
	{"Operator", testRevokeOperator},
	{"CountActive", testRevokeCountActive},
}

// revokeEnv is an account A with users ana (3 sessions) and bo (2 sessions),
// and an account B with cy (2 sessions).
type revokeEnv struct {
	*env
	a, b       *doorman.Account
	ana, bo    *doorman.User
	cy         *doorman.User
	sAna, sBo  []*doorman.Session
	sCy        []*doorman.Session
	everything []*doorman.Session
}

func newRevokeEnv(t *testing.T, open opener) *revokeEnv {
	r := &revokeEnv{env: newEnv(t, open)}
	r.a = r.account("Acme", doorman.DefaultSettings())
	r.b = r.account("Globex", doorman.DefaultSettings())
	r.ana, r.bo = r.user(r.a, "ana@example.com"), r.user(r.a, "bo@example.com")
	r.cy = r.user(r.b, "cy@example.com")
	mk := func(u *doorman.User, n int) []*doorman.Session {
		var out []*doorman.Session
		for i := range n {
			s := r.session(u, func(s *doorman.Session) { s.LastActiveAt = at(-time.Duration(i) * time.Minute) })
			out = append(out, s)
			r.everything = append(r.everything, s)
		}
		return out
	}
	r.sAna, r.sBo, r.sCy = mk(r.ana, 3), mk(r.bo, 2), mk(r.cy, 2)
	return r
}

// check compares every session with its stored state: those in revoked
// carry rev, the others are unchanged.
func (r *revokeEnv) check(t *testing.T, rev doorman.Revocation, revoked ...*doorman.Session) {
	t.Helper()
	for _, s := range r.everything {
		want := *s
		for _, x := range revoked {
			if x.ID == s.ID {
				want.RevokedAt, want.RevokedBy, want.RevokeReason = ptr(rev.At), rev.By, rev.Reason
			}
		}
		diffSession(r.sessionByID(s.ID), &want).report(t, "session "+s.ID+" after RevokeSessions")
	}
}

func revokeEvent(a *doorman.Account, action string, u *doorman.User) *doorman.AuditEvent {
	ev := event(a.ID, action, at(time.Hour))
	ev.ActorID, ev.Actor = u.ID, u.Email
	return ev
}

func (r *revokeEnv) wantEvents(t *testing.T, want ...*doorman.AuditEvent) {
	t.Helper()
	list, n := r.audits(doorman.AuditFilter{})
	if n != len(want) || len(list) != len(want) {
		t.Errorf("audit events: %d (total %d), want %d", len(list), n, len(want))
		return
	}
	byID := map[string]*doorman.AuditEvent{}
	for _, ev := range list {
		byID[ev.ID] = ev
	}
	for _, w := range want {
		diffEvent(byID[w.ID], w).report(t, "audit event "+w.Action)
	}
}

func testRevokeOne(t *testing.T, open opener) {
	r := newRevokeEnv(t, open)
	rev := doorman.Revocation{At: at(time.Hour + 3*us), By: r.ana.ID, Reason: ""}
	ev := revokeEvent(r.a, doorman.ActionSessionRevoked, r.ana)
	n, err := r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, UserID: r.ana.ID, SessionID: r.sAna[1].ID}, rev, ev)
	ok(t, err, "RevokeSessions(one)")
	if n != 1 || ev.Count != 1 {
		t.Errorf("RevokeSessions(one) = %d, ev.Count = %d, want 1 and 1", n, ev.Count)
	}
	r.check(t, rev, r.sAna[1])
	want := *ev
	want.Count = 1
	r.wantEvents(t, &want)
}

func testRevokeOneNotFound(t *testing.T, open opener) {
	r := newRevokeEnv(t, open)
	rev := doorman.Revocation{At: at(time.Hour), By: doorman.ActorSystem, Reason: "incident 42"}
	ev := revokeEvent(r.a, doorman.ActionSessionRevoked, r.ana)
	_, err := r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, SessionID: r.sAna[0].ID}, rev, ev)
	ok(t, err, "RevokeSessions")
	first := *ev

	later := doorman.Revocation{At: at(2 * time.Hour), By: r.bo.ID, Reason: "again"}
	cases := []struct {
		what string
		f    doorman.RevokeFilter
	}{
		{"already revoked", doorman.RevokeFilter{AccountID: r.a.ID, SessionID: r.sAna[0].ID}},
		{"session of another account", doorman.RevokeFilter{AccountID: r.a.ID, SessionID: r.sCy[0].ID}},
		{"session of another user", doorman.RevokeFilter{AccountID: r.a.ID, UserID: r.bo.ID, SessionID: r.sAna[1].ID}},
		{"the excepted session", doorman.RevokeFilter{AccountID: r.a.ID, SessionID: r.sAna[1].ID, ExceptSessionID: r.sAna[1].ID}},
		{"unknown session", doorman.RevokeFilter{AccountID: r.a.ID, SessionID: "sess_missing"}},
	}
	for _, c := range cases {
		ev := revokeEvent(r.a, doorman.ActionSessionRevoked, r.bo)
		n, err := r.s.RevokeSessions(r.ctx, c.f, later, ev)
		wantCode(t, err, doorman.ENOTFOUND, "RevokeSessions("+c.what+")")
		if n != 0 {
			t.Errorf("RevokeSessions(%s) = %d, want 0", c.what, n)
		}
	}
	// Nothing changed: not the first revocation's who, when and why, and no event.
	r.check(t, rev, r.sAna[0])
	r.wantEvents(t, &first)
}

func testRevokeUser(t *testing.T, open opener) {
	r := newRevokeEnv(t, open)
	// One of ana's sessions was already signed out; it keeps its own revocation.
	early := doorman.Revocation{At: at(time.Minute), By: r.ana.ID, Reason: doorman.ReasonSignedOut}
	extra := r.session(r.ana, nil) // checked on its own below, not by r.check
	_, err := r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, SessionID: extra.ID}, early, nil)
	ok(t, err, "RevokeSessions(setup)")

	rev := doorman.Revocation{At: at(time.Hour), By: r.ana.ID}
	ev := revokeEvent(r.a, doorman.ActionOtherSessionsRevoke, r.ana)
	n, err := r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, UserID: r.ana.ID, ExceptSessionID: r.sAna[0].ID}, rev, ev)
	ok(t, err, "RevokeSessions(user except current)")
	if n != 2 || ev.Count != 2 {
		t.Errorf("RevokeSessions(user except current) = %d, ev.Count = %d, want 2 and 2 (the already revoked session does not count)", n, ev.Count)
	}
	r.check(t, rev, r.sAna[1], r.sAna[2])
	if got := r.sessionByID(extra.ID); !ptrEq(got.RevokedAt, ptr(early.At)) || got.RevokedBy != early.By || got.RevokeReason != early.Reason {
		t.Errorf("already revoked session now has RevokedAt %s, RevokedBy %q, RevokeReason %q; want its first revocation (%s, %q, %q) kept",
			fmtPtr(got.RevokedAt), got.RevokedBy, got.RevokeReason, fmtTime(early.At), early.By, early.Reason)
	}
	first := *ev

	// Nothing left to revoke: 0, and the event is still written (only a
	// SessionID selector turns "nothing" into ENOTFOUND).
	ev2 := revokeEvent(r.a, doorman.ActionOtherSessionsRevoke, r.ana)
	ev2.ID = doorman.NewID(doorman.PrefixEvent, Base)
	ev2.Count = 99
	n, err = r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, UserID: r.ana.ID, ExceptSessionID: r.sAna[0].ID},
		doorman.Revocation{At: at(2 * time.Hour), By: r.ana.ID}, ev2)
	ok(t, err, "RevokeSessions(again)")
	if n != 0 || ev2.Count != 0 {
		t.Errorf("RevokeSessions(again) = %d, ev.Count = %d, want 0 and 0", n, ev2.Count)
	}
	r.check(t, rev, r.sAna[1], r.sAna[2])
	r.wantEvents(t, &first, ev2)

	// A user id of another account revokes nothing there.
	n, err = r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, UserID: r.cy.ID}, rev, nil)
	ok(t, err, "RevokeSessions(user of another account)")
	if n != 0 {
		t.Errorf("RevokeSessions(account A, user of B) = %d, want 0", n)
	}
	// Forced sign-out of bo, nothing excepted, no event.
	forced := doorman.Revocation{At: at(3 * time.Hour), By: r.ana.ID, Reason: "left the team"}
	n, err = r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, UserID: r.bo.ID}, forced, nil)
	ok(t, err, "RevokeSessions(user)")
	if n != 2 {
		t.Errorf("RevokeSessions(user) = %d, want 2", n)
	}
	for _, s := range r.sBo {
		if got := r.sessionByID(s.ID); !ptrEq(got.RevokedAt, ptr(forced.At)) || got.RevokeReason != forced.Reason {
			t.Errorf("bo's session %s: RevokedAt %s, reason %q, want %s %q", s.ID, fmtPtr(got.RevokedAt), got.RevokeReason, fmtTime(forced.At), forced.Reason)
		}
	}
	for _, s := range r.sCy {
		diffSession(r.sessionByID(s.ID), s).report(t, "session of another account")
	}
}

func testRevokeAll(t *testing.T, open opener) {
	r := newRevokeEnv(t, open)
	rev := doorman.Revocation{At: at(time.Hour), By: r.ana.ID, Reason: "security review"}
	ev := revokeEvent(r.a, doorman.ActionTeamSessionsRevoked, r.ana)
	ev.Reason = rev.Reason
	n, err := r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, All: true, ExceptSessionID: r.sAna[0].ID}, rev, ev)
	ok(t, err, "RevokeSessions(All except current)")
	if n != 4 || ev.Count != 4 {
		t.Errorf("RevokeSessions(All except current) = %d, ev.Count = %d, want 4 and 4", n, ev.Count)
	}
	r.check(t, rev, r.sAna[1], r.sAna[2], r.sBo[0], r.sBo[1])
	r.wantEvents(t, ev)

	// Without an exception, the last one goes too; other accounts never do.
	n, err = r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{AccountID: r.a.ID, All: true}, rev, nil)
	ok(t, err, "RevokeSessions(All)")
	if n != 1 {
		t.Errorf("RevokeSessions(All) = %d, want 1 (the others are already revoked)", n)
	}
	r.check(t, rev, r.sAna[0], r.sAna[1], r.sAna[2], r.sBo[0], r.sBo[1])
}

func testRevokeInvalid(t *testing.T, open opener) {
	r := newRevokeEnv(t, open)
	rev := doorman.Revocation{At: at(time.Hour), By: r.ana.ID}
	for _, f := range []doorman.RevokeFilter{
		{AccountID: r.a.ID},
		{AccountID: r.a.ID, ExceptSessionID: r.sAna[0].ID},
		{},
	} {
		ev := revokeEvent(r.a, doorman.ActionTeamSessionsRevoked, r.ana)
		n, err := r.s.RevokeSessions(r.ctx, f, rev, ev)
		wantCode(t, err, doorman.EINVALID, "RevokeSessions(no selector)")
		if n != 0 {
			t.Errorf("RevokeSessions(%+v) = %d, want 0", f, n)
		}
	}
	r.check(t, rev)
	r.wantEvents(t)
}

func testRevokeOperator(t *testing.T, open opener) {
	r := newRevokeEnv(t, open)
	rev := doorman.Revocation{At: at(time.Hour), By: doorman.ActorSystem, Reason: "compromised"}
	ev := event(r.b.ID, doorman.ActionSessionRevoked, rev.At)
	ev.ActorID, ev.Actor, ev.Reason = doorman.ActorSystem, doorman.ActorSystem, rev.Reason
	n, err := r.s.RevokeSessions(r.ctx, doorman.RevokeFilter{SessionID: r.sCy[1].ID}, rev, ev)
	ok(t, err, "RevokeSessions(operator, no account)")
	if n != 1 || ev.Count != 1 {
		t.Errorf("RevokeSessions(operator) = %d, ev.Count = %d, want 1 and 1", n, ev.Count)
	}
	r.check(t, rev, r.sCy[1])
	r.wantEvents(t, ev)
}

// testRevokeCountActive checks that CountActive counts only the sessions
// still valid in its window, while every matching session is revoked: one
// ended only by idleness must not come back if settings are loosened.
func testRevokeCountActive(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ana, bo := e.user(a, "ana@example.com"), e.user(a, "bo@example.com")
	cy := e.user(b, "cy@example.com")
	w := doorman.Window(a.Settings, Base)
	live := func(u *doorman.User) *doorman.Session {
		return e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-day), at(-time.Hour) })
	}
	idle := func(u *doorman.User) *doorman.Session {
		return e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-9*day), at(-7*day) })
	}
	remembered := e.session(ana, func(s *doorman.Session) {
		s.RememberMe, s.CreatedAt, s.LastActiveAt, s.ExpiresAt = true, at(-20*day), at(-15*day), ptr(at(10*day))
	})
	expired := e.session(ana, func(s *doorman.Session) { s.LastActiveAt, s.ExpiresAt = at(-time.Hour), ptr(at(-us)) })
	anaLive, anaIdle, current := live(ana), idle(ana), live(ana)
	boLive, boIdle := live(bo), idle(bo)
	cyLive := live(cy)

	rev := doorman.Revocation{At: Base, By: ana.ID, Reason: "left the team"}
	ev := revokeEvent(a, doorman.ActionUserSessionsRevoked, ana)
	n, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, UserID: ana.ID, ExceptSessionID: current.ID,
		CountActive: w}, rev, ev)
	ok(t, err, "RevokeSessions(user, CountActive)")
	if n != 2 || ev.Count != 2 {
		t.Errorf("RevokeSessions(user, CountActive) = %d, ev.Count = %d; want 2 (the live and the remembered session)", n, ev.Count)
	}
	for _, s := range []*doorman.Session{remembered, expired, anaLive, anaIdle} {
		if got := e.sessionByID(s.ID); !ptrEq(got.RevokedAt, ptr(Base)) || got.RevokeReason != rev.Reason {
			t.Errorf("session %s (last active %s, expires %s): RevokedAt %s, want every matching session revoked",
				s.ID, fmtTime(s.LastActiveAt), fmtPtr(s.ExpiresAt), fmtPtr(got.RevokedAt))
		}
	}
	diffSession(e.sessionByID(current.ID), current).report(t, "the excepted session")

	// One session, valid or not: revoked either way, counted only when valid;
	// never ENOTFOUND for a session that was revoked now.
	n, err = e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: boIdle.ID, CountActive: w}, rev, nil)
	if err != nil || n != 0 || e.sessionByID(boIdle.ID).RevokedAt == nil {
		t.Errorf("RevokeSessions(idle session, CountActive) = %d, %v; want 0, nil and the session revoked", n, err)
	}
	n, err = e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, All: true, CountActive: w}, rev, nil)
	if err != nil || n != 2 {
		t.Errorf("RevokeSessions(All, CountActive) = %d, %v; want 2 (the current and bo's live session)", n, err)
	}
	for _, s := range []*doorman.Session{current, boLive} {
		if e.sessionByID(s.ID).RevokedAt == nil {
			t.Errorf("session %s not revoked by All", s.ID)
		}
	}
	diffSession(e.sessionByID(cyLive.ID), cyLive).report(t, "session of another account")
}
