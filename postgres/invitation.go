package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// InviteUser implements doorman.InvitationStore.
func (s *Store) InviteUser(ctx context.Context, u *doorman.User, inv *doorman.Invitation, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users
			(id, account_id, email, name, role, password_hash, disabled, invited, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, false, true, $7)`,
			u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.CreatedAt)
		switch sqlState(err) {
		case "":
		case codeUniqueViolation:
			return doorman.Errorf(doorman.ECONFLICT, "a user with email %s already exists in the account", u.Email)
		case codeForeignKeyViolation:
			return doorman.Errorf(doorman.ENOTFOUND, "account not found")
		case codeCheckViolation:
			return doorman.Errorf(doorman.EINVALID, "role must be admin or member")
		default:
			return err
		}
		if err := insertInvitation(ctx, tx, inv); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("invite user", err)
}

func insertInvitation(ctx context.Context, tx pgx.Tx, inv *doorman.Invitation) error {
	_, err := tx.Exec(ctx, `INSERT INTO invitations (user_id, account_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, inv.UserID, inv.AccountID, inv.TokenHash, inv.CreatedAt, inv.ExpiresAt)
	if sqlState(err) == codeUniqueViolation {
		return doorman.Errorf(doorman.ECONFLICT, "invitation token is taken")
	}
	return err
}

// RenewInvitation implements doorman.InvitationStore.
func (s *Store) RenewInvitation(ctx context.Context, inv *doorman.Invitation, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The row lock orders two renewals of one invitation.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 AND account_id = $2 AND invited AND removed_at IS NULL
			FOR UPDATE`, inv.UserID, inv.AccountID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "no invited user has that id")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM invitations WHERE user_id = $1`, inv.UserID); err != nil {
			return err
		}
		if err := insertInvitation(ctx, tx, inv); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("renew invitation", err)
}

// FindInvitation implements doorman.InvitationStore.
func (s *Store) FindInvitation(ctx context.Context, hash []byte) (*doorman.Invitation, error) {
	var inv doorman.Invitation
	err := s.pool.QueryRow(ctx, `SELECT i.user_id, i.account_id, u.email, i.token_hash, i.created_at, i.expires_at
		FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = $1`, hash).
		Scan(&inv.UserID, &inv.AccountID, &inv.Email, &inv.TokenHash, &inv.CreatedAt, &inv.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "invitation not found")
	}
	if err != nil {
		return nil, wrap("find invitation", err)
	}
	inv.CreatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC()
	return &inv, nil
}

// AcceptInvitation implements doorman.InvitationStore.
// The DELETE makes one of two concurrent uses win: the other finds no row.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, name, passwordHash string, at time.Time, ev *doorman.AuditEvent) (*doorman.User, error) {
	var u doorman.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var userID string
		err := tx.QueryRow(ctx, `DELETE FROM invitations WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id`,
			hash, at).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "invitation not found")
		}
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `UPDATE users u SET invited = false, name = $2, password_hash = $3
			WHERE u.id = $1 AND u.invited AND NOT u.disabled AND u.removed_at IS NULL
			RETURNING `+userColumns+userLifeColumns, userID, name, passwordHash).Scan(userLifeDest(&u)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "invitation not found")
		}
		if err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return nil, wrap("accept invitation", err)
	}
	return utcUser(&u), nil
}
