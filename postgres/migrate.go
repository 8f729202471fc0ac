package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the pg_advisory_xact_lock key that serialises migrations
// of every Doorman node ("doorman" in ASCII). Advisory locks are per
// database, so nodes using different schemas of one database also take
// turns; migrations are rare and quick.
const migrationLock int64 = 0x646f6f726d616e

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. A file is
// named NNNN_description.sql; its number is its version.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := make(map[int]string)
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and an underscore", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version", prev, base)
		}
		seen[v] = base
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies every embedded migration not yet recorded in
// doorman_migrations, each in its own transaction. The transaction first
// takes the advisory lock and then checks again whether the version is
// applied, so that nodes starting together apply each file exactly once.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	list, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, pool)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, m := range list {
		if applied[m.version] {
			continue // fast path: no lock when nothing is pending
		}
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS doorman_migrations (
				version    integer PRIMARY KEY,
				applied_at timestamptz NOT NULL
			)`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM doorman_migrations WHERE version = $1)",
				m.version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil // another node applied it while we waited for the lock
			}
			// Without arguments pgx uses the simple protocol, which runs
			// every statement of the file.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO doorman_migrations (version, applied_at) VALUES ($1, $2)",
				m.version, time.Now().UTC())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// appliedVersions reads doorman_migrations without locking; it is empty
// when the table does not exist yet.
func appliedVersions(ctx context.Context, pool *pgxpool.Pool) (map[int]bool, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('doorman_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return nil, err
	}
	out := make(map[int]bool)
	if !exists {
		return out, nil
	}
	rows, err := pool.Query(ctx, "SELECT version FROM doorman_migrations")
	if err != nil {
		return nil, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		out[v] = true
	}
	return out, nil
}
