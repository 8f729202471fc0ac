package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

// FindTwoFactor implements doorman.TwoFactorStore.
func (s *Store) FindTwoFactor(ctx context.Context, accountID, userID string) (*doorman.TwoFactor, error) {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return nil, err
	}
	t := &doorman.TwoFactor{UserID: userID}
	var enabled sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT u.totp_secret, u.totp_pending_secret, u.totp_enabled_at, u.totp_last_step,
			(SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL)
		FROM users u WHERE u.id = ? AND u.account_id = ?`, userID, accountID).
		Scan(&t.Secret, &t.PendingSecret, &enabled, &t.LastStep, &t.RecoveryCodesLeft)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user not found")
	}
	if err != nil {
		return nil, wrap("find two-factor", err)
	}
	t.EnabledAt = fromNullMicros(enabled)
	return t, nil
}

// FindTwoFactorUsers implements doorman.TwoFactorStore.
func (s *Store) FindTwoFactorUsers(ctx context.Context, accountID string, userIDs []string) ([]string, error) {
	if err := doorman.CheckText(append([]string{accountID}, userIDs...)...); err != nil {
		return nil, err
	}
	out := []string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	wh := where{}
	wh.add("u.account_id = ?", accountID)
	in := make([]any, len(userIDs))
	for i, id := range userIDs {
		in[i] = id
	}
	wh.add("u.id IN (?"+strings.Repeat(", ?", len(userIDs)-1)+")", in...)
	wh.add("u.totp_enabled_at IS NOT NULL")
	rows, err := s.db.QueryContext(ctx, `SELECT u.id FROM users u`+wh.String()+` ORDER BY u.id`, wh.args...)
	if err != nil {
		return nil, wrap("find two-factor users", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("find two-factor users", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find two-factor users", err)
	}
	return out, nil
}

// userTwoFactor reads, in tx, whether the user exists in the account and
// whether it has two-factor authentication on.
func userTwoFactor(ctx context.Context, tx *sql.Tx, accountID, userID string) (exists, enabled bool, pending string, err error) {
	var at sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT totp_enabled_at, totp_pending_secret FROM users WHERE id = ? AND account_id = ?`,
		userID, accountID).Scan(&at, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, "", nil
	}
	return err == nil, at.Valid, pending, err
}

// SetPendingTwoFactor implements doorman.TwoFactorStore.
func (s *Store) SetPendingTwoFactor(ctx context.Context, accountID, userID, secret string) error {
	if err := doorman.CheckText(accountID, userID, secret); err != nil {
		return err
	}
	return s.inTx(ctx, "set pending two-factor", func(tx *sql.Tx) error {
		exists, enabled, _, err := userTwoFactor(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return wrap("set pending two-factor", err)
		case !exists:
			return notFound("user not found")
		case enabled:
			return conflict("two-factor authentication is already on")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_pending_secret = ? WHERE id = ?`, secret, userID); err != nil {
			return wrap("set pending two-factor", err)
		}
		return nil
	})
}

// EnableTwoFactor implements doorman.TwoFactorStore.
func (s *Store) EnableTwoFactor(ctx context.Context, accountID, userID, secret string, step int64, at time.Time, hashes [][]byte, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID, secret); err != nil {
		return err
	}
	return s.inTx(ctx, "enable two-factor", func(tx *sql.Tx) error {
		exists, enabled, pending, err := userTwoFactor(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return wrap("enable two-factor", err)
		case !exists:
			return notFound("user not found")
		case enabled:
			return conflict("two-factor authentication is already on")
		case secret == "" || pending != secret:
			return conflict("the two-factor setup changed; start it again")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = ?, totp_pending_secret = '',
				totp_enabled_at = ?, totp_last_step = ? WHERE id = ?`,
			secret, toMicros(at), step, userID); err != nil {
			return wrap("enable two-factor", err)
		}
		if err := replaceCodes(ctx, tx, userID, hashes, at); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

func replaceCodes(ctx context.Context, tx *sql.Tx, userID string, hashes [][]byte, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return wrap("replace recovery codes", err)
	}
	for _, h := range hashes {
		_, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
			userID, h, toMicros(at))
		if constraint(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return conflict("two recovery codes are the same")
		}
		if err != nil {
			return wrap("replace recovery codes", err)
		}
	}
	return nil
}

// DisableTwoFactor implements doorman.TwoFactorStore.
func (s *Store) DisableTwoFactor(ctx context.Context, accountID, userID string, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return err
	}
	return s.inTx(ctx, "disable two-factor", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = '', totp_pending_secret = '',
				totp_enabled_at = NULL, totp_last_step = 0
			WHERE id = ? AND account_id = ? AND totp_enabled_at IS NOT NULL`, userID, accountID)
		if err := oneRow("disable two-factor", "no user with two-factor authentication on", res, err); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return wrap("disable two-factor", err)
		}
		return insertEvent(ctx, tx, ev)
	})
}

// ReplaceRecoveryCodes implements doorman.TwoFactorStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, accountID, userID string, hashes [][]byte, at time.Time, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return err
	}
	return s.inTx(ctx, "replace recovery codes", func(tx *sql.Tx) error {
		exists, enabled, _, err := userTwoFactor(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return wrap("replace recovery codes", err)
		case !exists || !enabled:
			return notFound("no user with two-factor authentication on")
		}
		if err := replaceCodes(ctx, tx, userID, hashes, at); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// AcceptTOTPStep implements doorman.TwoFactorStore.
func (s *Store) AcceptTOTPStep(ctx context.Context, accountID, userID string, step int64) error {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return err
	}
	return s.inTx(ctx, "accept totp step", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET totp_last_step = ?
			WHERE id = ? AND account_id = ? AND totp_enabled_at IS NOT NULL AND totp_last_step < ?`,
			step, userID, accountID, step)
		if err != nil {
			return wrap("accept totp step", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrap("accept totp step", err)
		} else if n == 1 {
			return nil
		}
		exists, enabled, _, err := userTwoFactor(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return wrap("accept totp step", err)
		case !exists || !enabled:
			return notFound("no user with two-factor authentication on")
		}
		return conflict("this code was used already")
	})
}

// UseRecoveryCode implements doorman.TwoFactorStore.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID, userID string, hash []byte, at time.Time, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return err
	}
	return s.inTx(ctx, "use recovery code", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ?
			WHERE user_id = (SELECT id FROM users WHERE id = ? AND account_id = ? AND totp_enabled_at IS NOT NULL)
			AND code_hash = ? AND used_at IS NULL`,
			toMicros(at), userID, accountID, hash)
		if err := oneRow("use recovery code", "no such unused recovery code", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// CreateSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) CreateSignInChallenge(ctx context.Context, c *doorman.SignInChallenge) error {
	if err := doorman.CheckText(c.ID, c.AccountID, c.UserID); err != nil {
		return err
	}
	return s.inTx(ctx, "create sign-in challenge", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_challenges WHERE expires_at < ?`, toMicros(c.CreatedAt)); err != nil {
			return wrap("create sign-in challenge", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sign_in_challenges
			(id, token_hash, account_id, user_id, remember_me, created_at, expires_at, attempts)
			SELECT ?, ?, u.account_id, u.id, ?, ?, ?, ? FROM users u WHERE u.id = ? AND u.account_id = ?`,
			c.ID, c.TokenHash, c.RememberMe, toMicros(c.CreatedAt), toMicros(c.ExpiresAt), c.Attempts,
			c.UserID, c.AccountID)
		if isUnique(err) {
			return conflict("sign-in challenge id or token is taken")
		}
		if err := oneRow("create sign-in challenge", "user not found", res, err); err != nil {
			return err
		}
		return nil
	})
}

// FindSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) FindSignInChallenge(ctx context.Context, hash []byte) (*doorman.SignInChallenge, error) {
	c := &doorman.SignInChallenge{}
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT id, token_hash, account_id, user_id, remember_me, created_at, expires_at, attempts
		FROM sign_in_challenges WHERE token_hash = ?`, hash).
		Scan(&c.ID, &c.TokenHash, &c.AccountID, &c.UserID, &c.RememberMe, &created, &expires, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("sign-in challenge not found")
	}
	if err != nil {
		return nil, wrap("find sign-in challenge", err)
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return c, nil
}

// FailSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) FailSignInChallenge(ctx context.Context, id string) (int, error) {
	if err := doorman.CheckText(id); err != nil {
		return 0, err
	}
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE sign_in_challenges SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("sign-in challenge not found")
	}
	if err != nil {
		return 0, wrap("fail sign-in challenge", err)
	}
	return n, nil
}

// DeleteSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) DeleteSignInChallenge(ctx context.Context, id string) error {
	if err := doorman.CheckText(id); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM sign_in_challenges WHERE id = ?`, id)
	if err := oneRow("delete sign-in challenge", "sign-in challenge not found", res, err); err != nil {
		return err
	}
	return nil
}
