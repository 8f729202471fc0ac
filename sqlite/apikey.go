package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/doorman/doorman"
)

const apiKeyCols = `k.id, k.account_id, k.name, k.prefix, k.key_hash, k.read_only, k.created_at, k.created_by,
	k.created_by_email, k.revoked_at, k.revoked_by, k.last_used_at, k.last_ip, k.last_user_agent`

// apiKeyRow receives one row of apiKeyCols.
type apiKeyRow struct {
	k                 doorman.APIKey
	created           int64
	revoked, lastUsed sql.NullInt64
}

func (r *apiKeyRow) dest() []any {
	k := &r.k
	return []any{&k.ID, &k.AccountID, &k.Name, &k.Prefix, &k.Hash, &k.ReadOnly, &r.created, &k.CreatedBy,
		&k.CreatedByEmail, &r.revoked, &k.RevokedBy, &r.lastUsed, &k.LastIP, &k.LastUserAgent}
}

func (r *apiKeyRow) key() *doorman.APIKey {
	k := r.k
	k.CreatedAt = fromMicros(r.created)
	k.RevokedAt = fromNullMicros(r.revoked)
	k.LastUsedAt = fromNullMicros(r.lastUsed)
	return &k
}

// CreateAPIKey implements doorman.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *doorman.APIKey, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(k.ID, k.AccountID, k.Name, k.Prefix, k.CreatedBy, k.CreatedByEmail, k.RevokedBy,
		k.LastIP, k.LastUserAgent); err != nil {
		return err
	}
	return s.inTx(ctx, "create api key", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, k.AccountID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("account not found")
		}
		if err != nil {
			return wrap("create api key", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_keys
			(id, account_id, name, prefix, key_hash, read_only, created_at, created_by, created_by_email,
			 revoked_at, revoked_by, last_used_at, last_ip, last_user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.AccountID, k.Name, k.Prefix, k.Hash, k.ReadOnly, toMicros(k.CreatedAt), k.CreatedBy,
			k.CreatedByEmail, toNullMicros(k.RevokedAt), k.RevokedBy, toNullMicros(k.LastUsedAt), k.LastIP, k.LastUserAgent)
		if isUnique(err) {
			return conflict("an api key with this id, prefix or hash exists")
		}
		if err != nil {
			return wrap("create api key", err)
		}
		return insertEvent(ctx, tx, ev)
	})
}

// FindAPIKeyByHash implements doorman.APIKeyStore.
// Keys are cached like sessions while no connection commits to the
// database.
func (s *Store) FindAPIKeyByHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	// Cached beside the sessions, under a key no token hash can take.
	ck := append([]byte("k:"), hash...)
	var gen uint64
	if s.cache != nil && !doorman.Uncached(ctx) {
		var p *doorman.Principal
		if p, gen, _ = s.cache.get(ctx, ck); p != nil {
			return p, nil
		}
	}
	var kr apiKeyRow
	var ar accountRow
	err := s.db.QueryRowContext(ctx, `SELECT `+apiKeyCols+`, `+accountCols+`
		FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ?`, hash).
		Scan(append(kr.dest(), ar.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("api key not found")
	}
	if err != nil {
		return nil, wrap("find api key by hash", err)
	}
	p := &doorman.Principal{APIKey: kr.key(), Account: ar.account()}
	if s.cache != nil {
		s.cache.put(ck, gen, p)
	}
	return p, nil
}

// FindAPIKeys implements doorman.APIKeyStore.
func (s *Store) FindAPIKeys(ctx context.Context, f doorman.APIKeyFilter) ([]*doorman.APIKey, error) {
	if err := doorman.CheckText(f.AccountID, f.ID); err != nil {
		return nil, err
	}
	w := where{}
	w.add("k.account_id = ?", f.AccountID)
	if f.ID != "" {
		w.add("k.id = ?", f.ID)
	}
	if !f.IncludeRevoked {
		w.add("k.revoked_at IS NULL")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k`+w.String()+
		` ORDER BY k.created_at DESC, k.id DESC`, w.args...)
	if err != nil {
		return nil, wrap("find api keys", err)
	}
	defer rows.Close()
	keys := []*doorman.APIKey{}
	for rows.Next() {
		var r apiKeyRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("find api keys", err)
		}
		keys = append(keys, r.key())
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find api keys", err)
	}
	return keys, nil
}

// RevokeAPIKey implements doorman.APIKeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, id string, r doorman.Revocation, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, id, r.By, r.Reason); err != nil {
		return err
	}
	return s.settled(s.inTx(ctx, "revoke api key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ?, revoked_by = ?
			WHERE id = ? AND account_id = ? AND revoked_at IS NULL`, toMicros(r.At), r.By, id, accountID)
		if err := oneRow("revoke api key", "api key not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	}))
}

// RecordAPIKeyUsage implements doorman.APIKeyStore.
func (s *Store) RecordAPIKeyUsage(ctx context.Context, usage []doorman.APIKeyUsage, events []*doorman.AuditEvent) error {
	if err := usageTexts(usage); err != nil {
		return err
	}
	if len(usage) == 0 && len(events) == 0 {
		return nil
	}
	return s.inTx(ctx, "record api key usage", func(tx *sql.Tx) error {
		for _, u := range usage {
			res, err := tx.ExecContext(ctx, `UPDATE api_keys SET
				last_ip = CASE WHEN ?2 <> '' AND (last_used_at IS NULL OR last_used_at <= ?1) THEN ?2 ELSE last_ip END,
				last_user_agent = CASE WHEN ?3 <> '' AND (last_used_at IS NULL OR last_used_at <= ?1) THEN ?3 ELSE last_user_agent END,
				last_used_at = max(coalesce(last_used_at, ?1), ?1)
				WHERE id = ?4`, toMicros(u.At), u.IP, u.UserAgent, u.KeyID)
			if err != nil {
				return wrap("record api key usage", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			for _, h := range u.Hours {
				if h.Requests <= 0 {
					continue
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO api_key_usage (key_id, hour, requests) VALUES (?, ?, ?)
					ON CONFLICT (key_id, hour) DO UPDATE SET requests = requests + excluded.requests`,
					u.KeyID, toMicros(h.Hour.UTC().Truncate(time.Hour)), h.Requests); err != nil {
					return wrap("record api key usage", err)
				}
			}
		}
		for _, ev := range events {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindAPIKeyUsage implements doorman.APIKeyStore.
func (s *Store) FindAPIKeyUsage(ctx context.Context, accountID, keyID string, since time.Time) ([]doorman.UsageHour, error) {
	if err := doorman.CheckText(accountID, keyID); err != nil {
		return nil, err
	}
	w := where{}
	w.add("k.account_id = ?", accountID)
	if keyID != "" {
		w.add("k.id = ?", keyID)
	}
	w.add("u.hour >= ?", toMicros(since))
	rows, err := s.db.QueryContext(ctx, `SELECT u.key_id, u.hour, u.requests
		FROM api_key_usage u JOIN api_keys k ON k.id = u.key_id`+w.String()+` ORDER BY u.key_id, u.hour`, w.args...)
	if err != nil {
		return nil, wrap("find api key usage", err)
	}
	defer rows.Close()
	out := []doorman.UsageHour{}
	for rows.Next() {
		var h doorman.UsageHour
		var hour int64
		if err := rows.Scan(&h.KeyID, &hour, &h.Requests); err != nil {
			return nil, wrap("find api key usage", err)
		}
		h.Hour = fromMicros(hour)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find api key usage", err)
	}
	return out, nil
}

// PurgeAPIKeyUsage implements doorman.APIKeyStore.
func (s *Store) PurgeAPIKeyUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM api_key_usage WHERE (key_id, hour) IN (
			SELECT key_id, hour FROM api_key_usage WHERE hour < ? ORDER BY hour LIMIT ?)`,
		toMicros(before), limit)
	if err != nil {
		return 0, wrap("purge api key usage", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("purge api key usage", err)
	}
	return int(n), nil
}
