package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

const accountCols = `a.id, a.name, a.idle_timeout, a.remember_me_allowed, a.remember_me_days, a.members_see_sessions, a.created_at`

// accountRow receives one row of accountCols.
type accountRow struct {
	a       doorman.Account
	created int64
}

func (r *accountRow) dest() []any {
	a := &r.a
	return []any{&a.ID, &a.Name, &a.Settings.IdleTimeout, &a.Settings.RememberMeAllowed,
		&a.Settings.RememberMeDays, &a.Settings.MembersSeeSessions, &r.created}
}

func (r *accountRow) account() *doorman.Account {
	r.a.CreatedAt = fromMicros(r.created)
	return &r.a
}

// CreateAccount stores a. Returns ECONFLICT if the id or the name is taken.
func (s *Store) CreateAccount(ctx context.Context, a *doorman.Account) error {
	if err := doorman.CheckText(a.ID, a.Name, string(a.Settings.IdleTimeout)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts
		(id, name, idle_timeout, remember_me_allowed, remember_me_days, members_see_sessions, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, string(a.Settings.IdleTimeout), a.Settings.RememberMeAllowed, a.Settings.RememberMeDays,
		a.Settings.MembersSeeSessions, toMicros(a.CreatedAt))
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

// FindAccountByID returns ENOTFOUND if no account has that id.
func (s *Store) FindAccountByID(ctx context.Context, id string) (*doorman.Account, error) {
	return s.findAccount(ctx, "a.id = ?", id)
}

// FindAccountByName returns ENOTFOUND if no account has that name.
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

// UpdateAccountSettings replaces the account's settings and writes ev in the
// same transaction. Returns ENOTFOUND if no account has that id.
func (s *Store) UpdateAccountSettings(ctx context.Context, id string, set doorman.Settings, ev *doorman.AuditEvent) error {
	return s.inTx(ctx, "update account settings", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts
			SET idle_timeout = ?, remember_me_allowed = ?, remember_me_days = ?, members_see_sessions = ?
			WHERE id = ?`,
			string(set.IdleTimeout), set.RememberMeAllowed, set.RememberMeDays, set.MembersSeeSessions, id)
		if err := oneRow("update account settings", "account not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}
