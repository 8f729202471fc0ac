package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var reauthTests = []test{
	{"AuthenticatedAt", testReauthenticateSession},
}

// testReauthenticateSession: AuthenticatedAt is CreatedAt unless set, moves
// only forward, is seen by the token lookup, and only for a live session
// of the account.
func testReauthenticateSession(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")
	s := e.session(u, nil)
	if got := e.sessionByID(s.ID).AuthenticatedAt; !got.Equal(s.CreatedAt) {
		t.Fatalf("AuthenticatedAt %v unset at creation, want CreatedAt %v", got, s.CreatedAt)
	}
	set := e.session(u, func(x *doorman.Session) { x.AuthenticatedAt = x.CreatedAt.Add(time.Minute) })
	if got := e.sessionByID(set.ID).AuthenticatedAt; !got.Equal(set.CreatedAt.Add(time.Minute)) {
		t.Fatalf("AuthenticatedAt %v, want the one stored", got)
	}

	later := s.CreatedAt.Add(20*time.Minute + 7*us)
	ev := event(a.ID, doorman.ActionReauthenticated, later)
	ok(t, e.s.ReauthenticateSession(e.ctx, a.ID, s.ID, later, ev), "ReauthenticateSession")
	if got := e.sessionByID(s.ID).AuthenticatedAt; !got.Equal(later) {
		t.Fatalf("AuthenticatedAt %v, want %v", got, later)
	}
	p, err := e.s.FindSessionByTokenHash(e.ctx, s.TokenHash)
	ok(t, err, "FindSessionByTokenHash")
	if !p.Session.AuthenticatedAt.Equal(later) {
		t.Fatalf("token lookup: AuthenticatedAt %v, want %v", p.Session.AuthenticatedAt, later)
	}
	// Never backwards.
	ok(t, e.s.ReauthenticateSession(e.ctx, a.ID, s.ID, s.CreatedAt, nil), "ReauthenticateSession(earlier)")
	if got := e.sessionByID(s.ID).AuthenticatedAt; !got.Equal(later) {
		t.Fatalf("AuthenticatedAt moved back to %v", got)
	}
	if list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionReauthenticated}); len(list) != 1 {
		t.Fatalf("%d reauthenticated events, want 1", len(list))
	}

	// Another account, an unknown id or a revoked session: not found.
	wantCode(t, e.s.ReauthenticateSession(e.ctx, b.ID, s.ID, later, nil), doorman.ENOTFOUND, "ReauthenticateSession(account B)")
	wantCode(t, e.s.ReauthenticateSession(e.ctx, a.ID, "sess_unknown", later, nil), doorman.ENOTFOUND, "ReauthenticateSession(unknown)")
	_, err = e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: s.ID},
		doorman.Revocation{At: later, By: u.ID}, nil)
	ok(t, err, "RevokeSessions")
	wantCode(t, e.s.ReauthenticateSession(e.ctx, a.ID, s.ID, later.Add(time.Minute), nil), doorman.ENOTFOUND, "ReauthenticateSession(revoked)")
}
