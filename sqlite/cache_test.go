package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// TestCacheSeesWritesOfOtherProcesses opens the same file twice, as a server
// and `doorman sessions revoke` do: a revocation through the second store is
// seen by the first on its very next lookup, although the first had the
// session cached.
func TestCacheSeesWritesOfOtherProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	server := openFile(t, path)
	f := &fixture{s: server}
	acct := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, t0), Name: "Acme", Settings: doorman.DefaultSettings(), CreatedAt: t0}
	if err := server.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	f.acct = acct
	f.user = &doorman.User{ID: doorman.NewID(doorman.PrefixUser, t0), AccountID: acct.ID, Email: "ann@example.com",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: t0}
	if err := server.CreateUser(ctx, f.user, nil); err != nil {
		t.Fatal(err)
	}
	sess := f.session(t, t0)
	for range 3 { // fill the cache and hit it
		p, err := server.FindSessionByTokenHash(ctx, sess.TokenHash)
		if err != nil || p.Session.RevokedAt != nil {
			t.Fatalf("lookup before revoke: %+v, %v", p, err)
		}
		p.Session.IP = "mutated by a caller" // must not leak into the cache
	}
	if p, _ := server.FindSessionByTokenHash(ctx, sess.TokenHash); p.Session.IP == "mutated by a caller" {
		t.Fatal("a caller's change to a returned principal reached the cache")
	}

	cli := openFile(t, path) // another connection pool, as another process has
	steps := []struct {
		name  string
		write func() error
		check func(p *doorman.Principal) bool
	}{
		{"settings", func() error {
			set := acct.Settings
			set.IdleTimeout = doorman.Idle1Day
			_, err := cli.UpdateAccountSettings(ctx, acct.ID, set, t0, nil)
			return err
		}, func(p *doorman.Principal) bool { return p.Account.Settings.IdleTimeout == doorman.Idle1Day }},
		{"revoke", func() error {
			_, err := cli.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: acct.ID, SessionID: sess.ID},
				doorman.Revocation{At: t0.Add(time.Minute), By: doorman.ActorSystem, Reason: "test"}, nil)
			return err
		}, func(p *doorman.Principal) bool { return p.Session.RevokedAt != nil }},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		p, err := server.FindSessionByTokenHash(ctx, sess.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if !st.check(p) {
			t.Fatalf("after a %s by another store, the next lookup returned the cached row", st.name)
		}
	}
}

// TestCacheSeesOwnWrites: a touch through the same store is read back.
func TestCacheSeesOwnWrites(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	sess := f.session(t, t0)
	if _, err := f.s.FindSessionByTokenHash(ctx, sess.TokenHash); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(5 * time.Minute)
	if err := f.s.TouchSession(ctx, sess.ID, doorman.Touch{At: at, Actions: 7}); err != nil {
		t.Fatal(err)
	}
	p, err := f.s.FindSessionByTokenHash(ctx, sess.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Session.LastActiveAt.Equal(at) || p.Session.Activity.Actions != 7 {
		t.Fatalf("after a touch: last active %v, actions %d", p.Session.LastActiveAt, p.Session.Activity.Actions)
	}
}
