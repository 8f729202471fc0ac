package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// querier is what reading buckets needs of a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// limitWait reads the buckets of ls and returns the longest wait at now,
// with when each bucket is full again (by key; absent: never used).
func limitWait(ctx context.Context, q querier, ls []doorman.Limit, now time.Time) (time.Duration, map[string]time.Time, error) {
	args := make([]any, len(ls))
	for i, l := range ls {
		args[i] = l.Key
	}
	rows, err := q.QueryContext(ctx, `SELECT key, full_at FROM sign_in_limits WHERE key IN (?`+
		strings.Repeat(", ?", len(ls)-1)+`)`, args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	full := make(map[string]time.Time, len(ls))
	for rows.Next() {
		var key []byte
		var at int64
		if err := rows.Scan(&key, &at); err != nil {
			return 0, nil, err
		}
		full[string(key)] = fromMicros(at)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	return doorman.LimitsWait(ls, full, now), full, nil
}

// TakeLimits implements doorman.ThrottleStore.
// The transaction takes the write lock at BEGIN, so racing callers, in
// this process or another, read and write the buckets one after the other.
func (s *Store) TakeLimits(ctx context.Context, ls []doorman.Limit, now time.Time) (time.Duration, error) {
	if err := doorman.ValidateLimits(ls); err != nil || len(ls) == 0 {
		return 0, err
	}
	var wait time.Duration
	err := s.inTx(ctx, "take limits", func(tx *sql.Tx) error {
		var full map[string]time.Time
		var err error
		if wait, full, err = limitWait(ctx, tx, ls, now); err != nil {
			return wrap("take limits", err)
		}
		if wait > 0 {
			return nil // nothing taken: every bucket or none
		}
		for _, l := range ls {
			_, err := tx.ExecContext(ctx, `INSERT INTO sign_in_limits (key, full_at) VALUES (?, ?)
				ON CONFLICT (key) DO UPDATE SET full_at = excluded.full_at`,
				l.Key, toMicros(l.Take(full[string(l.Key)], now)))
			if err != nil {
				return wrap("take limits", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return wait, nil
}

// FindLimitWait implements doorman.ThrottleStore.
func (s *Store) FindLimitWait(ctx context.Context, ls []doorman.Limit, now time.Time) (time.Duration, error) {
	if err := doorman.ValidateLimits(ls); err != nil || len(ls) == 0 {
		return 0, err
	}
	wait, _, err := limitWait(ctx, s.db, ls, now)
	if err != nil {
		return 0, wrap("find limit wait", err)
	}
	return wait, nil
}

// PurgeLimits implements doorman.ThrottleStore.
func (s *Store) PurgeLimits(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM sign_in_limits WHERE key IN (
			SELECT key FROM sign_in_limits WHERE full_at <= ? ORDER BY full_at LIMIT ?)`,
		toMicros(before), limit)
	if err != nil {
		return 0, wrap("purge limits", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("purge limits", err)
	}
	return int(n), nil
}
