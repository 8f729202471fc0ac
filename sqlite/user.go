package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

const userCols = `u.id, u.account_id, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at`

// userLifeCols follow userCols where a user's invitation and removal are
// read too (FindUserByID, FindUsers and the team's writes); the queries on
// the validation path leave them out, since a removed user is disabled.
const userLifeCols = `, u.invited, u.removed_at`

// userRow receives one row of userCols.
type userRow struct {
	u       doorman.User
	created int64
	removed sql.NullInt64
}

func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.AccountID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &r.created}
}

// lifeDest returns the scan targets of userCols + userLifeCols.
func (r *userRow) lifeDest() []any { return append(r.dest(), &r.u.Invited, &r.removed) }

func (r *userRow) user() *doorman.User {
	r.u.CreatedAt = fromMicros(r.created)
	r.u.RemovedAt = fromNullMicros(r.removed)
	return &r.u
}

// CreateUser stores u and writes ev (if not nil) in the same transaction.
// Returns ECONFLICT if the id is taken or the email exists in the account,
// ENOTFOUND if the account does not exist.
func (s *Store) CreateUser(ctx context.Context, u *doorman.User, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash); err != nil {
		return err
	}
	return s.inTx(ctx, "create user", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users
			(id, account_id, email, name, role, password_hash, disabled, invited, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.Disabled, u.Invited, toMicros(u.CreatedAt))
		switch constraint(err) {
		case 0:
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conflict("user id %s is taken", u.ID)
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return conflict("a user with email %s already exists in the account", u.Email)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return notFound("account not found")
		}
		if err != nil {
			return wrap("create user", err)
		}
		return insertEvent(ctx, tx, ev)
	})
}

// FindUserByID returns ENOTFOUND unless a user with that id exists in the
// account (any account when accountID is "").
func (s *Store) FindUserByID(ctx context.Context, accountID, id string) (*doorman.User, error) {
	w := where{}
	w.add("u.id = ?", id)
	if accountID != "" {
		w.add("u.account_id = ?", accountID)
	}
	if err := checkArgs(w.args); err != nil {
		return nil, err
	}
	var r userRow
	err := s.db.QueryRowContext(ctx, `SELECT `+userCols+userLifeCols+` FROM users u`+w.String(), w.args...).Scan(r.lifeDest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user not found")
	}
	if err != nil {
		return nil, wrap("find user", err)
	}
	return r.user(), nil
}

// FindUsers returns the matching users ordered by email then id, and how
// many match without Limit and Offset.
func (s *Store) FindUsers(ctx context.Context, f doorman.UserFilter) ([]*doorman.User, int, error) {
	w := where{}
	if f.AccountID != "" {
		w.add("u.account_id = ?", f.AccountID)
	}
	if f.ID != "" {
		w.add("u.id = ?", f.ID)
	}
	if f.Email != "" {
		w.add("u.email = ?", f.Email)
	}
	users := []*doorman.User{}
	total, err := s.list(ctx, "find users",
		`SELECT count(*) FROM users u`+w.String(),
		`SELECT `+userCols+userLifeCols+` FROM users u`+w.String()+` ORDER BY u.email, u.id`,
		w.args, f.Limit, f.Offset,
		func(rows *sql.Rows) (int, error) {
			for rows.Next() {
				var r userRow
				if err := rows.Scan(r.lifeDest()...); err != nil {
					return 0, err
				}
				users = append(users, r.user())
			}
			return len(users), nil
		})
	if err != nil {
		return nil, 0, err
	}
	return users, total, nil
}

// UpdateUserPassword replaces the user's password hash and writes ev (if
// not nil) in one transaction. Returns ENOTFOUND unless a user with that id
// exists in the account.
func (s *Store) UpdateUserPassword(ctx context.Context, accountID, userID, hash string, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID, hash); err != nil {
		return err
	}
	return s.inTx(ctx, "update user password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND account_id = ?`,
			hash, userID, accountID)
		if err := oneRow("update user password", "user not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}
