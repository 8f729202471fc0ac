package postgres_test

import (
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/postgres"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// twoNodes opens two stores on one fresh schema, as two Doorman nodes do,
// and a user with a session through the first.
func twoNodes(t *testing.T) (a, b *postgres.Store, sess *doorman.Session) {
	t.Helper()
	ctx := t.Context()
	dsn := testdb.PostgresDSN(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b = open(), open()
	acct := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, t0), Name: "Acme", Settings: doorman.DefaultSettings(), CreatedAt: t0}
	if err := a.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, t0), AccountID: acct.ID, Email: "ann@example.com",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: t0}
	if err := a.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	_, hash := doorman.NewToken()
	sess = &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, t0), TokenHash: hash, UserID: u.ID,
		AccountID: acct.ID, CreatedAt: t0, LastActiveAt: t0, IP: "192.0.2.1"}
	if err := a.CreateSession(ctx, sess, nil); err != nil {
		t.Fatal(err)
	}
	waitListening(t, a)
	waitListening(t, b)
	return a, b, sess
}

// waitListening waits until the store's listener is current; the test
// fails if it never becomes so.
func waitListening(t *testing.T, s *postgres.Store) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !s.Listening() {
		if time.Now().After(deadline) {
			t.Fatal("the store's listener never became current")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawUpdate changes a session's address with triggers off, so that no node
// hears of it: only a node that reads the database sees it.
func rawUpdate(t *testing.T, s *postgres.Store, id, ip string) {
	t.Helper()
	ctx := t.Context()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE sessions SET ip = $1 WHERE id = $2", ip, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func lookup(t *testing.T, s *postgres.Store, hash []byte) *doorman.Principal {
	t.Helper()
	p, err := s.FindSessionByTokenHash(t.Context(), hash)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCacheServesAndRevocationIsExact: node A serves a session from its
// cache (a change nobody announced stays unseen), yet a revocation through
// node B is seen by A's very next lookup once B's call returned, and so is
// a settings change.
func TestCacheServesAndRevocationIsExact(t *testing.T) {
	ctx := t.Context()
	a, b, sess := twoNodes(t)
	lookup(t, a, sess.TokenHash) // cached now
	rawUpdate(t, b, sess.ID, "198.51.100.7")
	if p := lookup(t, a, sess.TokenHash); p.Session.IP != "192.0.2.1" {
		t.Fatalf("IP = %q: node A did not serve the session from its cache", p.Session.IP)
	}
	if p, err := a.FindSessionByTokenHash(doorman.WithoutCache(ctx), sess.TokenHash); err != nil || p.Session.IP != "198.51.100.7" {
		t.Fatalf("WithoutCache: %+v, %v; want the row as stored", p, err)
	}

	set := doorman.DefaultSettings()
	set.IdleTimeout = doorman.Idle1Day
	if _, err := b.UpdateAccountSettings(ctx, sess.AccountID, set, t0, nil); err != nil {
		t.Fatal(err)
	}
	if p := lookup(t, a, sess.TokenHash); p.Account.Settings.IdleTimeout != doorman.Idle1Day {
		t.Fatalf("after B changed the settings, A still served %q", p.Account.Settings.IdleTimeout)
	}
	lookup(t, a, sess.TokenHash) // cached again
	if _, err := b.RevokeSessions(ctx, doorman.RevokeFilter{SessionID: sess.ID},
		doorman.Revocation{At: t0.Add(time.Minute), By: doorman.ActorSystem, Reason: "test"}, nil); err != nil {
		t.Fatal(err)
	}
	if p := lookup(t, a, sess.TokenHash); p.Session.RevokedAt == nil {
		t.Fatal("after B's revocation returned, A still served the session as live")
	}
}

// TestCacheResyncsAfterListenerIsLost: when the listener's connection is
// killed, what the node missed meanwhile is unknown, so once it listens
// again it serves nothing it cached before.
func TestCacheResyncsAfterListenerIsLost(t *testing.T) {
	ctx := t.Context()
	a, b, sess := twoNodes(t)
	lookup(t, a, sess.TokenHash)
	rawUpdate(t, b, sess.ID, "198.51.100.8") // unannounced, as a lost notification
	if p := lookup(t, a, sess.TokenHash); p.Session.IP != "192.0.2.1" {
		t.Fatalf("IP = %q: node A did not serve the session from its cache", p.Session.IP)
	}
	before := a.ListenerReconnects()
	if _, err := b.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'doorman listener' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.ListenerReconnects() == before {
		if time.Now().After(deadline) {
			t.Fatal("node A's listener never reconnected")
		}
		time.Sleep(time.Millisecond)
	}
	// The old connection's lease may still run for up to 100 ms; once the
	// new one listens and pings, nothing cached before may be served.
	// Without the reset the stale entry would be served for good.
	for {
		waitListening(t, a)
		if lookup(t, a, sess.TokenHash).Session.IP == "198.51.100.8" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache kept an entry across the listener's loss")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
