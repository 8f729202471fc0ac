package sqlite

import (
	"context"
	"database/sql"

	"github.com/doorman/doorman"
)

// CreateSigningKey implements doorman.SigningKeyStore.
// The write lock taken at BEGIN makes the insert and the read one step
// for every other writer.
func (s *Store) CreateSigningKey(ctx context.Context, k *doorman.SigningKey) (*doorman.SigningKey, error) {
	if k.ID == "" || k.Private == "" {
		return nil, doorman.Errorf(doorman.EINVALID, "a signing key needs an id and a private key")
	}
	if err := doorman.CheckText(k.ID, k.Private); err != nil {
		return nil, err
	}
	var out doorman.SigningKey
	err := s.inTx(ctx, "create signing key", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, period, private_key, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (period) DO NOTHING`, k.ID, k.Period, k.Private, toMicros(k.CreatedAt))
		if isUnique(err) {
			return conflict("a signing key has that id")
		}
		if err != nil {
			return wrap("create signing key", err)
		}
		var created int64
		err = tx.QueryRowContext(ctx, `SELECT id, period, private_key, created_at FROM signing_keys WHERE period = ?`,
			k.Period).Scan(&out.ID, &out.Period, &out.Private, &created)
		if err != nil {
			return wrap("create signing key", err)
		}
		out.CreatedAt = fromMicros(created)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FindSigningKeys implements doorman.SigningKeyStore.
func (s *Store) FindSigningKeys(ctx context.Context, minPeriod int64) ([]*doorman.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, period, private_key, created_at FROM signing_keys
		WHERE period >= ? ORDER BY period DESC`, minPeriod)
	if err != nil {
		return nil, wrap("find signing keys", err)
	}
	defer rows.Close()
	var out []*doorman.SigningKey
	for rows.Next() {
		var k doorman.SigningKey
		var created int64
		if err := rows.Scan(&k.ID, &k.Period, &k.Private, &created); err != nil {
			return nil, wrap("find signing keys", err)
		}
		k.CreatedAt = fromMicros(created)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find signing keys", err)
	}
	return out, nil
}
