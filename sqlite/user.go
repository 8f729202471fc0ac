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

// CreateUser implements doorman.UserStore.
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

// FindUserByID implements doorman.UserStore.
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

// FindUsers implements doorman.UserStore.
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

// UpdateUserPassword implements doorman.UserStore.
func (s *Store) UpdateUserPassword(ctx context.Context, accountID, userID, hash string, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID, hash); err != nil {
		return err
	}
	return s.settled(s.inTx(ctx, "update user password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND account_id = ?`,
			hash, userID, accountID)
		if err := oneRow("update user password", "user not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	}))
}

// UpdateUser implements doorman.UserStore.
// The write lock SQLite takes at BEGIN serialises it with every other
// write, so the last-admin count cannot change under it.
func (s *Store) UpdateUser(ctx context.Context, accountID, userID string, upd doorman.UserUpdate, ev *doorman.AuditEvent) (*doorman.User, error) {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return nil, err
	}
	if upd.Role != nil {
		if err := doorman.CheckText(string(*upd.Role)); err != nil {
			return nil, err
		}
	}
	if upd.Name != nil {
		if err := doorman.CheckText(*upd.Name); err != nil {
			return nil, err
		}
	}
	var out *doorman.User
	err := s.inTx(ctx, "update user", func(tx *sql.Tx) error {
		read := func() (*doorman.User, error) {
			var r userRow
			err := tx.QueryRowContext(ctx, `SELECT `+userCols+userLifeCols+` FROM users u
				WHERE u.id = ? AND u.account_id = ? AND u.removed_at IS NULL`, userID, accountID).Scan(r.lifeDest()...)
			if errors.Is(err, sql.ErrNoRows) {
				return nil, notFound("user not found")
			}
			if err != nil {
				return nil, wrap("update user", err)
			}
			return r.user(), nil
		}
		u, err := read()
		if err != nil {
			return err
		}
		if upd.TakesAdmin(u) {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE account_id = ? AND role = 'admin'
				AND id <> ? AND disabled = 0 AND invited = 0 AND removed_at IS NULL`, accountID, userID).Scan(&others); err != nil {
				return wrap("update user", err)
			}
			if others == 0 {
				return conflict("%s is the last active administrator of the account", u.Email)
			}
		}
		switch {
		case upd.Remove && u.Invited:
			if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, userID); err != nil {
				return wrap("update user", err)
			}
			return insertEvent(ctx, tx, ev)
		case upd.Remove:
			_, err = tx.ExecContext(ctx, `UPDATE users SET removed_at = ?, disabled = 1 WHERE id = ?`, toMicros(upd.At), userID)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE users SET role = coalesce(?, role), disabled = coalesce(?, disabled),
				name = coalesce(?, name) WHERE id = ?`, nullRole(upd.Role), upd.Disabled, upd.Name, userID)
		}
		if err != nil {
			return wrap("update user", err)
		}
		if upd.Remove {
			// read finds no removed user: return it as it was changed.
			at := upd.At
			u.RemovedAt, u.Disabled = &at, true
			out = u
		} else if out, err = read(); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	s.settle()
	return out, nil
}

func nullRole(r *doorman.Role) any {
	if r == nil {
		return nil
	}
	return string(*r)
}
