package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/postgres"
	"github.com/doorman/doorman/sqlite"
)

// twoNodes runs f with two stores on one database, as two servers have.
func twoNodes(t *testing.T, f func(t *testing.T, a, b doorman.Store)) {
	testdb.OneDatabase(t, func(t *testing.T, open func() doorman.Store) { f(t, open(), open()) })
}

// keyFixture is an account "Company" with an admin signed in and a member.
type keyFixture struct {
	*fixture
	admin, member *doorman.Principal
}

func newKeyFixture(t *testing.T, store doorman.Store) *keyFixture {
	t.Helper()
	f := &keyFixture{fixture: newFixture(t, store)}
	f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
	f.user(t, "Company", "member@company.com", doorman.RoleMember)
	_, f.admin = f.signIn(t, "admin@company.com", false)
	_, f.member = f.signIn(t, "member@company.com", false)
	return f
}

func (f *keyFixture) create(t *testing.T, name string, readOnly bool) (*doorman.APIKey, string) {
	t.Helper()
	k, secret, err := f.svc.CreateAPIKey(context.Background(), f.admin, name, readOnly, app.Meta{IP: "83.45.123.78"})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func (f *keyFixture) use(key, ip string) (*doorman.Principal, error) {
	return f.svc.AuthenticateAPIKey(context.Background(), key, app.Meta{IP: ip, UserAgent: "curl/8.5.0"})
}

func (f *keyFixture) listed(t *testing.T, id string) *doorman.APIKey {
	t.Helper()
	keys, err := f.svc.APIKeys(context.Background(), f.admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("key %s not listed", id)
	return nil
}

func TestAPIKeyCreateAndAuthenticate(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newKeyFixture(t, store)
		k, secret := f.create(t, "  Production API ", false)
		if k.Name != "Production API" || !strings.HasPrefix(secret, k.Prefix+"_") || len(k.Prefix) != 11 {
			t.Fatalf("key %+v, secret shape %q", k, secret[:12])
		}
		if !doorman.APIKeyWellFormed(secret) {
			t.Fatal("new key is not well-formed")
		}
		p, err := f.use(secret, "203.0.113.9")
		if err != nil {
			t.Fatal(err)
		}
		if p.APIKey == nil || p.APIKey.ID != k.ID || p.Session != nil || p.User == nil || !p.User.IsAdmin() || p.Account.ID != f.admin.Account.ID {
			t.Fatalf("principal %+v", p)
		}
		// The last character changed to one it is not.
		last := "A"
		if strings.HasSuffix(secret, "A") {
			last = "B"
		}
		for _, bad := range []string{"", "dk_x", secret + "A", secret[:len(secret)-1] + last, strings.Replace(secret, "dk_", "xx_", 1)} {
			if _, err := f.use(bad, "203.0.113.9"); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Errorf("AuthenticateAPIKey(%q): %v, want EUNAUTHORIZED", bad, err)
			}
		}
		// Members, and keys themselves, cannot create keys.
		_, _, err = f.svc.CreateAPIKey(ctx, f.member, "x", false, app.Meta{})
		wantCode(t, "member creates", err, doorman.EFORBIDDEN)
		_, _, err = f.svc.CreateAPIKey(ctx, p, "x", false, app.Meta{})
		wantCode(t, "key creates", err, doorman.EFORBIDDEN)
		_, _, err = f.svc.CreateAPIKey(ctx, f.admin, "  ", false, app.Meta{})
		wantCode(t, "empty name", err, doorman.EINVALID)
		_, err = f.svc.APIKeys(ctx, f.member)
		wantCode(t, "member lists", err, doorman.EFORBIDDEN)

		evs := events(t, store, f.admin.Account.ID)
		var created, newIP int
		for _, ev := range evs {
			switch ev.Action {
			case doorman.ActionAPIKeyCreated:
				created++
				if ev.Target != k.ID || ev.ActorID != f.admin.User.ID {
					t.Errorf("created event %+v", ev)
				}
			case doorman.ActionAPIKeyNewIP:
				newIP++
				if ev.IP != "203.0.113.9" || ev.ActorID != k.ID {
					t.Errorf("new-IP event %+v", ev)
				}
			}
		}
		if created != 1 || newIP != 1 {
			t.Errorf("events: %d created, %d new IP; want 1 and 1", created, newIP)
		}
	})
}

// TestAPIKeyConcurrentUse: N concurrent uses count N exactly, with the
// right last use, before and after the flush, and cost no write per request.
func TestAPIKeyConcurrentUse(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newKeyFixture(t, store)
		k, secret := f.create(t, "Production API", false)
		idle, _ := f.create(t, "Test Key", false)
		f.clock.Advance(5 * time.Minute)
		const workers, each = 16, 50
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					if _, err := f.use(secret, "203.0.113.9"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		usedAt := f.clock.Now()
		check := func(when string) {
			t.Helper()
			got := f.listed(t, k.ID)
			if got.Requests24h != workers*each {
				t.Errorf("%s: Requests24h = %d, want %d", when, got.Requests24h, workers*each)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(usedAt) || got.LastIP != "203.0.113.9" || got.LastUserAgent != "curl/8.5.0" {
				t.Errorf("%s: last used %v from %q %q", when, got.LastUsedAt, got.LastIP, got.LastUserAgent)
			}
			never := f.listed(t, idle.ID)
			if never.LastUsedAt != nil || never.Requests24h != 0 {
				t.Errorf("%s: unused key %v, %d", when, never.LastUsedAt, never.Requests24h)
			}
		}
		check("before flush")
		// What the store holds before the flush: only the first request's
		// prompt write (new address), nothing per request.
		usage, err := store.FindAPIKeyUsage(ctx, f.admin.Account.ID, k.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var stored int64
		for _, u := range usage {
			stored += u.Requests
		}
		if stored > workers { // at most the requests that raced the first write
			t.Errorf("store holds %d requests before the flush", stored)
		}
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		check("after flush")
		// A second node sees the flushed figures.
		other := app.NewService(store, cheap)
		other.Now = f.clock.Now
		keys, err := other.APIKeys(ctx, f.admin)
		if err != nil {
			t.Fatal(err)
		}
		if keys[0].ID != k.ID || keys[0].Requests24h != workers*each {
			t.Errorf("other node: first key %s with %d", keys[0].Name, keys[0].Requests24h)
		}
		if keys[len(keys)-1].ID != idle.ID {
			t.Errorf("never-used key not last: %s", keys[len(keys)-1].Name)
		}
	})
}

// TestAPIKeyWindowRolls: Requests/24h counts the current hour and the 23
// before it, hour by hour.
func TestAPIKeyWindowRolls(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newKeyFixture(t, store)
		k, secret := f.create(t, "Sync", true)
		// 09:15: one use per hour for 3 hours: 09:xx, 10:xx, 11:xx.
		for h := range 3 {
			for range h + 1 { // 1, 2, 3 requests
				if _, err := f.use(secret, "198.51.100.7"); err != nil {
					t.Fatal(err)
				}
			}
			if h == 1 {
				if err := f.svc.Flush(ctx); err != nil { // part written, part pending
					t.Fatal(err)
				}
			}
			f.clock.Advance(time.Hour)
		}
		// Now 12:15. Window: 13:00 yesterday .. 12:59 today: all 6.
		want := func(n int64, when string) {
			t.Helper()
			if got := f.listed(t, k.ID).Requests24h; got != n {
				t.Errorf("%s: Requests24h = %d, want %d", when, got, n)
			}
			_, series, err := f.svc.APIKey(ctx, f.admin, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for i, h := range series {
				sum += h.Requests
				if i > 0 && !h.Hour.Equal(series[i-1].Hour.Add(time.Hour)) {
					t.Fatalf("series not hourly at %d", i)
				}
			}
			if len(series) != 24 || sum != n || !series[23].Hour.Equal(f.clock.Now().Truncate(time.Hour)) {
				t.Errorf("%s: series of %d hours summing %d, last %v", when, len(series), sum, series[len(series)-1].Hour)
			}
		}
		want(6, "12:15")
		f.clock.Advance(20*time.Hour + 44*time.Minute) // 08:59 next day: 09:00 still in
		want(6, "08:59 next day")
		f.clock.Advance(time.Minute) // 09:00: the 09:xx hour (1 request) leaves
		want(5, "09:00 next day")
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		want(5, "after flush")
		f.clock.Advance(time.Hour) // 10:00: 2 more leave
		want(3, "10:00 next day")
		f.clock.Advance(2 * time.Hour)
		want(0, "12:00 next day")
	})
}

// TestAPIKeyRevokedOnNextRequest: a revoked key is refused by the next
// request, on this node and on another one.
func TestAPIKeyRevokedOnNextRequest(t *testing.T) {
	twoNodes(t, func(t *testing.T, a, b doorman.Store) {
		ctx := context.Background()
		f := newKeyFixture(t, a)
		nodeB := app.NewService(b, cheap)
		nodeB.Now = f.clock.Now
		k, secret := f.create(t, "Production API", false)
		for _, svc := range []*app.Service{f.svc, nodeB} {
			if _, err := svc.AuthenticateAPIKey(ctx, secret, app.Meta{IP: "203.0.113.9"}); err != nil {
				t.Fatal(err)
			}
		}
		// Either node may revoke; the key may revoke itself.
		if err := f.svc.RevokeAPIKey(ctx, f.member, k.ID, app.Meta{}); doorman.ErrorCode(err) != doorman.EFORBIDDEN {
			t.Fatalf("member revokes: %v", err)
		}
		if err := f.svc.RevokeAPIKey(ctx, f.admin, k.ID, app.Meta{IP: "83.45.123.78"}); err != nil {
			t.Fatal(err)
		}
		for i, svc := range []*app.Service{f.svc, nodeB} {
			if _, err := svc.AuthenticateAPIKey(ctx, secret, app.Meta{IP: "203.0.113.9"}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Errorf("node %d after revoke: %v, want EUNAUTHORIZED", i, err)
			}
		}
		wantCode(t, "revoke again", f.svc.RevokeAPIKey(ctx, f.admin, k.ID, app.Meta{}), doorman.ENOTFOUND)
		keys, err := f.svc.APIKeys(ctx, f.admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Errorf("revoked key still listed")
		}
		got, _, err := f.svc.APIKey(ctx, f.admin, k.ID)
		if err != nil || got.RevokedAt == nil || got.RevokedBy != f.admin.User.ID {
			t.Errorf("revoked key details: %+v, %v", got, err)
		}
		// Both nodes' pending counts still land.
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := nodeB.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got, _, _ = f.svc.APIKey(ctx, f.admin, k.ID)
		if got.Requests24h != 2 {
			t.Errorf("after both flushes: %d requests, want 2", got.Requests24h)
		}
	})
}

// TestAPIKeyAccountsIsolated: an admin of another account neither sees nor
// revokes nor reads the key, and a key acts only for its own account.
func TestAPIKeyAccountsIsolated(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newKeyFixture(t, store)
		k, secret := f.create(t, "Production API", false)
		f.user(t, "Globex", "root@globex.com", doorman.RoleAdmin)
		_, other := f.signIn(t, "root@globex.com", false)
		keys, err := f.svc.APIKeys(ctx, other)
		if err != nil || len(keys) != 0 {
			t.Fatalf("other account lists %d keys, %v", len(keys), err)
		}
		_, _, err = f.svc.APIKey(ctx, other, k.ID)
		wantCode(t, "other account reads", err, doorman.ENOTFOUND)
		wantCode(t, "other account revokes", f.svc.RevokeAPIKey(ctx, other, k.ID, app.Meta{}), doorman.ENOTFOUND)
		p, err := f.use(secret, "203.0.113.9")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.APIKey(ctx, p, k.ID)
		if err != nil {
			t.Fatalf("key reads itself: %v", err)
		}
		gk, _, _ := f.svc.CreateAPIKey(ctx, other, "Theirs", false, app.Meta{})
		_, _, err = f.svc.APIKey(ctx, p, gk.ID)
		wantCode(t, "key reads another account's key", err, doorman.ENOTFOUND)
		_, err = f.svc.TeamUsers(ctx, p)
		if err != nil {
			t.Fatalf("key lists its team: %v", err)
		}
	})
}

// TestAPIKeySecretNeverStored scans every text and blob column of the
// database for the secret and its random part.
func TestAPIKeySecretNeverStored(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newKeyFixture(t, store)
		k, secret := f.create(t, "Production API", false)
		if _, err := f.use(secret, "203.0.113.9"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RevokeAPIKey(ctx, f.admin, k.ID, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		random := secret[len(k.Prefix)+1:]
		dump := dumpDatabase(t, store)
		if !strings.Contains(dump, k.Prefix) {
			t.Fatal("dump does not contain the key's prefix: the scan reads nothing")
		}
		if strings.Contains(dump, random) {
			t.Fatal("the key's secret is stored")
		}
	})
}

// dumpDatabase returns every row of every table as text.
func dumpDatabase(t *testing.T, store doorman.Store) string {
	t.Helper()
	var b strings.Builder
	switch s := store.(type) {
	case *sqlite.Store:
		db := s.DB()
		tables := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table'`)
		for _, tbl := range tables {
			rows, err := db.Query(`SELECT * FROM "` + tbl + `"`)
			if err != nil {
				t.Fatal(err)
			}
			dumpRows(t, &b, rows)
		}
	case *postgres.Store:
		rows, err := s.Pool().Query(context.Background(),
			`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			tables = append(tables, n)
		}
		rows.Close()
		for _, tbl := range tables {
			rows, err := s.Pool().Query(context.Background(), `SELECT * FROM "`+tbl+`"`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintln(&b, vals...)
				for _, v := range vals {
					if bs, ok := v.([]byte); ok {
						b.Write(bs)
					}
				}
			}
			rows.Close()
		}
	default:
		t.Fatalf("unknown store %T", store)
	}
	return b.String()
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func dumpRows(t *testing.T, b *strings.Builder, rows *sql.Rows) {
	t.Helper()
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				b.Write(v)
			default:
				fmt.Fprint(b, v)
			}
			b.WriteByte('\t')
		}
		b.WriteByte('\n')
	}
}
