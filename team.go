package doorman

import (
	"context"
	"time"
)

// TeamMember is one row of the Team Sessions table: a user of the account
// with their active sessions.
type TeamMember struct {
	User         *User
	Sessions     int        // active sessions now
	LastActiveAt *time.Time // latest activity of an active session; nil when none
	// Flagged marks a user with an active session the risk checks flag
	// (medium or high, old_session included).
	Flagged bool
	// TwoFactor marks a user with two-factor authentication on.
	TwoFactor bool
}

// TeamFilter selects the team view's rows.
type TeamFilter struct {
	Email  string // "" = all users
	Limit  int    // default 50, max 500
	Offset int
}

// Both stores answer the team view with one statement that ranks users from
// a prefix of the most recently active sessions instead of aggregating the
// whole account. TeamScan is the strategy they share.

// teamScanFactor sizes the prefix of recently active sessions a team page is
// ranked from: that many sessions per user the page needs, which holds the
// page unless a few users own most of the recent sessions. Past maxTeamScan
// sessions (pages deep in a large team) the prefix would cost nearly what
// ranking everyone costs, and might still fall short: every session is
// ranked at once.
const (
	teamScanFactor = 4
	maxTeamScan    = 20_000
)

// TeamPage is what one run of a store's team statement found.
type TeamPage struct {
	Members []TeamMember
	Users   int  // users the filter selects
	Active  int  // the account's active sessions
	Ranked  int  // users the run ranked
	Full    bool // the prefix held every active session: the page is exact at any offset
}

// TeamScan runs find over the k most recent active sessions (k = 0: every
// one), first with a prefix sized for f's page, then, when that prefix
// ranked too few users, over every session. It returns the page's members,
// the users f selects and the account's active sessions.
func TeamScan(f TeamFilter, find func(k int) (TeamPage, error)) ([]TeamMember, int, int, error) {
	need := f.Offset + f.Limit
	k := teamScanFactor * need
	// One user (f.Email) has few sessions: rank them all.
	if f.Limit <= 0 || f.Email != "" || k > maxTeamScan {
		k = 0
	}
	for {
		p, err := find(k)
		if err != nil {
			return nil, 0, 0, err
		}
		if p.Full || p.Ranked >= need || k == 0 {
			return p.Members, p.Users, p.Active, nil
		}
		k = 0 // the prefix held too few users: rank them all
	}
}

// TeamStore serves the team view.
type TeamStore interface {
	// FindTeamMembers serves the team view in one query. It returns the
	// users of the account that f selects (every user when f.Email is "",
	// else the one with that email), each with how many of their sessions
	// are active in w and the latest LastActiveAt among those (nil when
	// none), ordered by that latest activity, newest first, users without an
	// active session last, then by email and id; how many users f selects
	// without Limit and Offset (Limit 0: no limit); and how many sessions of
	// the whole account are active in w, whatever f selects. Another
	// account's users and sessions never count; an unknown account has none.
	FindTeamMembers(ctx context.Context, accountID string, w *ActiveWindow, f TeamFilter) (members []TeamMember, users int, active int, err error)
}
