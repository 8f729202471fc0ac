package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// ClaimFormToken records the claim of t.Hash by t.SessionID, in one
// statement: the primary key (session_id, token_hash) lets only the first
// claim in, and a concurrent second waits for the first to commit before
// it is refused. Returns ECONFLICT if the session has that claim already,
// ENOTFOUND if the session does not exist.
func (s *Store) ClaimFormToken(ctx context.Context, t *doorman.FormToken) error {
	if len(t.Hash) == 0 {
		return doorman.Errorf(doorman.EINVALID, "a form token claim needs its hash")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO form_tokens (session_id, token_hash, claimed_at, expires_at)
		SELECT id, $1, $2, $3 FROM sessions WHERE id = $4`,
		t.Hash, t.ClaimedAt, t.ExpiresAt, t.SessionID)
	switch sqlState(err) {
	case codeUniqueViolation:
		return doorman.Errorf(doorman.ECONFLICT, "the form was sent already")
	case codeForeignKeyViolation:
		return doorman.Errorf(doorman.ENOTFOUND, "session not found")
	}
	if err != nil {
		return wrap("claim form token", err)
	}
	if tag.RowsAffected() == 0 {
		return doorman.Errorf(doorman.ENOTFOUND, "session not found")
	}
	return nil
}

// FinishFormToken records the answer of a claim not yet done. Returns
// ENOTFOUND unless the session has such a claim.
func (s *Store) FinishFormToken(ctx context.Context, t *doorman.FormToken) error {
	if t.DoneAt == nil {
		return doorman.Errorf(doorman.EINVALID, "a finished form token needs its time")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE form_tokens SET done_at = $1, outcome = $2, page = $3, page_expires_at = $4
		WHERE session_id = $5 AND token_hash = $6 AND done_at IS NULL`,
		*t.DoneAt, t.Outcome, t.Page, t.PageExpiresAt, t.SessionID, t.Hash)
	if err != nil {
		return wrap("finish form token", err)
	}
	if tag.RowsAffected() == 0 {
		return doorman.Errorf(doorman.ENOTFOUND, "no claim of this form token is at work")
	}
	return nil
}

// ReleaseFormToken deletes a claim not yet done. Returns ENOTFOUND unless
// the session has such a claim.
func (s *Store) ReleaseFormToken(ctx context.Context, sessionID string, hash []byte) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM form_tokens WHERE session_id = $1 AND token_hash = $2 AND done_at IS NULL`,
		sessionID, hash)
	if err != nil {
		return wrap("release form token", err)
	}
	if tag.RowsAffected() == 0 {
		return doorman.Errorf(doorman.ENOTFOUND, "no claim of this form token is at work")
	}
	return nil
}

// FindFormToken returns the session's claim of hash. Returns ENOTFOUND if
// none.
func (s *Store) FindFormToken(ctx context.Context, sessionID string, hash []byte) (*doorman.FormToken, error) {
	t := doorman.FormToken{SessionID: sessionID}
	err := s.pool.QueryRow(ctx, `SELECT token_hash, claimed_at, expires_at, done_at, outcome, page, page_expires_at
		FROM form_tokens WHERE session_id = $1 AND token_hash = $2`, sessionID, hash).
		Scan(&t.Hash, &t.ClaimedAt, &t.ExpiresAt, &t.DoneAt, &t.Outcome, &t.Page, &t.PageExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "form token not claimed")
	}
	if err != nil {
		return nil, wrap("find form token", err)
	}
	t.ClaimedAt, t.ExpiresAt = t.ClaimedAt.UTC(), t.ExpiresAt.UTC()
	t.DoneAt, t.PageExpiresAt = utcPtr(t.DoneAt), utcPtr(t.PageExpiresAt)
	return &t, nil
}

// PurgeFormTokens clears the pages kept past their time and deletes at most
// limit expired claims, oldest first, in one transaction; claims another
// purge is deleting are skipped, not waited for.
func (s *Store) PurgeFormTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE form_tokens SET page = NULL
			WHERE page IS NOT NULL AND page_expires_at < $1`, before); err != nil {
			return err
		}
		if limit <= 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `DELETE FROM form_tokens WHERE (session_id, token_hash) IN (
				SELECT session_id, token_hash FROM form_tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2
				FOR UPDATE SKIP LOCKED)`, before, limit)
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrap("purge form tokens", err)
}
