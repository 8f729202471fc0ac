package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

const apiKeyColumns = `k.id, k.account_id, k.name, k.prefix, k.key_hash, k.read_only, k.created_at, k.created_by,
	k.created_by_email, k.revoked_at, k.revoked_by, k.last_used_at, k.last_ip, k.last_user_agent`

func apiKeyDest(k *doorman.APIKey) []any {
	return []any{&k.ID, &k.AccountID, &k.Name, &k.Prefix, &k.Hash, &k.ReadOnly, &k.CreatedAt, &k.CreatedBy,
		&k.CreatedByEmail, &k.RevokedAt, &k.RevokedBy, &k.LastUsedAt, &k.LastIP, &k.LastUserAgent}
}

// utcKey puts the key's times in UTC, as the Service keeps them.
func utcKey(k *doorman.APIKey) *doorman.APIKey {
	k.CreatedAt = k.CreatedAt.UTC()
	for _, t := range []**time.Time{&k.RevokedAt, &k.LastUsedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return k
}

// CreateAPIKey implements doorman.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *doorman.APIKey, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO api_keys
			(id, account_id, name, prefix, key_hash, read_only, created_at, created_by, created_by_email,
			 revoked_at, revoked_by, last_used_at, last_ip, last_user_agent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			k.ID, k.AccountID, k.Name, k.Prefix, k.Hash, k.ReadOnly, k.CreatedAt, k.CreatedBy, k.CreatedByEmail,
			k.RevokedAt, k.RevokedBy, k.LastUsedAt, k.LastIP, k.LastUserAgent)
		switch sqlState(err) {
		case "":
		case codeUniqueViolation:
			return doorman.Errorf(doorman.ECONFLICT, "an api key with this id, prefix or hash exists")
		case codeForeignKeyViolation:
			return doorman.Errorf(doorman.ENOTFOUND, "account not found")
		default:
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("create api key", err)
}

// FindAPIKeyByHash implements doorman.APIKeyStore.
func (s *Store) FindAPIKeyByHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	// Cached beside the sessions, under a key no token hash can take.
	ck := append([]byte("k:"), hash...)
	p, gen := s.cache.get(ck)
	if p != nil && !doorman.Uncached(ctx) {
		return p, nil
	}
	var k doorman.APIKey
	var a doorman.Account
	err := s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+`, `+accountColumns+`
		FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = $1`, hash).
		Scan(append(apiKeyDest(&k), accountDest(&a)...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "api key not found")
	}
	if err != nil {
		return nil, wrap("find api key by hash", err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	p = &doorman.Principal{APIKey: utcKey(&k), Account: &a}
	s.cache.put(ck, gen, p)
	return p, nil
}

// FindAPIKeys implements doorman.APIKeyStore.
func (s *Store) FindAPIKeys(ctx context.Context, f doorman.APIKeyFilter) ([]*doorman.APIKey, error) {
	var q query
	q.where("k.account_id = " + q.arg(f.AccountID))
	if f.ID != "" {
		q.where("k.id = " + q.arg(f.ID))
	}
	if !f.IncludeRevoked {
		q.where("k.revoked_at IS NULL")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k`+q.clause()+
		` ORDER BY k.created_at DESC, k.id DESC`, q.args...)
	if err != nil {
		return nil, wrap("find api keys", err)
	}
	defer rows.Close()
	keys := []*doorman.APIKey{}
	for rows.Next() {
		k := new(doorman.APIKey)
		if err := rows.Scan(apiKeyDest(k)...); err != nil {
			return nil, wrap("find api keys", err)
		}
		keys = append(keys, utcKey(k))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find api keys", err)
	}
	return keys, nil
}

// RevokeAPIKey implements doorman.APIKeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, id string, r doorman.Revocation, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $1, revoked_by = $2
			WHERE id = $3 AND account_id = $4 AND revoked_at IS NULL`, r.At, r.By, id, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "api key not found")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err == nil {
		s.settle("k:" + id)
	}
	return wrap("revoke api key", err)
}

// RecordAPIKeyUsage implements doorman.APIKeyStore.
func (s *Store) RecordAPIKeyUsage(ctx context.Context, usage []doorman.APIKeyUsage, events []*doorman.AuditEvent) error {
	if len(usage) == 0 && len(events) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, u := range usage {
			tag, err := tx.Exec(ctx, `UPDATE api_keys SET
				last_ip = CASE WHEN $2 <> '' AND (last_used_at IS NULL OR last_used_at <= $1) THEN $2 ELSE last_ip END,
				last_user_agent = CASE WHEN $3 <> '' AND (last_used_at IS NULL OR last_used_at <= $1) THEN $3 ELSE last_user_agent END,
				last_used_at = GREATEST(COALESCE(last_used_at, $1), $1)
				WHERE id = $4`, u.At, u.IP, u.UserAgent, u.KeyID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			for _, h := range u.Hours {
				if h.Requests <= 0 {
					continue
				}
				if _, err := tx.Exec(ctx, `INSERT INTO api_key_usage (key_id, hour, requests) VALUES ($1, $2, $3)
					ON CONFLICT (key_id, hour) DO UPDATE SET requests = api_key_usage.requests + EXCLUDED.requests`,
					u.KeyID, h.Hour.UTC().Truncate(time.Hour), h.Requests); err != nil {
					return err
				}
			}
		}
		for _, ev := range events {
			if err := insertAuditEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	for _, u := range usage {
		s.cache.invalidate("k:" + u.KeyID)
	}
	return wrap("record api key usage", err)
}

// FindAPIKeyUsage implements doorman.APIKeyStore.
func (s *Store) FindAPIKeyUsage(ctx context.Context, accountID, keyID string, since time.Time) ([]doorman.UsageHour, error) {
	var q query
	q.where("k.account_id = " + q.arg(accountID))
	if keyID != "" {
		q.where("k.id = " + q.arg(keyID))
	}
	q.where("u.hour >= " + q.arg(since))
	rows, err := s.pool.Query(ctx, `SELECT u.key_id, u.hour, u.requests
		FROM api_key_usage u JOIN api_keys k ON k.id = u.key_id`+q.clause()+` ORDER BY u.key_id, u.hour`, q.args...)
	if err != nil {
		return nil, wrap("find api key usage", err)
	}
	defer rows.Close()
	out := []doorman.UsageHour{}
	for rows.Next() {
		var h doorman.UsageHour
		if err := rows.Scan(&h.KeyID, &h.Hour, &h.Requests); err != nil {
			return nil, wrap("find api key usage", err)
		}
		h.Hour = h.Hour.UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find api key usage", err)
	}
	return out, nil
}

// PurgeAPIKeyUsage implements doorman.APIKeyStore.
// SKIP LOCKED lets several nodes purge at once, and a flush adding to an
// old hour never waits.
func (s *Store) PurgeAPIKeyUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_key_usage WHERE (key_id, hour) IN (
			SELECT key_id, hour FROM api_key_usage WHERE hour < $1 ORDER BY hour LIMIT $2
			FOR UPDATE SKIP LOCKED)`,
		before, limit)
	if err != nil {
		return 0, wrap("purge api key usage", err)
	}
	return int(tag.RowsAffected()), nil
}
