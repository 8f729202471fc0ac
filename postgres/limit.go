package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// limitKeys returns the keys of ls, for = ANY($1).
func limitKeys(ls []doorman.Limit) [][]byte {
	keys := make([][]byte, len(ls))
	for i, l := range ls {
		keys[i] = l.Key
	}
	return keys
}

// limitWait returns the longest wait at now of ls's buckets, of which rows
// gives (key, full_at), with when each is full again (by key; absent:
// never used).
func limitWait(rows pgx.Rows, ls []doorman.Limit, now time.Time) (time.Duration, map[string]time.Time, error) {
	full := make(map[string]time.Time, len(ls))
	var key []byte
	var at time.Time
	_, err := pgx.ForEachRow(rows, []any{&key, &at}, func() error {
		full[string(key)] = at
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return doorman.LimitsWait(ls, full, now), full, nil
}

// TakeLimits implements doorman.ThrottleStore.
// The transaction creates the buckets it lacks, then locks them all, in
// key order so that two callers never wait on each other, before it reads
// them: a racing caller on any node reads them only after this one
// commits.
func (s *Store) TakeLimits(ctx context.Context, ls []doorman.Limit, now time.Time) (time.Duration, error) {
	if err := doorman.ValidateLimits(ls); err != nil || len(ls) == 0 {
		return 0, err
	}
	keys := limitKeys(ls)
	var wait time.Duration
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A new bucket is full: full again at the epoch, long before now.
		if _, err := tx.Exec(ctx, `INSERT INTO sign_in_limits (key, full_at)
				SELECT k, 'epoch' FROM unnest($1::bytea[]) AS k ORDER BY k
				ON CONFLICT (key) DO NOTHING`, keys); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT key, full_at FROM sign_in_limits
			WHERE key = ANY($1) ORDER BY key FOR UPDATE`, keys)
		if err != nil {
			return err
		}
		var full map[string]time.Time
		if wait, full, err = limitWait(rows, ls, now); err != nil || wait > 0 {
			return err // nothing taken: every bucket or none
		}
		batch := &pgx.Batch{}
		for _, l := range ls {
			batch.Queue(`UPDATE sign_in_limits SET full_at = $2 WHERE key = $1`, l.Key, l.Take(full[string(l.Key)], now))
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return 0, wrap("take limits", err)
	}
	return wait, nil
}

// FindLimitWait implements doorman.ThrottleStore.
func (s *Store) FindLimitWait(ctx context.Context, ls []doorman.Limit, now time.Time) (time.Duration, error) {
	if err := doorman.ValidateLimits(ls); err != nil || len(ls) == 0 {
		return 0, err
	}
	rows, err := s.pool.Query(ctx, `SELECT key, full_at FROM sign_in_limits WHERE key = ANY($1)`, limitKeys(ls))
	if err != nil {
		return 0, wrap("find limit wait", err)
	}
	wait, _, err := limitWait(rows, ls, now)
	if err != nil {
		return 0, wrap("find limit wait", err)
	}
	return wait, nil
}

// PurgeLimits implements doorman.ThrottleStore.
// SKIP LOCKED lets several nodes purge at once, and a sign-in taking an
// attempt never waits.
func (s *Store) PurgeLimits(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM sign_in_limits WHERE key IN (
			SELECT key FROM sign_in_limits WHERE full_at <= $1 ORDER BY full_at LIMIT $2
			FOR UPDATE SKIP LOCKED)`,
		before, limit)
	if err != nil {
		return 0, wrap("purge limits", err)
	}
	return int(tag.RowsAffected()), nil
}
