package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/postgres"
	"github.com/doorman/doorman/sqlite"
)

// openStore opens the store named by --db and applies migrations: a
// postgres:// or postgresql:// URL selects PostgreSQL, anything else is a
// SQLite file path.
func openStore(ctx context.Context, db string) (doorman.Store, error) {
	if db == "" {
		return nil, fmt.Errorf("--db is required")
	}
	if isPostgresURL(db) {
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// isPostgresURL reports whether --db names PostgreSQL rather than a SQLite
// file.
func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
