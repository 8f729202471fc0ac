package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// Benchmark measures the store's hot paths: authenticating a request by
// token hash, listing a user's sessions, touching a session and revoking;
// and the team view of a large account (with WithBulkSeed). Each
// sub-benchmark calls open once.
func Benchmark(b *testing.B, open func(testing.TB) doorman.Store, opts ...Option) {
	c := newConfig(opts)
	setup := func(b *testing.B) (*env, *doorman.Account, *doorman.User, []*doorman.Session) {
		e := newEnv(b, open)
		a := e.account("Acme", doorman.DefaultSettings())
		var list []*doorman.Session
		var target *doorman.User
		// 100 users of 10 sessions each, so that indexes matter.
		for i := range 100 {
			u := e.user(a, "user"+uniq()+"@example.com")
			for j := range 10 {
				s := e.session(u, func(s *doorman.Session) {
					s.CreatedAt = at(-time.Duration(j) * time.Hour)
					s.LastActiveAt = at(-time.Duration(j) * time.Minute)
					s.Risk.Reasons = []string{"new_device"}
				})
				if i == 50 {
					list = append(list, s)
				}
			}
			if i == 50 {
				target = u
			}
		}
		return e, a, target, list
	}

	b.Run("FindSessionByTokenHash", func(b *testing.B) {
		e, _, _, list := setup(b)
		hash := list[3].TokenHash
		for b.Loop() {
			if _, err := e.s.FindSessionByTokenHash(e.ctx, hash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindSessions", func(b *testing.B) {
		e, a, u, _ := setup(b)
		f := doorman.SessionFilter{AccountID: a.ID, UserID: u.ID, Active: doorman.Window(a.Settings, Base)}
		for b.Loop() {
			list, _, err := e.s.FindSessions(e.ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			if len(list) != 10 {
				b.Fatalf("FindSessions: %d sessions, want 10", len(list))
			}
		}
	})
	b.Run("TouchSession", func(b *testing.B) {
		e, _, _, list := setup(b)
		id := list[0].ID
		n := 0
		for b.Loop() {
			n++
			if err := e.s.TouchSession(e.ctx, id, doorman.Touch{At: at(time.Duration(n) * time.Second), Actions: 1, LastPage: "Sessions"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a server's touches cost: each carries the address, which also
	// goes to the session's address history.
	b.Run("TouchSessionWithAddress", func(b *testing.B) {
		e, _, _, list := setup(b)
		id := list[0].ID
		loc := list[0].Location
		n := 0
		for b.Loop() {
			n++
			tc := doorman.Touch{At: at(time.Duration(n) * time.Second), IP: list[0].IP, Location: &loc, Actions: 1, LastPage: "Sessions"}
			if err := e.s.TouchSession(e.ctx, id, tc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RevokeSessions", func(b *testing.B) {
		e, a, u, _ := setup(b)
		for b.Loop() {
			b.StopTimer()
			s := e.session(u, nil)
			b.StartTimer()
			ev := event(a.ID, doorman.ActionSessionRevoked, Base)
			if _, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, UserID: u.ID, SessionID: s.ID},
				doorman.Revocation{At: Base, By: u.ID}, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindTeamMembers", func(b *testing.B) { benchTeam(b, open, c) })
}
