package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
)

// The device binding of sessions (doorman.BindingStore). The node's
// principal cache is emptied by every commit, so a binding is seen by the
// next read of the session on any process.

var _ doorman.BindingStore = (*Store)(nil)

// CreateBindingChallenge stores c and deletes the challenges that expired
// before c.CreatedAt. Returns ECONFLICT if the hash is taken, ENOTFOUND
// unless the session exists.
func (s *Store) CreateBindingChallenge(ctx context.Context, c *doorman.BindingChallenge) error {
	if len(c.Hash) == 0 || c.SessionID == "" || c.Purpose == "" {
		return doorman.Errorf(doorman.EINVALID, "a binding challenge needs a hash, a session and a purpose")
	}
	if err := doorman.CheckText(c.SessionID, c.Purpose); err != nil {
		return err
	}
	return s.inTx(ctx, "create binding challenge", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM binding_challenges WHERE expires_at < ?`, toMicros(c.CreatedAt)); err != nil {
			return wrap("create binding challenge", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO binding_challenges (hash, session_id, purpose, created_at, expires_at)
			SELECT ?, id, ?, ?, ? FROM sessions WHERE id = ?`,
			c.Hash, c.Purpose, toMicros(c.CreatedAt), toMicros(c.ExpiresAt), c.SessionID)
		if isUnique(err) {
			return conflict("binding challenge is taken")
		}
		return oneRow("create binding challenge", "session not found", res, err)
	})
}

// UseBindingChallenge deletes and returns the session's challenge of that
// hash if it expires after at. Returns ENOTFOUND otherwise.
func (s *Store) UseBindingChallenge(ctx context.Context, sessionID string, hash []byte, at time.Time) (*doorman.BindingChallenge, error) {
	if len(hash) == 0 {
		return nil, notFound("binding challenge not found")
	}
	if err := doorman.CheckText(sessionID); err != nil {
		return nil, err
	}
	var c doorman.BindingChallenge
	err := s.inTx(ctx, "use binding challenge", func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx, `DELETE FROM binding_challenges WHERE hash = ? AND session_id = ?
			RETURNING hash, session_id, purpose, created_at, expires_at`, hash, sessionID).
			Scan(&c.Hash, &c.SessionID, &c.Purpose, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("binding challenge not found")
		}
		if err != nil {
			return wrap("use binding challenge", err)
		}
		c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// An expired challenge is used up all the same: it can never pass.
	if !c.ExpiresAt.After(at) {
		return nil, notFound("binding challenge expired")
	}
	return &c, nil
}

// BindSession stores b as the session's binding and writes ev in one
// transaction. Returns ENOTFOUND unless the session exists unrevoked,
// ECONFLICT if it is bound already.
func (s *Store) BindSession(ctx context.Context, sessionID string, b *doorman.Binding, ev *doorman.AuditEvent) error {
	if b == nil || b.Key == "" || len(b.Secret) == 0 {
		return doorman.Errorf(doorman.EINVALID, "a binding needs a key and a secret")
	}
	if err := doorman.CheckText(sessionID, b.Key); err != nil {
		return err
	}
	return s.settled(s.inTx(ctx, "bind session", func(tx *sql.Tx) error {
		var key string
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT bound_key, revoked_at FROM sessions WHERE id = ?`, sessionID).Scan(&key, &revoked)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && revoked.Valid) {
			return notFound("session not found")
		}
		if err != nil {
			return wrap("bind session", err)
		}
		if key != "" {
			return conflict("the session is bound already")
		}
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET bound_key = ?, bound_secret = ?, bound_at = ?
			WHERE id = ? AND bound_key = '' AND revoked_at IS NULL`, b.Key, b.Secret, toMicros(b.At), sessionID)
		if err := oneRow("bind session", "session not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	}))
}
