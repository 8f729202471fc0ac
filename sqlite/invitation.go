package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

// InviteUser stores u, an invited user, and its invitation inv, with ev,
// in one transaction. Returns ECONFLICT if the id or token hash is taken or
// the email has a user in the account, ENOTFOUND if the account does not
// exist.
func (s *Store) InviteUser(ctx context.Context, u *doorman.User, inv *doorman.Invitation, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash); err != nil {
		return err
	}
	return s.inTx(ctx, "invite user", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users
			(id, account_id, email, name, role, password_hash, disabled, invited, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?)`,
			u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash, toMicros(u.CreatedAt))
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
			return wrap("invite user", err)
		}
		if err := insertInvitation(ctx, tx, inv); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

func insertInvitation(ctx context.Context, tx *sql.Tx, inv *doorman.Invitation) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO invitations (user_id, account_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, inv.UserID, inv.AccountID, inv.TokenHash, toMicros(inv.CreatedAt), toMicros(inv.ExpiresAt))
	if isUnique(err) {
		return conflict("invitation token is taken")
	}
	if err != nil {
		return wrap("insert invitation", err)
	}
	return nil
}

// RenewInvitation replaces the invitation of inv.UserID by inv and writes
// ev, in one transaction. Returns ENOTFOUND unless an invited user with
// that id exists in the account, ECONFLICT if the token hash is taken.
func (s *Store) RenewInvitation(ctx context.Context, inv *doorman.Invitation, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(inv.UserID, inv.AccountID); err != nil {
		return err
	}
	return s.inTx(ctx, "renew invitation", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ? AND account_id = ? AND invited = 1 AND removed_at IS NULL`,
			inv.UserID, inv.AccountID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no invited user has that id")
		}
		if err != nil {
			return wrap("renew invitation", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE user_id = ?`, inv.UserID); err != nil {
			return wrap("renew invitation", err)
		}
		if err := insertInvitation(ctx, tx, inv); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// FindInvitation returns the invitation whose token hash is hash, expired
// or not, with its user's email. Returns ENOTFOUND if none.
func (s *Store) FindInvitation(ctx context.Context, hash []byte) (*doorman.Invitation, error) {
	var inv doorman.Invitation
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT i.user_id, i.account_id, u.email, i.token_hash, i.created_at, i.expires_at
		FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = ?`, hash).
		Scan(&inv.UserID, &inv.AccountID, &inv.Email, &inv.TokenHash, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("invitation not found")
	}
	if err != nil {
		return nil, wrap("find invitation", err)
	}
	inv.CreatedAt, inv.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &inv, nil
}

// AcceptInvitation uses the invitation of hash if it expires after at: its
// user stops being invited and takes name and passwordHash. Returns
// ENOTFOUND unless an invited user, not disabled, holds such an invitation.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, name, passwordHash string, at time.Time, ev *doorman.AuditEvent) (*doorman.User, error) {
	if err := doorman.CheckText(name, passwordHash); err != nil {
		return nil, err
	}
	var u *doorman.User
	err := s.inTx(ctx, "accept invitation", func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `DELETE FROM invitations WHERE token_hash = ? AND expires_at > ? RETURNING user_id`,
			hash, toMicros(at)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("invitation not found")
		}
		if err != nil {
			return wrap("accept invitation", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET invited = 0, name = ?, password_hash = ?
			WHERE id = ? AND invited = 1 AND disabled = 0 AND removed_at IS NULL`, name, passwordHash, userID)
		if err := oneRow("accept invitation", "invitation not found", res, err); err != nil {
			return err
		}
		var r userRow
		if err := tx.QueryRowContext(ctx, `SELECT `+userCols+userLifeCols+` FROM users u WHERE u.id = ?`, userID).
			Scan(r.lifeDest()...); err != nil {
			return wrap("accept invitation", err)
		}
		u = r.user()
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UpdateUser applies upd to the user, in one transaction with ev, and
// returns the user as now stored (nil after an invited user's removal).
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
	return out, nil
}

func nullRole(r *doorman.Role) any {
	if r == nil {
		return nil
	}
	return string(*r)
}
