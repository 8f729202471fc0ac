package sqlite

import (
	"context"
	"database/sql"

	"github.com/doorman/doorman"
)

// FindTeamMembers returns the account's users that f selects with their
// active sessions in w (how many, and the latest activity), newest activity
// first (users without an active session last), then by email and id; how
// many users f selects; and the account's active sessions in all. One
// statement: the aggregate reads the sessions_team index alone, once.
func (s *Store) FindTeamMembers(ctx context.Context, accountID string, w *doorman.ActiveWindow, f doorman.TeamFilter) ([]doorman.TeamMember, int, int, error) {
	act := where{}
	act.add("s.account_id = ?", accountID)
	activeWindow(&act, w)
	users := where{}
	users.add("u.account_id = ?", accountID)
	if f.Email != "" {
		users.add("u.email = ?", f.Email)
	}
	lim, largs := page(f.Limit, f.Offset)
	args := append(append(append([]any{}, act.args...), users.args...), largs...)
	// act is read twice (the join and the total), so SQLite materialises
	// it once.
	rows, err := s.db.QueryContext(ctx, `WITH act AS (
			SELECT s.user_id AS user_id, count(*) AS n, max(s.last_active_at) AS last
			FROM sessions s`+act.String()+`
			GROUP BY s.user_id)
		SELECT `+userCols+`, coalesce(a.n, 0), a.last, count(*) OVER (),
			(SELECT coalesce(sum(n), 0) FROM act)
		FROM users u LEFT JOIN act a ON a.user_id = u.id`+users.String()+`
		ORDER BY a.last DESC NULLS LAST, u.email, u.id`+lim, args...)
	if err != nil {
		return nil, 0, 0, wrap("find team members", err)
	}
	defer rows.Close()
	members := []doorman.TeamMember{}
	var total, active int
	for rows.Next() {
		var r userRow
		var m doorman.TeamMember
		var last sql.NullInt64
		if err := rows.Scan(append(r.dest(), &m.Sessions, &last, &total, &active)...); err != nil {
			return nil, 0, 0, wrap("find team members", err)
		}
		m.User, m.LastActiveAt = r.user(), fromNullMicros(last)
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, 0, wrap("find team members", err)
	}
	if len(members) == 0 {
		// No row carried the totals: past the last page, or nobody matches.
		err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users u`+users.String()+`),
			(SELECT count(*) FROM sessions s`+act.String()+`)`,
			append(append([]any{}, users.args...), act.args...)...).Scan(&total, &active)
		if err != nil {
			return nil, 0, 0, wrap("find team members: count", err)
		}
	}
	return members, total, active, nil
}
