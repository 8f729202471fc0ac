package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/sqlite"
	"github.com/doorman/doorman/storetest"
)

func openFile(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTemp(t testing.TB) *sqlite.Store {
	t.Helper()
	return openFile(t, filepath.Join(t.TempDir(), "doorman.db"))
}

func openStore(tb testing.TB) doorman.Store { return openTemp(tb) }

func TestConformance(t *testing.T) {
	storetest.Run(t, openStore, storetest.WithRawExec(func(s doorman.Store, q string) error {
		_, err := s.(*sqlite.Store).DB().Exec(q)
		return err
	}))
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, openStore, storetest.WithBulkSeed(bulkSeed))
}

// migrationCount is how many migration files the package embeds, and the
// highest version among them (numbers may be skipped).
func migrationCount(t *testing.T) (n, maxVersion int) {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	for _, f := range files {
		num, _, _ := strings.Cut(filepath.Base(f), "_")
		if v, err := strconv.Atoi(num); err == nil && v > maxVersion {
			maxVersion = v
		}
	}
	return len(files), maxVersion
}

func checkMigrated(t *testing.T, s *sqlite.Store) {
	t.Helper()
	var n, maxVersion int
	err := s.DB().QueryRow(`SELECT count(*), coalesce(max(version), 0) FROM doorman_migrations`).Scan(&n, &maxVersion)
	if err != nil {
		t.Fatal(err)
	}
	if want, wantMax := migrationCount(t); n != want || maxVersion != wantMax {
		t.Errorf("doorman_migrations holds %d rows up to version %d, want %d up to %d", n, maxVersion, want, wantMax)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	var tables int
	if err := s.DB().QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table'
		AND name IN ('accounts', 'users', 'sessions', 'audit_events')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 4 {
		t.Errorf("found %d of the 4 tables", tables)
	}
}

func TestMigrateTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorman.db")
	s := openFile(t, path)
	checkMigrated(t, s)
	var applied int64
	s.DB().QueryRow(`SELECT applied_at FROM doorman_migrations WHERE version = 1`).Scan(&applied)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openFile(t, path)
	checkMigrated(t, s)
	var again int64
	s.DB().QueryRow(`SELECT applied_at FROM doorman_migrations WHERE version = 1`).Scan(&again)
	if again != applied {
		t.Errorf("migration 1 re-applied: applied_at %d, then %d", applied, again)
	}
}

func TestMigrateConcurrentOpens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doorman.db")
	const n = 6
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(context.Background(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	for _, s := range stores {
		checkMigrated(t, s)
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	// Hold several connections at once so that the pool must open new ones.
	for i := range 4 {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var fk, busy, sync int
		var journal string
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&journal); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || journal != "wal" || busy != 10000 || sync != 1 {
			t.Errorf("connection %d: foreign_keys=%d journal_mode=%s busy_timeout=%d synchronous=%d; want 1 wal 10000 1",
				i, fk, journal, busy, sync)
		}
	}
	if st := s.DB().Stats(); st.OpenConnections < 4 {
		t.Errorf("only %d connections open", st.OpenConnections)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "x.db?mode=ro"} {
		if s, err := sqlite.Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// Fixtures for the tests below, through the store's own API.

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 123456000, time.UTC)

type fixture struct {
	s    *sqlite.Store
	acct *doorman.Account
	user *doorman.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := openTemp(t)
	ctx := context.Background()
	acct := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, t0), Name: "Acme " + t.Name(),
		Settings: doorman.DefaultSettings(), CreatedAt: t0}
	if err := s.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, t0), AccountID: acct.ID, Email: "ann@example.com",
		Role: doorman.RoleAdmin, PasswordHash: "x", CreatedAt: t0}
	if err := s.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, acct: acct, user: u}
}

func (f *fixture) session(t testing.TB, created time.Time) *doorman.Session {
	t.Helper()
	_, hash := doorman.NewToken()
	sess := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, created), TokenHash: hash,
		UserID: f.user.ID, AccountID: f.acct.ID, CreatedAt: created, LastActiveAt: created}
	if err := f.s.CreateSession(context.Background(), sess, nil); err != nil {
		t.Fatal(err)
	}
	return sess
}

func (f *fixture) events(t *testing.T) int {
	t.Helper()
	_, n, err := f.s.FindAuditEvents(context.Background(), doorman.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := doorman.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func TestConstraintErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev := func() *doorman.AuditEvent {
		return &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, t0), AccountID: f.acct.ID, At: t0, Action: "x"}
	}

	dupID := *f.acct
	dupID.Name = "Other"
	wantCode(t, "account id taken", f.s.CreateAccount(ctx, &dupID), doorman.ECONFLICT)
	dupName := *f.acct
	dupName.ID = doorman.NewID(doorman.PrefixAccount, t0)
	wantCode(t, "account name taken", f.s.CreateAccount(ctx, &dupName), doorman.ECONFLICT)
	bad := dupName
	bad.Name, bad.Settings.RememberMeDays = "Bad", 0
	wantCode(t, "check constraint", f.s.CreateAccount(ctx, &bad), doorman.EINVALID)

	u := *f.user
	u.ID = doorman.NewID(doorman.PrefixUser, t0)
	wantCode(t, "email taken", f.s.CreateUser(ctx, &u, ev()), doorman.ECONFLICT)
	u.Email = "bob@example.com"
	u.AccountID = "acc_missing"
	wantCode(t, "no account", f.s.CreateUser(ctx, &u, ev()), doorman.ENOTFOUND)
	u2 := *f.user
	u2.Email = "carl@example.com"
	wantCode(t, "user id taken", f.s.CreateUser(ctx, &u2, ev()), doorman.ECONFLICT)

	sess := f.session(t, t0)
	dup := *sess
	dup.ID = doorman.NewID(doorman.PrefixSession, t0)
	wantCode(t, "token taken", f.s.CreateSession(ctx, &dup, ev()), doorman.ECONFLICT)
	_, dup.TokenHash = doorman.NewToken()
	dup.ID = sess.ID
	wantCode(t, "session id taken", f.s.CreateSession(ctx, &dup, ev()), doorman.ECONFLICT)
	dup.ID = doorman.NewID(doorman.PrefixSession, t0)
	dup.UserID = "usr_missing"
	wantCode(t, "no user", f.s.CreateSession(ctx, &dup, ev()), doorman.ENOTFOUND)

	// A user of another account cannot hold a session in this one.
	other := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, t0), Name: "Other", Settings: doorman.DefaultSettings(), CreatedAt: t0}
	if err := f.s.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	dup.UserID, dup.AccountID = f.user.ID, other.ID
	wantCode(t, "user of another account", f.s.CreateSession(ctx, &dup, ev()), doorman.ENOTFOUND)

	if n := f.events(t); n != 0 {
		t.Errorf("failed writes left %d audit events", n)
	}
	e := ev()
	if err := f.s.CreateAuditEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "event id taken", f.s.CreateAuditEvent(ctx, e), doorman.ECONFLICT)
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exp, rev := t0.Add(time.Hour), t0.Add(time.Minute)
	_, hash := doorman.NewToken()
	want := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, t0), TokenHash: hash,
		UserID: f.user.ID, AccountID: f.acct.ID, CreatedAt: t0, LastActiveAt: t0.Add(time.Second),
		ExpiresAt: &exp, RememberMe: true, RevokedAt: &rev, RevokedBy: f.user.ID, RevokeReason: "r",
		IP: "83.45.123.78", UserAgent: "Mozilla/5.0",
		Device:   doorman.Device{Browser: "Chrome", BrowserVersion: "131.0", OS: "macOS", OSVersion: "10.15.7", Model: "Mac", Type: "desktop"},
		Location: doorman.Location{City: "Barcelona", Region: "Catalonia", Country: "Spain", CountryCode: "ES", ISP: "Telefonica", Local: true},
		Activity: doorman.Activity{Logins: 3, Actions: 7, LastPage: "Sessions"},
		Risk:     doorman.Risk{Level: "medium", Reasons: []string{"unknown_location", "new_device"}},
	}
	if err := f.s.CreateSession(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	p, err := f.s.FindSessionByTokenHash(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Session
	if got.ID != want.ID || !doorman.HashesEqual(got.TokenHash, hash) || !got.CreatedAt.Equal(t0) ||
		got.CreatedAt.Location() != time.UTC || !got.ExpiresAt.Equal(exp) || !got.RevokedAt.Equal(rev) ||
		got.Device != want.Device || got.Location != want.Location || got.Activity != want.Activity ||
		got.Risk.Level != "medium" || len(got.Risk.Reasons) != 2 || got.Risk.Reasons[1] != "new_device" ||
		!got.RememberMe || got.RevokedBy != f.user.ID || got.IP != want.IP {
		t.Errorf("session read back as %+v\nwant %+v", got, want)
	}
	if p.User.ID != f.user.ID || p.User.Email != f.user.Email || p.User.Role != doorman.RoleAdmin ||
		p.Account.ID != f.acct.ID || p.Account.Settings != f.acct.Settings || !p.Account.CreatedAt.Equal(t0) {
		t.Errorf("principal %+v %+v", p.User, p.Account)
	}
	_, err = f.s.FindSessionByTokenHash(ctx, doorman.HashToken("nope"))
	wantCode(t, "unknown token", err, doorman.ENOTFOUND)
}

func TestTouch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sess := f.session(t, t0)
	touch := func(tc doorman.Touch) *doorman.Session {
		t.Helper()
		if err := f.s.TouchSession(ctx, sess.ID, tc); err != nil {
			t.Fatal(err)
		}
		got, err := f.s.FindSessionByID(ctx, f.acct.ID, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := touch(doorman.Touch{At: t0.Add(time.Minute), IP: "10.0.0.1", Actions: 3, LastPage: "Home"})
	if !got.LastActiveAt.Equal(t0.Add(time.Minute)) || got.IP != "10.0.0.1" || got.Activity.Actions != 3 || got.Activity.LastPage != "Home" {
		t.Errorf("after touch: %+v", got)
	}
	got = touch(doorman.Touch{At: t0, Actions: 2})
	if !got.LastActiveAt.Equal(t0.Add(time.Minute)) || got.IP != "10.0.0.1" || got.Activity.Actions != 5 || got.Activity.LastPage != "Home" {
		t.Errorf("after an older touch: %+v", got)
	}
	got = touch(doorman.Touch{Actions: 1})
	if !got.LastActiveAt.Equal(t0.Add(time.Minute)) || got.Activity.Actions != 6 {
		t.Errorf("after a zero-time touch: %+v", got)
	}
	wantCode(t, "touch unknown", f.s.TouchSession(ctx, "sess_missing", doorman.Touch{At: t0}), doorman.ENOTFOUND)
}

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b, c := f.session(t, t0), f.session(t, t0), f.session(t, t0)
	r := doorman.Revocation{At: t0.Add(time.Hour), By: f.user.ID, Reason: doorman.ReasonSignedOut}
	ev := func() *doorman.AuditEvent {
		return &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, t0), AccountID: f.acct.ID, At: t0, Action: "revoke"}
	}

	_, err := f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID}, r, ev())
	wantCode(t, "nothing selected", err, doorman.EINVALID)
	_, err = f.s.RevokeSessions(ctx, doorman.RevokeFilter{All: true}, r, ev())
	wantCode(t, "all without account", err, doorman.EINVALID)
	_, err = f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: "acc_other", SessionID: a.ID}, r, ev())
	wantCode(t, "other account", err, doorman.ENOTFOUND)

	e := ev()
	n, err := f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID, SessionID: a.ID}, r, e)
	if err != nil || n != 1 || e.Count != 1 {
		t.Fatalf("revoke one: %d, %v, count %d", n, err, e.Count)
	}
	_, err = f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID, SessionID: a.ID}, r, ev())
	wantCode(t, "revoke again", err, doorman.ENOTFOUND)
	if n := f.events(t); n != 1 {
		t.Errorf("%d audit events, want 1", n)
	}

	e = ev()
	n, err = f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID, UserID: f.user.ID, ExceptSessionID: b.ID}, r, e)
	if err != nil || n != 1 || e.Count != 1 {
		t.Fatalf("revoke others: %d, %v, count %d", n, err, e.Count)
	}
	got, err := f.s.FindSessionByID(ctx, "", c.ID)
	if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(r.At) || got.RevokedBy != r.By || got.RevokeReason != r.Reason {
		t.Errorf("revoked session %+v, %v", got, err)
	}
	e = ev()
	n, err = f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID, All: true}, r, e)
	if err != nil || n != 1 || e.Count != 1 {
		t.Fatalf("revoke all: %d, %v, count %d", n, err, e.Count)
	}
	e = ev()
	n, err = f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID, All: true}, r, e)
	if err != nil || n != 0 || e.Count != 0 {
		t.Fatalf("revoke all again: %d, %v, count %d", n, err, e.Count)
	}
	evs, total, err := f.s.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: f.acct.ID, Limit: 1})
	if err != nil || total != 4 || len(evs) != 1 || evs[0].ID != e.ID || evs[0].Count != 0 {
		t.Errorf("audit: %d of %d, %v", len(evs), total, err)
	}
}

func TestActiveWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := t0.Add(100 * 24 * time.Hour)
	mk := func(remember bool, created, lastActive time.Time, expires *time.Time) string {
		_, hash := doorman.NewToken()
		s := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, created), TokenHash: hash, UserID: f.user.ID,
			AccountID: f.acct.ID, CreatedAt: created, LastActiveAt: lastActive, ExpiresAt: expires, RememberMe: remember}
		if err := f.s.CreateSession(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	day := 24 * time.Hour
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	fresh := mk(false, now.Add(-2*day), now.Add(-time.Hour), nil)
	idle := mk(false, now.Add(-20*day), now.Add(-8*day), nil)
	expired := mk(false, now.Add(-3*day), now.Add(-time.Hour), &past)
	remembered := mk(true, now.Add(-20*day), now.Add(-19*day), &future)
	oldRemembered := mk(true, now.Add(-40*day), now.Add(-time.Hour), nil)

	cases := []struct {
		set  doorman.Settings
		want []string
	}{
		{doorman.DefaultSettings(), []string{fresh, remembered}},
		{doorman.Settings{IdleTimeout: doorman.Idle7Days, RememberMeAllowed: false, RememberMeDays: 30},
			[]string{fresh, oldRemembered}},
		{doorman.Settings{IdleTimeout: doorman.IdleNever, RememberMeAllowed: false, RememberMeDays: 30},
			[]string{fresh, oldRemembered, idle, remembered}},
		{doorman.Settings{IdleTimeout: doorman.IdleNever, RememberMeAllowed: true, RememberMeDays: 60},
			[]string{fresh, oldRemembered, idle, remembered}},
	}
	for i, c := range cases {
		list, total, err := f.s.FindSessions(ctx, doorman.SessionFilter{AccountID: f.acct.ID, UserID: f.user.ID,
			Active: doorman.Window(c.set, now)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range list {
			got = append(got, s.ID)
		}
		if total != len(c.want) || len(got) != len(c.want) {
			t.Errorf("case %d: got %v (total %d), want %v", i, got, total, c.want)
			continue
		}
		for j := range got {
			if got[j] != c.want[j] {
				t.Errorf("case %d: got %v, want %v", i, got, c.want)
				break
			}
		}
		// The store agrees with CheckSession, the rule it mirrors.
		all, _, _ := f.s.FindSessions(ctx, doorman.SessionFilter{AccountID: f.acct.ID})
		valid := 0
		for _, s := range all {
			if doorman.CheckSession(s, nil, c.set, now) == nil {
				valid++
			}
		}
		if valid != total {
			t.Errorf("case %d: store finds %d active, CheckSession %d", i, total, valid)
		}
	}

	page, total, err := f.s.FindSessions(ctx, doorman.SessionFilter{AccountID: f.acct.ID, Limit: 2, Offset: 1})
	if err != nil || total != 5 || len(page) != 2 || page[0].ID != expired || page[1].ID != oldRemembered {
		t.Errorf("page: %d sessions of %d, %v", len(page), total, err)
	}
	page, total, err = f.s.FindSessions(ctx, doorman.SessionFilter{AccountID: f.acct.ID, Offset: 10})
	if err != nil || total != 5 || len(page) != 0 {
		t.Errorf("past the end: %d sessions of %d, %v", len(page), total, err)
	}
	page, total, err = f.s.FindSessions(ctx, doorman.SessionFilter{AccountID: "acc_other"})
	if err != nil || total != 0 || page == nil {
		t.Errorf("other account: %v of %d, %v", page, total, err)
	}
}

func TestPurge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 5 {
		f.session(t, t0)
	}
	old := f.session(t, t0)
	r := doorman.Revocation{At: t0, By: doorman.ActorSystem}
	if _, err := f.s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: f.acct.ID, UserID: f.user.ID}, r, nil); err != nil {
		t.Fatal(err)
	}
	exp := t0.Add(time.Hour)
	_, hash := doorman.NewToken()
	live := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, t0), TokenHash: hash, UserID: f.user.ID,
		AccountID: f.acct.ID, CreatedAt: t0, LastActiveAt: t0, ExpiresAt: &exp}
	if err := f.s.CreateSession(ctx, live, nil); err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(time.Minute)
	if n, err := f.s.PurgeSessions(ctx, cutoff, 4); err != nil || n != 4 {
		t.Errorf("first batch: %d, %v", n, err)
	}
	if n, err := f.s.PurgeSessions(ctx, cutoff, 4); err != nil || n != 2 {
		t.Errorf("second batch: %d, %v", n, err)
	}
	_, err := f.s.FindSessionByID(ctx, f.acct.ID, old.ID)
	wantCode(t, "purged session", err, doorman.ENOTFOUND)
	if _, err := f.s.FindSessionByID(ctx, f.acct.ID, live.ID); err != nil {
		t.Errorf("live session purged: %v", err)
	}
	if n, err := f.s.PurgeSessions(ctx, exp.Add(time.Second), 10); err != nil || n != 1 {
		t.Errorf("expired: %d, %v", n, err)
	}
}

func TestAuditFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	add := func(acct, action, actor string, at time.Time) string {
		ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, at), AccountID: acct, At: at,
			ActorID: actor, Actor: actor + "@example.com", Action: action, Target: "t-" + action}
		if err := f.s.CreateAuditEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	e1 := add(f.acct.ID, "a", "u1", t0)
	e2 := add(f.acct.ID, "b", "u2", t0.Add(time.Second))
	e3 := add(f.acct.ID, "a", "u2", t0.Add(time.Second))
	e4 := add("", "a", "", t0.Add(2*time.Second))
	cases := []struct {
		f    doorman.AuditFilter
		want []string
	}{
		{doorman.AuditFilter{}, []string{e4, e3, e2, e1}},
		{doorman.AuditFilter{AccountID: f.acct.ID}, []string{e3, e2, e1}},
		{doorman.AuditFilter{Action: "a"}, []string{e4, e3, e1}},
		{doorman.AuditFilter{ActorID: "u2"}, []string{e3, e2}},
		{doorman.AuditFilter{Actor: "u1@example.com"}, []string{e1}},
		{doorman.AuditFilter{Target: "t-b"}, []string{e2}},
		{doorman.AuditFilter{Since: t0.Add(time.Second)}, []string{e4, e3, e2}},
		{doorman.AuditFilter{Until: t0.Add(time.Second)}, []string{e1}},
		{doorman.AuditFilter{Limit: 1, Offset: 1}, []string{e3}},
	}
	for i, c := range cases {
		got, total, err := f.s.FindAuditEvents(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		wantTotal := len(c.want)
		if c.f.Limit > 0 {
			wantTotal = 4
		}
		if total != wantTotal || len(ids) != len(c.want) {
			t.Errorf("case %d: %v (total %d), want %v", i, ids, total, c.want)
			continue
		}
		for j := range ids {
			if ids[j] != c.want[j] {
				t.Errorf("case %d: %v, want %v", i, ids, c.want)
				break
			}
		}
	}
	got, _, _ := f.s.FindAuditEvents(ctx, doorman.AuditFilter{Action: "a", Limit: 1})
	if len(got) != 1 || got[0].AccountID != "" || !got[0].At.Equal(t0.Add(2*time.Second)) {
		t.Errorf("accountless event read back as %+v", got)
	}
	// The log is append-only in the schema itself.
	if _, err := f.s.DB().Exec(`DELETE FROM audit_events`); err == nil {
		t.Error("deleting audit events succeeded")
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, email := range []string{"zed@example.com", "bob@example.com"} {
		u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, t0), AccountID: f.acct.ID, Email: email,
			Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: t0, Disabled: true}
		if err := f.s.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, total, err := f.s.FindUsers(ctx, doorman.UserFilter{AccountID: f.acct.ID, Limit: 2})
	if err != nil || total != 3 || len(list) != 2 || list[0].Email != "ann@example.com" || list[1].Email != "bob@example.com" || !list[1].Disabled {
		t.Errorf("FindUsers: %v of %d, %v", list, total, err)
	}
	u, err := f.s.FindUserByID(ctx, f.acct.ID, f.user.ID)
	if err != nil || u.Email != f.user.Email || !u.CreatedAt.Equal(t0) {
		t.Errorf("FindUserByID: %+v, %v", u, err)
	}
	_, err = f.s.FindUserByID(ctx, "acc_other", f.user.ID)
	wantCode(t, "user of another account", err, doorman.ENOTFOUND)
}

func TestUpdateSettings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	set := doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: false, RememberMeDays: 7}
	ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, t0), AccountID: f.acct.ID, At: t0, Action: doorman.ActionSettingsUpdated}
	if _, err := f.s.UpdateAccountSettings(ctx, f.acct.ID, set, t0, ev); err != nil {
		t.Fatal(err)
	}
	a, err := f.s.FindAccountByName(ctx, f.acct.Name)
	if err != nil || a.Settings != set {
		t.Errorf("settings %+v, %v", a, err)
	}
	_, err = f.s.UpdateAccountSettings(ctx, "acc_missing", set, t0,
		&doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, t0), At: t0, Action: "x"})
	wantCode(t, "unknown account", err, doorman.ENOTFOUND)
	if n := f.events(t); n != 1 {
		t.Errorf("%d audit events, want 1", n)
	}
}

func TestTempDirClean(t *testing.T) {
	// The store creates only its database, WAL and shared-memory files.
	dir := t.TempDir()
	s := openFile(t, filepath.Join(dir, "doorman.db"))
	s.Close()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		switch e.Name() {
		case "doorman.db", "doorman.db-wal", "doorman.db-shm":
		default:
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}

func BenchmarkFindSessionByTokenHash(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	acct := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, t0), Name: "Bench", Settings: doorman.DefaultSettings(), CreatedAt: t0}
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, t0), AccountID: acct.ID, Email: "b@example.com",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: t0}
	if err := s.CreateAccount(ctx, acct); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateUser(ctx, u, nil); err != nil {
		b.Fatal(err)
	}
	_, hash := doorman.NewToken()
	sess := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, t0), TokenHash: hash, UserID: u.ID,
		AccountID: acct.ID, CreatedAt: t0, LastActiveAt: t0}
	if err := s.CreateSession(ctx, sess, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.FindSessionByTokenHash(ctx, hash); err != nil {
			b.Fatal(err)
		}
	}
}
