package sqlite

import (
	"context"
	"database/sql"

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
	if err := doorman.CheckText(accountID, f.Email); err != nil {
		return nil, 0, 0, err
	}
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
	q := teamStmt(accountID, w, f, k)
	rows, err := s.db.QueryContext(ctx, q.b, q.args...)
	if err != nil {
		return nil, 0, 0, 0, false, err
	}
	defer rows.Close()
	members = []doorman.TeamMember{}
	for rows.Next() {
		// The columns of the page's user are NULL on the one row of an
		// empty page, which carries the totals alone.
		var (
			id, acct, email, name, role, hash sql.NullString
			disabled                          sql.NullBool
			created, last                     sql.NullInt64
			m                                 doorman.TeamMember
		)
		if err := rows.Scan(&id, &acct, &email, &name, &role, &hash, &disabled, &created,
			&m.Sessions, &last, &users, &active, &ranked, &complete); err != nil {
			return nil, 0, 0, 0, false, err
		}
		if !id.Valid {
			continue
		}
		m.User = &doorman.User{ID: id.String, AccountID: acct.String, Email: email.String, Name: name.String,
			Role: doorman.Role(role.String), PasswordHash: hash.String, Disabled: disabled.Bool, CreatedAt: fromMicros(created.Int64)}
		m.LastActiveAt = fromNullMicros(last)
		members = append(members, m)
	}
	return members, users, active, ranked, complete, rows.Err()
}

// stmt builds a statement and its arguments in the order they appear.
type stmt struct {
	b    string
	args []any
}

func (q *stmt) sql(s string, args ...any) {
	q.b += s
	q.args = append(q.args, args...)
}

// liveNotRemembered adds the conditions under which a session s of the
// account that is not remembered is active in w, in the terms of
// sessions_live's predicate so that the index serves it.
func (q *stmt) liveNotRemembered(accountID string, w *doorman.ActiveWindow) {
	q.sql(`s.account_id = ? AND s.revoked_at IS NULL AND s.remember_me = 0`, accountID)
	q.sql(` AND (s.expires_at IS NULL OR s.expires_at > ?)`, toMicros(w.Now))
	if !w.IdleSince.IsZero() {
		q.sql(` AND s.last_active_at > ?`, toMicros(w.IdleSince))
	}
}

// liveRemembered adds the conditions under which a remembered session s of
// the account is active in w, in the terms of sessions_remembered's
// predicate: remembered for a time from sign-in, or judged by idleness like
// the others when the account no longer allows remember-me.
func (q *stmt) liveRemembered(accountID string, w *doorman.ActiveWindow) {
	q.sql(`s.account_id = ? AND s.revoked_at IS NULL AND s.remember_me = 1`, accountID)
	q.sql(` AND (s.expires_at IS NULL OR s.expires_at > ?)`, toMicros(w.Now))
	switch {
	case w.RememberAllowed:
		q.sql(` AND s.created_at > ?`, toMicros(w.RememberSince))
	case !w.IdleSince.IsZero():
		q.sql(` AND s.last_active_at > ?`, toMicros(w.IdleSince))
	}
}

// teamStmt returns the team statement over the k most recent active
// sessions not remembered (every one when k is 0), with the remembered ones
// used since the k-th.
func teamStmt(accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter, k int) *stmt {
	var q stmt
	// One user's sessions are found by user; otherwise the indexes are read
	// from the newest down.
	live, remembered, user := "INDEXED BY sessions_live", "INDEXED BY sessions_remembered", func() {}
	if f.Email != "" {
		live, remembered = "INDEXED BY sessions_user", "INDEXED BY sessions_user"
		user = func() {
			q.sql(` AND s.user_id IN (SELECT id FROM users WHERE account_id = ? AND email = ?)`, accountID, f.Email)
		}
	}
	usersOf := func() {
		q.sql(`u.account_id = ? AND u.removed_at IS NULL`, accountID)
		if f.Email != "" {
			q.sql(` AND u.email = ?`, f.Email)
		}
	}
	limit, offset := 1, k-1
	if k <= 0 {
		limit, offset = 0, 0
	}
	q.sql(`WITH bound AS (
			SELECT s.last_active_at AS t FROM sessions s ` + live + ` WHERE `)
	q.liveNotRemembered(accountID, w)
	user()
	q.sql(` ORDER BY s.last_active_at DESC LIMIT ? OFFSET ?),
		recent AS (
			SELECT user_id, max(last) AS last FROM (
				SELECT s.user_id, s.last_active_at AS last FROM sessions s `+live+` WHERE `, limit, offset)
	q.liveNotRemembered(accountID, w)
	user()
	q.sql(` AND s.last_active_at >= coalesce((SELECT t FROM bound), ?)
				UNION ALL
				SELECT s.user_id, s.last_active_at FROM sessions s `+remembered+` WHERE `, int64(minMicros))
	q.liveRemembered(accountID, w)
	user()
	q.sql(` AND s.last_active_at >= coalesce((SELECT t FROM bound), ?))
			GROUP BY user_id),
		ranked AS (
			SELECT `+userCols+`, r.last AS last FROM recent r CROSS JOIN users u ON u.id = r.user_id
			UNION ALL
			SELECT `+userCols+`, NULL FROM users u WHERE `, int64(minMicros))
	usersOf()
	q.sql(` AND NOT EXISTS (SELECT 1 FROM bound) AND u.id NOT IN (SELECT user_id FROM recent)),
		page AS (
			SELECT * FROM ranked ORDER BY last DESC NULLS LAST, email, id`)
	lim, largs := page(f.Limit, f.Offset)
	q.sql(lim+`),
		totals AS (SELECT
			(SELECT count(*) FROM users u WHERE `, largs...)
	usersOf()
	q.sql(`) AS users,
			(SELECT count(*) FROM sessions s INDEXED BY sessions_live WHERE `)
	q.liveNotRemembered(accountID, w)
	q.sql(`) + (SELECT count(*) FROM sessions s INDEXED BY sessions_remembered WHERE `)
	q.liveRemembered(accountID, w)
	q.sql(`) AS active,
			(SELECT count(*) FROM recent) AS ranked,
			NOT EXISTS (SELECT 1 FROM bound) AS complete)
		SELECT p.id, p.account_id, p.email, p.name, p.role, p.password_hash, p.disabled, p.created_at,
			(SELECT count(*) FROM sessions s WHERE s.account_id = ? AND s.user_id = p.id AND s.revoked_at IS NULL AND `, accountID)
	cond, args := liveExpr(w)
	q.sql(cond, args...)
	q.sql(`), p.last, t.users, t.active, t.ranked, t.complete
		FROM totals t LEFT JOIN page p ON 1
		ORDER BY p.last DESC NULLS LAST, p.email, p.id`)
	return &q
}
