package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// Size of the team-view benchmark: the 100,000 sessions of 10,000
// users in one account, beside a smaller account whose rows must not count.
const (
	benchTeamUsers       = 10_000
	benchSessionsPerUser = 10
	benchOtherUsers      = 1_000
)

// teamFixture returns the users and sessions of a large account: each user
// has benchSessionsPerUser sessions, all valid at Base under the default
// settings (the worst case: every one counts), last active over the last six
// days, one of them remembered since twenty days. It returns how many
// sessions are valid at Base under the account's settings.
func teamFixture(a *doorman.Account, users int) ([]*doorman.User, []*doorman.Session, int) {
	var us []*doorman.User
	var ss []*doorman.Session
	active := 0
	for i := range users {
		u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID,
			Email: fmt.Sprintf("user%05d@%s.example.com", i, a.Name), Name: fmt.Sprintf("User %d", i),
			Role: doorman.RoleMember, PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", CreatedAt: at(-60 * day)}
		if i == 0 {
			u.Role = doorman.RoleAdmin
		}
		us = append(us, u)
		for j := range benchSessionsPerUser {
			// A spread over six days, different for every user and session.
			ago := time.Duration((i*7919+j*104729)%(6*24*60)) * time.Minute
			s := newSession(u, func(s *doorman.Session) {
				s.CreatedAt, s.LastActiveAt = at(-ago-time.Hour), at(-ago)
				s.ExpiresAt = ptr(s.CreatedAt.Add(doorman.DefaultAbsoluteCap))
				if j == 0 {
					s.RememberMe, s.CreatedAt = true, at(-20*day)
					s.ExpiresAt = ptr(s.CreatedAt.Add(30 * day))
				}
			})
			if doorman.CheckSession(s, u, a.Settings, Base) == nil {
				active++
			}
			ss = append(ss, s)
		}
	}
	return us, ss, active
}

// benchTeam measures the team view's query, FindTeamMembers with pages of
// 50, on 100,000 sessions of 10,000 users: the first page, the last, and
// one user found by email.
func benchTeam(b *testing.B, open opener, c config) {
	if c.bulkSeed == nil {
		b.Skip("no WithBulkSeed option: seeding 100,000 sessions through the Store API takes too long")
	}
	e := newEnv(b, open)
	a := e.account("acme", doorman.DefaultSettings())
	other := e.account("globex", doorman.DefaultSettings())
	users, sessions, active := teamFixture(a, benchTeamUsers)
	ou, os, _ := teamFixture(other, benchOtherUsers)
	start := time.Now()
	if err := c.bulkSeed(e.s, append(users, ou...), append(sessions, os...)); err != nil {
		b.Fatalf("bulk seed: %v", err)
	}
	b.Logf("seeded %d users and %d sessions in %v", len(users)+len(ou), len(sessions)+len(os), time.Since(start).Round(time.Millisecond))
	w := doorman.Window(a.Settings, Base)
	for _, c := range []struct {
		name string
		f    doorman.TeamFilter
		rows int
	}{
		// The team view as it opens: the "under 50 ms".
		{"FirstPage", doorman.TeamFilter{Limit: 50}, 50},
		{"LastPage", doorman.TeamFilter{Limit: 50, Offset: benchTeamUsers - 50}, 50},
		{"FilterByEmail", doorman.TeamFilter{Email: users[benchTeamUsers/2].Email, Limit: 50}, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			// The median and the fastest call too: on a shared machine the
			// mean also measures the neighbours.
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				members, n, total, err := e.s.FindTeamMembers(e.ctx, a.ID, w, c.f)
				took = append(took, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(members) != c.rows || total != active {
					b.Fatalf("FindTeamMembers(%+v): %d rows, %d users, %d active; want %d rows, %d active",
						c.f, len(members), n, total, c.rows, active)
				}
			}
			slices.Sort(took)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/op")
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[0]), "min-ms")
		})
	}
}
