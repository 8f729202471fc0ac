package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// expiryTests check that UpdateAccountSettings records, with the change,
// the end of every session the settings replaced or the new ones end, so
// that a session ended by its rules stays ended whatever the settings later
// become.
var expiryTests = []test{
	{"SettingsChangeEnds", testExpirySettingsChangeEnds},
	{"LooseningKeepsEnds", testExpiryLooseningKeepsEnds},
	{"RememberDisallowed", testExpiryRememberDisallowed},
	{"NothingHalfWritten", testExpiryNothingHalfWritten},
	{"ConcurrentChanges", testExpiryConcurrentChanges},
}

// expiryEnv is an account A with settings from and a user ana, and an
// account B (default settings) with a user cy whose session idled 2 days.
type expiryEnv struct {
	*env
	a, b *doorman.Account
	ana  *doorman.User
	cyB  *doorman.Session
	all  []*doorman.Session
}

func newExpiryEnv(t *testing.T, open opener, from doorman.Settings) *expiryEnv {
	x := &expiryEnv{env: newEnv(t, open)}
	x.a = x.account("Acme", from)
	x.b = x.account("Globex", doorman.DefaultSettings())
	x.ana = x.user(x.a, "ana@example.com")
	x.cyB = x.add(x.user(x.b, "cy@example.com"), func(s *doorman.Session) { s.LastActiveAt = at(-2 * day) })
	return x
}

// add stores a session of u created 40 days before Base, changed by edit.
func (x *expiryEnv) add(u *doorman.User, edit func(*doorman.Session)) *doorman.Session {
	s := x.session(u, func(s *doorman.Session) {
		s.CreatedAt = at(-40 * day)
		edit(s)
	})
	x.all = append(x.all, s)
	return s
}

// ended is what s must look like once its end at t, for reason, is recorded.
func ended(s *doorman.Session, t time.Time, reason string) *doorman.Session {
	w := *s
	w.RevokedAt, w.RevokedBy, w.RevokeReason = ptr(t), doorman.ActorExpiry, reason
	return &w
}

// check compares every stored session with want (by id), or with itself
// unchanged when want has none for it.
func (x *expiryEnv) check(t *testing.T, what string, want ...*doorman.Session) {
	t.Helper()
	for _, s := range x.all {
		w := s
		for _, e := range want {
			if e.ID == s.ID {
				w = e
			}
		}
		diffSession(x.sessionByID(s.ID), w).report(t, what+": session "+s.ID)
	}
}

// update changes A's settings to set at now and checks the count it
// returns, the event's Count and the stored event.
func (x *expiryEnv) update(t *testing.T, set doorman.Settings, now time.Time, wantCount int) {
	t.Helper()
	ev := event(x.a.ID, doorman.ActionSettingsUpdated, now)
	n, err := x.s.UpdateAccountSettings(x.ctx, x.a.ID, set, now, ev)
	ok(t, err, "UpdateAccountSettings")
	if n != wantCount || ev.Count != wantCount {
		t.Errorf("UpdateAccountSettings at %s = %d, ev.Count = %d, want %d sessions ended by the change", fmtTime(now), n, ev.Count, wantCount)
	}
	list, _ := x.audits(doorman.AuditFilter{AccountID: x.a.ID, Since: now, Action: doorman.ActionSettingsUpdated})
	want := *ev
	want.Count = wantCount
	for _, got := range list {
		if got.ID == ev.ID {
			diffEvent(got, &want).report(t, "settings event")
			return
		}
	}
	t.Errorf("the settings event %s was not written", ev.ID)
}

// testExpirySettingsChangeEnds tightens A's settings (idle 7 days to 1,
// remember-me 30 days to 7): the sessions the change ends are recorded as
// ended at the change, those already ended under the old settings at their
// old end, and both counts and reasons are right. Valid, revoked and other
// accounts' sessions stay as they were.
func testExpirySettingsChangeEnds(t *testing.T, open opener) {
	x := newExpiryEnv(t, open, doorman.DefaultSettings())
	fresh := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-time.Hour) })
	idle2d := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-2 * day) })
	idle8d := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-8 * day) })
	pastCap := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt, s.ExpiresAt = at(-2*time.Hour), ptr(at(-time.Hour)) })
	// Remembered, signed in 10 days ago: valid for 30 days, not for 7.
	remember10d := x.add(x.ana, func(s *doorman.Session) {
		s.CreatedAt, s.LastActiveAt, s.RememberMe, s.ExpiresAt = at(-10*day), at(-5*day), true, ptr(at(20*day))
	})
	remember3d := x.add(x.ana, func(s *doorman.Session) {
		s.CreatedAt, s.LastActiveAt, s.RememberMe, s.ExpiresAt = at(-3*day), at(-3*day), true, ptr(at(27*day))
	})
	revoked := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-3 * day) })
	byUser := doorman.Revocation{At: at(-2 * day), By: x.ana.ID, Reason: "lost phone"}
	_, err := x.s.RevokeSessions(x.ctx, doorman.RevokeFilter{AccountID: x.a.ID, SessionID: revoked.ID}, byUser, nil)
	ok(t, err, "RevokeSessions")
	revokedWant := *revoked
	revokedWant.RevokedAt, revokedWant.RevokedBy, revokedWant.RevokeReason = ptr(byUser.At), byUser.By, byUser.Reason

	set := doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: true, RememberMeDays: 7, MembersSeeSessions: true}
	x.update(t, set, Base, 2) // idle2d and remember10d were valid until now
	x.check(t, "after tightening",
		ended(idle2d, Base, doorman.ReasonIdle),
		ended(idle8d, at(-8*day+7*day), doorman.ReasonIdle), // ended a day ago under 7 days
		ended(pastCap, at(-time.Hour), doorman.ReasonExpired),
		ended(remember10d, Base, doorman.ReasonExpired),
		&revokedWant)
	got := x.activeIDs(x.a.ID, doorman.Window(set, Base))
	wantActive(t, got, []*doorman.Session{fresh, remember3d}, []*doorman.Session{idle2d, idle8d, pastCap, remember10d, revoked}, "after tightening")
}

// testExpiryLooseningKeepsEnds tightens then loosens the idle timeout (7
// days, 1, 7, then never): the sessions the first change ended stay ended;
// one that ended under the stricter settings before anyone looked is
// recorded by the loosening, at its end, and does not count as ended by it.
func testExpiryLooseningKeepsEnds(t *testing.T, open opener) {
	x := newExpiryEnv(t, open, doorman.DefaultSettings())
	var idle []*doorman.Session
	for i := range 4 {
		idle = append(idle, x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-2*day - time.Duration(i)*time.Hour) }))
	}
	fresh := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-time.Hour) })
	tight := doorman.DefaultSettings()
	tight.IdleTimeout = doorman.Idle1Day
	x.update(t, tight, Base, 4)
	var want []*doorman.Session
	for _, s := range idle {
		want = append(want, ended(s, Base, doorman.ReasonIdle))
	}
	x.check(t, "after 7 days to 1", want...)

	// fresh idles past the 1-day timeout (at Base+23h) unseen; the
	// loosening records that end, counting nothing.
	x.update(t, doorman.DefaultSettings(), at(2*day), 0)
	x.check(t, "after 1 day back to 7", append(want, ended(fresh, at(23*time.Hour), doorman.ReasonIdle))...)
	never := doorman.DefaultSettings()
	never.IdleTimeout = doorman.IdleNever
	x.update(t, never, at(3*day), 0)
	x.check(t, "after 7 days to never", append(want, ended(fresh, at(23*time.Hour), doorman.ReasonIdle))...)
	if got := x.activeIDs(x.a.ID, doorman.Window(never, at(3*day))); len(got) != 0 {
		t.Errorf("active sessions after loosening = %v, want none: ended sessions came back", got)
	}
	if _, _, active := x.team(x.a.ID, doorman.Window(never, at(3*day)), doorman.TeamFilter{}); active != 0 {
		t.Errorf("team view: %d active sessions after loosening, want 0", active)
	}
}

// testExpiryRememberDisallowed turns remember-me off: remembered sessions
// fall back to the idle timeout, and those idle past it end with the change
// and stay ended when remember-me is turned on again.
func testExpiryRememberDisallowed(t *testing.T, open opener) {
	x := newExpiryEnv(t, open, doorman.DefaultSettings())
	idleRemembered := x.add(x.ana, func(s *doorman.Session) {
		s.CreatedAt, s.LastActiveAt, s.RememberMe, s.ExpiresAt = at(-20*day), at(-10*day), true, ptr(at(10*day))
	})
	usedRemembered := x.add(x.ana, func(s *doorman.Session) {
		s.CreatedAt, s.LastActiveAt, s.RememberMe, s.ExpiresAt = at(-20*day), at(-time.Hour), true, ptr(at(10*day))
	})
	off := doorman.DefaultSettings()
	off.RememberMeAllowed = false
	x.update(t, off, Base, 1)
	x.check(t, "after remember-me off", ended(idleRemembered, Base, doorman.ReasonIdle))
	x.update(t, doorman.DefaultSettings(), at(time.Hour), 0)
	x.check(t, "after remember-me on again", ended(idleRemembered, Base, doorman.ReasonIdle))
	if got := x.activeIDs(x.a.ID, doorman.Window(doorman.DefaultSettings(), at(time.Hour))); !sameSet(got, []string{usedRemembered.ID}) {
		t.Errorf("active sessions = %v, want only %s", got, usedRemembered.ID)
	}
}

// testExpiryNothingHalfWritten makes the settings event fail (its id is
// taken): neither the settings nor any session's end is written; and an
// unknown account is ENOTFOUND.
func testExpiryNothingHalfWritten(t *testing.T, open opener) {
	x := newExpiryEnv(t, open, doorman.DefaultSettings())
	idle := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-2 * day) })
	taken := event(x.a.ID, doorman.ActionSignIn, at(-time.Minute))
	ok(t, x.s.CreateAuditEvent(x.ctx, taken), "CreateAuditEvent")
	ev := event(x.a.ID, doorman.ActionSettingsUpdated, Base)
	ev.ID = taken.ID
	set := doorman.DefaultSettings()
	set.IdleTimeout = doorman.Idle1Day
	if _, err := x.s.UpdateAccountSettings(x.ctx, x.a.ID, set, Base, ev); err == nil {
		t.Fatal("UpdateAccountSettings with an event whose id is taken succeeded, want an error")
	}
	x.check(t, "after a failed change")
	got, err := x.s.FindAccountByID(x.ctx, x.a.ID)
	ok(t, err, "FindAccountByID")
	diffAccount(got, x.a).report(t, "account after a failed change")

	_, err = x.s.UpdateAccountSettings(x.ctx, "acc_missing", set, Base, event("", doorman.ActionSettingsUpdated, Base))
	wantCode(t, err, doorman.ENOTFOUND, "UpdateAccountSettings(unknown account)")
	x.check(t, "after an unknown account's change")
	if x.sessionByID(idle.ID).RevokedAt != nil {
		t.Error("a failed change ended a session")
	}
}

// testExpiryConcurrentChanges runs changes between 1 and 7 days at once:
// each must read the settings it replaces inside its own transaction, so
// every session idle over a day ends exactly once (the events' counts add
// up to the sessions), and no change fails for being concurrent.
func testExpiryConcurrentChanges(t *testing.T, open opener) {
	x := newExpiryEnv(t, open, doorman.DefaultSettings())
	var idle []*doorman.Session
	for i := range 5 {
		idle = append(idle, x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-2*day - time.Duration(i)*time.Hour) }))
	}
	fresh := x.add(x.ana, func(s *doorman.Session) { s.LastActiveAt = at(-time.Hour) })
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set := doorman.DefaultSettings()
			if i%2 == 0 {
				set.IdleTimeout = doorman.Idle1Day
			}
			_, errs[i] = x.s.UpdateAccountSettings(x.ctx, x.a.ID, set, Base, event(x.a.ID, doorman.ActionSettingsUpdated, at(time.Duration(i)*us)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		ok(t, err, fmt.Sprintf("concurrent UpdateAccountSettings %d", i))
	}
	var want []*doorman.Session
	for _, s := range idle {
		want = append(want, ended(s, Base, doorman.ReasonIdle))
	}
	x.check(t, "after concurrent changes", want...)
	if got := x.sessionByID(fresh.ID); got.RevokedAt != nil {
		t.Errorf("a session active an hour ago was ended: %s", fmtPtr(got.RevokedAt))
	}
	evs, _ := x.audits(doorman.AuditFilter{AccountID: x.a.ID, Action: doorman.ActionSettingsUpdated})
	sum := 0
	for _, ev := range evs {
		sum += ev.Count
	}
	if len(evs) != len(errs) || sum != len(idle) {
		t.Errorf("%d settings events counting %d ended sessions in all, want %d counting %d: a session ended twice or not at all",
			len(evs), sum, len(errs), len(idle))
	}
}
