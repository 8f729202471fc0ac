// Package storetest is the one conformance suite that every doorman.Store
// implementation passes, in the spirit of testing/fstest.TestFS: the contract
// written in doorman.Store's doc comments, checked against a real database so
// that the sqlite and postgres stores cannot drift apart.
//
// The API is:
//
//	func Run(t *testing.T, open func(testing.TB) doorman.Store, opts ...Option)
//	func Benchmark(b *testing.B, open func(testing.TB) doorman.Store, opts ...Option)
//	func WithRawExec(exec func(s doorman.Store, sql string) error) Option
//	func WithBulkSeed(seed func(s doorman.Store, users []*doorman.User, sessions []*doorman.Session) error) Option
//
// open returns a fresh, empty, migrated store and registers its own cleanup
// on tb (tb.Cleanup). Every subtest and sub-benchmark calls it once. A store's
// tests call the suite like this:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, openStore, storetest.WithRawExec(func(s doorman.Store, q string) error {
//			_, err := s.(*sqlite.Store).DB().Exec(q)
//			return err
//		}))
//	}
//
//	func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, openStore, storetest.WithBulkSeed(seed)) }
//
//	func openStore(tb testing.TB) doorman.Store {
//		s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "doorman.db"))
//		if err != nil {
//			tb.Fatal(err)
//		}
//		tb.Cleanup(func() { s.Close() })
//		return s
//	}
//
// Fixtures are written through the store's own API, at fixed instants (Base
// plus offsets) with microsecond precision, so every round trip must be exact
// under time.Equal. Stores must be safe for concurrent use, as a server uses
// them: the suite runs writers in parallel and accepts no "busy" errors.
package storetest

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// Base is the fixed instant around which the suite builds its fixtures.
var Base = time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)

// Option configures Run.
type Option func(*config)

type config struct {
	rawExec  func(doorman.Store, string) error
	bulkSeed func(doorman.Store, []*doorman.User, []*doorman.Session) error
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithRawExec gives the suite a way to run one raw SQL statement against the
// store's database, so that it can prove the database itself, not only the
// Store interface, refuses to change or delete audit events. Stores with
// database access (sqlite, postgres) pass it; without it that subtest is
// skipped.
func WithRawExec(exec func(s doorman.Store, sql string) error) Option {
	return func(c *config) { c.rawExec = exec }
}

// WithBulkSeed gives the benchmarks a fast way to write large fixtures:
// seed stores users and sessions as CreateUser and CreateSession would (the
// sessions' DeviceKeyHash is nil; no address history, device or audit event
// is expected), in as few round trips as the database allows, and leaves the
// database as a server would find it after such a load (statistics
// gathered). The team-view benchmark of 100,000 sessions is skipped without
// it: through the Store API its seeding would take minutes.
func WithBulkSeed(seed func(s doorman.Store, users []*doorman.User, sessions []*doorman.Session) error) Option {
	return func(c *config) { c.bulkSeed = seed }
}

type opener = func(testing.TB) doorman.Store

// Run runs the conformance suite against the stores that open returns. Each
// subtest calls open(t) for a fresh, empty, migrated store.
func Run(t *testing.T, open func(testing.TB) doorman.Store, opts ...Option) {
	c := newConfig(opts)
	groups := []struct {
		name  string
		tests []test
	}{
		{"Account", accountTests},
		{"User", userTests},
		{"Session", sessionTests},
		{"Active", activeTests},
		{"Touch", touchTests},
		{"Reauth", reauthTests},
		{"Device", deviceTests},
		{"History", historyTests},
		{"Risk", riskTests},
		{"Revoke", revokeTests},
		{"Expiry", expiryTests},
		{"Purge", purgeTests},
		{"Audit", auditTests},
		{"AuditNames", auditNameTests},
		{"Team", teamTests},
		{"TeamUsers", teamUserTests},
		{"APIKey", apiKeyTests},
		{"Alert", alertTests},
		{"TwoFactor", twoFactorTests},
		{"PasswordReset", passwordResetTests},
		{"BadInput", badInputTests},
		{"Throttle", throttleTests},
		{"SigningKey", signingKeyTests},
	}
	t.Run("Ping", func(t *testing.T) {
		s := open(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
			}
		})
	}
	t.Run("Audit/AppendOnly", func(t *testing.T) {
		if c.rawExec == nil {
			t.Skip("no WithRawExec option: cannot reach the database directly")
		}
		testAppendOnly(t, open, c.rawExec)
	})
	t.Run("Audit/PurgeOnlyByAge", func(t *testing.T) {
		if c.rawExec == nil {
			t.Skip("no WithRawExec option: cannot reach the database directly")
		}
		testPurgeOnlyByAge(t, open, c.rawExec)
	})
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
}

type test = struct {
	name string
	fn   func(*testing.T, opener)
}
