package postgres

import (
	"context"

	"github.com/doorman/doorman"
)

// FindTeamMembers returns the account's users that f selects with their
// active sessions in w (how many, and the latest activity), newest activity
// first (users without an active session last), then by email and id; how
// many users f selects; and the account's active sessions in all. One
// statement: the aggregate reads the sessions_team index once.
func (s *Store) FindTeamMembers(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter) ([]doorman.TeamMember, int, int, error) {
	var act query
	act.where("s.account_id = " + act.arg(accountID))
	activeWindow(&act, w)
	q := query{args: act.args}
	q.where("u.account_id = " + q.arg(accountID))
	if f.Email != "" {
		q.where("u.email = " + q.arg(f.Email))
	}
	// act is read twice (the join and the total), so PostgreSQL
	// materialises it once.
	sql := `WITH act AS (
			SELECT s.user_id, count(*) AS n, max(s.last_active_at) AS last
			FROM sessions s` + act.clause() + `
			GROUP BY s.user_id)
		SELECT ` + userColumns + `, COALESCE(a.n, 0), a.last, count(*) OVER (),
			(SELECT COALESCE(sum(n), 0) FROM act)
		FROM users u LEFT JOIN act a ON a.user_id = u.id` + q.clause() + `
		ORDER BY a.last DESC NULLS LAST, u.email COLLATE "C", u.id` + q.page(f.Limit, f.Offset)
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, 0, 0, wrap("find team members", err)
	}
	defer rows.Close()
	members := []doorman.TeamMember{}
	var total, active int
	for rows.Next() {
		u := new(doorman.User)
		var m doorman.TeamMember
		if err := rows.Scan(append(userDest(u), &m.Sessions, &m.LastActiveAt, &total, &active)...); err != nil {
			return nil, 0, 0, wrap("find team members", err)
		}
		u.CreatedAt = u.CreatedAt.UTC()
		m.User, m.LastActiveAt = u, utcPtr(m.LastActiveAt)
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, wrap("find team members", err)
	}
	if len(members) == 0 {
		// No row carried the totals: past the last page, or nobody matches.
		nargs := len(q.args)
		if f.Limit > 0 {
			nargs--
		}
		if f.Offset > 0 {
			nargs--
		}
		err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM users u`+q.clause()+`),
			(SELECT count(*) FROM sessions s`+act.clause()+`)`, q.args[:nargs]...).Scan(&total, &active)
		if err != nil {
			return nil, 0, 0, wrap("find team members: count", err)
		}
	}
	return members, total, active, nil
}
