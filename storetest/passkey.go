package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var passkeyTests = []test{
	{"CreateFindUse", testPasskeyCreateFindUse},
	{"CreateRefused", testPasskeyCreateRefused},
	{"Delete", testPasskeyDelete},
	{"CeremonyTakeOnce", testCeremonyTakeOnce},
	{"CeremonyRefused", testCeremonyRefused},
}

func newPasskey(u *doorman.User, name string, t time.Time) *doorman.Passkey {
	id := doorman.NewID(doorman.PrefixPasskey, t)
	return &doorman.Passkey{ID: id, AccountID: u.AccountID, UserID: u.ID, Name: name,
		CredentialID: []byte("cred-" + id), PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26}, SignCount: 7,
		Credential: []byte(`{"flags":{"userVerified":true}}`), CreatedAt: t}
}

func (e *env) passkey(u *doorman.User, name string, t time.Time) *doorman.Passkey {
	e.tb.Helper()
	pk := newPasskey(u, name, t)
	if err := e.s.CreatePasskey(e.ctx, pk, nil); err != nil {
		e.tb.Fatalf("CreatePasskey: %v", err)
	}
	return pk
}

func diffPasskey(got, want *doorman.Passkey) diff {
	var d diff
	d.eq("ID", got.ID, want.ID)
	d.eq("AccountID", got.AccountID, want.AccountID)
	d.eq("UserID", got.UserID, want.UserID)
	d.eq("Name", got.Name, want.Name)
	d.eq("CredentialID", string(got.CredentialID), string(want.CredentialID))
	d.eq("PublicKey", fmt.Sprintf("%x", got.PublicKey), fmt.Sprintf("%x", want.PublicKey))
	d.eq("SignCount", got.SignCount, want.SignCount)
	d.eq("Credential", string(got.Credential), string(want.Credential))
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.ptr("LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	return d
}

func testPasskeyCreateFindUse(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	other := e.user(acct, "b@example.com")
	ev := event(acct.ID, doorman.ActionPasskeyAdded, at(time.Minute))
	first := newPasskey(u, "iPhone", at(time.Minute))
	ok(t, e.s.CreatePasskey(e.ctx, first, ev), "CreatePasskey")
	second := e.passkey(u, "YubiKey", at(2*time.Minute))
	e.passkey(other, "Laptop", at(3*time.Minute))

	list, err := e.s.FindPasskeys(e.ctx, acct.ID, u.ID)
	ok(t, err, "FindPasskeys")
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("FindPasskeys = %d passkeys, want the user's 2, oldest first", len(list))
	}
	diffPasskey(list[0], first).report(t, "FindPasskeys[0]")
	evs, _ := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionPasskeyAdded})
	if len(evs) != 1 || evs[0].ID != ev.ID {
		t.Errorf("passkey_added events = %d, want the one written with the passkey", len(evs))
	}
	if list, err := e.s.FindPasskeys(e.ctx, e.account("Other", doorman.DefaultSettings()).ID, u.ID); err != nil || len(list) != 0 {
		t.Errorf("FindPasskeys from another account = %d, %v; want none", len(list), err)
	}

	got, err := e.s.FindPasskeyByCredentialID(e.ctx, second.CredentialID)
	ok(t, err, "FindPasskeyByCredentialID")
	diffPasskey(got, second).report(t, "FindPasskeyByCredentialID")
	_, err = e.s.FindPasskeyByCredentialID(e.ctx, []byte("unknown"))
	wantCode(t, err, doorman.ENOTFOUND, "FindPasskeyByCredentialID of an unknown credential")

	// A use moves the counter and the record, and LastUsedAt only forward.
	use := doorman.PasskeyUse{SignCount: 9, Credential: []byte(`{"v":2}`), At: at(time.Hour)}
	ok(t, e.s.UsePasskey(e.ctx, acct.ID, second.ID, use, event(acct.ID, doorman.ActionPasskeyUsed, at(time.Hour))), "UsePasskey")
	ok(t, e.s.UsePasskey(e.ctx, acct.ID, second.ID, doorman.PasskeyUse{SignCount: 10, Credential: []byte(`{"v":3}`),
		At: at(30 * time.Minute)}, nil), "UsePasskey earlier")
	got, err = e.s.FindPasskeyByCredentialID(e.ctx, second.CredentialID)
	ok(t, err, "FindPasskeyByCredentialID")
	want := *second
	want.SignCount, want.Credential, want.LastUsedAt = 10, []byte(`{"v":3}`), ptr(at(time.Hour))
	diffPasskey(got, &want).report(t, "after UsePasskey")
	if n := len(mustEvents(e, acct.ID, doorman.ActionPasskeyUsed)); n != 1 {
		t.Errorf("passkey_used events = %d, want 1", n)
	}
	err = e.s.UsePasskey(e.ctx, e.account("Else", doorman.DefaultSettings()).ID, second.ID, use, nil)
	wantCode(t, err, doorman.ENOTFOUND, "UsePasskey from another account")
	err = e.s.UsePasskey(e.ctx, acct.ID, "pk_nope", use, event(acct.ID, doorman.ActionPasskeyUsed, at(time.Hour)))
	wantCode(t, err, doorman.ENOTFOUND, "UsePasskey of an unknown passkey")
	if n := len(mustEvents(e, acct.ID, doorman.ActionPasskeyUsed)); n != 1 {
		t.Errorf("a refused use wrote its event: %d passkey_used events, want 1", n)
	}
}

func mustEvents(e *env, accountID, action string) []*doorman.AuditEvent {
	list, _ := e.audits(doorman.AuditFilter{AccountID: accountID, Action: action})
	return list
}

func testPasskeyCreateRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	first := e.passkey(u, "iPhone", at(0))
	before := e.auditTotal()
	check := func(what, code string, edit func(pk *doorman.Passkey)) {
		t.Helper()
		pk := newPasskey(u, "New", at(time.Minute))
		edit(pk)
		err := e.s.CreatePasskey(e.ctx, pk, event(acct.ID, doorman.ActionPasskeyAdded, at(time.Minute)))
		wantCode(t, err, code, what)
		if n := e.auditTotal(); n != before {
			t.Errorf("%s: %d audit events, want %d", what, n, before)
		}
		list, err := e.s.FindPasskeys(e.ctx, acct.ID, u.ID)
		ok(t, err, "FindPasskeys")
		if len(list) != 1 {
			t.Errorf("%s: the user has %d passkeys, want 1", what, len(list))
		}
	}
	check("unknown user", doorman.ENOTFOUND, func(pk *doorman.Passkey) { pk.UserID = "usr_nobody" })
	check("user of another account", doorman.ENOTFOUND, func(pk *doorman.Passkey) { pk.AccountID = other.ID })
	check("taken credential id", doorman.ECONFLICT, func(pk *doorman.Passkey) { pk.CredentialID = first.CredentialID })
	check("taken id", doorman.ECONFLICT, func(pk *doorman.Passkey) { pk.ID = first.ID })
	check("bad text", doorman.EINVALID, func(pk *doorman.Passkey) { pk.Name = "a\x00b" })

	// At most MaxPasskeysPerUser, counted atomically by concurrent writers.
	v := e.user(acct, "many@example.com")
	var wg sync.WaitGroup
	errs := make(chan error, doorman.MaxPasskeysPerUser+5)
	for i := range doorman.MaxPasskeysPerUser + 5 {
		wg.Go(func() {
			pk := newPasskey(v, fmt.Sprint("key ", i), at(time.Duration(i)*time.Second))
			pk.CredentialID = fmt.Appendf(nil, "many-%d", i)
			errs <- e.s.CreatePasskey(e.ctx, pk, nil)
		})
	}
	wg.Wait()
	close(errs)
	conflicts := 0
	for err := range errs {
		switch doorman.ErrorCode(err) {
		case "":
		case doorman.ECONFLICT:
			conflicts++
		default:
			t.Fatalf("concurrent CreatePasskey: %v", err)
		}
	}
	list, err := e.s.FindPasskeys(e.ctx, acct.ID, v.ID)
	ok(t, err, "FindPasskeys")
	if len(list) != doorman.MaxPasskeysPerUser || conflicts != 5 {
		t.Errorf("%d concurrent registrations: %d stored, %d refused; want %d and 5",
			doorman.MaxPasskeysPerUser+5, len(list), conflicts, doorman.MaxPasskeysPerUser)
	}
}

func testPasskeyDelete(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	v := e.user(acct, "b@example.com")
	pk := e.passkey(u, "iPhone", at(0))
	before := e.auditTotal()
	wantCode(t, e.s.DeletePasskey(e.ctx, acct.ID, v.ID, pk.ID, event(acct.ID, doorman.ActionPasskeyRemoved, at(time.Minute))),
		doorman.ENOTFOUND, "DeletePasskey by another user")
	wantCode(t, e.s.DeletePasskey(e.ctx, e.account("Other", doorman.DefaultSettings()).ID, u.ID, pk.ID, nil),
		doorman.ENOTFOUND, "DeletePasskey from another account")
	if n := e.auditTotal(); n != before {
		t.Errorf("refused deletions wrote %d events", n-before)
	}
	ok(t, e.s.DeletePasskey(e.ctx, acct.ID, u.ID, pk.ID, event(acct.ID, doorman.ActionPasskeyRemoved, at(time.Minute))), "DeletePasskey")
	_, err := e.s.FindPasskeyByCredentialID(e.ctx, pk.CredentialID)
	wantCode(t, err, doorman.ENOTFOUND, "the deleted passkey")
	if n := len(mustEvents(e, acct.ID, doorman.ActionPasskeyRemoved)); n != 1 {
		t.Errorf("passkey_removed events = %d, want 1", n)
	}
	wantCode(t, e.s.DeletePasskey(e.ctx, acct.ID, u.ID, pk.ID, nil), doorman.ENOTFOUND, "DeletePasskey twice")
}

func newCeremony(kind, accountID, userID string, t time.Time) (*doorman.PasskeyCeremony, string) {
	token, hash := doorman.NewToken()
	return &doorman.PasskeyCeremony{ID: doorman.NewID(doorman.PrefixCeremony, t), TokenHash: hash, Kind: kind,
		AccountID: accountID, UserID: userID, State: []byte(`{"challenge":"` + token[:16] + `"}`),
		CreatedAt: t, ExpiresAt: t.Add(doorman.CeremonyTTL)}, token
}

func testCeremonyTakeOnce(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	reg, regToken := newCeremony(doorman.CeremonyRegister, acct.ID, u.ID, at(0))
	reg.SessionID = "ses_1"
	ok(t, e.s.CreatePasskeyCeremony(e.ctx, reg), "CreatePasskeyCeremony register")
	login, loginToken := newCeremony(doorman.CeremonySignIn, "", "", at(time.Second))
	ok(t, e.s.CreatePasskeyCeremony(e.ctx, login), "CreatePasskeyCeremony sign-in")

	got, err := e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(regToken), at(time.Minute))
	ok(t, err, "TakePasskeyCeremony")
	var d diff
	d.eq("ID", got.ID, reg.ID)
	d.eq("TokenHash", bytes.Equal(got.TokenHash, reg.TokenHash), true)
	d.eq("Kind", got.Kind, reg.Kind)
	d.eq("AccountID", got.AccountID, reg.AccountID)
	d.eq("UserID", got.UserID, reg.UserID)
	d.eq("SessionID", got.SessionID, "ses_1")
	d.eq("State", string(got.State), string(reg.State))
	d.time("CreatedAt", got.CreatedAt, reg.CreatedAt)
	d.time("ExpiresAt", got.ExpiresAt, reg.ExpiresAt)
	d.report(t, "TakePasskeyCeremony")
	_, err = e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(regToken), at(time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "a ceremony taken twice")

	// Of concurrent takes exactly one gets the ceremony.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Go(func() {
			c, err := e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(loginToken), at(time.Minute))
			switch {
			case err == nil:
				if c.UserID != "" || c.AccountID != "" || c.Kind != doorman.CeremonySignIn {
					t.Errorf("the discoverable sign-in ceremony came back as %+v", c)
				}
				mu.Lock()
				won++
				mu.Unlock()
			case doorman.ErrorCode(err) != doorman.ENOTFOUND:
				t.Errorf("TakePasskeyCeremony: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent takes got the ceremony, want exactly 1", won)
	}

	// An expired ceremony is gone, and the next ceremony clears it away.
	old, oldToken := newCeremony(doorman.CeremonySecondFactor, acct.ID, u.ID, at(time.Hour))
	old.ChallengeID = "chl_1"
	ok(t, e.s.CreatePasskeyCeremony(e.ctx, old), "CreatePasskeyCeremony")
	_, err = e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(oldToken), old.ExpiresAt)
	wantCode(t, err, doorman.ENOTFOUND, "a ceremony taken at its expiry")
	_, err = e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(oldToken), at(time.Hour))
	wantCode(t, err, doorman.ENOTFOUND, "an expired ceremony, once refused")
	stale, staleToken := newCeremony(doorman.CeremonySignIn, "", "", at(2*time.Hour))
	ok(t, e.s.CreatePasskeyCeremony(e.ctx, stale), "CreatePasskeyCeremony")
	next, _ := newCeremony(doorman.CeremonySignIn, "", "", stale.ExpiresAt.Add(time.Second))
	ok(t, e.s.CreatePasskeyCeremony(e.ctx, next), "CreatePasskeyCeremony after expiry")
	_, err = e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(staleToken), at(2*time.Hour))
	wantCode(t, err, doorman.ENOTFOUND, "an expired ceremony after the next one was created")
}

func testCeremonyRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	other := e.account("Other", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	first, _ := newCeremony(doorman.CeremonyRegister, acct.ID, u.ID, at(0))
	ok(t, e.s.CreatePasskeyCeremony(e.ctx, first), "CreatePasskeyCeremony")
	check := func(what, code string, edit func(c *doorman.PasskeyCeremony)) {
		t.Helper()
		c, token := newCeremony(doorman.CeremonyRegister, acct.ID, u.ID, at(time.Second))
		edit(c)
		wantCode(t, e.s.CreatePasskeyCeremony(e.ctx, c), code, what)
		if what != "taken token" {
			_, err := e.s.TakePasskeyCeremony(e.ctx, doorman.HashToken(token), at(time.Second))
			wantCode(t, err, doorman.ENOTFOUND, what+": nothing stored")
		}
	}
	check("unknown user", doorman.ENOTFOUND, func(c *doorman.PasskeyCeremony) { c.UserID = "usr_nobody" })
	check("user of another account", doorman.ENOTFOUND, func(c *doorman.PasskeyCeremony) { c.AccountID = other.ID })
	check("taken id", doorman.ECONFLICT, func(c *doorman.PasskeyCeremony) { c.ID = first.ID })
	check("taken token", doorman.ECONFLICT, func(c *doorman.PasskeyCeremony) { c.TokenHash = first.TokenHash })
	check("unknown kind", doorman.EINVALID, func(c *doorman.PasskeyCeremony) { c.Kind = "other" })
}
