package postgres

import (
	"context"
	"math"
	"time"

	"github.com/doorman/doorman"
)

// teamScanFactor sizes the prefix of recently active sessions a team page
// is ranked from: that many sessions per user the page needs, which holds
// the page unless a few users own most of the recent sessions.
const teamScanFactor = 4

// FindTeamMembers returns the account's users that f selects with their
// active sessions in w (how many, and the latest activity), newest activity
// first (users without an active session last), then by email and id; how
// many users f selects; and the account's active sessions in all.
//
// One statement, which never aggregates the whole account: a user's latest
// active session comes before all their others in the sessions_recent
// index, so the users of a page are among those of the most recent active
// sessions. The statement ranks the users of the K most recent (K =
// teamScanFactor × (Offset+Limit), ties included): every user outside has
// older activity than any inside. When those are too few users, the
// statement runs again over every active session, and then also lists the
// users without one. Only the account's total is a full pass, a count over
// the covering index.
func (s *Store) FindTeamMembers(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter) ([]doorman.TeamMember, int, int, error) {
	need := f.Offset + f.Limit
	k := teamScanFactor * need
	if f.Limit <= 0 || k > math.MaxInt32 {
		k = 0
	}
	for {
		members, users, active, ranked, complete, err := s.findTeam(ctx, accountID, w, f, k)
		if err != nil {
			return nil, 0, 0, wrap("find team members", err)
		}
		if complete || ranked >= need {
			return members, users, active, nil
		}
		k = 0 // the prefix held too few users: rank them all
	}
}

// findTeam runs the team statement over the k most recent active sessions
// (every one when k is 0). It also returns how many users it ranked, and
// whether the prefix held every active session (the page is then exact
// whatever its offset).
func (s *Store) findTeam(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter, k int) (
	members []doorman.TeamMember, users, active, ranked int, complete bool, err error) {
	var q query
	acct := q.arg(accountID)
	// Arguments are numbered: each is added once and used where needed.
	liveCond := liveExpr(&q, w)
	sel := "s.account_id = " + acct + " AND s.revoked_at IS NULL AND " + liveCond
	usersOf := "u.account_id = " + acct
	if f.Email != "" {
		email := q.arg(f.Email)
		sel += " AND s.user_id IN (SELECT id FROM users WHERE account_id = " + acct + " AND email = " + email + ")"
		usersOf += " AND u.email = " + email
	}
	bound := "LIMIT 0"
	if k > 0 {
		bound = "LIMIT 1 OFFSET " + q.arg(k-1)
	}
	sql := `WITH bound AS (
			SELECT s.last_active_at AS t FROM sessions s WHERE ` + sel + `
			ORDER BY s.last_active_at DESC ` + bound + `),
		recent AS (
			SELECT s.user_id, max(s.last_active_at) AS last FROM sessions s
			WHERE ` + sel + ` AND s.last_active_at >= COALESCE((SELECT t FROM bound), '-infinity')
			GROUP BY s.user_id),
		ranked AS (
			SELECT ` + userColumns + `, r.last FROM recent r JOIN users u ON u.id = r.user_id
			UNION ALL
			SELECT ` + userColumns + `, NULL FROM users u WHERE ` + usersOf + `
				AND NOT EXISTS (SELECT 1 FROM bound) AND u.id NOT IN (SELECT user_id FROM recent)),
		page AS (
			SELECT * FROM ranked ORDER BY last DESC NULLS LAST, email COLLATE "C", id` + q.page(f.Limit, f.Offset) + `),
		totals AS (SELECT
			(SELECT count(*) FROM users u WHERE ` + usersOf + `) AS users,
			(SELECT count(*) FROM sessions s WHERE s.account_id = ` + acct + ` AND s.revoked_at IS NULL AND ` + liveCond + `) AS active,
			(SELECT count(*) FROM recent) AS ranked,
			NOT EXISTS (SELECT 1 FROM bound) AS complete)
		SELECT p.id, p.account_id, p.email, p.name, p.role, p.password_hash, p.disabled, p.created_at,
			(SELECT count(*) FROM sessions s WHERE s.account_id = ` + acct + ` AND s.user_id = p.id
				AND s.revoked_at IS NULL AND ` + liveCond + `),
			p.last, t.users, t.active, t.ranked, t.complete
		FROM totals t LEFT JOIN page p ON TRUE
		ORDER BY p.last DESC NULLS LAST, p.email COLLATE "C", p.id`
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, 0, 0, 0, false, err
	}
	defer rows.Close()
	members = []doorman.TeamMember{}
	for rows.Next() {
		// The columns of the page's user are NULL on the one row of an
		// empty page, which carries the totals alone.
		var (
			id, acct, email, name, role, hash *string
			disabled                          *bool
			created, last                     *time.Time
			m                                 doorman.TeamMember
		)
		if err := rows.Scan(&id, &acct, &email, &name, &role, &hash, &disabled, &created,
			&m.Sessions, &last, &users, &active, &ranked, &complete); err != nil {
			return nil, 0, 0, 0, false, err
		}
		if id == nil {
			continue
		}
		m.User = &doorman.User{ID: *id, AccountID: *acct, Email: *email, Name: *name, Role: doorman.Role(*role),
			PasswordHash: *hash, Disabled: *disabled, CreatedAt: created.UTC()}
		m.LastActiveAt = utcPtr(last)
		members = append(members, m)
	}
	return members, users, active, ranked, complete, rows.Err()
}
