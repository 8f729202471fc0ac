package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
)

// NotePasswordResetRequest implements doorman.PasswordResetStore.
func (s *Store) NotePasswordResetRequest(ctx context.Context, q doorman.PasswordResetRequest, since time.Time) (byEmail, byIP int, err error) {
	if err := doorman.CheckText(q.IP); err != nil {
		return 0, 0, err
	}
	err = s.inTx(ctx, "note password reset request", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_reset_requests WHERE at < ?`, toMicros(since)); err != nil {
			return wrap("note password reset request", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_reset_requests (at, email_hash, ip) VALUES (?, ?, ?)`,
			toMicros(q.At), q.EmailHash, q.IP); err != nil {
			return wrap("note password reset request", err)
		}
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM password_reset_requests WHERE email_hash = ? AND at >= ?),
			(SELECT count(*) FROM password_reset_requests WHERE ip = ? AND at >= ?)`,
			q.EmailHash, toMicros(since), q.IP, toMicros(since)).Scan(&byEmail, &byIP)
		if err != nil {
			return wrap("note password reset request", err)
		}
		return nil
	})
	return byEmail, byIP, err
}

// CreatePasswordReset implements doorman.PasswordResetStore.
func (s *Store) CreatePasswordReset(ctx context.Context, r *doorman.PasswordReset, a *doorman.Alert, ds []*doorman.Delivery, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(r.ID, r.AccountID, r.UserID); err != nil {
		return err
	}
	if a != nil {
		if err := alertTexts(a, ds); err != nil {
			return err
		}
	}
	return s.inTx(ctx, "create password reset", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE expires_at < ?`, toMicros(r.CreatedAt)); err != nil {
			return wrap("create password reset", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO password_resets (id, account_id, user_id, token_hash, created_at, expires_at, used_at)
			SELECT ?, u.account_id, u.id, ?, ?, ?, ? FROM users u WHERE u.id = ? AND u.account_id = ?`,
			r.ID, r.TokenHash, toMicros(r.CreatedAt), toMicros(r.ExpiresAt), toNullMicros(r.UsedAt), r.UserID, r.AccountID)
		if isUnique(err) {
			return conflict("a password reset with this id or token exists")
		}
		if err := oneRow("create password reset", "user not found", res, err); err != nil {
			return err
		}
		if a != nil {
			if err := insertAlert(ctx, tx, a, ds); err != nil {
				return err
			}
		}
		return insertEvent(ctx, tx, ev)
	})
}

// FindPasswordResetByTokenHash implements doorman.PasswordResetStore.
func (s *Store) FindPasswordResetByTokenHash(ctx context.Context, hash []byte) (*doorman.PasswordReset, error) {
	if len(hash) == 0 {
		return nil, notFound("password reset not found")
	}
	var r doorman.PasswordReset
	var created, expires int64
	var used sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT id, account_id, user_id, token_hash, created_at, expires_at, used_at
		FROM password_resets WHERE token_hash = ?`, hash).
		Scan(&r.ID, &r.AccountID, &r.UserID, &r.TokenHash, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("password reset not found")
	}
	if err != nil {
		return nil, wrap("find password reset", err)
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return &r, nil
}

// UsePasswordReset implements doorman.PasswordResetStore.
func (s *Store) UsePasswordReset(ctx context.Context, accountID, id, hash string, r doorman.Revocation, ev *doorman.AuditEvent) (int, error) {
	if err := doorman.CheckText(accountID, id, hash, r.By, r.Reason); err != nil {
		return 0, err
	}
	var n int64
	err := s.inTx(ctx, "use password reset", func(tx *sql.Tx) error {
		at := toMicros(r.At)
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE password_resets SET used_at = ?
			WHERE id = ? AND account_id = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
			at, id, accountID, at).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("password reset not found, used or expired")
		}
		if err != nil {
			return wrap("use password reset", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND account_id = ?`, hash, userID, accountID)
		if err := oneRow("use password reset", "user not found", res, err); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL`,
			at, userID); err != nil {
			return wrap("use password reset: other links", err)
		}
		res, err = tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
			WHERE user_id = ? AND account_id = ? AND revoked_at IS NULL`, at, r.By, r.Reason, userID, accountID)
		if err != nil {
			return wrap("use password reset: revoke", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return wrap("use password reset: revoke", err)
		}
		if ev != nil {
			ev.Count = int(n)
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	s.settle() // the password changed and the sessions ended
	return int(n), nil
}
