package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// testConcurrency uses the store as a server does: many goroutines sign in,
// authenticate and touch one busy session at once. A store may serialise
// writers, but must neither fail (no "database is locked") nor lose a write.
func testConcurrency(t *testing.T, open opener) {
	const workers, rounds = 8, 25
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	hot := e.session(u, func(s *doorman.Session) { s.Activity.Actions = 0 })

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				n := w*rounds + i
				s := newSession(u, func(s *doorman.Session) {
					s.CreatedAt, s.LastActiveAt = at(time.Duration(n)*us), at(time.Duration(n)*us)
				})
				ev := event(a.ID, doorman.ActionSignIn, s.CreatedAt)
				if err := e.s.CreateSession(e.ctx, s, ev); err != nil {
					t.Errorf("worker %d: CreateSession: %v", w, err)
					return
				}
				if _, err := e.s.FindSessionByTokenHash(e.ctx, hot.TokenHash); err != nil {
					t.Errorf("worker %d: FindSessionByTokenHash: %v", w, err)
					return
				}
				tc := doorman.Touch{At: at(time.Minute + time.Duration(n)*us), Actions: 1, LastPage: fmt.Sprint("page ", n)}
				if err := e.s.TouchSession(e.ctx, hot.ID, tc); err != nil {
					t.Errorf("worker %d: TouchSession: %v", w, err)
					return
				}
				if _, _, err := e.s.FindSessions(e.ctx, doorman.SessionFilter{AccountID: a.ID, UserID: u.ID, Limit: 10}); err != nil {
					t.Errorf("worker %d: FindSessions: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const total = workers * rounds
	if _, n := e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: u.ID}); n != total+1 {
		t.Errorf("sessions = %d, want %d", n, total+1)
	}
	got := e.sessionByID(hot.ID)
	if got.Activity.Actions != total {
		t.Errorf("busy session's Actions = %d after %d concurrent touches of 1, want %d", got.Activity.Actions, total, total)
	}
	if want := at(time.Minute + (total-1)*us); !got.LastActiveAt.Equal(want) {
		t.Errorf("busy session's LastActiveAt = %s, want the latest touch %s", fmtTime(got.LastActiveAt), fmtTime(want))
	}
	if _, n := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionSignIn}); n != total {
		t.Errorf("sign_in events = %d, want %d", n, total)
	}

	// Concurrent revocations of the same sessions count each session once.
	var mu sync.Mutex
	revoked := 0
	for w := range workers {
		wg.Go(func() {
			n, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, UserID: u.ID, ExceptSessionID: hot.ID},
				doorman.Revocation{At: at(time.Hour), By: u.ID}, event(a.ID, doorman.ActionOtherSessionsRevoke, at(time.Hour)))
			if err != nil {
				t.Errorf("worker %d: RevokeSessions: %v", w, err)
			}
			mu.Lock()
			revoked += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if revoked != total {
		t.Errorf("concurrent RevokeSessions revoked %d in all, want %d: a session was counted twice or missed", revoked, total)
	}
}
