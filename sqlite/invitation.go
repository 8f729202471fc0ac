package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

// InviteUser implements doorman.InvitationStore.
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

// RenewInvitation implements doorman.InvitationStore.
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

// FindInvitation implements doorman.InvitationStore.
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

// AcceptInvitation implements doorman.InvitationStore.
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
