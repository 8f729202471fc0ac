package postgres

import (
	"context"
	"errors"
	"github.com/jackc/pgx/v5/pgconn"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// FindTwoFactor implements doorman.TwoFactorStore.
func (s *Store) FindTwoFactor(ctx context.Context, accountID, userID string) (*doorman.TwoFactor, error) {
	t := &doorman.TwoFactor{UserID: userID}
	err := s.pool.QueryRow(ctx, `SELECT u.totp_secret, u.totp_pending_secret, u.totp_enabled_at, u.totp_last_step,
			(SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL)
		FROM users u WHERE u.id = $1 AND u.account_id = $2`, userID, accountID).
		Scan(&t.Secret, &t.PendingSecret, &t.EnabledAt, &t.LastStep, &t.RecoveryCodesLeft)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, wrap("find two-factor", err)
	}
	t.EnabledAt = utcPtr(t.EnabledAt)
	return t, nil
}

// FindTwoFactorUsers implements doorman.TwoFactorStore.
func (s *Store) FindTwoFactorUsers(ctx context.Context, accountID string, userIDs []string) ([]string, error) {
	out := []string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM users
		WHERE account_id = $1 AND id = ANY($2) AND totp_enabled_at IS NOT NULL ORDER BY id`, accountID, userIDs)
	if err != nil {
		return nil, wrap("find two-factor users", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("find two-factor users", err)
	}
	return append(out, ids...), nil
}

// lockUser locks the user's row in tx and reads whether it exists in the
// account, whether it has two-factor authentication on and its pending
// secret.
func lockUser(ctx context.Context, tx pgx.Tx, accountID, userID string) (exists, enabled bool, pending string, err error) {
	var at *time.Time
	err = tx.QueryRow(ctx, `SELECT totp_enabled_at, totp_pending_secret FROM users
		WHERE id = $1 AND account_id = $2 FOR UPDATE`, userID, accountID).Scan(&at, &pending)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, "", nil
	}
	return err == nil, at != nil, pending, err
}

// SetPendingTwoFactor implements doorman.TwoFactorStore.
func (s *Store) SetPendingTwoFactor(ctx context.Context, accountID, userID, secret string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exists, enabled, _, err := lockUser(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return err
		case !exists:
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		case enabled:
			return doorman.Errorf(doorman.ECONFLICT, "two-factor authentication is already on")
		}
		_, err = tx.Exec(ctx, `UPDATE users SET totp_pending_secret = $1 WHERE id = $2`, secret, userID)
		return err
	})
	return wrap("set pending two-factor", err)
}

// EnableTwoFactor implements doorman.TwoFactorStore.
func (s *Store) EnableTwoFactor(ctx context.Context, accountID, userID, secret string, step int64, at time.Time, hashes [][]byte, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exists, enabled, pending, err := lockUser(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return err
		case !exists:
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		case enabled:
			return doorman.Errorf(doorman.ECONFLICT, "two-factor authentication is already on")
		case secret == "" || pending != secret:
			return doorman.Errorf(doorman.ECONFLICT, "the two-factor setup changed; start it again")
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET totp_secret = $1, totp_pending_secret = '',
				totp_enabled_at = $2, totp_last_step = $3 WHERE id = $4`, secret, at, step, userID); err != nil {
			return err
		}
		if err := replaceCodes(ctx, tx, userID, hashes, at); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("enable two-factor", err)
}

func replaceCodes(ctx context.Context, tx pgx.Tx, userID string, hashes [][]byte, at time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		_, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`,
			userID, h, at)
		if sqlState(err) == codeUniqueViolation {
			return doorman.Errorf(doorman.ECONFLICT, "two recovery codes are the same")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DisableTwoFactor implements doorman.TwoFactorStore.
func (s *Store) DisableTwoFactor(ctx context.Context, accountID, userID string, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET totp_secret = '', totp_pending_secret = '',
				totp_enabled_at = NULL, totp_last_step = 0
			WHERE id = $1 AND account_id = $2 AND totp_enabled_at IS NOT NULL`, userID, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "no user with two-factor authentication on")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("disable two-factor", err)
}

// ReplaceRecoveryCodes implements doorman.TwoFactorStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, accountID, userID string, hashes [][]byte, at time.Time, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exists, enabled, _, err := lockUser(ctx, tx, accountID, userID)
		switch {
		case err != nil:
			return err
		case !exists || !enabled:
			return doorman.Errorf(doorman.ENOTFOUND, "no user with two-factor authentication on")
		}
		if err := replaceCodes(ctx, tx, userID, hashes, at); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("replace recovery codes", err)
}

// AcceptTOTPStep implements doorman.TwoFactorStore.
func (s *Store) AcceptTOTPStep(ctx context.Context, accountID, userID string, step int64) error {
	// One statement: the row lock makes two uses of one code take turns,
	// and the second finds the step taken.
	var updated bool
	err := s.pool.QueryRow(ctx, `WITH u AS (
			SELECT id, totp_last_step FROM users
			WHERE id = $1 AND account_id = $2 AND totp_enabled_at IS NOT NULL
		), upd AS (
			UPDATE users SET totp_last_step = $3
			WHERE id = $1 AND account_id = $2 AND totp_enabled_at IS NOT NULL AND totp_last_step < $3
			RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM upd) FROM u`, userID, accountID, step).Scan(&updated)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return doorman.Errorf(doorman.ENOTFOUND, "no user with two-factor authentication on")
	case err != nil:
		return wrap("accept totp step", err)
	case !updated:
		return doorman.Errorf(doorman.ECONFLICT, "this code was used already")
	}
	return nil
}

// UseRecoveryCode implements doorman.TwoFactorStore.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID, userID string, hash []byte, at time.Time, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE recovery_codes r SET used_at = $4
			FROM users u
			WHERE u.id = $1 AND u.account_id = $2 AND u.totp_enabled_at IS NOT NULL
			AND r.user_id = u.id AND r.code_hash = $3 AND r.used_at IS NULL`, userID, accountID, hash, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "no such unused recovery code")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("use recovery code", err)
}

// CreateSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) CreateSignInChallenge(ctx context.Context, c *doorman.SignInChallenge) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sign_in_challenges WHERE expires_at < $1`, c.CreatedAt); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO sign_in_challenges
			(id, token_hash, account_id, user_id, remember_me, created_at, expires_at, attempts)
			SELECT $1, $2, u.account_id, u.id, $3, $4, $5, $6 FROM users u WHERE u.id = $7 AND u.account_id = $8`,
			c.ID, c.TokenHash, c.RememberMe, c.CreatedAt, c.ExpiresAt, c.Attempts, c.UserID, c.AccountID)
		return insertedForUser(tag, err, "sign-in challenge id or token is taken")
	})
	return wrap("create sign-in challenge", err)
}

// FindSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) FindSignInChallenge(ctx context.Context, hash []byte) (*doorman.SignInChallenge, error) {
	c := &doorman.SignInChallenge{}
	err := s.pool.QueryRow(ctx, `SELECT id, token_hash, account_id, user_id, remember_me, created_at, expires_at, attempts
		FROM sign_in_challenges WHERE token_hash = $1`, hash).
		Scan(&c.ID, &c.TokenHash, &c.AccountID, &c.UserID, &c.RememberMe, &c.CreatedAt, &c.ExpiresAt, &c.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "sign-in challenge not found")
	}
	if err != nil {
		return nil, wrap("find sign-in challenge", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c, nil
}

// FailSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) FailSignInChallenge(ctx context.Context, id string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `UPDATE sign_in_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, doorman.Errorf(doorman.ENOTFOUND, "sign-in challenge not found")
	}
	if err != nil {
		return 0, wrap("fail sign-in challenge", err)
	}
	return n, nil
}

// DeleteSignInChallenge implements doorman.SignInChallengeStore.
func (s *Store) DeleteSignInChallenge(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sign_in_challenges WHERE id = $1`, id)
	if err != nil {
		return wrap("delete sign-in challenge", err)
	}
	if tag.RowsAffected() == 0 {
		return doorman.Errorf(doorman.ENOTFOUND, "sign-in challenge not found")
	}
	return nil
}

// insertedForUser reads the outcome of an INSERT … SELECT … FROM users u
// WHERE u.id = … AND u.account_id = …, which inserts a row only for a user
// of the account: ECONFLICT (conflict says what) for a taken id or token,
// ENOTFOUND when there is no such user (none selected, or deleted
// meanwhile), any other failure as it is.
func insertedForUser(tag pgconn.CommandTag, err error, conflict string) error {
	switch sqlState(err) {
	case "":
		if err != nil {
			return err
		}
	case codeUniqueViolation:
		return doorman.Errorf(doorman.ECONFLICT, "%s", conflict)
	case codeForeignKeyViolation:
		return doorman.Errorf(doorman.ENOTFOUND, "user not found")
	default:
		return err
	}
	if tag.RowsAffected() == 0 {
		return doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	return nil
}
