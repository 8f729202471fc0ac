package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// NotePasswordResetRequest implements doorman.PasswordResetStore.
func (s *Store) NotePasswordResetRequest(ctx context.Context, q doorman.PasswordResetRequest, since time.Time) (byEmail, byIP int, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM password_reset_requests WHERE at < $1`, since); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO password_reset_requests (at, email_hash, ip) VALUES ($1, $2, $3)`,
			q.At, q.EmailHash, q.IP); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM password_reset_requests WHERE email_hash = $1 AND at >= $3),
			(SELECT count(*) FROM password_reset_requests WHERE ip = $2 AND at >= $3)`,
			q.EmailHash, q.IP, since).Scan(&byEmail, &byIP)
	})
	return byEmail, byIP, wrap("note password reset request", err)
}

// CreatePasswordReset implements doorman.PasswordResetStore.
func (s *Store) CreatePasswordReset(ctx context.Context, r *doorman.PasswordReset, a *doorman.Alert, ds []*doorman.Delivery, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM password_resets WHERE expires_at < $1`, r.CreatedAt); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO password_resets (id, account_id, user_id, token_hash, created_at, expires_at, used_at)
			SELECT $1, u.account_id, u.id, $2, $3, $4, $5 FROM users u WHERE u.id = $6 AND u.account_id = $7`,
			r.ID, r.TokenHash, r.CreatedAt, r.ExpiresAt, r.UsedAt, r.UserID, r.AccountID)
		if err := insertedForUser(tag, err, "a password reset with this id or token exists"); err != nil {
			return err
		}
		if a != nil {
			if err := insertAlert(ctx, tx, a, ds); err != nil {
				return err
			}
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("create password reset", err)
}

// FindPasswordResetByTokenHash implements doorman.PasswordResetStore.
func (s *Store) FindPasswordResetByTokenHash(ctx context.Context, hash []byte) (*doorman.PasswordReset, error) {
	if len(hash) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "password reset not found")
	}
	var r doorman.PasswordReset
	err := s.pool.QueryRow(ctx, `SELECT id, account_id, user_id, token_hash, created_at, expires_at, used_at
		FROM password_resets WHERE token_hash = $1`, hash).
		Scan(&r.ID, &r.AccountID, &r.UserID, &r.TokenHash, &r.CreatedAt, &r.ExpiresAt, &r.UsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "password reset not found")
	}
	if err != nil {
		return nil, wrap("find password reset", err)
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC(), utcPtr(r.UsedAt)
	return &r, nil
}

// UsePasswordReset implements doorman.PasswordResetStore.
// After the commit it settles the user's cached principals on every node.
func (s *Store) UsePasswordReset(ctx context.Context, accountID, id, hash string, r doorman.Revocation, ev *doorman.AuditEvent) (int, error) {
	var userID string
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The row lock makes a concurrent use wait, then find used_at set.
		err := tx.QueryRow(ctx, `UPDATE password_resets SET used_at = $1
			WHERE id = $2 AND account_id = $3 AND used_at IS NULL AND expires_at > $1 RETURNING user_id`,
			r.At, id, accountID).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "password reset not found, used or expired")
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $2 AND account_id = $1`, accountID, userID, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		}
		if _, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`,
			r.At, userID); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoked_by = $2, revoke_reason = $3
			WHERE user_id = $4 AND account_id = $5 AND revoked_at IS NULL`, r.At, r.By, r.Reason, userID, accountID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if ev != nil {
			ev.Count = int(n)
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, wrap("use password reset", err)
	}
	// The password changed and the sessions ended: no node may still admit
	// the user's principals as they were.
	s.settle("u:" + userID)
	return int(n), nil
}
