package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

const accountColumns = `a.id, a.name, a.idle_timeout, a.remember_me_allowed, a.remember_me_days, a.members_see_sessions, a.created_at`

// accountDest returns the scan targets of accountColumns.
func accountDest(a *doorman.Account) []any {
	return []any{&a.ID, &a.Name, &a.Settings.IdleTimeout, &a.Settings.RememberMeAllowed,
		&a.Settings.RememberMeDays, &a.Settings.MembersSeeSessions, &a.CreatedAt}
}

// CreateAccount stores a. Returns ECONFLICT if the id or name is taken.
func (s *Store) CreateAccount(ctx context.Context, a *doorman.Account) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts
		(id, name, idle_timeout, remember_me_allowed, remember_me_days, members_see_sessions, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, a.Name, string(a.Settings.IdleTimeout), a.Settings.RememberMeAllowed, a.Settings.RememberMeDays,
		a.Settings.MembersSeeSessions, a.CreatedAt)
	switch sqlState(err) {
	case "":
	case codeUniqueViolation:
		return doorman.Errorf(doorman.ECONFLICT, "an account with this id or name already exists")
	case codeCheckViolation:
		return doorman.Errorf(doorman.EINVALID, "account settings are out of range")
	}
	return wrap("create account", err)
}

// FindAccountByID returns ENOTFOUND if no account has that id.
func (s *Store) FindAccountByID(ctx context.Context, id string) (*doorman.Account, error) {
	return s.findAccount(ctx, "a.id", id)
}

// FindAccountByName returns ENOTFOUND if no account has that name.
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

// UpdateAccountSettings replaces the account's settings and writes ev in the
// same transaction. Returns ENOTFOUND if no account has that id.
func (s *Store) UpdateAccountSettings(ctx context.Context, id string, set doorman.Settings, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts
			SET idle_timeout = $2, remember_me_allowed = $3, remember_me_days = $4, members_see_sessions = $5
			WHERE id = $1`,
			id, string(set.IdleTimeout), set.RememberMeAllowed, set.RememberMeDays, set.MembersSeeSessions)
		if sqlState(err) == codeCheckViolation {
			return doorman.Errorf(doorman.EINVALID, "account settings are out of range")
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "account not found")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err == nil {
		s.settle("a:" + id) // the settings apply on every node from now on
	}
	return wrap("update account settings", err)
}
