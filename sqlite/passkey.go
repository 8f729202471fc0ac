package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
)

const passkeyColumns = `id, account_id, user_id, name, credential_id, public_key, sign_count, credential, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (*doorman.Passkey, error) {
	var pk doorman.Passkey
	var created int64
	var used sql.NullInt64
	var count int64
	if err := row.Scan(&pk.ID, &pk.AccountID, &pk.UserID, &pk.Name, &pk.CredentialID, &pk.PublicKey, &count,
		&pk.Credential, &created, &used); err != nil {
		return nil, err
	}
	pk.SignCount = uint32(count)
	pk.CreatedAt, pk.LastUsedAt = fromMicros(created), fromNullMicros(used)
	return &pk, nil
}

// CreatePasskey stores pk and ev in one transaction, unless the user has
// MaxPasskeysPerUser. Returns ECONFLICT if the id or credential id is taken
// or the user has that many, ENOTFOUND unless the user exists in the
// account.
func (s *Store) CreatePasskey(ctx context.Context, pk *doorman.Passkey, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(pk.ID, pk.AccountID, pk.UserID, pk.Name); err != nil {
		return err
	}
	return s.inTx(ctx, "create passkey", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = ? AND account_id = ?`,
			pk.UserID, pk.AccountID).Scan(&n); err != nil {
			return wrap("create passkey", err)
		}
		if n >= doorman.MaxPasskeysPerUser {
			return conflict("you have %d passkeys, the most one person may have", n)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
			SELECT ?, u.account_id, u.id, ?, ?, ?, ?, ?, ?, ? FROM users u WHERE u.id = ? AND u.account_id = ?`,
			pk.ID, pk.Name, pk.CredentialID, pk.PublicKey, int64(pk.SignCount), pk.Credential,
			toMicros(pk.CreatedAt), toNullMicros(pk.LastUsedAt), pk.UserID, pk.AccountID)
		if isUnique(err) {
			return conflict("this passkey is registered already")
		}
		if err := oneRow("create passkey", "user not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// FindPasskeys returns the user's passkeys, oldest first.
func (s *Store) FindPasskeys(ctx context.Context, accountID, userID string) ([]*doorman.Passkey, error) {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys
		WHERE user_id = ? AND account_id = ? ORDER BY created_at, id`, userID, accountID)
	if err != nil {
		return nil, wrap("find passkeys", err)
	}
	defer rows.Close()
	out := []*doorman.Passkey{}
	for rows.Next() {
		pk, err := scanPasskey(rows)
		if err != nil {
			return nil, wrap("find passkeys", err)
		}
		out = append(out, pk)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find passkeys", err)
	}
	return out, nil
}

// FindPasskeyByCredentialID returns the passkey of that credential id.
// Returns ENOTFOUND if none.
func (s *Store) FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*doorman.Passkey, error) {
	if len(credentialID) == 0 {
		return nil, notFound("passkey not found")
	}
	pk, err := scanPasskey(s.db.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("passkey not found")
	}
	if err != nil {
		return nil, wrap("find passkey", err)
	}
	return pk, nil
}

// UsePasskey records a verified use and writes ev in one transaction.
// Returns ENOTFOUND unless the account has a passkey with that id.
func (s *Store) UsePasskey(ctx context.Context, accountID, id string, u doorman.PasskeyUse, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, id); err != nil {
		return err
	}
	return s.inTx(ctx, "use passkey", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET sign_count = ?, credential = ?,
				last_used_at = max(coalesce(last_used_at, ?), ?)
			WHERE id = ? AND account_id = ?`,
			int64(u.SignCount), u.Credential, toMicros(u.At), toMicros(u.At), id, accountID)
		if err := oneRow("use passkey", "passkey not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// DeletePasskey deletes the user's passkey and writes ev in one
// transaction. Returns ENOTFOUND unless the user has that passkey.
func (s *Store) DeletePasskey(ctx context.Context, accountID, userID, id string, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, userID, id); err != nil {
		return err
	}
	return s.inTx(ctx, "delete passkey", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ? AND account_id = ?`, id, userID, accountID)
		if err := oneRow("delete passkey", "passkey not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// CreatePasskeyCeremony stores c and deletes the ceremonies that expired
// before c.CreatedAt. Returns ECONFLICT if the id or token hash is taken,
// ENOTFOUND when c's user does not exist in c's account.
func (s *Store) CreatePasskeyCeremony(ctx context.Context, c *doorman.PasskeyCeremony) error {
	if err := doorman.CheckText(c.ID, c.Kind, c.AccountID, c.UserID, c.SessionID, c.ChallengeID); err != nil {
		return err
	}
	return s.inTx(ctx, "create passkey ceremony", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_ceremonies WHERE expires_at < ?`, toMicros(c.CreatedAt)); err != nil {
			return wrap("create passkey ceremony", err)
		}
		if c.UserID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ? AND account_id = ?`,
				c.UserID, c.AccountID).Scan(&n); err != nil {
				return wrap("create passkey ceremony", err)
			}
			if n == 0 {
				return notFound("user not found")
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO passkey_ceremonies
			(id, token_hash, kind, account_id, user_id, session_id, challenge_id, state, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.TokenHash, c.Kind, nullText(c.AccountID), nullText(c.UserID), c.SessionID, c.ChallengeID, c.State,
			toMicros(c.CreatedAt), toMicros(c.ExpiresAt))
		if isUnique(err) {
			return conflict("passkey ceremony id or token is taken")
		}
		if err != nil {
			return wrap("create passkey ceremony", err)
		}
		return nil
	})
}

// TakePasskeyCeremony deletes and returns the ceremony of that token hash
// if it expires after now. Returns ENOTFOUND if none.
func (s *Store) TakePasskeyCeremony(ctx context.Context, hash []byte, now time.Time) (*doorman.PasskeyCeremony, error) {
	if len(hash) == 0 {
		return nil, notFound("passkey ceremony not found")
	}
	var c doorman.PasskeyCeremony
	var account, user sql.NullString
	var created, expires int64
	// One statement: of two concurrent takes, the second deletes nothing.
	err := s.db.QueryRowContext(ctx, `DELETE FROM passkey_ceremonies WHERE token_hash = ?
		RETURNING id, token_hash, kind, account_id, user_id, session_id, challenge_id, state, created_at, expires_at`, hash).
		Scan(&c.ID, &c.TokenHash, &c.Kind, &account, &user, &c.SessionID, &c.ChallengeID, &c.State, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("passkey ceremony not found")
	}
	if err != nil {
		return nil, wrap("take passkey ceremony", err)
	}
	c.AccountID, c.UserID = account.String, user.String
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	if !c.ExpiresAt.After(now) {
		return nil, notFound("passkey ceremony expired")
	}
	return &c, nil
}

// nullText stores "" as NULL, for optional references.
func nullText(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
