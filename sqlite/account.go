package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

const accountCols = `a.id, a.name, a.idle_timeout, a.remember_me_allowed, a.remember_me_days, a.members_see_sessions, a.end_session_on_failed_proof, a.created_at`

// accountRow receives one row of accountCols.
type accountRow struct {
	a       doorman.Account
	created int64
}

func (r *accountRow) dest() []any {
	a := &r.a
	return []any{&a.ID, &a.Name, &a.Settings.IdleTimeout, &a.Settings.RememberMeAllowed,
		&a.Settings.RememberMeDays, &a.Settings.MembersSeeSessions, &a.Settings.EndSessionOnFailedProof, &r.created}
}

func (r *accountRow) account() *doorman.Account {
	r.a.CreatedAt = fromMicros(r.created)
	return &r.a
}

// CreateAccount implements doorman.AccountStore.
func (s *Store) CreateAccount(ctx context.Context, a *doorman.Account) error {
	if err := doorman.CheckText(a.ID, a.Name, string(a.Settings.IdleTimeout)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts
		(id, name, idle_timeout, remember_me_allowed, remember_me_days, members_see_sessions, end_session_on_failed_proof, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, string(a.Settings.IdleTimeout), a.Settings.RememberMeAllowed, a.Settings.RememberMeDays,
		a.Settings.MembersSeeSessions, a.Settings.EndSessionOnFailedProof, toMicros(a.CreatedAt))
	switch constraint(err) {
	case 0:
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return conflict("account id %s is taken", a.ID)
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return conflict("an account named %q already exists", a.Name)
	}
	if err != nil {
		return wrap("create account", err)
	}
	return nil
}

// FindAccountByID implements doorman.AccountStore.
func (s *Store) FindAccountByID(ctx context.Context, id string) (*doorman.Account, error) {
	return s.findAccount(ctx, "a.id = ?", id)
}

// FindAccountByName implements doorman.AccountStore.
func (s *Store) FindAccountByName(ctx context.Context, name string) (*doorman.Account, error) {
	return s.findAccount(ctx, "a.name = ?", name)
}

func (s *Store) findAccount(ctx context.Context, cond string, arg string) (*doorman.Account, error) {
	if err := doorman.CheckText(arg); err != nil {
		return nil, err
	}
	var r accountRow
	err := s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts a WHERE `+cond, arg).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("account not found")
	}
	if err != nil {
		return nil, wrap("find account", err)
	}
	return r.account(), nil
}

// UpdateAccountSettings implements doorman.AccountStore.
// The transaction holds the write lock from BEGIN, so the settings it
// reads are the ones it replaces.
func (s *Store) UpdateAccountSettings(ctx context.Context, id string, set doorman.Settings, now time.Time, ev *doorman.AuditEvent) (int, error) {
	var byChange int
	err := s.inTx(ctx, "update account settings", func(tx *sql.Tx) error {
		var r accountRow
		err := tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts a WHERE a.id = ?`, id).Scan(r.dest()...)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("account not found")
		}
		if err != nil {
			return wrap("update account settings: read", err)
		}
		old := r.a.Settings
		res, err := tx.ExecContext(ctx, `UPDATE accounts
			SET idle_timeout = ?, remember_me_allowed = ?, remember_me_days = ?, members_see_sessions = ?,
				end_session_on_failed_proof = ?
			WHERE id = ?`,
			string(set.IdleTimeout), set.RememberMeAllowed, set.RememberMeDays, set.MembersSeeSessions, set.EndSessionOnFailedProof, id)
		if err := oneRow("update account settings", "account not found", res, err); err != nil {
			return err
		}
		if byChange, err = endSessions(ctx, tx, id, old, set, now); err != nil {
			return err
		}
		if ev != nil {
			ev.Count = byChange
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	s.settle() // the settings apply to every check from now on
	return byChange, nil
}

// endSessions revokes, by doorman.ActorExpiry, the account's sessions not
// yet revoked that a change of its settings from old to set at now ends
// (doorman.SettingsEnd), and returns how many of them the change itself
// ended. Only the sessions that are not live under both settings are read:
// the rest cannot end.
func endSessions(ctx context.Context, tx *sql.Tx, accountID string, old, set doorman.Settings, now time.Time) (int, error) {
	liveOld, argsOld := liveExpr(doorman.Window(old, now))
	liveNew, argsNew := liveExpr(doorman.Window(set, now))
	args := append([]any{accountID}, argsOld...)
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.created_at, s.last_active_at, s.expires_at, s.remember_me
		FROM sessions s WHERE s.account_id = ? AND s.revoked_at IS NULL
		AND NOT ((`+liveOld+`) AND (`+liveNew+`))`, append(args, argsNew...)...)
	if err != nil {
		return 0, wrap("update account settings: find ended sessions", err)
	}
	defer rows.Close()
	type end struct {
		id, reason string
		at         time.Time
		byChange   bool
	}
	var ends []end
	for rows.Next() {
		var sess doorman.Session
		var created, lastActive int64
		var expires sql.NullInt64
		if err := rows.Scan(&sess.ID, &created, &lastActive, &expires, &sess.RememberMe); err != nil {
			return 0, wrap("update account settings: find ended sessions", err)
		}
		sess.CreatedAt, sess.LastActiveAt, sess.ExpiresAt = fromMicros(created), fromMicros(lastActive), fromNullMicros(expires)
		at, reason, changed, ok := doorman.SettingsEnd(&sess, old, set, now)
		if !ok {
			continue
		}
		ends = append(ends, end{sess.ID, reason, at, changed})
	}
	if err := rows.Err(); err != nil {
		return 0, wrap("update account settings: find ended sessions", err)
	}
	rows.Close()
	if len(ends) == 0 {
		return 0, nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE sessions SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
		WHERE id = ? AND revoked_at IS NULL`)
	if err != nil {
		return 0, wrap("update account settings: end sessions", err)
	}
	defer stmt.Close()
	byChange := 0
	for _, e := range ends {
		res, err := stmt.ExecContext(ctx, toMicros(e.at), doorman.ActorExpiry, e.reason, e.id)
		if err != nil {
			return 0, wrap("update account settings: end sessions", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, wrap("update account settings: end sessions", err)
		}
		if n == 1 && e.byChange {
			byChange++
		}
	}
	return byChange, nil
}
