package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var purgeTests = []test{
	{"Cutoff", testPurgeCutoff},
	{"Limit", testPurgeLimit},
}

func testPurgeCutoff(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	cutoff := Base
	revoked := func(when time.Time, exp *time.Time) *doorman.Session {
		s := e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt, s.ExpiresAt = at(-100*day), at(-100*day), exp })
		_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: s.ID},
			doorman.Revocation{At: when, By: u.ID}, nil)
		ok(t, err, "RevokeSessions")
		return s
	}
	expiring := func(exp *time.Time) *doorman.Session {
		return e.session(u, func(s *doorman.Session) { s.CreatedAt, s.LastActiveAt, s.ExpiresAt = at(-100*day), at(-100*day), exp })
	}
	gone := []*doorman.Session{
		revoked(at(-2*day), nil),
		revoked(at(-us), ptr(at(10*day))),
		expiring(ptr(at(-us))),
		expiring(ptr(at(-50 * day))),
	}
	kept := []*doorman.Session{
		revoked(cutoff, nil),
		revoked(at(us), ptr(at(10*day))),
		expiring(ptr(cutoff)),
		expiring(ptr(at(us))),
		expiring(nil), // no absolute end, however old: idle sessions are not purged here
	}
	before := e.auditTotal()
	n, err := e.s.PurgeSessions(e.ctx, cutoff, 100)
	ok(t, err, "PurgeSessions")
	if n != len(gone) {
		t.Errorf("PurgeSessions = %d, want %d", n, len(gone))
	}
	for _, s := range gone {
		_, err := e.s.FindSessionByID(e.ctx, "", s.ID)
		wantCode(t, err, doorman.ENOTFOUND, "FindSessionByID(purged session "+fmtPtr(s.ExpiresAt)+")")
	}
	for _, s := range kept {
		if _, err := e.s.FindSessionByID(e.ctx, "", s.ID); err != nil {
			t.Errorf("session (expires %s) purged or lost: %v", fmtPtr(s.ExpiresAt), err)
		}
	}
	if after := e.auditTotal(); after != before {
		t.Errorf("audit events %d after PurgeSessions, want %d: purging sessions keeps the audit log", after, before)
	}
	n, err = e.s.PurgeSessions(e.ctx, cutoff, 100)
	ok(t, err, "PurgeSessions(again)")
	if n != 0 {
		t.Errorf("PurgeSessions(again) = %d, want 0", n)
	}
}

func testPurgeLimit(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	for i := range 7 {
		e.session(u, func(s *doorman.Session) { s.ExpiresAt = ptr(at(-time.Duration(i+1) * time.Hour)) })
	}
	keep := e.session(u, func(s *doorman.Session) { s.ExpiresAt = ptr(at(day)) })
	var got []int
	total := 0
	for range 10 {
		n, err := e.s.PurgeSessions(e.ctx, Base, 3)
		ok(t, err, "PurgeSessions")
		got = append(got, n)
		total += n
		if n < 3 {
			break
		}
	}
	if total != 7 || len(got) != 3 || got[0] != 3 || got[1] != 3 || got[2] != 1 {
		t.Errorf("PurgeSessions(limit 3) in a loop returned %v, want [3 3 1]", got)
	}
	list, n := e.sessions(doorman.SessionFilter{AccountID: a.ID})
	if n != 1 || len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("sessions after purge: %v (total %d), want only [%s]", sessionIDs(list), n, keep.ID)
	}
}
