package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

const passkeyColumns = `id, account_id, user_id, name, credential_id, public_key, sign_count, credential, created_at, last_used_at`

func scanPasskey(row pgx.Row) (*doorman.Passkey, error) {
	var pk doorman.Passkey
	var count int64
	if err := row.Scan(&pk.ID, &pk.AccountID, &pk.UserID, &pk.Name, &pk.CredentialID, &pk.PublicKey, &count,
		&pk.Credential, &pk.CreatedAt, &pk.LastUsedAt); err != nil {
		return nil, err
	}
	pk.SignCount = uint32(count)
	pk.CreatedAt, pk.LastUsedAt = pk.CreatedAt.UTC(), utcPtr(pk.LastUsedAt)
	return &pk, nil
}

// CreatePasskey stores pk and ev in one transaction, unless the user has
// MaxPasskeysPerUser. Returns ECONFLICT if the id or credential id is taken
// or the user has that many, ENOTFOUND unless the user exists in the
// account.
func (s *Store) CreatePasskey(ctx context.Context, pk *doorman.Passkey, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The user's row lock serialises two registrations of one user, so
		// that the count below holds.
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 AND account_id = $2 FOR UPDATE`, pk.UserID, pk.AccountID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM passkeys WHERE user_id = $1`, pk.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= doorman.MaxPasskeysPerUser {
			return doorman.Errorf(doorman.ECONFLICT, "you have %d passkeys, the most one person may have", n)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			pk.ID, pk.AccountID, pk.UserID, pk.Name, pk.CredentialID, pk.PublicKey, int64(pk.SignCount), pk.Credential,
			pk.CreatedAt, pk.LastUsedAt)
		if err := insertedForUser(tag, err, "this passkey is registered already"); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("create passkey", err)
}

// FindPasskeys returns the user's passkeys, oldest first.
func (s *Store) FindPasskeys(ctx context.Context, accountID, userID string) ([]*doorman.Passkey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys
		WHERE user_id = $1 AND account_id = $2 ORDER BY created_at, id`, userID, accountID)
	if err != nil {
		return nil, wrap("find passkeys", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*doorman.Passkey, error) { return scanPasskey(r) })
	if err != nil {
		return nil, wrap("find passkeys", err)
	}
	if out == nil {
		out = []*doorman.Passkey{}
	}
	return out, nil
}

// FindPasskeyByCredentialID returns the passkey of that credential id.
// Returns ENOTFOUND if none.
func (s *Store) FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*doorman.Passkey, error) {
	if len(credentialID) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "passkey not found")
	}
	pk, err := scanPasskey(s.pool.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "passkey not found")
	}
	if err != nil {
		return nil, wrap("find passkey", err)
	}
	return pk, nil
}

// UsePasskey records a verified use and writes ev in one transaction.
// Returns ENOTFOUND unless the account has a passkey with that id.
func (s *Store) UsePasskey(ctx context.Context, accountID, id string, u doorman.PasskeyUse, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE passkeys SET sign_count = $1, credential = $2,
				last_used_at = greatest(last_used_at, $3)
			WHERE id = $4 AND account_id = $5`, int64(u.SignCount), u.Credential, u.At, id, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "passkey not found")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("use passkey", err)
}

// DeletePasskey deletes the user's passkey and writes ev in one
// transaction. Returns ENOTFOUND unless the user has that passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID, userID, id string, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2 AND account_id = $3`, id, userID, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "passkey not found")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("delete passkey", err)
}

// CreatePasskeyCeremony stores c and deletes the ceremonies that expired
// before c.CreatedAt. Returns ECONFLICT if the id or token hash is taken,
// ENOTFOUND when c's user does not exist in c's account.
func (s *Store) CreatePasskeyCeremony(ctx context.Context, c *doorman.PasskeyCeremony) error {
	switch c.Kind {
	case doorman.CeremonyRegister, doorman.CeremonySignIn, doorman.CeremonySecondFactor:
	default:
		return doorman.Errorf(doorman.EINVALID, "unknown passkey ceremony kind %q", c.Kind)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM passkey_ceremonies WHERE expires_at < $1`, c.CreatedAt); err != nil {
			return err
		}
		if c.UserID != "" {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = $1 AND account_id = $2`,
				c.UserID, c.AccountID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return doorman.Errorf(doorman.ENOTFOUND, "user not found")
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO passkey_ceremonies
			(id, token_hash, kind, account_id, user_id, session_id, challenge_id, state, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.ID, c.TokenHash, c.Kind, nullText(c.AccountID), nullText(c.UserID), c.SessionID, c.ChallengeID, c.State,
			c.CreatedAt, c.ExpiresAt)
		return insertedForUser(tag, err, "passkey ceremony id or token is taken")
	})
	return wrap("create passkey ceremony", err)
}

// TakePasskeyCeremony deletes and returns the ceremony of that token hash
// if it expires after now. Returns ENOTFOUND if none.
func (s *Store) TakePasskeyCeremony(ctx context.Context, hash []byte, now time.Time) (*doorman.PasskeyCeremony, error) {
	if len(hash) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "passkey ceremony not found")
	}
	var c doorman.PasskeyCeremony
	var account, user *string
	// One statement: of two concurrent takes, the second deletes nothing.
	err := s.pool.QueryRow(ctx, `DELETE FROM passkey_ceremonies WHERE token_hash = $1
		RETURNING id, token_hash, kind, account_id, user_id, session_id, challenge_id, state, created_at, expires_at`, hash).
		Scan(&c.ID, &c.TokenHash, &c.Kind, &account, &user, &c.SessionID, &c.ChallengeID, &c.State, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "passkey ceremony not found")
	}
	if err != nil {
		return nil, wrap("take passkey ceremony", err)
	}
	if account != nil {
		c.AccountID = *account
	}
	if user != nil {
		c.UserID = *user
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	if !c.ExpiresAt.After(now) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "passkey ceremony expired")
	}
	return &c, nil
}

// nullText stores "" as NULL, for optional references.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
