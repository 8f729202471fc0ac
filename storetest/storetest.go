// Package storetest is the one conformance suite that every doorman.Store
// implementation passes, in the spirit of testing/fstest.TestFS: the contract
// written in the doc comments of the interfaces doorman.Store is made of
// (SessionStore, UserStore, …), checked against a real database so that the
// sqlite and postgres stores cannot drift apart. Its subtests are grouped the
// same way, one group per interface.
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
	"slices"
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
//
// The subtests are grouped as doorman.Store is: one group per interface it
// is made of, named for that concern ("Sessions", "Users", …), then "Store"
// for what the Store owes as a whole (Ping, and text that is not ValidText
// refused by every method).
func Run(t *testing.T, open func(testing.TB) doorman.Store, opts ...Option) {
	c := newConfig(opts)
	for _, g := range suite(c) {
		g.run(t, open)
	}
}

// suite is the conformance suite, by concern.
func suite(c config) []group {
	return []group{
		{name: "Accounts", tests: accountTests, groups: []group{ // AccountStore
			{name: "Expiry", tests: expiryTests}, // UpdateAccountSettings ending sessions
		}},
		{name: "Users", tests: append(slices.Clip(userTests), userUpdateTests...)}, // UserStore
		{name: "Invitations", tests: invitationTests},                              // InvitationStore
		{name: "Team", tests: teamTests},                                           // TeamStore
		{name: "Sessions", tests: sessionTests, groups: []group{ // SessionStore
			{name: "Active", tests: activeTests},
			{name: "Touch", tests: touchTests},
			{name: "Reauth", tests: reauthTests},
			{name: "Device", tests: deviceTests},
			{name: "History", tests: historyTests},
			{name: "Revoke", tests: revokeTests},
			{name: "Purge", tests: purgeTests},
			{name: "Concurrency", tests: []test{{"SignInCheckTouch", testConcurrency}}},
		}},
		{name: "Risk", tests: riskTests},      // RiskStore
		{name: "APIKeys", tests: apiKeyTests}, // APIKeyStore
		{name: "Audit", tests: append(slices.Clip(auditTests), // AuditStore
			rawTest(c, "AppendOnly", testAppendOnly),
			rawTest(c, "PurgeOnlyByAge", testPurgeOnlyByAge))},
		{name: "Throttle", tests: throttleTests},                // ThrottleStore
		{name: "Alerts", tests: alertTests},                     // AlertStore
		{name: "Webhooks", tests: webhookTests},                 // WebhookStore
		{name: "TwoFactor", tests: twoFactorTests},              // TwoFactorStore
		{name: "SignInChallenges", tests: signInChallengeTests}, // SignInChallengeStore
		{name: "PasswordResets", tests: passwordResetTests},     // PasswordResetStore
		{name: "SigningKeys", tests: signingKeyTests},           // SigningKeyStore
		{name: "FormTokens", tests: formTokenTests},             // FormTokenStore
		{name: "Passkeys", tests: passkeyTests},                 // PasskeyStore
		{name: "Bindings", tests: bindingTests},                 // BindingStore
		{name: "Store", tests: []test{{"Ping", testPing}}, groups: []group{
			{name: "BadInput", tests: badInputTests},
		}},
	}
}

// group is a named set of subtests, and of groups within it.
type group struct {
	name   string
	tests  []test
	groups []group
}

func (g group) run(t *testing.T, open opener) {
	t.Run(g.name, func(t *testing.T) {
		for _, tc := range g.tests {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
		}
		for _, sub := range g.groups {
			sub.run(t, open)
		}
	})
}

// rawTest is the test fn of name, which needs WithRawExec: skipped without
// it.
func rawTest(c config, name string, fn func(*testing.T, opener, func(doorman.Store, string) error)) test {
	return test{name, func(t *testing.T, open opener) {
		if c.rawExec == nil {
			t.Skip("no WithRawExec option: cannot reach the database directly")
		}
		fn(t, open, c.rawExec)
	}}
}

func testPing(t *testing.T, open opener) {
	s := open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

type test = struct {
	name string
	fn   func(*testing.T, opener)
}
