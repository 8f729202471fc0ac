package postgres

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// FindTeamMembers implements doorman.TeamStore.
//
// One statement, which does not aggregate the whole account. The sessions
// never revoked are in two partial indexes by last activity, sessions_live
// (not remembered) and sessions_remembered. A user's latest active session
// comes before their others, so the users of a page are among those of the
// K most recent active sessions of sessions_live (K = teamScanFactor ×
// (Offset+Limit), ties included) and of the remembered sessions used since
// the K-th: every other user's activity is older. When those are too few
// users, the statement runs again over every active session, and then also
// lists the users without one. The account's total is two counts, one over
// a range of sessions_live (used since the idle timeout), one over the
// remembered sessions.
func (s *Store) FindTeamMembers(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter) ([]doorman.TeamMember, int, int, error) {
	return doorman.TeamScan(f, func(k int) (doorman.TeamPage, error) {
		members, users, active, ranked, complete, err := s.findTeam(ctx, accountID, w, f, k)
		if err != nil {
			return doorman.TeamPage{}, wrap("find team members", err)
		}
		return doorman.TeamPage{Members: members, Users: users, Active: active, Ranked: ranked, Full: complete}, nil
	})
}

// findTeam runs the team statement over the k most recent active sessions
// (every one when k is 0). It also returns how many users it ranked, and
// whether the prefix held every active session (the page is then exact
// whatever its offset).
func (s *Store) findTeam(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter, k int) (
	members []doorman.TeamMember, users, active, ranked int, complete bool, err error) {
	sql, args := teamSQL(accountID, w, f, k)
	rows, err := s.pool.Query(ctx, sql, args...)
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

// teamSQL returns the team statement over the k most recent active
// sessions not remembered (every one when k is 0), with the remembered ones
// used since the k-th, and its arguments.
func teamSQL(accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter, k int) (string, []any) {
	// Arguments are numbered: each is added once and used where needed.
	var q query
	acct := q.arg(accountID)
	liveCond := liveExpr(&q, w)
	notRemembered, remembered := liveParts(&q, acct, w)
	user, usersOf := "", "u.account_id = "+acct+" AND u.removed_at IS NULL"
	if f.Email != "" {
		email := q.arg(f.Email)
		user = " AND s.user_id IN (SELECT id FROM users WHERE account_id = " + acct + " AND email = " + email + ")"
		usersOf += " AND u.email = " + email
	}
	bound := "LIMIT 0"
	if k > 0 {
		bound = "LIMIT 1 OFFSET " + q.arg(k-1)
	}
	sql := `WITH bound AS (
			SELECT s.last_active_at AS t FROM sessions s WHERE ` + notRemembered + user + `
			ORDER BY s.last_active_at DESC ` + bound + `),
		recent AS (
			SELECT user_id, max(last) AS last FROM (
				SELECT s.user_id, s.last_active_at AS last FROM sessions s
				WHERE ` + notRemembered + user + ` AND s.last_active_at >= COALESCE((SELECT t FROM bound), '-infinity')
				UNION ALL
				SELECT s.user_id, s.last_active_at FROM sessions s
				WHERE ` + remembered + user + ` AND s.last_active_at >= COALESCE((SELECT t FROM bound), '-infinity')) x
			GROUP BY user_id),
		ranked AS (
			SELECT ` + userColumns + `, r.last FROM recent r
				-- OFFSET 0 keeps this a lookup per ranked user, not a
				-- hash of the whole account's users.
				CROSS JOIN LATERAL (SELECT * FROM users u WHERE u.id = r.user_id OFFSET 0) u
			UNION ALL
			SELECT ` + userColumns + `, NULL FROM users u WHERE ` + usersOf + `
				AND NOT EXISTS (SELECT 1 FROM bound) AND u.id NOT IN (SELECT user_id FROM recent)),
		page AS (
			SELECT * FROM ranked ORDER BY last DESC NULLS LAST, email COLLATE "C", id` + q.page(f.Limit, f.Offset) + `),
		totals AS (SELECT
			(SELECT count(*) FROM users u WHERE ` + usersOf + `) AS users,
			(SELECT count(*) FROM sessions s WHERE ` + notRemembered + `) +
				(SELECT count(*) FROM sessions s WHERE ` + remembered + `) AS active,
			(SELECT count(*) FROM recent) AS ranked,
			NOT EXISTS (SELECT 1 FROM bound) AS complete)
		SELECT p.id, p.account_id, p.email, p.name, p.role, p.password_hash, p.disabled, p.created_at,
			(SELECT count(*) FROM sessions s WHERE s.account_id = ` + acct + ` AND s.user_id = p.id
				AND s.revoked_at IS NULL AND ` + liveCond + `),
			p.last, t.users, t.active, t.ranked, t.complete
		FROM totals t LEFT JOIN page p ON TRUE
		ORDER BY p.last DESC NULLS LAST, p.email COLLATE "C", p.id`
	return sql, q.args
}

// liveParts returns the conditions under which a session s of the account
// is active in w, split as the two partial indexes split the sessions never
// revoked, in the terms of their predicates so that each serves its part:
// those not remembered (sessions_live) end by idleness; remembered ones
// (sessions_remembered) a time after sign-in, or by idleness too when the
// account no longer allows remember-me.
func liveParts(q *query, acct string, w *doorman.ActiveWindow) (notRemembered, remembered string) {
	live := "s.account_id = " + acct + " AND s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > " + q.arg(w.Now) + ")"
	idle := ""
	if !w.IdleSince.IsZero() {
		idle = " AND s.last_active_at > " + q.arg(w.IdleSince)
	}
	notRemembered = live + " AND NOT s.remember_me" + idle
	remembered = live + " AND s.remember_me"
	switch {
	case w.RememberAllowed:
		remembered += " AND s.created_at > " + q.arg(w.RememberSince)
	default:
		remembered += idle
	}
	return notRemembered, remembered
}
