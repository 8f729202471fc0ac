package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var passwordResetTests = []test{
	{"CreateAndFind", testResetCreateFind},
	{"CreateRefused", testResetCreateRefused},
	{"UseEndsSessions", testResetUse},
	{"UseRefused", testResetUseRefused},
	{"UseConcurrent", testResetUseConcurrent},
	{"RequestCounts", testResetRequestCounts},
}

// reset stores a reset link of u made at t, with its email alert and
// delivery (the link in the delivery) and ev, and returns it with its token
// and delivery.
func (e *env) reset(u *doorman.User, t time.Time, ev *doorman.AuditEvent) (*doorman.PasswordReset, string, *doorman.Delivery) {
	e.tb.Helper()
	r, token, a, d := newReset(u, t)
	if err := e.s.CreatePasswordReset(e.ctx, r, a, []*doorman.Delivery{d}, ev); err != nil {
		e.tb.Fatalf("CreatePasswordReset: %v", err)
	}
	return r, token, d
}

func newReset(u *doorman.User, t time.Time) (*doorman.PasswordReset, string, *doorman.Alert, *doorman.Delivery) {
	token, hash := doorman.NewToken()
	r := &doorman.PasswordReset{ID: doorman.NewID(doorman.PrefixPasswordReset, t), AccountID: u.AccountID, UserID: u.ID,
		TokenHash: hash, CreatedAt: t, ExpiresAt: t.Add(doorman.PasswordResetTTL)}
	a := &doorman.Alert{ID: doorman.NewID(doorman.PrefixAlert, t), AccountID: u.AccountID, UserID: u.ID,
		Kind: doorman.EventPasswordResetRequested, Payload: []byte(`{"type":"user.password_reset_requested"}`),
		ExpiresAt: t, CreatedAt: t}
	d := &doorman.Delivery{ID: doorman.NewID(doorman.PrefixDelivery, t), Channel: doorman.ChannelEmail, Target: u.Email,
		Status: doorman.DeliveryPending, NextAttemptAt: t, CreatedAt: t, LinkToken: token}
	return r, token, a, d
}

func testResetCreateFind(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	ev := event(acct.ID, doorman.ActionPasswordResetRequested, at(time.Minute))
	r, token, d := e.reset(u, at(time.Minute), ev)

	got, err := e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(token))
	ok(t, err, "FindPasswordResetByTokenHash")
	var df diff
	df.eq("ID", got.ID, r.ID)
	df.eq("AccountID", got.AccountID, r.AccountID)
	df.eq("UserID", got.UserID, r.UserID)
	df.eq("TokenHash", bytes.Equal(got.TokenHash, r.TokenHash), true)
	df.time("CreatedAt", got.CreatedAt, r.CreatedAt)
	df.time("ExpiresAt", got.ExpiresAt, r.ExpiresAt)
	df.ptr("UsedAt", got.UsedAt, nil)
	df.report(t, "FindPasswordResetByTokenHash")

	_, err = e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken("nope"))
	wantCode(t, err, doorman.ENOTFOUND, "FindPasswordResetByTokenHash(unknown)")
	_, err = e.s.FindPasswordResetByTokenHash(e.ctx, nil)
	wantCode(t, err, doorman.ENOTFOUND, "FindPasswordResetByTokenHash(nil)")
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionPasswordResetRequested}); n != 1 {
		t.Errorf("password_reset_requested events: %d, want 1", n)
	}

	// The email is in the alerts' outbox, with the link's token.
	ds, err := e.s.ClaimDeliveries(e.ctx, at(time.Minute), at(3*time.Minute), 10)
	ok(t, err, "ClaimDeliveries")
	if len(ds) != 1 || ds[0].ID != d.ID || ds[0].Kind != doorman.EventPasswordResetRequested || ds[0].LinkToken != token ||
		ds[0].Target != u.Email {
		t.Fatalf("claimed %+v, want the reset email with its link", ds)
	}

	// A later reset deletes those that expired before it was made. This
	// one, an operator's, has no email.
	later, laterToken, _, _ := newReset(u, r.ExpiresAt.Add(us))
	ok(t, e.s.CreatePasswordReset(e.ctx, later, nil, nil, nil), "CreatePasswordReset(without an email)")
	_, err = e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(token))
	wantCode(t, err, doorman.ENOTFOUND, "FindPasswordResetByTokenHash(expired, after a later reset)")
	if got, err := e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(laterToken)); err != nil || got.ID != later.ID {
		t.Errorf("the reset without an email: %v %v", got, err)
	}
	ds, err = e.s.ClaimDeliveries(e.ctx, later.CreatedAt.Add(time.Hour), later.CreatedAt.Add(2*time.Hour), 10)
	ok(t, err, "ClaimDeliveries")
	for _, dl := range ds {
		if dl.ID != d.ID { // the first reset's email, its lease over, is due again
			t.Errorf("a reset without an email queued delivery %+v", dl)
		}
	}
}

func testResetCreateRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	r0, token0, _ := e.reset(u, at(0), nil)
	before := e.auditTotal()

	check := func(what, code string, edit func(r *doorman.PasswordReset, a *doorman.Alert)) {
		t.Helper()
		r, token, a, d := newReset(u, at(time.Minute))
		edit(r, a)
		err := e.s.CreatePasswordReset(e.ctx, r, a, []*doorman.Delivery{d}, event(acct.ID, doorman.ActionPasswordResetRequested, at(time.Minute)))
		wantCode(t, err, code, what)
		_, err = e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(token))
		if what != "taken token" {
			wantCode(t, err, doorman.ENOTFOUND, what+": the reset must not be stored")
		}
		if n := e.auditTotal(); n != before {
			t.Errorf("%s: %d audit events, want %d: nothing may be written", what, n, before)
		}
		ds, err := e.s.ClaimDeliveries(e.ctx, at(time.Hour), at(2*time.Hour), 10)
		ok(t, err, "ClaimDeliveries")
		for _, dl := range ds {
			if dl.ID == d.ID {
				t.Errorf("%s: the email was queued", what)
			}
		}
	}
	check("unknown user", doorman.ENOTFOUND, func(r *doorman.PasswordReset, a *doorman.Alert) { r.UserID = "usr_nobody" })
	check("user of another account", doorman.ENOTFOUND, func(r *doorman.PasswordReset, a *doorman.Alert) { r.AccountID = other.ID })
	check("taken token", doorman.ECONFLICT, func(r *doorman.PasswordReset, a *doorman.Alert) { r.TokenHash = r0.TokenHash })
	check("taken id", doorman.ECONFLICT, func(r *doorman.PasswordReset, a *doorman.Alert) { r.ID = r0.ID })
	check("taken alert id", doorman.ECONFLICT, func(r *doorman.PasswordReset, a *doorman.Alert) {
		a.ID = doorman.NewID(doorman.PrefixAlert, at(0))
		e.s.CreateAlert(e.ctx, &doorman.Alert{ID: a.ID, AccountID: acct.ID, Kind: doorman.EventWebhookTest, Payload: []byte("{}"),
			ExpiresAt: at(0), CreatedAt: at(0)}, nil, nil)
		before = e.auditTotal()
	})
	if got, err := e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(token0)); err != nil || got.ID != r0.ID {
		t.Errorf("the first reset: %v %v", got, err)
	}
}

func testResetUse(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	bystander := e.user(acct, "b@example.com")
	s1 := e.session(u, nil)
	s2 := e.session(u, func(s *doorman.Session) { s.IP = "198.51.100.9" })
	old := e.session(u, nil)
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: acct.ID, SessionID: old.ID},
		doorman.Revocation{At: at(time.Second), By: u.ID, Reason: "earlier"}, nil)
	ok(t, err, "RevokeSessions")
	sb := e.session(bystander, nil)
	r1, _, _ := e.reset(u, at(time.Minute), nil)
	r2, token2, _ := e.reset(u, at(2*time.Minute), nil)
	rb, tokenB, _ := e.reset(bystander, at(2*time.Minute), nil)

	when := at(10 * time.Minute)
	ev := event(acct.ID, doorman.ActionPasswordReset, when)
	ev.ActorID, ev.Actor = u.ID, u.Email
	n, err := e.s.UsePasswordReset(e.ctx, acct.ID, r1.ID, "$argon2id$new", doorman.Revocation{At: when, By: u.ID, Reason: doorman.ReasonPasswordReset}, ev)
	ok(t, err, "UsePasswordReset")
	if n != 2 || ev.Count != 2 {
		t.Errorf("UsePasswordReset revoked %d (ev.Count %d), want 2", n, ev.Count)
	}
	got, err := e.s.FindUserByID(e.ctx, acct.ID, u.ID)
	ok(t, err, "FindUserByID")
	if got.PasswordHash != "$argon2id$new" {
		t.Errorf("password hash %q, want the new one", got.PasswordHash)
	}
	for _, s := range []*doorman.Session{s1, s2} {
		g := e.sessionByID(s.ID)
		if g.RevokedAt == nil || !g.RevokedAt.Equal(when) || g.RevokedBy != u.ID || g.RevokeReason != doorman.ReasonPasswordReset {
			t.Errorf("session %s: revoked %v by %q (%q), want at %v by the user for the reset", s.ID, fmtPtr(g.RevokedAt), g.RevokedBy, g.RevokeReason, fmtTime(when))
		}
	}
	if g := e.sessionByID(old.ID); g.RevokeReason != "earlier" {
		t.Errorf("an earlier revocation was rewritten: %q", g.RevokeReason)
	}
	if g := e.sessionByID(sb.ID); g.RevokedAt != nil {
		t.Error("another user's session was revoked")
	}
	if got, _ := e.s.FindUserByID(e.ctx, acct.ID, bystander.ID); got.PasswordHash == "$argon2id$new" {
		t.Error("another user's password changed")
	}
	// Every other link of the user is used up; another user's is not.
	g2, err := e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(token2))
	ok(t, err, "FindPasswordResetByTokenHash")
	if g2.UsedAt == nil || !g2.UsedAt.Equal(when) {
		t.Errorf("the user's other link: used %s, want %s", fmtPtr(g2.UsedAt), fmtTime(when))
	}
	_, err = e.s.UsePasswordReset(e.ctx, acct.ID, r2.ID, "$argon2id$other", doorman.Revocation{At: when.Add(us), By: u.ID}, nil)
	wantCode(t, err, doorman.ENOTFOUND, "UsePasswordReset(the user's other link)")
	if gb, _ := e.s.FindPasswordResetByTokenHash(e.ctx, doorman.HashToken(tokenB)); gb.UsedAt != nil {
		t.Error("another user's link was used up")
	}
	_ = rb
	evs, _ := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionPasswordReset})
	if len(evs) != 1 || evs[0].Count != 2 || evs[0].ActorID != u.ID {
		t.Errorf("password_reset events %+v, want one by the user counting 2", evs)
	}
}

func testResetUseRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	r, _, _ := e.reset(u, at(0), nil)
	before := e.auditTotal()
	use := func(what, accountID, id string, when time.Time) {
		t.Helper()
		ev := event(acct.ID, doorman.ActionPasswordReset, when)
		_, err := e.s.UsePasswordReset(e.ctx, accountID, id, "$argon2id$new", doorman.Revocation{At: when, By: u.ID, Reason: doorman.ReasonPasswordReset}, ev)
		wantCode(t, err, doorman.ENOTFOUND, what)
		if got, _ := e.s.FindUserByID(e.ctx, acct.ID, u.ID); got.PasswordHash == "$argon2id$new" {
			t.Errorf("%s: the password changed", what)
		}
		if g := e.sessionByID(s.ID); g.RevokedAt != nil {
			t.Errorf("%s: the session was revoked", what)
		}
		if n := e.auditTotal(); n != before {
			t.Errorf("%s: %d audit events, want %d", what, n, before)
		}
	}
	use("at expiry", acct.ID, r.ID, r.ExpiresAt)
	use("after expiry", acct.ID, r.ID, r.ExpiresAt.Add(time.Hour))
	use("another account", other.ID, r.ID, at(time.Minute))
	use("unknown id", acct.ID, "pwr_nope", at(time.Minute))
	// Just before expiry it works, once.
	_, err := e.s.UsePasswordReset(e.ctx, acct.ID, r.ID, "$argon2id$first", doorman.Revocation{At: r.ExpiresAt.Add(-us), By: u.ID, Reason: doorman.ReasonPasswordReset}, nil)
	ok(t, err, "UsePasswordReset(just before expiry)")
	_, err = e.s.UsePasswordReset(e.ctx, acct.ID, r.ID, "$argon2id$second", doorman.Revocation{At: r.ExpiresAt.Add(-us), By: u.ID}, nil)
	wantCode(t, err, doorman.ENOTFOUND, "UsePasswordReset(second use)")
	if got, _ := e.s.FindUserByID(e.ctx, acct.ID, u.ID); got.PasswordHash != "$argon2id$first" {
		t.Errorf("password hash %q after a second use, want the first use's", got.PasswordHash)
	}
}

func testResetUseConcurrent(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	e.session(u, nil)
	r, _, _ := e.reset(u, at(0), nil)
	const racers = 4
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			ev := event(acct.ID, doorman.ActionPasswordReset, at(time.Minute))
			_, errs[i] = e.s.UsePasswordReset(e.ctx, acct.ID, r.ID, "$argon2id$racer"+string(rune('a'+i)),
				doorman.Revocation{At: at(time.Minute), By: u.ID, Reason: doorman.ReasonPasswordReset}, ev)
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case doorman.ErrorCode(err) != doorman.ENOTFOUND:
			t.Errorf("racer %d: %v, want success or ENOTFOUND", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d uses of one link succeeded, want exactly 1", wins)
	}
	if _, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionPasswordReset}); n != 1 {
		t.Errorf("password_reset events: %d, want 1", n)
	}
}

func testResetRequestCounts(t *testing.T, open opener) {
	e := newEnv(t, open)
	a, b := doorman.HashEmail("A@example.com "), doorman.HashEmail("b@example.com")
	note := func(email []byte, ip string, when time.Time, wantEmail, wantIP int) {
		t.Helper()
		byEmail, byIP, err := e.s.NotePasswordResetRequest(e.ctx, doorman.PasswordResetRequest{At: when, EmailHash: email, IP: ip},
			when.Add(-doorman.PasswordResetWindow))
		ok(t, err, "NotePasswordResetRequest")
		if byEmail != wantEmail || byIP != wantIP {
			t.Errorf("at %s: %d by email, %d by IP; want %d and %d", fmtTime(when), byEmail, byIP, wantEmail, wantIP)
		}
	}
	note(a, "203.0.113.1", at(0), 1, 1)
	note(a, "203.0.113.2", at(time.Minute), 2, 1)
	note(b, "203.0.113.1", at(2*time.Minute), 1, 2)
	note(doorman.HashEmail("a@example.com"), "203.0.113.1", at(3*time.Minute), 3, 3)
	// An hour after the first, it no longer counts (nor is it kept).
	note(a, "203.0.113.1", at(time.Hour+time.Minute), 3, 3)
	note(b, "", at(time.Hour+90*time.Minute), 1, 1)
	note(a, "203.0.113.9", at(3*time.Hour), 1, 1)
}
