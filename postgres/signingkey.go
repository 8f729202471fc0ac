package postgres

import (
	"context"

	"github.com/doorman/doorman"
)

// CreateSigningKey implements doorman.SigningKeyStore.
// Under READ COMMITTED the insert waits for a concurrent insert of the
// same period to commit and then does nothing; the SELECT, a new
// statement, sees the row that won.
func (s *Store) CreateSigningKey(ctx context.Context, k *doorman.SigningKey) (*doorman.SigningKey, error) {
	if k.ID == "" || k.Private == "" {
		return nil, doorman.Errorf(doorman.EINVALID, "a signing key needs an id and a private key")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (id, period, private_key, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (period) DO NOTHING`, k.ID, k.Period, k.Private, k.CreatedAt)
	if sqlState(err) == codeUniqueViolation {
		return nil, doorman.Errorf(doorman.ECONFLICT, "a signing key has that id")
	}
	if err != nil {
		return nil, wrap("create signing key", err)
	}
	var out doorman.SigningKey
	err = s.pool.QueryRow(ctx, `SELECT id, period, private_key, created_at FROM signing_keys WHERE period = $1`,
		k.Period).Scan(&out.ID, &out.Period, &out.Private, &out.CreatedAt)
	if err != nil {
		return nil, wrap("create signing key", err)
	}
	out.CreatedAt = out.CreatedAt.UTC()
	return &out, nil
}

// FindSigningKeys implements doorman.SigningKeyStore.
func (s *Store) FindSigningKeys(ctx context.Context, minPeriod int64) ([]*doorman.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, period, private_key, created_at FROM signing_keys
		WHERE period >= $1 ORDER BY period DESC`, minPeriod)
	if err != nil {
		return nil, wrap("find signing keys", err)
	}
	defer rows.Close()
	var out []*doorman.SigningKey
	for rows.Next() {
		var k doorman.SigningKey
		if err := rows.Scan(&k.ID, &k.Period, &k.Private, &k.CreatedAt); err != nil {
			return nil, wrap("find signing keys", err)
		}
		k.CreatedAt = k.CreatedAt.UTC()
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find signing keys", err)
	}
	return out, nil
}
