package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

const accountColumns = `a.id, a.name, a.idle_timeout, a.remember_me_allowed, a.remember_me_days, a.members_see_sessions, a.end_session_on_failed_proof, a.created_at`

// accountDest returns the scan targets of accountColumns.
func accountDest(a *doorman.Account) []any {
	return []any{&a.ID, &a.Name, &a.Settings.IdleTimeout, &a.Settings.RememberMeAllowed,
		&a.Settings.RememberMeDays, &a.Settings.MembersSeeSessions, &a.Settings.EndSessionOnFailedProof, &a.CreatedAt}
}

// CreateAccount implements doorman.AccountStore.
func (s *Store) CreateAccount(ctx context.Context, a *doorman.Account) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts
		(id, name, idle_timeout, remember_me_allowed, remember_me_days, members_see_sessions, end_session_on_failed_proof, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.Name, string(a.Settings.IdleTimeout), a.Settings.RememberMeAllowed, a.Settings.RememberMeDays,
		a.Settings.MembersSeeSessions, a.Settings.EndSessionOnFailedProof, a.CreatedAt)
	switch sqlState(err) {
	case "":
	case codeUniqueViolation:
		return doorman.Errorf(doorman.ECONFLICT, "an account with this id or name already exists")
	case codeCheckViolation:
		return doorman.Errorf(doorman.EINVALID, "account settings are out of range")
	}
	return wrap("create account", err)
}

// FindAccountByID implements doorman.AccountStore.
func (s *Store) FindAccountByID(ctx context.Context, id string) (*doorman.Account, error) {
	return s.findAccount(ctx, "a.id", id)
}

// FindAccountByName implements doorman.AccountStore.
func (s *Store) FindAccountByName(ctx context.Context, name string) (*doorman.Account, error) {
	return s.findAccount(ctx, "a.name", name)
}

func (s *Store) findAccount(ctx context.Context, column, value string) (*doorman.Account, error) {
	var a doorman.Account
	err := s.pool.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts a WHERE "+column+" = $1", value).
		Scan(accountDest(&a)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "account not found")
	}
	if err != nil {
		return nil, wrap("find account", err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// UpdateAccountSettings implements doorman.AccountStore.
// The transaction holds the account's row lock from the read of the
// settings it replaces, so that concurrent changes are serialised: FOR NO
// KEY UPDATE, as the UPDATE itself would take, so that it never blocks the
// inserts whose foreign keys name the account.
func (s *Store) UpdateAccountSettings(ctx context.Context, id string, set doorman.Settings, now time.Time, ev *doorman.AuditEvent) (int, error) {
	var byChange int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var a doorman.Account
		err := tx.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts a WHERE a.id = $1 FOR NO KEY UPDATE", id).Scan(accountDest(&a)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "account not found")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts
			SET idle_timeout = $2, remember_me_allowed = $3, remember_me_days = $4, members_see_sessions = $5,
				end_session_on_failed_proof = $6
			WHERE id = $1`,
			id, string(set.IdleTimeout), set.RememberMeAllowed, set.RememberMeDays, set.MembersSeeSessions, set.EndSessionOnFailedProof)
		if sqlState(err) == codeCheckViolation {
			return doorman.Errorf(doorman.EINVALID, "account settings are out of range")
		}
		if err != nil {
			return err
		}
		if byChange, err = endSessions(ctx, tx, id, a.Settings, set, now); err != nil {
			return err
		}
		if ev != nil {
			ev.Count = byChange
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, wrap("update account settings", err)
	}
	s.settle("a:" + id) // the settings apply on every node from now on
	return byChange, nil
}

// endSessions revokes, by doorman.ActorExpiry, the account's sessions not
// yet revoked that a change of its settings from old to set at now ends
// (doorman.SettingsEnd), in one statement, and returns how many of them the
// change itself ended. Only the sessions that are not live under both
// settings are read: the rest cannot end.
func endSessions(ctx context.Context, tx pgx.Tx, accountID string, old, set doorman.Settings, now time.Time) (int, error) {
	var q query
	q.where("s.account_id = " + q.arg(accountID))
	q.where("s.revoked_at IS NULL")
	q.where("NOT ((" + liveExpr(&q, doorman.Window(old, now)) + ") AND (" + liveExpr(&q, doorman.Window(set, now)) + "))")
	rows, err := tx.Query(ctx, "SELECT s.id, s.created_at, s.last_active_at, s.expires_at, s.remember_me FROM sessions s"+q.clause(), q.args...)
	if err != nil {
		return 0, fmt.Errorf("find ended sessions: %w", err)
	}
	var ids, reasons []string
	var ats []time.Time
	var changes []bool
	for rows.Next() {
		var sess doorman.Session
		if err := rows.Scan(&sess.ID, &sess.CreatedAt, &sess.LastActiveAt, &sess.ExpiresAt, &sess.RememberMe); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find ended sessions: %w", err)
		}
		at, reason, changed, ok := doorman.SettingsEnd(&sess, old, set, now)
		if !ok {
			continue
		}
		ids, reasons, ats, changes = append(ids, sess.ID), append(reasons, reason), append(ats, at), append(changes, changed)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find ended sessions: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// Only the rows updated count: none is ended twice.
	var byChange int
	err = tx.QueryRow(ctx, `WITH u AS (
		UPDATE sessions s SET revoked_at = e.at, revoked_by = $5, revoke_reason = e.reason
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bool[]) AS e(id, at, reason, by_change)
		WHERE s.id = e.id AND s.revoked_at IS NULL
		RETURNING e.by_change)
		SELECT count(*) FILTER (WHERE by_change) FROM u`, ids, ats, reasons, changes, doorman.ActorExpiry).Scan(&byChange)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return byChange, nil
}
