package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// The device binding of sessions (doorman.BindingStore).

var _ doorman.BindingStore = (*Store)(nil)

// CreateBindingChallenge stores c and deletes the challenges that expired
// before c.CreatedAt. Returns ECONFLICT if the hash is taken, ENOTFOUND
// unless the session exists.
func (s *Store) CreateBindingChallenge(ctx context.Context, c *doorman.BindingChallenge) error {
	if len(c.Hash) == 0 || c.SessionID == "" || c.Purpose == "" {
		return doorman.Errorf(doorman.EINVALID, "a binding challenge needs a hash, a session and a purpose")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM binding_challenges WHERE expires_at < $1`, c.CreatedAt); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO binding_challenges (hash, session_id, purpose, created_at, expires_at)
			SELECT $1, id, $2, $3, $4 FROM sessions WHERE id = $5`,
			c.Hash, c.Purpose, c.CreatedAt, c.ExpiresAt, c.SessionID)
		switch sqlState(err) {
		case "":
			if err != nil {
				return err
			}
		case codeUniqueViolation:
			return doorman.Errorf(doorman.ECONFLICT, "binding challenge is taken")
		case codeForeignKeyViolation:
			return doorman.Errorf(doorman.ENOTFOUND, "session not found")
		default:
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "session not found")
		}
		return nil
	})
	return wrap("create binding challenge", err)
}

// UseBindingChallenge deletes and returns the session's challenge of that
// hash if it expires after at. Returns ENOTFOUND otherwise.
func (s *Store) UseBindingChallenge(ctx context.Context, sessionID string, hash []byte, at time.Time) (*doorman.BindingChallenge, error) {
	if len(hash) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "binding challenge not found")
	}
	var c doorman.BindingChallenge
	err := s.pool.QueryRow(ctx, `DELETE FROM binding_challenges WHERE hash = $1 AND session_id = $2
		RETURNING hash, session_id, purpose, created_at, expires_at`, hash, sessionID).
		Scan(&c.Hash, &c.SessionID, &c.Purpose, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "binding challenge not found")
	}
	if err != nil {
		return nil, wrap("use binding challenge", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	// An expired challenge is used up all the same: it can never pass.
	if !c.ExpiresAt.After(at) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "binding challenge expired")
	}
	return &c, nil
}

// BindSession stores b as the session's binding and writes ev in one
// transaction, then settles the session on every node. Returns ENOTFOUND
// unless the session exists unrevoked, ECONFLICT if it is bound already.
func (s *Store) BindSession(ctx context.Context, sessionID string, b *doorman.Binding, ev *doorman.AuditEvent) error {
	if b == nil || b.Key == "" || len(b.Secret) == 0 {
		return doorman.Errorf(doorman.EINVALID, "a binding needs a key and a secret")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var key string
		var revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT bound_key, revoked_at FROM sessions WHERE id = $1 FOR UPDATE`, sessionID).Scan(&key, &revoked)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && revoked != nil) {
			return doorman.Errorf(doorman.ENOTFOUND, "session not found")
		}
		if err != nil {
			return err
		}
		if key != "" {
			return doorman.Errorf(doorman.ECONFLICT, "the session is bound already")
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET bound_key = $1, bound_secret = $2, bound_at = $3 WHERE id = $4`,
			b.Key, b.Secret, b.At, sessionID); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return wrap("bind session", err)
	}
	// Until every node has dropped the unbound session, one of them could
	// still admit its cookie without the bound cookie.
	s.settle("s:" + sessionID)
	return nil
}
