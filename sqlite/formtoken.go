package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
)

// ClaimFormToken records the claim of t.Hash by t.SessionID, in one
// statement: the primary key (session_id, token_hash) lets only the first
// claim in. Returns ECONFLICT if the session has that claim already,
// ENOTFOUND if the session does not exist.
func (s *Store) ClaimFormToken(ctx context.Context, t *doorman.FormToken) error {
	if err := doorman.CheckText(t.SessionID); err != nil {
		return err
	}
	if len(t.Hash) == 0 {
		return doorman.Errorf(doorman.EINVALID, "a form token claim needs its hash")
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO form_tokens (session_id, token_hash, claimed_at, expires_at)
		SELECT id, ?, ?, ? FROM sessions WHERE id = ?`,
		t.Hash, toMicros(t.ClaimedAt), toMicros(t.ExpiresAt), t.SessionID)
	if isUnique(err) {
		return conflict("the form was sent already")
	}
	return oneRow("claim form token", "session not found", res, err)
}

// FinishFormToken records the answer of a claim not yet done. Returns
// ENOTFOUND unless the session has such a claim.
func (s *Store) FinishFormToken(ctx context.Context, t *doorman.FormToken) error {
	if err := doorman.CheckText(t.SessionID); err != nil {
		return err
	}
	if t.DoneAt == nil {
		return doorman.Errorf(doorman.EINVALID, "a finished form token needs its time")
	}
	res, err := s.db.ExecContext(ctx, `UPDATE form_tokens SET done_at = ?, outcome = ?, page = ?, page_expires_at = ?
		WHERE session_id = ? AND token_hash = ? AND done_at IS NULL`,
		toMicros(*t.DoneAt), t.Outcome, t.Page, toNullMicros(t.PageExpiresAt), t.SessionID, t.Hash)
	return oneRow("finish form token", "no claim of this form token is at work", res, err)
}

// ReleaseFormToken deletes a claim not yet done. Returns ENOTFOUND unless
// the session has such a claim.
func (s *Store) ReleaseFormToken(ctx context.Context, sessionID string, hash []byte) error {
	if err := doorman.CheckText(sessionID); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM form_tokens WHERE session_id = ? AND token_hash = ? AND done_at IS NULL`,
		sessionID, hash)
	return oneRow("release form token", "no claim of this form token is at work", res, err)
}

// FindFormToken returns the session's claim of hash. Returns ENOTFOUND if
// none.
func (s *Store) FindFormToken(ctx context.Context, sessionID string, hash []byte) (*doorman.FormToken, error) {
	if err := doorman.CheckText(sessionID); err != nil {
		return nil, err
	}
	t := doorman.FormToken{SessionID: sessionID}
	var claimed, expires int64
	var done, pageExpires sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT token_hash, claimed_at, expires_at, done_at, outcome, page, page_expires_at
		FROM form_tokens WHERE session_id = ? AND token_hash = ?`, sessionID, hash).
		Scan(&t.Hash, &claimed, &expires, &done, &t.Outcome, &t.Page, &pageExpires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("form token not claimed")
	}
	if err != nil {
		return nil, wrap("find form token", err)
	}
	t.ClaimedAt, t.ExpiresAt = fromMicros(claimed), fromMicros(expires)
	t.DoneAt, t.PageExpiresAt = fromNullMicros(done), fromNullMicros(pageExpires)
	return &t, nil
}

// PurgeFormTokens clears the pages kept past their time and deletes at most
// limit expired claims, oldest first, in one transaction.
func (s *Store) PurgeFormTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := s.inTx(ctx, "purge form tokens", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE form_tokens SET page = NULL
			WHERE page IS NOT NULL AND page_expires_at < ?`, toMicros(before)); err != nil {
			return wrap("purge form tokens", err)
		}
		if limit <= 0 {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM form_tokens WHERE rowid IN (
				SELECT rowid FROM form_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`,
			toMicros(before), limit)
		if err != nil {
			return wrap("purge form tokens", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return wrap("purge form tokens", err)
		}
		return nil
	})
	return int(n), err
}
