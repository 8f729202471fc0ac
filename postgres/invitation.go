package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// InviteUser stores u, an invited user, and its invitation inv, with ev,
// in one transaction. Returns ECONFLICT if the id or token hash is taken or
// the email has a user in the account, ENOTFOUND if the account does not
// exist.
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

// RenewInvitation replaces the invitation of inv.UserID by inv and writes
// ev, in one transaction. Returns ENOTFOUND unless an invited user with
// that id exists in the account, ECONFLICT if the token hash is taken.
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

// FindInvitation returns the invitation whose token hash is hash, expired
// or not, with its user's email. Returns ENOTFOUND if none.
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

// AcceptInvitation uses the invitation of hash if it expires after at: its
// user stops being invited and takes name and passwordHash. Returns
// ENOTFOUND unless an invited user, not disabled, holds such an
// invitation. The DELETE makes one of two concurrent uses win: the other
// finds no row.
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

// UpdateUser applies upd to the user, in one transaction with ev, and
// returns the user as now stored (nil after an invited user's removal).
// The account's row is locked first (FOR NO KEY UPDATE, which sign-ins'
// foreign-key checks do not wait for), so that two changes of one account's
// admins are serialised and the last-admin count cannot change under
// either. After the commit it settles the user's cached principals: a
// disabled, removed or demoted user is refused or seen as such on every
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
