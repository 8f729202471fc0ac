package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var apiKeyTests = []test{
	{"CreateAndFind", testAPIKeyCreateFind},
	{"Conflict", testAPIKeyConflict},
	{"UnknownAccount", testAPIKeyUnknownAccount},
	{"ListOrderAndIsolation", testAPIKeyList},
	{"Revoke", testAPIKeyRevoke},
	{"Usage", testAPIKeyUsage},
	{"UsageConcurrent", testAPIKeyUsageConcurrent},
	{"UsageIsolation", testAPIKeyUsageIsolation},
	{"UsagePurge", testAPIKeyUsagePurge},
}

// apiKey stores a key of a named name, created at t, and returns it with
// its secret.
func (e *env) apiKey(a *doorman.Account, name string, t time.Time, ev *doorman.AuditEvent) (*doorman.APIKey, string) {
	e.tb.Helper()
	secret, prefix, hash := doorman.NewAPIKey()
	k := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, t), AccountID: a.ID, Name: name,
		Prefix: prefix, Hash: hash, CreatedAt: t, CreatedBy: "usr_admin", CreatedByEmail: "admin@example.com"}
	if err := e.s.CreateAPIKey(e.ctx, k, ev); err != nil {
		e.tb.Fatalf("CreateAPIKey(%s): %v", name, err)
	}
	return k, secret
}

func diffAPIKey(got, want *doorman.APIKey) diff {
	var d diff
	d.eq("ID", got.ID, want.ID)
	d.eq("AccountID", got.AccountID, want.AccountID)
	d.eq("Name", got.Name, want.Name)
	d.eq("Prefix", got.Prefix, want.Prefix)
	d.eq("Hash", bytes.Equal(got.Hash, want.Hash), true)
	d.eq("ReadOnly", got.ReadOnly, want.ReadOnly)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.eq("CreatedBy", got.CreatedBy, want.CreatedBy)
	d.eq("CreatedByEmail", got.CreatedByEmail, want.CreatedByEmail)
	d.ptr("RevokedAt", got.RevokedAt, want.RevokedAt)
	d.eq("RevokedBy", got.RevokedBy, want.RevokedBy)
	d.ptr("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	d.eq("LastIP", got.LastIP, want.LastIP)
	d.eq("LastUserAgent", got.LastUserAgent, want.LastUserAgent)
	return d
}

func (e *env) findKey(accountID, id string) *doorman.APIKey {
	e.tb.Helper()
	list, err := e.s.FindAPIKeys(e.ctx, doorman.APIKeyFilter{AccountID: accountID, ID: id, IncludeRevoked: true})
	if err != nil {
		e.tb.Fatalf("FindAPIKeys(%s): %v", id, err)
	}
	if len(list) != 1 {
		e.tb.Fatalf("FindAPIKeys(%s): %d keys, want 1", id, len(list))
	}
	return list[0]
}

func testAPIKeyCreateFind(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	ev := event(a.ID, doorman.ActionAPIKeyCreated, at(0))
	k, secret := e.apiKey(a, "Production API", at(0), ev)
	diffAPIKey(e.findKey(a.ID, k.ID), k).report(t, "FindAPIKeys")

	p, err := e.s.FindAPIKeyByHash(e.ctx, doorman.HashAPIKey(secret))
	ok(t, err, "FindAPIKeyByHash")
	if p.APIKey == nil || p.Account == nil || p.Session != nil || p.User != nil {
		t.Fatalf("FindAPIKeyByHash: principal %+v, want APIKey and Account only", p)
	}
	diffAPIKey(p.APIKey, k).report(t, "FindAPIKeyByHash")
	diffAccount(p.Account, a).report(t, "FindAPIKeyByHash account")

	_, err = e.s.FindAPIKeyByHash(e.ctx, doorman.HashAPIKey(secret+"x"))
	wantCode(t, err, doorman.ENOTFOUND, "FindAPIKeyByHash(unknown)")

	evs, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionAPIKeyCreated})
	if len(evs) != 1 || evs[0].ID != ev.ID {
		t.Errorf("audit after CreateAPIKey: %v, want [%s]", eventIDs(evs), ev.ID)
	}
	// Read-only survives the round trip.
	_, prefix, hash := doorman.NewAPIKey()
	ro := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, Base), AccountID: a.ID, Name: "Reader",
		Prefix: prefix, Hash: hash, ReadOnly: true, CreatedAt: at(time.Second), CreatedBy: "usr_admin"}
	ok(t, e.s.CreateAPIKey(e.ctx, ro, nil), "CreateAPIKey(read-only)")
	diffAPIKey(e.findKey(a.ID, ro.ID), ro).report(t, "read-only key")
}

func testAPIKeyConflict(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	k, _ := e.apiKey(a, "One", at(0), nil)
	_, prefix, hash := doorman.NewAPIKey()
	for _, c := range []struct {
		what string
		edit func(*doorman.APIKey)
	}{
		{"same id", func(x *doorman.APIKey) { x.ID = k.ID }},
		{"same prefix", func(x *doorman.APIKey) { x.Prefix = k.Prefix }},
		{"same hash", func(x *doorman.APIKey) { x.Hash = k.Hash }},
	} {
		x := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, Base), AccountID: a.ID, Name: "Two",
			Prefix: prefix, Hash: hash, CreatedAt: at(0), CreatedBy: "usr_admin"}
		c.edit(x)
		ev := event(a.ID, doorman.ActionAPIKeyCreated, at(time.Minute))
		wantCode(t, e.s.CreateAPIKey(e.ctx, x, ev), doorman.ECONFLICT, "CreateAPIKey("+c.what+")")
	}
	if n := e.auditTotal(); n != 0 {
		t.Errorf("refused creations wrote %d audit events", n)
	}
}

func testAPIKeyUnknownAccount(t *testing.T, open opener) {
	e := newEnv(t, open)
	_, prefix, hash := doorman.NewAPIKey()
	k := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, Base), AccountID: "acc_nobody", Name: "X",
		Prefix: prefix, Hash: hash, CreatedAt: at(0), CreatedBy: "usr_admin"}
	wantCode(t, e.s.CreateAPIKey(e.ctx, k, nil), doorman.ENOTFOUND, "CreateAPIKey(unknown account)")
}

func testAPIKeyList(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	k1, _ := e.apiKey(a, "Old", at(-time.Hour), nil)
	k2, _ := e.apiKey(a, "New", at(0), nil)
	kb, _ := e.apiKey(b, "Theirs", at(time.Hour), nil)
	list, err := e.s.FindAPIKeys(e.ctx, doorman.APIKeyFilter{AccountID: a.ID})
	ok(t, err, "FindAPIKeys")
	if got := keyIDs(list); len(got) != 2 || got[0] != k2.ID || got[1] != k1.ID {
		t.Errorf("FindAPIKeys(A) = %v, want [%s %s]", got, k2.ID, k1.ID)
	}
	list, err = e.s.FindAPIKeys(e.ctx, doorman.APIKeyFilter{AccountID: a.ID, ID: kb.ID, IncludeRevoked: true})
	ok(t, err, "FindAPIKeys(other account's id)")
	if len(list) != 0 {
		t.Errorf("FindAPIKeys(A, B's key) = %v, want none", keyIDs(list))
	}
	wantCode(t, e.s.RevokeAPIKey(e.ctx, a.ID, kb.ID, doorman.Revocation{At: at(0), By: "usr_x"}, nil),
		doorman.ENOTFOUND, "RevokeAPIKey(A, B's key)")
	if got := e.findKey(b.ID, kb.ID); got.RevokedAt != nil {
		t.Error("another account's revoke reached B's key")
	}
}

func keyIDs(list []*doorman.APIKey) []string {
	out := []string{}
	for _, k := range list {
		out = append(out, k.ID)
	}
	return out
}

func testAPIKeyRevoke(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	k, secret := e.apiKey(a, "One", at(0), nil)
	other, _ := e.apiKey(a, "Two", at(time.Second), nil)
	// Read once, as a server's cache would.
	_, err := e.s.FindAPIKeyByHash(e.ctx, doorman.HashAPIKey(secret))
	ok(t, err, "FindAPIKeyByHash")
	rev := doorman.Revocation{At: at(time.Hour), By: "usr_admin2"}
	ev := event(a.ID, doorman.ActionAPIKeyRevoked, rev.At)
	ok(t, e.s.RevokeAPIKey(e.ctx, a.ID, k.ID, rev, ev), "RevokeAPIKey")
	want := *k
	want.RevokedAt, want.RevokedBy = ptr(rev.At), rev.By
	diffAPIKey(e.findKey(a.ID, k.ID), &want).report(t, "revoked key")
	p, err := e.s.FindAPIKeyByHash(e.ctx, doorman.HashAPIKey(secret))
	ok(t, err, "FindAPIKeyByHash(revoked)")
	if p.APIKey.RevokedAt == nil || !p.APIKey.RevokedAt.Equal(rev.At) {
		t.Errorf("FindAPIKeyByHash after revoke: RevokedAt %s, want %s", fmtPtr(p.APIKey.RevokedAt), fmtTime(rev.At))
	}
	list, err := e.s.FindAPIKeys(e.ctx, doorman.APIKeyFilter{AccountID: a.ID})
	ok(t, err, "FindAPIKeys")
	if got := keyIDs(list); len(got) != 1 || got[0] != other.ID {
		t.Errorf("FindAPIKeys without revoked = %v, want [%s]", got, other.ID)
	}
	ev2 := event(a.ID, doorman.ActionAPIKeyRevoked, at(2*time.Hour))
	wantCode(t, e.s.RevokeAPIKey(e.ctx, a.ID, k.ID, doorman.Revocation{At: at(2 * time.Hour), By: "x"}, ev2),
		doorman.ENOTFOUND, "RevokeAPIKey(again)")
	if evs, _ := e.audits(doorman.AuditFilter{AccountID: a.ID}); len(evs) != 1 || evs[0].ID != ev.ID {
		t.Errorf("audit after revoke, revoke again: %v, want [%s]", eventIDs(evs), ev.ID)
	}
}

func testAPIKeyUsage(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	k, secret := e.apiKey(a, "One", at(0), nil)
	_, err := e.s.FindAPIKeyByHash(e.ctx, doorman.HashAPIKey(secret)) // fill any cache
	ok(t, err, "FindAPIKeyByHash")
	h0 := Base.Truncate(time.Hour)
	ev := event(a.ID, doorman.ActionAPIKeyNewIP, at(10*time.Minute))
	ok(t, e.s.RecordAPIKeyUsage(e.ctx, []doorman.APIKeyUsage{{KeyID: k.ID, At: at(10 * time.Minute),
		IP: "198.51.100.1", UserAgent: "curl/8.0",
		Hours: []doorman.UsageHour{{Hour: h0.Add(-time.Hour), Requests: 5}, {Hour: h0.Add(7 * time.Minute), Requests: 3}}}},
		[]*doorman.AuditEvent{ev}), "RecordAPIKeyUsage")
	// A second flush adds to the same hour and moves the last use forward.
	ok(t, e.s.RecordAPIKeyUsage(e.ctx, []doorman.APIKeyUsage{{KeyID: k.ID, At: at(20 * time.Minute),
		IP: "198.51.100.2", Hours: []doorman.UsageHour{{Hour: h0, Requests: 4}}}}, nil), "RecordAPIKeyUsage 2")
	// An older usage (from a slow node) counts but moves nothing back.
	ok(t, e.s.RecordAPIKeyUsage(e.ctx, []doorman.APIKeyUsage{{KeyID: k.ID, At: at(5 * time.Minute),
		IP: "198.51.100.3", UserAgent: "old/1", Hours: []doorman.UsageHour{{Hour: h0, Requests: 1}}},
		{KeyID: "key_unknown", At: at(0), Hours: []doorman.UsageHour{{Hour: h0, Requests: 9}}}}, nil), "RecordAPIKeyUsage 3")

	want := *k
	want.LastUsedAt, want.LastIP, want.LastUserAgent = ptr(at(20*time.Minute)), "198.51.100.2", "curl/8.0"
	diffAPIKey(e.findKey(a.ID, k.ID), &want).report(t, "key after usage")
	p, err := e.s.FindAPIKeyByHash(e.ctx, doorman.HashAPIKey(secret))
	ok(t, err, "FindAPIKeyByHash")
	diffAPIKey(p.APIKey, &want).report(t, "FindAPIKeyByHash after usage (no stale cache)")

	got, err := e.s.FindAPIKeyUsage(e.ctx, a.ID, "", h0.Add(-time.Hour))
	ok(t, err, "FindAPIKeyUsage")
	wantHours := []doorman.UsageHour{{KeyID: k.ID, Hour: h0.Add(-time.Hour), Requests: 5}, {KeyID: k.ID, Hour: h0, Requests: 8}}
	if !sameUsage(got, wantHours) {
		t.Errorf("FindAPIKeyUsage = %v, want %v", got, wantHours)
	}
	got, err = e.s.FindAPIKeyUsage(e.ctx, a.ID, k.ID, h0)
	ok(t, err, "FindAPIKeyUsage(since)")
	if !sameUsage(got, wantHours[1:]) {
		t.Errorf("FindAPIKeyUsage(since h0) = %v, want %v", got, wantHours[1:])
	}
	if evs, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionAPIKeyNewIP}); len(evs) != 1 {
		t.Errorf("new-IP events: %d, want 1", len(evs))
	}
}

func sameUsage(got, want []doorman.UsageHour) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].KeyID != want[i].KeyID || !got[i].Hour.Equal(want[i].Hour) || got[i].Requests != want[i].Requests {
			return false
		}
	}
	return true
}

// testAPIKeyUsageConcurrent: flushes from many nodes at once add up exactly.
func testAPIKeyUsageConcurrent(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	k, _ := e.apiKey(a, "One", at(0), nil)
	h0 := Base.Truncate(time.Hour)
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- e.s.RecordAPIKeyUsage(e.ctx, []doorman.APIKeyUsage{{KeyID: k.ID,
					At: at(time.Duration(w*each+i) * time.Second), Hours: []doorman.UsageHour{{Hour: h0, Requests: 3}}}}, nil)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, err, "concurrent RecordAPIKeyUsage")
	}
	got, err := e.s.FindAPIKeyUsage(e.ctx, a.ID, k.ID, h0)
	ok(t, err, "FindAPIKeyUsage")
	if len(got) != 1 || got[0].Requests != writers*each*3 {
		t.Errorf("after concurrent flushes: %v, want %d in one hour", got, writers*each*3)
	}
	if k2 := e.findKey(a.ID, k.ID); !ptrEq(k2.LastUsedAt, ptr(at((writers*each-1)*time.Second))) {
		t.Errorf("LastUsedAt %s, want the latest use", fmtPtr(k2.LastUsedAt))
	}
}

func testAPIKeyUsageIsolation(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ka, _ := e.apiKey(a, "A", at(0), nil)
	kb, _ := e.apiKey(b, "B", at(0), nil)
	h0 := Base.Truncate(time.Hour)
	ok(t, e.s.RecordAPIKeyUsage(e.ctx, []doorman.APIKeyUsage{
		{KeyID: ka.ID, At: at(0), Hours: []doorman.UsageHour{{Hour: h0, Requests: 2}}},
		{KeyID: kb.ID, At: at(0), Hours: []doorman.UsageHour{{Hour: h0, Requests: 7}}},
	}, nil), "RecordAPIKeyUsage")
	got, err := e.s.FindAPIKeyUsage(e.ctx, a.ID, "", h0)
	ok(t, err, "FindAPIKeyUsage(A)")
	if !sameUsage(got, []doorman.UsageHour{{KeyID: ka.ID, Hour: h0, Requests: 2}}) {
		t.Errorf("FindAPIKeyUsage(A) = %v, want only A's key", got)
	}
	got, err = e.s.FindAPIKeyUsage(e.ctx, a.ID, kb.ID, h0)
	ok(t, err, "FindAPIKeyUsage(A, B's key)")
	if len(got) != 0 {
		t.Errorf("FindAPIKeyUsage(A, B's key) = %v, want none", got)
	}
}

// testAPIKeyUsagePurge: hours before the cutoff go, of every account, in
// bounded batches, oldest first; later hours and the keys stay.
func testAPIKeyUsagePurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ka, _ := e.apiKey(a, "One", at(0), nil)
	kb, _ := e.apiKey(b, "Two", at(0), nil)
	h0 := Base.Truncate(time.Hour)
	hours := func(from, n int) []doorman.UsageHour {
		var out []doorman.UsageHour
		for i := from; i < from+n; i++ {
			out = append(out, doorman.UsageHour{Hour: h0.Add(time.Duration(i) * time.Hour), Requests: 1})
		}
		return out
	}
	ok(t, e.s.RecordAPIKeyUsage(e.ctx, []doorman.APIKeyUsage{
		{KeyID: ka.ID, At: at(0), Hours: hours(-3, 5)}, // h0-3h … h0+1h
		{KeyID: kb.ID, At: at(0), Hours: hours(-2, 3)}, // h0-2h … h0
	}, nil), "RecordAPIKeyUsage")

	n, err := e.s.PurgeAPIKeyUsage(e.ctx, h0, 0)
	if err != nil || n != 0 {
		t.Fatalf("PurgeAPIKeyUsage(limit 0) = %d, %v; want 0", n, err)
	}
	// Five hours are before h0: ka's -3, -2, -1 and kb's -2, -1.
	n, err = e.s.PurgeAPIKeyUsage(e.ctx, h0, 2)
	ok(t, err, "PurgeAPIKeyUsage")
	if n != 2 {
		t.Fatalf("PurgeAPIKeyUsage(limit 2) = %d, want 2", n)
	}
	got, err := e.s.FindAPIKeyUsage(e.ctx, a.ID, "", h0.Add(-24*time.Hour))
	ok(t, err, "FindAPIKeyUsage")
	if len(got) == 0 || !got[0].Hour.After(h0.Add(-3*time.Hour)) {
		t.Errorf("after purging 2, Acme's usage = %v: the oldest hour must go first", got)
	}
	n, err = e.s.PurgeAPIKeyUsage(e.ctx, h0, 10)
	ok(t, err, "PurgeAPIKeyUsage(rest)")
	if n != 3 {
		t.Errorf("PurgeAPIKeyUsage(rest) = %d, want 3", n)
	}
	got, err = e.s.FindAPIKeyUsage(e.ctx, a.ID, "", h0.Add(-24*time.Hour))
	ok(t, err, "FindAPIKeyUsage")
	if want := hours(0, 2); !sameUsage(got, []doorman.UsageHour{{KeyID: ka.ID, Hour: want[0].Hour, Requests: 1}, {KeyID: ka.ID, Hour: want[1].Hour, Requests: 1}}) {
		t.Errorf("Acme's usage after the purge = %v, want h0 and h0+1h", got)
	}
	got, err = e.s.FindAPIKeyUsage(e.ctx, b.ID, "", h0.Add(-24*time.Hour))
	ok(t, err, "FindAPIKeyUsage")
	if !sameUsage(got, []doorman.UsageHour{{KeyID: kb.ID, Hour: h0, Requests: 1}}) {
		t.Errorf("Globex's usage after the purge = %v, want h0", got)
	}
	e.findKey(a.ID, ka.ID) // the key itself stays
}
