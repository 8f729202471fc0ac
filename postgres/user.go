package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

const userColumns = `u.id, u.account_id, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at`

// userLifeColumns follow userColumns where a user's invitation and removal
// are read too (FindUserByID, FindUsers and the team's writes); the
// queries on the validation path leave them out, since a removed user is
// disabled.
const userLifeColumns = `, u.invited, u.removed_at`

// userLifeDest returns the scan targets of userColumns + userLifeColumns.
func userLifeDest(u *doorman.User) []any { return append(userDest(u), &u.Invited, &u.RemovedAt) }

// utcUser puts the user's times in UTC.
func utcUser(u *doorman.User) *doorman.User {
	u.CreatedAt = u.CreatedAt.UTC()
	if u.RemovedAt != nil {
		t := u.RemovedAt.UTC()
		u.RemovedAt = &t
	}
	return u
}

// userDest returns the scan targets of userColumns.
func userDest(u *doorman.User) []any {
	return []any{&u.ID, &u.AccountID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &u.CreatedAt}
}

// CreateUser implements doorman.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *doorman.User, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users
			(id, account_id, email, name, role, password_hash, disabled, invited, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.Disabled, u.Invited, u.CreatedAt)
		switch sqlState(err) {
		case "":
		case codeUniqueViolation:
			return doorman.Errorf(doorman.ECONFLICT, "a user with this id or email already exists")
		case codeForeignKeyViolation:
			return doorman.Errorf(doorman.ENOTFOUND, "account not found")
		case codeCheckViolation:
			return doorman.Errorf(doorman.EINVALID, "role must be admin or member")
		default:
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("create user", err)
}

// FindUserByID implements doorman.UserStore.
func (s *Store) FindUserByID(ctx context.Context, accountID, id string) (*doorman.User, error) {
	var q query
	q.where("u.id = " + q.arg(id))
	if accountID != "" {
		q.where("u.account_id = " + q.arg(accountID))
	}
	var u doorman.User
	err := s.pool.QueryRow(ctx, "SELECT "+userColumns+userLifeColumns+" FROM users u"+q.clause(), q.args...).Scan(userLifeDest(&u)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, wrap("find user", err)
	}
	return utcUser(&u), nil
}

// FindUsers implements doorman.UserStore.
func (s *Store) FindUsers(ctx context.Context, f doorman.UserFilter) ([]*doorman.User, int, error) {
	var q query
	if f.AccountID != "" {
		q.where("u.account_id = " + q.arg(f.AccountID))
	}
	if f.ID != "" {
		q.where("u.id = " + q.arg(f.ID))
	}
	if f.Email != "" {
		q.where("u.email = " + q.arg(f.Email))
	}
	nargs := len(q.args)
	sql := "SELECT " + userColumns + userLifeColumns + ", count(*) OVER () FROM users u" + q.clause() +
		" ORDER BY u.email COLLATE \"C\", u.id" + q.page(f.Limit, f.Offset)
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, 0, wrap("find users", err)
	}
	defer rows.Close()
	users := []*doorman.User{}
	total := 0
	for rows.Next() {
		u := new(doorman.User)
		if err := rows.Scan(append(userLifeDest(u), &total)...); err != nil {
			return nil, 0, wrap("find users", err)
		}
		users = append(users, utcUser(u))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("find users", err)
	}
	if len(users) == 0 && f.Offset > 0 {
		if total, err = q.count(ctx, s.pool, "users u", nargs); err != nil {
			return nil, 0, wrap("find users", err)
		}
	}
	return users, total, nil
}

// UpdateUserPassword implements doorman.UserStore.
func (s *Store) UpdateUserPassword(ctx context.Context, accountID, userID, hash string, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $2 AND account_id = $1`,
			accountID, userID, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err == nil {
		s.settle("u:" + userID)
	}
	return wrap("update user password", err)
}

// UpdateUser implements doorman.UserStore.
// The account's row is locked first (FOR NO KEY UPDATE, which sign-ins'
// foreign-key checks do not wait for), so that two changes of one
// account's admins are serialised and the last-admin count cannot change
// under either. After the commit it settles the user's cached principals:
// a disabled, removed or demoted user is refused or seen as such on every
// node once it returns.
func (s *Store) UpdateUser(ctx context.Context, accountID, userID string, upd doorman.UserUpdate, ev *doorman.AuditEvent) (*doorman.User, error) {
	var out *doorman.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		}
		if err != nil {
			return err
		}
		read := func() (*doorman.User, error) {
			var u doorman.User
			err := tx.QueryRow(ctx, `SELECT `+userColumns+userLifeColumns+` FROM users u
				WHERE u.id = $1 AND u.account_id = $2 AND u.removed_at IS NULL`, userID, accountID).Scan(userLifeDest(&u)...)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, doorman.Errorf(doorman.ENOTFOUND, "user not found")
			}
			if err != nil {
				return nil, err
			}
			return utcUser(&u), nil
		}
		u, err := read()
		if err != nil {
			return err
		}
		if upd.TakesAdmin(u) {
			var others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE account_id = $1 AND role = 'admin'
				AND id <> $2 AND NOT disabled AND NOT invited AND removed_at IS NULL`, accountID, userID).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return doorman.Errorf(doorman.ECONFLICT, "%s is the last active administrator of the account", u.Email)
			}
		}
		switch {
		case upd.Remove && u.Invited:
			if _, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID); err != nil {
				return err
			}
			return insertAuditEvent(ctx, tx, ev)
		case upd.Remove:
			_, err = tx.Exec(ctx, `UPDATE users SET removed_at = $2, disabled = true WHERE id = $1`, userID, upd.At)
		default:
			var role *string
			if upd.Role != nil {
				r := string(*upd.Role)
				role = &r
			}
			_, err = tx.Exec(ctx, `UPDATE users SET role = coalesce($2, role), disabled = coalesce($3, disabled),
				name = coalesce($4, name) WHERE id = $1`, userID, role, upd.Disabled, upd.Name)
		}
		if sqlState(err) == codeCheckViolation {
			return doorman.Errorf(doorman.EINVALID, "role must be admin or member")
		}
		if err != nil {
			return err
		}
		if upd.Remove {
			// read finds no removed user: return it as it was changed.
			at := upd.At.UTC()
			u.RemovedAt, u.Disabled = &at, true
			out = u
		} else if out, err = read(); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return nil, wrap("update user", err)
	}
	s.settle("u:" + userID)
	return out, nil
}
