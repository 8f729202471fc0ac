package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var alertTests = []test{
	{"CreateAndFind", testAlertCreateFind},
	{"Conflict", testAlertConflict},
	{"UseSignsOut", testAlertUse},
	{"UseExpiredAndIsolation", testAlertUseRefused},
	{"ClaimAndLease", testAlertClaim},
	{"ClaimConcurrent", testAlertClaimConcurrent},
	{"Attempts", testAlertAttempts},
	{"DeliveriesIsolation", testAlertDeliveriesIsolation},
	{"Purge", testAlertPurge},
}

// alert stores an alert of sess with one email and one webhook delivery,
// both due at t, and returns it with its token and deliveries.
func (e *env) alert(sess *doorman.Session, t time.Time, ev *doorman.AuditEvent) (*doorman.Alert, string, []*doorman.Delivery) {
	e.tb.Helper()
	token, hash := doorman.NewToken()
	a := &doorman.Alert{ID: doorman.NewID(doorman.PrefixAlert, t), AccountID: sess.AccountID, UserID: sess.UserID,
		SessionID: sess.ID, Kind: doorman.EventSuspiciousSignIn, Payload: []byte(`{"type":"session.suspicious_sign_in"}`),
		TokenHash: hash, ExpiresAt: t.Add(doorman.AlertLinkTTL), CreatedAt: t}
	ds := []*doorman.Delivery{
		{ID: doorman.NewID(doorman.PrefixDelivery, t), Channel: doorman.ChannelEmail, Target: "user@example.com",
			Status: doorman.DeliveryPending, NextAttemptAt: t, CreatedAt: t, LinkToken: token},
		{ID: doorman.NewID(doorman.PrefixDelivery, t), Channel: doorman.ChannelWebhook, Target: "https://hooks.example.com/doorman",
			Status: doorman.DeliveryPending, NextAttemptAt: t, CreatedAt: t},
	}
	if err := e.s.CreateAlert(e.ctx, a, ds, ev); err != nil {
		e.tb.Fatalf("CreateAlert: %v", err)
	}
	for _, d := range ds {
		d.AlertID, d.AccountID = a.ID, a.AccountID
	}
	return a, token, ds
}

func testAlertCreateFind(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	ev := event(acct.ID, doorman.ActionSignInAlert, at(time.Minute))
	a, token, _ := e.alert(sess, at(time.Minute+us), ev)

	got, err := e.s.FindAlertByTokenHash(e.ctx, doorman.HashToken(token))
	ok(t, err, "FindAlertByTokenHash")
	var d diff
	d.eq("ID", got.ID, a.ID)
	d.eq("AccountID", got.AccountID, a.AccountID)
	d.eq("UserID", got.UserID, a.UserID)
	d.eq("SessionID", got.SessionID, a.SessionID)
	d.eq("Kind", got.Kind, a.Kind)
	d.eq("Payload", string(got.Payload), string(a.Payload))
	d.eq("TokenHash", bytes.Equal(got.TokenHash, a.TokenHash), true)
	d.time("ExpiresAt", got.ExpiresAt, a.ExpiresAt)
	d.ptr("UsedAt", got.UsedAt, nil)
	d.time("CreatedAt", got.CreatedAt, a.CreatedAt)
	d.report(t, "FindAlertByTokenHash")

	_, err = e.s.FindAlertByTokenHash(e.ctx, doorman.HashToken("nope"))
	wantCode(t, err, doorman.ENOTFOUND, "FindAlertByTokenHash(unknown)")
	_, err = e.s.FindAlertByTokenHash(e.ctx, nil)
	wantCode(t, err, doorman.ENOTFOUND, "FindAlertByTokenHash(nil)")
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionSignInAlert}); n != 1 {
		t.Errorf("sign_in_alert events: %d, want 1", n)
	}

	// A test event has no token and no session.
	test := &doorman.Alert{ID: doorman.NewID(doorman.PrefixAlert, Base), AccountID: acct.ID, Kind: doorman.EventWebhookTest,
		Payload: []byte(`{}`), ExpiresAt: Base, CreatedAt: Base}
	ok(t, e.s.CreateAlert(e.ctx, test, nil, nil), "CreateAlert(test event)")
	test2 := *test
	test2.ID = doorman.NewID(doorman.PrefixAlert, Base)
	ok(t, e.s.CreateAlert(e.ctx, &test2, nil, nil), "CreateAlert(second test event, no token either)")
}

func testAlertConflict(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	a, _, _ := e.alert(sess, Base, nil)
	before := e.auditTotal()

	dup := *a
	dup.ID = doorman.NewID(doorman.PrefixAlert, Base)
	err := e.s.CreateAlert(e.ctx, &dup, nil, event(acct.ID, doorman.ActionSignInAlert, Base))
	wantCode(t, err, doorman.ECONFLICT, "CreateAlert(same token hash)")
	dup = *a
	_, dup.TokenHash = doorman.NewToken()
	wantCode(t, e.s.CreateAlert(e.ctx, &dup, nil, nil), doorman.ECONFLICT, "CreateAlert(same id)")
	dup.ID, dup.AccountID = doorman.NewID(doorman.PrefixAlert, Base), "acc_missing"
	wantCode(t, e.s.CreateAlert(e.ctx, &dup, nil, nil), doorman.ENOTFOUND, "CreateAlert(unknown account)")
	if n := e.auditTotal(); n != before {
		t.Errorf("audit events after refused creates: %d, want %d", n, before)
	}
}

func testAlertUse(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	sess := e.session(u, nil)
	other := e.session(u, nil)
	a, token, _ := e.alert(sess, Base, nil)

	r := doorman.Revocation{At: at(time.Hour), By: doorman.ActorSystem, Reason: doorman.ReasonReported}
	ev := event(acct.ID, doorman.ActionSessionReported, r.At)
	ok(t, e.s.UseAlert(e.ctx, acct.ID, a.ID, r, ev), "UseAlert")
	if ev.Count != 1 {
		t.Errorf("ev.Count = %d, want 1", ev.Count)
	}
	got := e.sessionByID(sess.ID)
	if !ptrEq(got.RevokedAt, &r.At) || got.RevokeReason != doorman.ReasonReported || got.RevokedBy != doorman.ActorSystem {
		t.Errorf("session after UseAlert: revoked %s by %q (%q)", fmtPtr(got.RevokedAt), got.RevokedBy, got.RevokeReason)
	}
	if e.sessionByID(other.ID).RevokedAt != nil {
		t.Error("UseAlert revoked another session of the user")
	}
	found, err := e.s.FindAlertByTokenHash(e.ctx, doorman.HashToken(token))
	ok(t, err, "FindAlertByTokenHash after use")
	if !ptrEq(found.UsedAt, &r.At) {
		t.Errorf("UsedAt = %s, want %s", fmtPtr(found.UsedAt), fmtTime(r.At))
	}
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionSessionReported}); n != 1 {
		t.Errorf("session_reported events: %d, want 1", n)
	}

	// Single use: the second answers ENOTFOUND and writes nothing.
	before := e.auditTotal()
	r2 := r
	r2.At = at(2 * time.Hour)
	err = e.s.UseAlert(e.ctx, acct.ID, a.ID, r2, event(acct.ID, doorman.ActionSessionReported, r2.At))
	wantCode(t, err, doorman.ENOTFOUND, "UseAlert(second use)")
	if n := e.auditTotal(); n != before {
		t.Errorf("audit events after a refused use: %d, want %d", n, before)
	}

	// A session already signed out: the alert is used, nothing revoked.
	sess3 := e.session(u, nil)
	a3, _, _ := e.alert(sess3, Base, nil)
	_, err = e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: acct.ID, SessionID: sess3.ID},
		doorman.Revocation{At: at(time.Minute), By: u.ID, Reason: "user"}, nil)
	ok(t, err, "RevokeSessions")
	ev3 := event(acct.ID, doorman.ActionSessionReported, r.At)
	ok(t, e.s.UseAlert(e.ctx, acct.ID, a3.ID, r, ev3), "UseAlert(session already signed out)")
	if ev3.Count != 0 {
		t.Errorf("ev.Count = %d, want 0", ev3.Count)
	}
	if got := e.sessionByID(sess3.ID); got.RevokeReason != "user" {
		t.Errorf("revoke reason replaced: %q", got.RevokeReason)
	}
}

func testAlertUseRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	a, _, _ := e.alert(sess, Base, nil)

	r := doorman.Revocation{At: at(time.Hour), By: doorman.ActorSystem, Reason: doorman.ReasonReported}
	wantCode(t, e.s.UseAlert(e.ctx, other.ID, a.ID, r, nil), doorman.ENOTFOUND, "UseAlert(another account)")
	wantCode(t, e.s.UseAlert(e.ctx, acct.ID, "alr_missing", r, nil), doorman.ENOTFOUND, "UseAlert(unknown id)")
	r.At = a.ExpiresAt
	wantCode(t, e.s.UseAlert(e.ctx, acct.ID, a.ID, r, nil), doorman.ENOTFOUND, "UseAlert(at its expiry)")
	if e.sessionByID(sess.ID).RevokedAt != nil {
		t.Error("a refused UseAlert revoked the session")
	}
	r.At = a.ExpiresAt.Add(-us)
	ok(t, e.s.UseAlert(e.ctx, acct.ID, a.ID, r, nil), "UseAlert(just before expiry)")
}

func deliveryIDs(list []*doorman.Delivery) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = d.ID
	}
	return out
}

func testAlertClaim(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	_, token, ds := e.alert(sess, at(time.Minute), nil)

	// Not yet due.
	got, err := e.s.ClaimDeliveries(e.ctx, at(time.Minute-us), at(2*time.Minute), 10)
	ok(t, err, "ClaimDeliveries(before due)")
	if len(got) != 0 {
		t.Fatalf("claimed %v before they were due", deliveryIDs(got))
	}
	lease := at(3 * time.Minute)
	got, err = e.s.ClaimDeliveries(e.ctx, at(time.Minute), lease, 10)
	ok(t, err, "ClaimDeliveries")
	if !sameSet(deliveryIDs(got), deliveryIDs(ds)) {
		t.Fatalf("claimed %v, want %v", deliveryIDs(got), deliveryIDs(ds))
	}
	for _, d := range got {
		var df diff
		df.eq("Kind", d.Kind, doorman.EventSuspiciousSignIn)
		df.eq("Payload", string(d.Payload), `{"type":"session.suspicious_sign_in"}`)
		df.eq("Status", d.Status, doorman.DeliveryPending)
		df.eq("AccountID", d.AccountID, acct.ID)
		df.ptr("ClaimedUntil", d.ClaimedUntil, &lease)
		df.time("NextAttemptAt", d.NextAttemptAt, at(time.Minute))
		df.eq("Secret", d.Secret, "") // no webhook set up
		if d.Channel == doorman.ChannelEmail {
			df.eq("LinkToken", d.LinkToken, token)
			df.eq("Target", d.Target, "user@example.com")
		} else {
			df.eq("LinkToken", d.LinkToken, "")
		}
		df.report(t, "claimed "+d.Channel)
	}
	// Leased: nobody else claims them until the lease ends.
	got, err = e.s.ClaimDeliveries(e.ctx, lease.Add(-us), lease.Add(time.Minute), 10)
	ok(t, err, "ClaimDeliveries(during lease)")
	if len(got) != 0 {
		t.Fatalf("claimed %v during another's lease", deliveryIDs(got))
	}
	// A node that died: its lease ends and another claims them, limit applied.
	got, err = e.s.ClaimDeliveries(e.ctx, lease, lease.Add(time.Minute), 1)
	ok(t, err, "ClaimDeliveries(after lease)")
	if len(got) != 1 {
		t.Fatalf("claimed %d after the lease with limit 1, want 1", len(got))
	}
	// The first claimer, late, records nothing over the new claim; the new
	// claimer records.
	taken := got[0]
	wantCode(t, e.s.RecordDeliveryAttempt(e.ctx, taken.ID, doorman.DeliveryAttempt{At: lease, Delivered: true, Lease: at(3 * time.Minute)}, nil),
		doorman.ENOTFOUND, "RecordDeliveryAttempt(with a lease taken over)")
	next := lease.Add(time.Hour)
	ok(t, e.s.RecordDeliveryAttempt(e.ctx, taken.ID, doorman.DeliveryAttempt{At: lease, Error: "timeout", Next: &next,
		Lease: *taken.ClaimedUntil}, nil), "RecordDeliveryAttempt(with its lease)")

	// The webhook's secret comes with webhook deliveries while it is enabled.
	w := &doorman.Webhook{AccountID: acct.ID, URL: "https://hooks.example.com/moved", Secret: "whsec_x",
		Enabled: true, CreatedAt: Base, UpdatedAt: Base}
	ok(t, e.s.PutWebhook(e.ctx, w, nil), "PutWebhook")
	got, err = e.s.ClaimDeliveries(e.ctx, at(2*time.Hour), at(3*time.Hour), 10)
	ok(t, err, "ClaimDeliveries(with webhook)")
	if len(got) != 2 {
		t.Fatalf("claimed %d, want 2", len(got))
	}
	for _, d := range got {
		want := ""
		if d.Channel == doorman.ChannelWebhook {
			want = "whsec_x"
		}
		if d.Secret != want {
			t.Errorf("%s delivery Secret = %q, want %q", d.Channel, d.Secret, want)
		}
		if d.Channel == doorman.ChannelWebhook && d.Target != w.URL {
			t.Errorf("webhook delivery Target = %q, want the webhook's URL of now %q", d.Target, w.URL)
		}
	}
	list, err := e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: acct.ID, Channel: doorman.ChannelWebhook})
	ok(t, err, "FindDeliveries")
	if len(list) != 1 || list[0].Target != w.URL {
		t.Errorf("the listed webhook delivery's Target is not the URL it is sent to: %+v", list)
	}
	w.Enabled = false
	ok(t, e.s.PutWebhook(e.ctx, w, nil), "PutWebhook(disabled)")
	got, err = e.s.ClaimDeliveries(e.ctx, at(4*time.Hour), at(5*time.Hour), 10)
	ok(t, err, "ClaimDeliveries(webhook disabled)")
	for _, d := range got {
		if d.Secret != "" {
			t.Errorf("%s delivery of a disabled webhook has Secret %q", d.Channel, d.Secret)
		}
	}
}

func testAlertClaimConcurrent(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	var all []string
	for range 10 {
		_, _, ds := e.alert(sess, Base, nil)
		all = append(all, deliveryIDs(ds)...)
	}
	var mu sync.Mutex
	var claimed []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := e.s.ClaimDeliveries(e.ctx, Base, at(time.Hour), 3)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				claimed = append(claimed, deliveryIDs(got)...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(claimed)
	slices.Sort(all)
	if !slices.Equal(claimed, all) {
		t.Errorf("claimed %d deliveries (%d distinct), want each of %d once", len(claimed), len(slices.Compact(slices.Clone(claimed))), len(all))
	}
}

func testAlertAttempts(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	_, token, ds := e.alert(sess, Base, nil)
	email, hook := ds[0], ds[1]
	_, err := e.s.ClaimDeliveries(e.ctx, Base, at(time.Minute), 10)
	ok(t, err, "ClaimDeliveries")

	// A failed attempt: pending again, due later, lease ended.
	next := at(30 * time.Second)
	ok(t, e.s.RecordDeliveryAttempt(e.ctx, email.ID, doorman.DeliveryAttempt{At: at(time.Second),
		Error: "connection refused", Next: &next}, nil), "RecordDeliveryAttempt(retry)")
	list, err := e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: acct.ID, Channel: doorman.ChannelEmail})
	ok(t, err, "FindDeliveries")
	if len(list) != 1 {
		t.Fatalf("email deliveries: %d, want 1", len(list))
	}
	var d diff
	d.eq("Status", list[0].Status, doorman.DeliveryPending)
	d.eq("Attempts", list[0].Attempts, 1)
	d.time("NextAttemptAt", list[0].NextAttemptAt, next)
	d.ptr("ClaimedUntil", list[0].ClaimedUntil, nil)
	d.eq("LastError", list[0].LastError, "connection refused")
	d.eq("Kind", list[0].Kind, doorman.EventSuspiciousSignIn)
	d.eq("LinkToken (never listed)", list[0].LinkToken, "")
	d.report(t, "after a failed attempt")
	got, err := e.s.ClaimDeliveries(e.ctx, next, at(time.Hour), 10)
	ok(t, err, "ClaimDeliveries(retry due)")
	if len(got) != 1 || got[0].ID != email.ID || got[0].LinkToken != token {
		t.Fatalf("retry claim: %v, want the email delivery with its token", deliveryIDs(got))
	}

	// Delivered: ends, token cleared, audited in the same transaction.
	ev := event(acct.ID, doorman.ActionAlertDelivered, at(time.Minute))
	ok(t, e.s.RecordDeliveryAttempt(e.ctx, email.ID, doorman.DeliveryAttempt{At: at(time.Minute), Delivered: true}, ev), "RecordDeliveryAttempt(delivered)")
	wantCode(t, e.s.RecordDeliveryAttempt(e.ctx, email.ID, doorman.DeliveryAttempt{At: at(time.Minute)}, nil),
		doorman.ENOTFOUND, "RecordDeliveryAttempt(already delivered)")
	wantCode(t, e.s.RecordDeliveryAttempt(e.ctx, "dlv_missing", doorman.DeliveryAttempt{At: at(time.Minute)}, nil),
		doorman.ENOTFOUND, "RecordDeliveryAttempt(unknown)")

	// Failed for good.
	ok(t, e.s.RecordDeliveryAttempt(e.ctx, hook.ID, doorman.DeliveryAttempt{At: at(time.Minute),
		StatusCode: 500, Error: "HTTP 500"}, nil), "RecordDeliveryAttempt(failed)")

	list, err = e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: acct.ID})
	ok(t, err, "FindDeliveries")
	byID := map[string]*doorman.Delivery{}
	for _, x := range list {
		byID[x.ID] = x
	}
	if x := byID[email.ID]; x == nil || x.Status != doorman.DeliveryDelivered || x.Attempts != 2 ||
		!ptrEq(x.DeliveredAt, ptr(at(time.Minute))) || x.LastError != "" {
		t.Errorf("delivered email: %+v", x)
	}
	if x := byID[hook.ID]; x == nil || x.Status != doorman.DeliveryFailed || x.Attempts != 1 ||
		x.LastStatusCode != 500 || x.LastError != "HTTP 500" || x.DeliveredAt != nil {
		t.Errorf("failed webhook: %+v", x)
	}
	got, err = e.s.ClaimDeliveries(e.ctx, at(24*time.Hour), at(25*time.Hour), 10)
	ok(t, err, "ClaimDeliveries(after the end)")
	if len(got) != 0 {
		t.Errorf("ended deliveries claimed again: %v", deliveryIDs(got))
	}
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionAlertDelivered}); n != 1 {
		t.Errorf("alert_delivered events: %d, want 1", n)
	}
}

func testAlertDeliveriesIsolation(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	_, _, first := e.alert(sess, Base, nil)
	_, _, second := e.alert(sess, at(time.Minute), nil)

	list, err := e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: other.ID})
	ok(t, err, "FindDeliveries(other account)")
	if len(list) != 0 {
		t.Errorf("another account sees %v", deliveryIDs(list))
	}
	list, err = e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: acct.ID, Limit: 3})
	ok(t, err, "FindDeliveries(limit 3)")
	if len(list) != 3 {
		t.Fatalf("FindDeliveries(limit 3): %d", len(list))
	}
	// Newest first, then by id descending.
	want := append(deliveryIDs(second), deliveryIDs(first)...)
	slices.SortFunc(want[:2], func(a, b string) int { return -compare(a, b) })
	slices.SortFunc(want[2:], func(a, b string) int { return -compare(a, b) })
	if got := deliveryIDs(list); !slices.Equal(got, want[:3]) {
		t.Errorf("order %v, want %v", got, want[:3])
	}
	list, err = e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: acct.ID, Channel: doorman.ChannelWebhook})
	ok(t, err, "FindDeliveries(webhook)")
	if len(list) != 2 || list[0].Channel != doorman.ChannelWebhook {
		t.Errorf("webhook deliveries: %d", len(list))
	}
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// webhookTests check the WebhookStore.
var webhookTests = []test{
	{"PutFindDelete", testWebhook},
}

func testWebhook(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())

	_, err := e.s.FindWebhook(e.ctx, acct.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindWebhook(none)")
	w := &doorman.Webhook{AccountID: acct.ID, URL: "https://hooks.example.com/a", Secret: "whsec_1",
		Enabled: true, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	ok(t, e.s.PutWebhook(e.ctx, w, event(acct.ID, doorman.ActionWebhookUpdated, at(time.Minute))), "PutWebhook")
	w2 := &doorman.Webhook{AccountID: acct.ID, URL: "https://hooks.example.com/b", Secret: "whsec_2",
		Enabled: false, CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	ok(t, e.s.PutWebhook(e.ctx, w2, nil), "PutWebhook(replace)")
	got, err := e.s.FindWebhook(e.ctx, acct.ID)
	ok(t, err, "FindWebhook")
	var d diff
	d.eq("URL", got.URL, w2.URL)
	d.eq("Secret", got.Secret, w2.Secret)
	d.eq("Enabled", got.Enabled, false)
	d.time("CreatedAt (kept)", got.CreatedAt, w.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, w2.UpdatedAt)
	d.report(t, "FindWebhook")

	_, err = e.s.FindWebhook(e.ctx, other.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindWebhook(another account)")
	wantCode(t, e.s.DeleteWebhook(e.ctx, other.ID, nil), doorman.ENOTFOUND, "DeleteWebhook(another account)")
	wantCode(t, e.s.PutWebhook(e.ctx, &doorman.Webhook{AccountID: "acc_missing", URL: "https://x.example", Secret: "s",
		CreatedAt: Base, UpdatedAt: Base}, nil), doorman.ENOTFOUND, "PutWebhook(unknown account)")
	ok(t, e.s.DeleteWebhook(e.ctx, acct.ID, event(acct.ID, doorman.ActionWebhookDeleted, at(2*time.Hour))), "DeleteWebhook")
	_, err = e.s.FindWebhook(e.ctx, acct.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindWebhook(after delete)")
	wantCode(t, e.s.DeleteWebhook(e.ctx, acct.ID, nil), doorman.ENOTFOUND, "DeleteWebhook(again)")
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID}); n != 2 {
		t.Errorf("webhook events: %d, want 2", n)
	}
}

func testAlertPurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	sess := e.session(e.user(acct, "a@example.com"), nil)
	old, oldToken, oldDs := e.alert(sess, Base, event(acct.ID, doorman.ActionSignInAlert, Base))
	pending, _, _ := e.alert(sess, Base.Add(time.Second), nil)
	recent, recentToken, _ := e.alert(sess, at(time.Hour), nil)
	// The old alert's deliveries ended; the other old one still waits.
	for _, d := range oldDs {
		ok(t, e.s.RecordDeliveryAttempt(e.ctx, d.ID, doorman.DeliveryAttempt{At: at(time.Minute), Delivered: true}, nil), "RecordDeliveryAttempt")
	}
	n, err := e.s.PurgeAlerts(e.ctx, at(time.Hour), 10)
	ok(t, err, "PurgeAlerts")
	if n != 1 {
		t.Errorf("purged %d, want 1 (the old one whose deliveries ended)", n)
	}
	_, err = e.s.FindAlertByTokenHash(e.ctx, doorman.HashToken(oldToken))
	wantCode(t, err, doorman.ENOTFOUND, "FindAlertByTokenHash(purged)")
	_, err = e.s.FindAlertByTokenHash(e.ctx, doorman.HashToken(recentToken))
	ok(t, err, "FindAlertByTokenHash(recent)")
	list, err := e.s.FindDeliveries(e.ctx, doorman.DeliveryFilter{AccountID: acct.ID})
	ok(t, err, "FindDeliveries")
	for _, d := range list {
		if d.AlertID == old.ID {
			t.Errorf("delivery %s of the purged alert remains", d.ID)
		}
	}
	if len(list) != 4 {
		t.Errorf("deliveries left: %d, want 4 (pending's and recent's)", len(list))
	}
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionSignInAlert}); n != 1 {
		t.Errorf("the purged alert's audit event is gone")
	}
	n, err = e.s.PurgeAlerts(e.ctx, at(2*time.Hour), 0)
	ok(t, err, "PurgeAlerts(limit 0)")
	if n != 0 {
		t.Errorf("limit 0 purged %d", n)
	}
	_, _ = pending, recent
}
