package app_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/postgres"
)

// clock is a settable clock for the Service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cheap keeps password hashing fast in tests; production uses argon2id.OWASP.
var cheap = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

const password = "correct horse battery"

// stores runs f once per store kind, each with a fresh store.
func stores(t *testing.T, f func(t *testing.T, store doorman.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, testdb.Postgres(t)) })
}

type fixture struct {
	svc   *app.Service
	clock *clock
}

func newFixture(t *testing.T, store doorman.Store) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)}
	svc := app.NewService(store, cheap)
	svc.Now = c.Now
	// Tests sign in often at one instant; TestSignInThrottle puts the
	// defaults back.
	svc.SignInLimits = app.SignInLimits{PerEmail: 1e6, EmailBurst: 1e6, PerIP: 1e6, IPBurst: 1e6}
	return &fixture{svc: svc, clock: c}
}

func (f *fixture) user(t *testing.T, account, email string, role doorman.Role) *doorman.User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), account, email, "", role, password)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) signIn(t *testing.T, email string, remember bool) (string, *doorman.Principal) {
	t.Helper()
	tok, p, err := f.svc.SignIn(context.Background(), app.SignInRequest{Email: email, Password: password, RememberMe: remember,
		Meta: app.Meta{IP: "83.45.123.78", UserAgent: "test-agent"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok, p
}

func (f *fixture) auth(token string) (*doorman.Principal, error) {
	return f.svc.Authenticate(context.Background(), token, app.Meta{IP: "83.45.123.78"})
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var e *doorman.Error
	if !errors.As(err, &e) || e.Code != doorman.EUNAUTHORIZED || e.Reason != reason {
		t.Fatalf("error = %v, want EUNAUTHORIZED with reason %q", err, reason)
	}
}

func TestSignIn(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		u := f.user(t, "Company", "Admin@Company.com", doorman.RoleAdmin)
		if u.Email != "admin@company.com" {
			t.Fatalf("email stored as %q, want lower case", u.Email)
		}
		tok1, p1 := f.signIn(t, "admin@company.com", false)
		tok2, _ := f.signIn(t, " ADMIN@company.com ", false)
		if tok1 == tok2 {
			t.Fatal("two sign-ins got the same token")
		}
		stored, err := store.FindSessionByID(ctx, p1.Account.ID, p1.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if string(stored.TokenHash) == tok1 || !doorman.HashesEqual(stored.TokenHash, doorman.HashToken(tok1)) {
			t.Fatal("the store does not hold exactly the token's hash")
		}
		if p, err := f.auth(tok1); err != nil || p.User.ID != u.ID || p.Session.ID != p1.Session.ID {
			t.Fatalf("Authenticate = %v, %v", p, err)
		}

		_, _, errWrong := f.svc.SignIn(ctx, app.SignInRequest{Email: "admin@company.com", Password: "wrong password"})
		_, _, errUnknown := f.svc.SignIn(ctx, app.SignInRequest{Email: "nobody@company.com", Password: "wrong password"})
		if doorman.ErrorCode(errWrong) != doorman.EUNAUTHORIZED || doorman.ErrorMessage(errWrong) != doorman.ErrorMessage(errUnknown) ||
			doorman.ErrorCode(errUnknown) != doorman.EUNAUTHORIZED {
			t.Fatalf("wrong password: %v; unknown email: %v; want the same EUNAUTHORIZED", errWrong, errUnknown)
		}
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "", Password: "x"}); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("empty email: %v, want EINVALID", err)
		}
		events, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: u.AccountID})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, ev := range events {
			counts[ev.Action]++
		}
		if counts[doorman.ActionSignIn] != 2 || counts[doorman.ActionSignInFailed] != 1 || counts[doorman.ActionUserCreated] != 1 {
			t.Fatalf("audit actions = %v, want 2 sign_in, 1 sign_in_failed (known email), 1 user_created", counts)
		}
		if _, err := f.auth("not-a-token"); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("garbage token: %v", err)
		}
		other, _ := doorman.NewToken()
		if _, err := f.auth(other); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

func TestRevocationOnNextRequest(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		// A second node: its own Service (own activity buffer) on the same store.
		node2 := app.NewService(store, cheap)
		node2.Now = f.clock.Now
		tokA, pA := f.signIn(t, "sarah@company.com", false)
		tokB, pB := f.signIn(t, "sarah@company.com", true)
		tokC, _ := f.signIn(t, "sarah@company.com", false)
		if _, err := node2.Authenticate(ctx, tokB, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RevokeSession(ctx, pA, pB.Session.ID, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		_, err := node2.Authenticate(ctx, tokB, app.Meta{})
		wantReason(t, err, doorman.ReasonRevokedByUser)
		if err := f.svc.RevokeSession(ctx, pA, pB.Session.ID, app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatalf("revoking twice: %v, want ENOTFOUND", err)
		}
		n, err := f.svc.SignOutOthers(ctx, pA, app.Meta{})
		if err != nil || n != 1 {
			t.Fatalf("SignOutOthers = %d, %v; want 1", n, err)
		}
		_, err = node2.Authenticate(ctx, tokC, app.Meta{})
		wantReason(t, err, doorman.ReasonRevokedByUser)
		if _, err := node2.Authenticate(ctx, tokA, app.Meta{}); err != nil {
			t.Fatalf("the current session was signed out too: %v", err)
		}
		if err := f.svc.SignOut(ctx, pA, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		_, err = node2.Authenticate(ctx, tokA, app.Meta{})
		wantReason(t, err, doorman.ReasonSignedOut)
	})
}

func TestRevocationAcrossNodesPostgres(t *testing.T) {
	// Two Doorman nodes, each with its own connection pool, on one database.
	dsn := testdb.PostgresDSN(t)
	ctx := context.Background()
	openNode := func() *fixture {
		store, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return newFixture(t, store)
	}
	n1, n2 := openNode(), openNode()
	n1.user(t, "Company", "mike@company.com", doorman.RoleMember)
	tok, p := n1.signIn(t, "mike@company.com", false)
	if _, err := n2.auth(tok); err != nil {
		t.Fatal(err)
	}
	if err := n1.svc.SignOut(ctx, p, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	_, err := n2.auth(tok)
	wantReason(t, err, doorman.ReasonSignedOut)
}

func TestExpiryRules(t *testing.T) {
	const day = 24 * time.Hour
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		admin := f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		acct, _ := store.FindAccountByID(ctx, admin.AccountID)

		// Idle: a session unused for exactly the idle timeout is over.
		idle, _ := f.signIn(t, "admin@company.com", false)
		busy, _ := f.signIn(t, "admin@company.com", false)
		f.clock.Advance(7*day - time.Microsecond)
		if _, err := f.auth(busy); err != nil {
			t.Fatalf("one microsecond before the idle timeout: %v", err)
		}
		f.clock.Advance(time.Microsecond)
		_, err := f.auth(idle)
		wantReason(t, err, doorman.ReasonIdle)
		if doorman.ErrorMessage(err) != "Your session expired after 7 days of inactivity" {
			t.Fatalf("message = %q", doorman.ErrorMessage(err))
		}
		if _, err := f.auth(busy); err != nil {
			t.Fatalf("the session used a moment ago expired: %v", err)
		}

		// Remember me: idle does not apply; the session ends remember-days after sign-in.
		remembered, rp := f.signIn(t, "admin@company.com", true)
		if !rp.Session.RememberMe {
			t.Fatal("remember me was not honoured")
		}
		f.clock.Advance(20 * day)
		if _, err := f.auth(remembered); err != nil {
			t.Fatalf("remembered session after 20 idle days: %v", err)
		}
		f.clock.Advance(10*day - time.Microsecond)
		if _, err := f.auth(remembered); err != nil {
			t.Fatalf("remembered session just before 30 days: %v", err)
		}
		f.clock.Advance(time.Microsecond)
		_, err = f.auth(remembered)
		wantReason(t, err, doorman.ReasonExpired)

		// A settings change applies to an existing session on its next request.
		s1, p1 := f.signIn(t, "admin@company.com", false)
		f.clock.Advance(2 * day)
		set := acct.Settings
		set.IdleTimeout = doorman.Idle1Day
		// Two days after signing in, the change needs the password.
		if _, err := f.svc.UpdateSettings(ctx, p1, acct.ID, set, app.Meta{Proof: app.Proof{Password: password}}); err != nil {
			t.Fatal(err)
		}
		_, err = f.auth(s1)
		wantReason(t, err, doorman.ReasonIdle)

		// Remember me disallowed: sign-in ignores the box; remembered sessions fall back to idle.
		r2, _ := f.signIn(t, "admin@company.com", true)
		set.RememberMeAllowed = false
		if _, err := f.svc.UpdateSettings(ctx, nil, acct.ID, set, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		_, p3 := f.signIn(t, "admin@company.com", true)
		if p3.Session.RememberMe {
			t.Fatal("remember me granted while the account disallows it")
		}
		f.clock.Advance(day)
		_, err = f.auth(r2)
		wantReason(t, err, doorman.ReasonIdle)

		// Absolute cap: with idle "never", an active session still ends at the cap.
		set = doorman.Settings{IdleTimeout: doorman.IdleNever, RememberMeAllowed: true, RememberMeDays: 30}
		if _, err := f.svc.UpdateSettings(ctx, nil, acct.ID, set, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		capped, _ := f.signIn(t, "admin@company.com", false)
		for range 4 {
			f.clock.Advance(7 * day)
			if _, err := f.auth(capped); err != nil {
				t.Fatalf("active session before the cap: %v", err)
			}
		}
		f.clock.Advance(2 * day) // 30 days after sign-in
		_, err = f.auth(capped)
		wantReason(t, err, doorman.ReasonExpired)
	})
}

// failingStore answers every session lookup with an error, as a store whose
// database is down does.
type failingStore struct{ doorman.Store }

func (failingStore) FindSessionByTokenHash(context.Context, []byte) (*doorman.Principal, error) {
	return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

func TestStoreDownIsUnavailable(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		tok, _ := f.signIn(t, "admin@company.com", false)
		f.svc.Store = failingStore{store}
		_, err := f.auth(tok)
		if err == nil || !app.IsUnavailable(err) || doorman.ErrorCode(err) == doorman.EUNAUTHORIZED {
			t.Fatalf("Authenticate on a failing store = %v; want unavailable, neither valid nor unauthorized", err)
		}
	})
}

// countingStore counts TouchSession calls: the writes activity costs.
type countingStore struct {
	doorman.Store
	touches atomic.Int64
}

func (c *countingStore) TouchSession(ctx context.Context, id string, t doorman.Touch) error {
	c.touches.Add(1)
	return c.Store.TouchSession(ctx, id, t)
}

func TestActivityWritesAtMostOncePerMinute(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		cs := &countingStore{Store: store}
		f := newFixture(t, cs)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		tok, p := f.signIn(t, "admin@company.com", false)
		// 1,000 requests a minute for 10 minutes: one every 60 ms.
		const requests = 10_000
		for i := range requests {
			f.clock.Advance(60 * time.Millisecond)
			if _, err := f.auth(tok); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if i%500 == 0 {
				s, err := store.FindSessionByID(ctx, p.Account.ID, p.Session.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stale := f.clock.Now().Sub(s.LastActiveAt); stale > time.Minute {
					t.Fatalf("after request %d the stored last activity is %v stale", i, stale)
				}
			}
		}
		if n := cs.touches.Load(); n > 11 {
			t.Fatalf("%d requests over 10 minutes cost %d writes, want at most 11", requests, n)
		}
		// A graceful shutdown writes what is pending: every request is counted.
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := store.FindSessionByID(ctx, p.Account.ID, p.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Activity.Actions != requests || !s.LastActiveAt.Equal(f.clock.Now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("after flush: actions %d (want %d), last active %v (want %v)", s.Activity.Actions, requests, s.LastActiveAt, f.clock.Now())
		}
	})
}

func TestListAndGetSessions(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		f.user(t, "Other", "eve@other.com", doorman.RoleAdmin)
		_, old := f.signIn(t, "admin@company.com", false)
		f.clock.Advance(time.Hour)
		_, mid := f.signIn(t, "admin@company.com", false)
		f.clock.Advance(time.Hour)
		_, cur := f.signIn(t, "admin@company.com", false)
		_, sarah := f.signIn(t, "sarah@company.com", false)
		_, eve := f.signIn(t, "eve@other.com", false)
		f.clock.Advance(time.Minute)
		// The oldest session is the current one here: it must still come first.
		list, err := f.svc.ListSessions(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		want := []string{old.Session.ID, cur.Session.ID, mid.Session.ID}
		if len(ids) != 3 || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
			t.Fatalf("list = %v, want %v (current first, then by last activity)", ids, want)
		}
		if _, err := f.svc.GetSession(ctx, old, sarah.Session.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatalf("another user's session: %v, want ENOTFOUND", err)
		}
		if _, err := f.svc.GetSession(ctx, old, eve.Session.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatalf("another account's session: %v, want ENOTFOUND", err)
		}
		if err := f.svc.RevokeSession(ctx, old, eve.Session.ID, app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatalf("revoking another account's session: %v, want ENOTFOUND", err)
		}
		if err := f.svc.RevokeSession(ctx, old, sarah.Session.ID, app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatalf("revoking a teammate's session: %v, want ENOTFOUND", err)
		}
		if err := f.svc.RevokeSession(ctx, old, mid.Session.ID, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.GetSession(ctx, old, mid.Session.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatalf("a revoked session is still found: %v", err)
		}
		list, _ = f.svc.ListSessions(ctx, old)
		if len(list) != 2 {
			t.Fatalf("after revoking one, %d sessions listed, want 2", len(list))
		}
	})
}

func TestOperatorRevoke(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "guest@agency.com", doorman.RoleMember)
		tok, p := f.signIn(t, "guest@agency.com", false)
		if err := f.svc.OperatorRevokeSession(ctx, p.Session.ID, "  "); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("revoke without a reason: %v, want EINVALID", err)
		}
		if _, err := f.auth(tok); err != nil {
			t.Fatalf("a refused revoke changed something: %v", err)
		}
		if err := f.svc.OperatorRevokeSession(ctx, p.Session.ID, "Security concern"); err != nil {
			t.Fatal(err)
		}
		_, err := f.auth(tok)
		wantReason(t, err, doorman.ReasonRevokedByAdmin)
		evs, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: p.Account.ID, Action: doorman.ActionSessionRevoked})
		if err != nil || len(evs) != 1 || evs[0].Reason != "Security concern" || evs[0].ActorID != doorman.ActorSystem || evs[0].Count != 1 {
			t.Fatalf("audit = %+v, %v; want one session_revoked by system with the reason", evs, err)
		}
	})
}

func TestPurge(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		var keep *doorman.Principal
		for i := range 7 {
			_, p := f.signIn(t, "admin@company.com", false)
			if i < 5 {
				if err := f.svc.SignOut(ctx, p, app.Meta{}); err != nil {
					t.Fatal(err)
				}
			} else {
				keep = p
			}
		}
		f.clock.Advance(8 * 24 * time.Hour)
		n, err := f.svc.Purge(ctx, 7*24*time.Hour, 2) // batches of 2
		if err != nil || n != 5 {
			t.Fatalf("Purge = %d, %v; want the 5 revoked sessions", n, err)
		}
		if _, err := store.FindSessionByID(ctx, keep.Account.ID, keep.Session.ID); err != nil {
			t.Fatalf("a live session was purged: %v", err)
		}
	})
}
