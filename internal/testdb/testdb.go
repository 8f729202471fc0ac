// Package testdb opens fresh, migrated stores for tests: a SQLite file in a
// temporary directory, or a PostgreSQL schema of its own in the database that
// DOORMAN_TEST_POSTGRES_DSN names.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/postgres"
	"github.com/doorman/doorman/sqlite"
)

// EnvPostgresDSN names the environment variable that holds the DSN of the
// PostgreSQL database tests may use. Each test gets a schema of its own in
// it, dropped when the test ends.
const EnvPostgresDSN = "DOORMAN_TEST_POSTGRES_DSN"

// setupTimeout bounds creating and dropping a test schema.
const setupTimeout = 30 * time.Second

// SQLite returns a migrated store on a new file in tb.TempDir(), closed when
// the test ends.
func SQLite(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "doorman.db"))
	if err != nil {
		tb.Fatalf("testdb: open sqlite: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Postgres returns a migrated store in a fresh schema of the database named
// by DOORMAN_TEST_POSTGRES_DSN. When the test ends the store is closed and
// the schema dropped. Without the variable the test is skipped, or fails when
// CI is set, so that CI cannot pass by skipping.
func Postgres(tb testing.TB) *postgres.Store {
	tb.Helper()
	dsn := newSchema(tb)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("testdb: open postgres: %v", err)
	}
	// Registered after the schema's own cleanup, so it runs before it.
	tb.Cleanup(func() { s.Close() })
	return s
}

// PostgresDSN is Postgres for tests that open stores themselves, such as two
// nodes on one database: it returns the DSN of a fresh, empty schema (not yet
// migrated) that is dropped when the test ends. Close the stores opened on it
// in earlier-running cleanups (tb.Cleanup after this call).
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	return newSchema(tb)
}

// OneDatabase runs f once on SQLite and once on PostgreSQL, as subtests,
// with open returning a new store on one database each time it is called:
// the stores of several Doorman nodes. Each store is closed when the
// subtest ends.
func OneDatabase(t *testing.T, f func(t *testing.T, open func() doorman.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "doorman.db")
		f(t, func() doorman.Store {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatalf("testdb: open sqlite: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := PostgresDSN(t)
		f(t, func() doorman.Store {
			ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
			defer cancel()
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatalf("testdb: open postgres: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// newSchema creates a schema doorman_test_<hex>, registers its drop, and
// returns the base DSN with that schema as search_path.
func newSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal(EnvPostgresDSN + " is not set, and CI is: PostgreSQL tests must run in CI")
		}
		tb.Skip("set " + EnvPostgresDSN + "=postgres://... to run PostgreSQL tests")
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "doorman_test_" + hex.EncodeToString(b[:])
	// The name is ours (letters, digits, underscore), but quote it anyway.
	ident := pgx.Identifier{schema}.Sanitize()

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("testdb: connect to %s: %v", EnvPostgresDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		tb.Fatalf("testdb: create schema: %v", err)
	}
	tb.Cleanup(func() {
		// tb.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("testdb: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			tb.Errorf("testdb: drop schema %s: %v", schema, err)
		}
	})
	dsn, err := withSearchPath(base, schema)
	if err != nil {
		tb.Fatalf("testdb: %s: %v", EnvPostgresDSN, err)
	}
	return dsn
}

// withSearchPath returns dsn with search_path set to schema, in URL or
// keyword/value form, whichever dsn uses. pgx sends unknown DSN parameters
// to the server as run-time parameters.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}
