package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var activeTests = []test{
	{"IdleBoundary", testActiveIdle},
	{"RememberBoundary", testActiveRemember},
	{"RememberNotAllowed", testActiveRememberNotAllowed},
	{"ExpiresBoundary", testActiveExpires},
	{"Revoked", testActiveRevoked},
	{"NoIdleLimit", testActiveNoIdleLimit},
	{"Paging", testActivePaging},
	{"AgreesWithCheckSession", testActiveAgrees},
}

// activeIDs returns the ids FindSessions returns for the account in w, and
// checks that the total agrees.
func (e *env) activeIDs(accountID string, w *doorman.ActiveWindow) []string {
	e.tb.Helper()
	list, n := e.sessions(doorman.SessionFilter{AccountID: accountID, Active: w})
	if n != len(list) {
		e.tb.Errorf("FindSessions(Active %+v) total = %d, but %d sessions returned without Limit", *w, n, len(list))
	}
	return sessionIDs(list)
}

// wantActive checks that exactly the sessions in in are active in w among those listed.
func wantActive(t *testing.T, got []string, in, out []*doorman.Session, what string) {
	t.Helper()
	for _, s := range in {
		if !slices.Contains(got, s.ID) {
			t.Errorf("%s: session %s (created %s, last active %s, expires %s, remember %t) missing from the active list",
				what, s.ID, fmtTime(s.CreatedAt), fmtTime(s.LastActiveAt), fmtPtr(s.ExpiresAt), s.RememberMe)
		}
	}
	for _, s := range out {
		if slices.Contains(got, s.ID) {
			t.Errorf("%s: session %s (created %s, last active %s, expires %s, remember %t) listed as active",
				what, s.ID, fmtTime(s.CreatedAt), fmtTime(s.LastActiveAt), fmtPtr(s.ExpiresAt), s.RememberMe)
		}
	}
	if len(got) != len(in) {
		t.Errorf("%s: %d active sessions, want %d", what, len(got), len(in))
	}
}

func activeEnv(t *testing.T, open opener) (*env, *doorman.Account, *doorman.User) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	return e, a, e.user(a, "ana@example.com")
}

func testActiveIdle(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	w := &doorman.ActiveWindow{Now: Base, IdleSince: at(-7 * day), RememberAllowed: true, RememberSince: at(-30 * day)}
	atEdge := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-10*day), at(-7*day) })
	inside := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-10*day), at(-7*day+us) })
	before := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-10*day), at(-7*day-us) })
	recent := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-time.Hour), Base })
	wantActive(t, e.activeIDs(a.ID, w), []*doorman.Session{inside, recent}, []*doorman.Session{atEdge, before},
		"idle window (LastActiveAt must be after IdleSince)")
}

func testActiveRemember(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	w := &doorman.ActiveWindow{Now: Base, IdleSince: at(-1 * day), RememberAllowed: true, RememberSince: at(-30 * day)}
	remember := func(created, last time.Duration) *doorman.Session {
		return e.session(u, func(s *doorman.Session) {
			// An ExpiresAt far ahead, so that only RememberSince decides.
			s.RememberMe, s.CreatedAt, s.LastActiveAt, s.ExpiresAt = true, at(created), at(last), ptr(at(300*day))
		})
	}
	// Long unused, yet valid: the idle timeout does not apply to a remembered session.
	atEdge := remember(-30*day, -29*day)
	inside := remember(-30*day+us, -29*day)
	// Its ExpiresAt alone would keep it, but RememberSince ends it.
	longExpiry := e.session(u, func(s *doorman.Session) {
		s.RememberMe, s.CreatedAt, s.LastActiveAt, s.ExpiresAt = true, at(-31*day), at(-time.Hour), ptr(at(300*day))
	})
	notRemembered := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-10*day), at(-2*day) })
	wantActive(t, e.activeIDs(a.ID, w), []*doorman.Session{inside}, []*doorman.Session{atEdge, longExpiry, notRemembered},
		"remember window (CreatedAt must be after RememberSince)")
}

func testActiveRememberNotAllowed(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	w := &doorman.ActiveWindow{Now: Base, IdleSince: at(-7 * day), RememberAllowed: false}
	remembered := func(last time.Duration) *doorman.Session {
		return e.session(u, func(s *doorman.Session) {
			s.RememberMe, s.CreatedAt, s.LastActiveAt, s.ExpiresAt = true, at(-20*day), at(last), ptr(at(10*day))
		})
	}
	idleEdge := remembered(-7 * day)
	idleOut := remembered(-8 * day)
	idleIn := remembered(-7*day + us)
	wantActive(t, e.activeIDs(a.ID, w), []*doorman.Session{idleIn}, []*doorman.Session{idleEdge, idleOut},
		"remember not allowed (remembered sessions are judged by idle time)")

	// With no idle limit either, only ExpiresAt and revocation remain.
	w = &doorman.ActiveWindow{Now: Base, RememberAllowed: false}
	wantActive(t, e.activeIDs(a.ID, w), []*doorman.Session{idleEdge, idleOut, idleIn}, nil,
		"remember not allowed, no idle limit")
}

func testActiveExpires(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	w := &doorman.ActiveWindow{Now: Base, IdleSince: at(-7 * day), RememberAllowed: true, RememberSince: at(-30 * day)}
	expiring := func(exp *time.Time, remember bool) *doorman.Session {
		return e.session(u, func(s *doorman.Session) {
			s.CreatedAt, s.LastActiveAt, s.ExpiresAt, s.RememberMe = at(-day), at(-time.Minute), exp, remember
		})
	}
	atNow := expiring(ptr(Base), false)
	after := expiring(ptr(at(us)), false)
	before := expiring(ptr(at(-us)), false)
	never := expiring(nil, false)
	rememberedAtNow := expiring(ptr(Base), true)
	rememberedAfter := expiring(ptr(at(us)), true)
	wantActive(t, e.activeIDs(a.ID, w),
		[]*doorman.Session{after, never, rememberedAfter},
		[]*doorman.Session{atNow, before, rememberedAtNow},
		"expiry (ExpiresAt must be after Now)")
}

func testActiveRevoked(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	w := &doorman.ActiveWindow{Now: Base, RememberAllowed: true, RememberSince: at(-30 * day)}
	revoked := e.session(u, func(s *doorman.Session) { s.LastActiveAt = at(-time.Minute) })
	rememberedRevoked := e.session(u, func(s *doorman.Session) { s.RememberMe = true })
	valid := e.session(u, nil)
	for _, s := range []*doorman.Session{revoked, rememberedRevoked} {
		// Revoked in the future of Now, to show the window looks at revocation, not its time.
		_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: s.ID},
			doorman.Revocation{At: at(time.Hour), By: u.ID, Reason: doorman.ReasonSignedOut}, nil)
		ok(t, err, "RevokeSessions")
	}
	wantActive(t, e.activeIDs(a.ID, w), []*doorman.Session{valid}, []*doorman.Session{revoked, rememberedRevoked},
		"revoked sessions")
}

func testActiveNoIdleLimit(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	w := &doorman.ActiveWindow{Now: Base, RememberAllowed: true, RememberSince: at(-30 * day)}
	ancient := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-400*day), at(-365*day) })
	recent := e.session(u, nil)
	expired := e.session(u, func(s *doorman.Session) {
		s.CreatedAt, s.LastActiveAt, s.ExpiresAt = at(-400*day), at(-365*day), ptr(at(-300*day))
	})
	wantActive(t, e.activeIDs(a.ID, w), []*doorman.Session{ancient, recent}, []*doorman.Session{expired},
		"IdleSince zero (no idle limit)")
}

func testActivePaging(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	other := e.user(a, "bo@example.com")
	w := &doorman.ActiveWindow{Now: Base, IdleSince: at(-7 * day), RememberAllowed: true, RememberSince: at(-30 * day)}
	var active []string
	for i := range 6 {
		s := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt = at(-8*day), at(-time.Duration(i)*time.Hour) })
		e.session(u, func(s *doorman.Session) {
			s.CreatedAt, s.LastActiveAt = at(-9*day), at(-8*day-time.Duration(i)*time.Hour)
		})
		e.session(other, func(s *doorman.Session) { s.LastActiveAt = at(-time.Duration(i) * time.Minute) })
		active = append(active, s.ID)
	}
	list, n := e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: u.ID, Active: w, Limit: 4, Offset: 1})
	if !slices.Equal(sessionIDs(list), active[1:5]) || n != 6 {
		t.Errorf("FindSessions(user, Active, Limit 4, Offset 1) = %v (total %d), want %v (total 6: only active sessions count)",
			sessionIDs(list), n, active[1:5])
	}
}

// testActiveAgrees checks, for a grid of sessions, settings and instants,
// that a session is in doorman.Window(set, now) exactly when
// doorman.CheckSession(s, nil, set, now) accepts it.
func testActiveAgrees(t *testing.T, open opener) {
	e, a, u := activeEnv(t, open)
	// Instants on and beside the boundaries the settings and nows below produce.
	instants := []time.Duration{-31 * day, -30 * day, -30*day + us, -8 * day, -7 * day, -7*day + us,
		-day - us, -day, -day + us, -time.Hour, 0}
	expiries := []*time.Time{nil, ptr(Base), ptr(at(us)), ptr(at(day)), ptr(at(7 * day))}
	var all []*doorman.Session
	for i, created := range instants {
		for _, last := range instants[i:] {
			for _, remember := range []bool{false, true} {
				for _, exp := range expiries {
					all = append(all, newSession(u, func(s *doorman.Session) {
						s.CreatedAt, s.LastActiveAt, s.RememberMe, s.ExpiresAt = at(created), at(last), remember, exp
					}))
				}
			}
		}
	}
	for _, s := range all {
		ok(t, e.s.CreateSession(e.ctx, s, nil), "CreateSession")
	}
	// A few revoked sessions that would otherwise be valid everywhere.
	for _, remember := range []bool{false, true} {
		s := e.session(u, func(s *doorman.Session) { s.RememberMe = remember })
		_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: s.ID},
			doorman.Revocation{At: at(-time.Hour), By: doorman.ActorSystem, Reason: "test"}, nil)
		ok(t, err, "RevokeSessions")
		s.RevokedAt, s.RevokedBy, s.RevokeReason = ptr(at(-time.Hour)), doorman.ActorSystem, "test"
		all = append(all, s)
	}

	settings := []doorman.Settings{
		{IdleTimeout: doorman.Idle7Days, RememberMeAllowed: true, RememberMeDays: 30},
		{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: false, RememberMeDays: 30},
		{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: true, RememberMeDays: 7},
		{IdleTimeout: doorman.IdleNever, RememberMeAllowed: true, RememberMeDays: 1},
		{IdleTimeout: doorman.IdleNever, RememberMeAllowed: false, RememberMeDays: 30},
		{IdleTimeout: doorman.Idle30Days, RememberMeAllowed: true, RememberMeDays: 365},
	}
	nows := []time.Time{Base, at(us), at(day), at(7 * day)}
	for _, set := range settings {
		for _, now := range nows {
			w := doorman.Window(set, now)
			got := e.activeIDs(a.ID, w)
			bad := 0
			for _, s := range all {
				want := doorman.CheckSession(s, nil, set, now) == nil
				if slices.Contains(got, s.ID) != want && bad < 5 {
					bad++
					t.Errorf("settings %+v, now %s: session created %s, last active %s, expires %s, remember %t, revoked %t: in window = %t, CheckSession valid = %t",
						set, fmtTime(now), fmtTime(s.CreatedAt), fmtTime(s.LastActiveAt), fmtPtr(s.ExpiresAt),
						s.RememberMe, s.RevokedAt != nil, !want, want)
				}
			}
		}
	}
}
