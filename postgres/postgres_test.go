package postgres_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/postgres"
	"github.com/doorman/doorman/storetest"
)

func openStore(tb testing.TB) doorman.Store { return testdb.Postgres(tb) }

func TestConformance(t *testing.T) {
	storetest.Run(t, openStore, storetest.WithRawExec(func(s doorman.Store, q string) error {
		_, err := s.(*postgres.Store).Pool().Exec(context.Background(), q)
		return err
	}))
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, openStore, storetest.WithBulkSeed(bulkSeed))
}

// All without an account would sign out every session of every account: the
// store refuses it even for operators.
func TestRevokeAllNeedsAccount(t *testing.T) {
	s := testdb.Postgres(t)
	n, err := s.RevokeSessions(t.Context(), doorman.RevokeFilter{All: true},
		doorman.Revocation{At: storetest.Base, By: doorman.ActorSystem}, nil)
	if doorman.ErrorCode(err) != doorman.EINVALID || n != 0 {
		t.Errorf("RevokeSessions(All, no account) = %d, %v; want 0, EINVALID", n, err)
	}
}

// migrationCount returns how many migration files the package embeds.
func migrationCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n
}

// appliedMigrations returns the rows of doorman_migrations in the schema of s.
func appliedMigrations(t *testing.T, s *postgres.Store) []int {
	t.Helper()
	rows, err := s.Pool().Query(t.Context(), "SELECT version FROM doorman_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("read doorman_migrations: %v", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	want := migrationCount(t)

	first := open(t, dsn)
	if got := appliedMigrations(t, first); len(got) != want {
		t.Fatalf("after the first Open: versions %v, want %d", got, want)
	}
	// Data written before a second Open survives it.
	a := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, storetest.Base), Name: "Acme",
		Settings: doorman.DefaultSettings(), CreatedAt: storetest.Base}
	if err := first.CreateAccount(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	first.Close()

	for range 2 {
		s := open(t, dsn)
		if got := appliedMigrations(t, s); len(got) != want {
			t.Errorf("after reopening: versions %v, want %d", got, want)
		}
		if _, err := s.FindAccountByID(t.Context(), a.ID); err != nil {
			t.Errorf("FindAccountByID after reopening: %v", err)
		}
		s.Close()
	}
}

func TestOpenConcurrently(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	const nodes = 4
	var (
		wg     sync.WaitGroup
		stores [nodes]*postgres.Store
		errs   [nodes]error
		start  = make(chan struct{})
	)
	for i := range nodes {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = postgres.Open(t.Context(), dsn)
		})
	}
	close(start)
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Errorf("node %d: Open: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	if got, want := appliedMigrations(t, stores[0]), migrationCount(t); len(got) != want {
		t.Errorf("versions %v, want %d, each applied once", got, want)
	}
	// Every node works on the one schema.
	for i, s := range stores {
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("node %d: Ping: %v", i, err)
		}
	}
}

func TestSearchPathDecidesSchema(t *testing.T) {
	s := testdb.Postgres(t)
	var schema string
	err := s.Pool().QueryRow(t.Context(),
		"SELECT table_schema FROM information_schema.tables WHERE table_name = 'sessions' AND table_schema = current_schema()").
		Scan(&schema)
	if err != nil {
		t.Fatalf("sessions table in current_schema(): %v", err)
	}
	if !strings.HasPrefix(schema, "doorman_test_") {
		t.Errorf("tables in schema %q, want the test's own doorman_test_ schema", schema)
	}
}
