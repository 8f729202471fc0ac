package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var twoFactorTests = []test{
	{"EnableDisable", testTwoFactorEnableDisable},
	{"Step", testTwoFactorStep},
	{"RecoveryCodes", testRecoveryCodes},
	{"Users", testTwoFactorUsers},
	{"SessionFlag", testSessionTwoFactor},
}

const (
	secretA = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	secretB = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
)

// enable2FA turns two-factor authentication on for u with secretA at t,
// with step and hashes.
func (e *env) enable2FA(u *doorman.User, t time.Time, step int64, hashes [][]byte) {
	e.tb.Helper()
	ok(e.tb, e.s.SetPendingTwoFactor(e.ctx, u.AccountID, u.ID, secretA), "SetPendingTwoFactor")
	ok(e.tb, e.s.EnableTwoFactor(e.ctx, u.AccountID, u.ID, secretA, step, t, hashes, nil), "EnableTwoFactor")
}

func (e *env) twoFactor(u *doorman.User) *doorman.TwoFactor {
	e.tb.Helper()
	tf, err := e.s.FindTwoFactor(e.ctx, u.AccountID, u.ID)
	ok(e.tb, err, "FindTwoFactor")
	return tf
}

// testTwoFactorEnableDisable: setup goes pending, then enabled only with
// the pending secret, both audited in the change's transaction; another
// account's user is not found.
func testTwoFactorEnableDisable(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")

	tf := e.twoFactor(u)
	if tf.Enabled() || tf.Secret != "" || tf.PendingSecret != "" || tf.LastStep != 0 || tf.RecoveryCodesLeft != 0 {
		t.Fatalf("new user's two-factor state %+v, want off and empty", tf)
	}
	wantCode(t, e.s.EnableTwoFactor(e.ctx, a.ID, u.ID, secretA, 1, Base, nil, nil), doorman.ECONFLICT, "EnableTwoFactor(no setup)")
	ok(t, e.s.SetPendingTwoFactor(e.ctx, a.ID, u.ID, secretA), "SetPendingTwoFactor")
	ok(t, e.s.SetPendingTwoFactor(e.ctx, a.ID, u.ID, secretB), "SetPendingTwoFactor(again)")
	if tf := e.twoFactor(u); tf.PendingSecret != secretB || tf.Enabled() {
		t.Fatalf("pending %q enabled %t, want %q and off", tf.PendingSecret, tf.Enabled(), secretB)
	}
	// The setup restarted with another secret: the first one cannot be confirmed.
	wantCode(t, e.s.EnableTwoFactor(e.ctx, a.ID, u.ID, secretA, 1, Base, nil, nil), doorman.ECONFLICT, "EnableTwoFactor(old secret)")

	when := Base.Add(7 * us)
	_, hashes := doorman.NewRecoveryCodes()
	wantCode(t, e.s.EnableTwoFactor(e.ctx, b.ID, u.ID, secretB, 100, when, hashes, nil), doorman.ENOTFOUND, "EnableTwoFactor(account B)")
	wantCode(t, e.s.SetPendingTwoFactor(e.ctx, b.ID, u.ID, secretA), doorman.ENOTFOUND, "SetPendingTwoFactor(account B)")
	_, err := e.s.FindTwoFactor(e.ctx, b.ID, u.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindTwoFactor(account B)")
	_, err = e.s.FindTwoFactor(e.ctx, a.ID, "usr_unknown")
	wantCode(t, err, doorman.ENOTFOUND, "FindTwoFactor(unknown)")

	ev := event(a.ID, doorman.ActionTwoFactorEnabled, when)
	ok(t, e.s.EnableTwoFactor(e.ctx, a.ID, u.ID, secretB, 100, when, hashes, ev), "EnableTwoFactor")
	tf = e.twoFactor(u)
	if !tf.Enabled() || !tf.EnabledAt.Equal(when) || tf.Secret != secretB || tf.PendingSecret != "" || tf.LastStep != 100 ||
		tf.RecoveryCodesLeft != doorman.RecoveryCodeCount || tf.UserID != u.ID {
		t.Fatalf("after enable: %+v", tf)
	}
	if list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionTwoFactorEnabled}); len(list) != 1 {
		t.Fatalf("%d two_factor_enabled events, want 1", len(list))
	}
	wantCode(t, e.s.SetPendingTwoFactor(e.ctx, a.ID, u.ID, secretA), doorman.ECONFLICT, "SetPendingTwoFactor(enabled)")
	wantCode(t, e.s.EnableTwoFactor(e.ctx, a.ID, u.ID, secretB, 100, when, nil, nil), doorman.ECONFLICT, "EnableTwoFactor(enabled)")

	// A failed change writes no event.
	wantCode(t, e.s.DisableTwoFactor(e.ctx, b.ID, u.ID, event(b.ID, doorman.ActionTwoFactorDisabled, when)), doorman.ENOTFOUND, "DisableTwoFactor(account B)")
	if list, _ := e.audits(doorman.AuditFilter{AccountID: b.ID}); len(list) != 0 {
		t.Fatalf("a refused disable wrote %d events", len(list))
	}
	ok(t, e.s.DisableTwoFactor(e.ctx, a.ID, u.ID, event(a.ID, doorman.ActionTwoFactorDisabled, when)), "DisableTwoFactor")
	tf = e.twoFactor(u)
	if tf.Enabled() || tf.Secret != "" || tf.PendingSecret != "" || tf.LastStep != 0 || tf.RecoveryCodesLeft != 0 {
		t.Fatalf("after disable: %+v", tf)
	}
	if list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionTwoFactorDisabled}); len(list) != 1 {
		t.Fatalf("%d two_factor_disabled events, want 1", len(list))
	}
	wantCode(t, e.s.DisableTwoFactor(e.ctx, a.ID, u.ID, nil), doorman.ENOTFOUND, "DisableTwoFactor(off)")
	// The old recovery codes are gone with it.
	wantCode(t, e.s.UseRecoveryCode(e.ctx, a.ID, u.ID, hashes[0], when, nil), doorman.ENOTFOUND, "UseRecoveryCode(after disable)")
}

// testTwoFactorStep: a step is accepted once and only after the last one,
// also when two requests race with the same code.
func testTwoFactorStep(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")
	wantCode(t, e.s.AcceptTOTPStep(e.ctx, a.ID, u.ID, 5), doorman.ENOTFOUND, "AcceptTOTPStep(2FA off)")
	e.enable2FA(u, Base, 100, nil)
	wantCode(t, e.s.AcceptTOTPStep(e.ctx, a.ID, u.ID, 100), doorman.ECONFLICT, "AcceptTOTPStep(setup's step)")
	wantCode(t, e.s.AcceptTOTPStep(e.ctx, a.ID, u.ID, 99), doorman.ECONFLICT, "AcceptTOTPStep(earlier)")
	wantCode(t, e.s.AcceptTOTPStep(e.ctx, b.ID, u.ID, 101), doorman.ENOTFOUND, "AcceptTOTPStep(account B)")
	ok(t, e.s.AcceptTOTPStep(e.ctx, a.ID, u.ID, 101), "AcceptTOTPStep(101)")
	if got := e.twoFactor(u).LastStep; got != 101 {
		t.Fatalf("LastStep %d, want 101", got)
	}

	// Eight requests with the code of step 102: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = e.s.AcceptTOTPStep(e.ctx, a.ID, u.ID, 102) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch doorman.ErrorCode(err) {
		case "":
			won++
		case doorman.ECONFLICT:
		default:
			t.Fatalf("AcceptTOTPStep(concurrent): %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent uses of one step accepted, want 1", won)
	}
}

// testRecoveryCodes: each code works once, a used or unknown code is not
// found, regenerating replaces all of them, and uses race safely.
func testRecoveryCodes(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")
	v := e.user(a, "bo@acme.example")
	codes, hashes := doorman.NewRecoveryCodes()
	_, other := doorman.NewRecoveryCodes()
	wantCode(t, e.s.ReplaceRecoveryCodes(e.ctx, a.ID, u.ID, other, Base, nil), doorman.ENOTFOUND, "ReplaceRecoveryCodes(2FA off)")
	e.enable2FA(u, Base, 1, hashes)
	e.enable2FA(v, Base, 1, other)

	when := Base.Add(time.Minute)
	h := doorman.HashRecoveryCode(codes[3])
	wantCode(t, e.s.UseRecoveryCode(e.ctx, b.ID, u.ID, h, when, nil), doorman.ENOTFOUND, "UseRecoveryCode(account B)")
	wantCode(t, e.s.UseRecoveryCode(e.ctx, a.ID, v.ID, h, when, nil), doorman.ENOTFOUND, "UseRecoveryCode(another user's)")
	ok(t, e.s.UseRecoveryCode(e.ctx, a.ID, u.ID, h, when, event(a.ID, doorman.ActionRecoveryCodeUsed, when)), "UseRecoveryCode")
	if got := e.twoFactor(u).RecoveryCodesLeft; got != doorman.RecoveryCodeCount-1 {
		t.Fatalf("%d codes left, want %d", got, doorman.RecoveryCodeCount-1)
	}
	wantCode(t, e.s.UseRecoveryCode(e.ctx, a.ID, u.ID, h, when, event(a.ID, doorman.ActionRecoveryCodeUsed, when)), doorman.ENOTFOUND, "UseRecoveryCode(used)")
	if list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionRecoveryCodeUsed}); len(list) != 1 {
		t.Fatalf("%d recovery_code_used events, want 1 (a refused use writes none)", len(list))
	}

	// Five requests with one code: exactly one wins.
	h = doorman.HashRecoveryCode(codes[4])
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { errs[i] = e.s.UseRecoveryCode(e.ctx, a.ID, u.ID, h, when, nil) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch doorman.ErrorCode(err) {
		case "":
			won++
		case doorman.ENOTFOUND:
		default:
			t.Fatalf("UseRecoveryCode(concurrent): %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent uses of one code accepted, want 1", won)
	}

	// Regenerated: the old codes stop working, the new ones all count.
	newCodes, newHashes := doorman.NewRecoveryCodes()
	wantCode(t, e.s.ReplaceRecoveryCodes(e.ctx, b.ID, u.ID, newHashes, when, nil), doorman.ENOTFOUND, "ReplaceRecoveryCodes(account B)")
	ok(t, e.s.ReplaceRecoveryCodes(e.ctx, a.ID, u.ID, newHashes, when, event(a.ID, doorman.ActionRecoveryCodesRenewed, when)), "ReplaceRecoveryCodes")
	if got := e.twoFactor(u).RecoveryCodesLeft; got != doorman.RecoveryCodeCount {
		t.Fatalf("%d codes left after regenerating, want %d", got, doorman.RecoveryCodeCount)
	}
	wantCode(t, e.s.UseRecoveryCode(e.ctx, a.ID, u.ID, doorman.HashRecoveryCode(codes[0]), when, nil), doorman.ENOTFOUND, "UseRecoveryCode(old code)")
	ok(t, e.s.UseRecoveryCode(e.ctx, a.ID, u.ID, doorman.HashRecoveryCode(newCodes[0]), when, nil), "UseRecoveryCode(new code)")
	if list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionRecoveryCodesRenewed}); len(list) != 1 {
		t.Fatalf("%d recovery_codes_regenerated events, want 1", len(list))
	}
	// The other user's codes are untouched.
	if got := e.twoFactor(v).RecoveryCodesLeft; got != doorman.RecoveryCodeCount {
		t.Fatalf("other user has %d codes left, want %d", got, doorman.RecoveryCodeCount)
	}
}

// testTwoFactorUsers: only users of the account with 2FA on, by id.
func testTwoFactorUsers(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u1 := e.user(a, "ana@acme.example")
	u2 := e.user(a, "bo@acme.example")
	u3 := e.user(a, "cy@acme.example")
	x := e.user(b, "ana@globex.example")
	e.enable2FA(u1, Base, 1, nil)
	e.enable2FA(u3, Base, 1, nil)
	e.enable2FA(x, Base, 1, nil)
	ok(t, e.s.SetPendingTwoFactor(e.ctx, a.ID, u2.ID, secretB), "SetPendingTwoFactor") // pending is not on
	got, err := e.s.FindTwoFactorUsers(e.ctx, a.ID, []string{u3.ID, u2.ID, u1.ID, x.ID, "usr_unknown"})
	ok(t, err, "FindTwoFactorUsers")
	want := []string{u1.ID, u3.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("FindTwoFactorUsers = %v, want %v", got, want)
	}
	got, err = e.s.FindTwoFactorUsers(e.ctx, a.ID, nil)
	ok(t, err, "FindTwoFactorUsers(none)")
	if got == nil || len(got) != 0 {
		t.Fatalf("FindTwoFactorUsers(none) = %#v, want empty", got)
	}
}

// testSessionTwoFactor: the session's TwoFactor round-trips, by id, in
// lists and in the token lookup.
func testSessionTwoFactor(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")
	with := e.session(u, func(s *doorman.Session) { s.TwoFactor = true })
	without := e.session(u, nil)
	if !e.sessionByID(with.ID).TwoFactor || e.sessionByID(without.ID).TwoFactor {
		t.Fatal("FindSessionByID: TwoFactor not kept")
	}
	p, err := e.s.FindSessionByTokenHash(e.ctx, with.TokenHash)
	ok(t, err, "FindSessionByTokenHash")
	if !p.Session.TwoFactor {
		t.Fatal("FindSessionByTokenHash: TwoFactor false, want true")
	}
	list, _ := e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: u.ID})
	for _, s := range list {
		if s.TwoFactor != (s.ID == with.ID) {
			t.Fatalf("FindSessions: session %s TwoFactor %t", s.ID, s.TwoFactor)
		}
	}
}

// signInChallengeTests check the SignInChallengeStore.
var signInChallengeTests = []test{
	{"CreateFindFailDelete", testSignInChallenge},
}

// testSignInChallenge: found by token hash, attempts counted, used once,
// expired ones swept by the next creation, users of another account refused.
func testSignInChallenge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")
	newChallenge := func(created time.Time) *doorman.SignInChallenge {
		_, hash := doorman.NewToken()
		return &doorman.SignInChallenge{ID: doorman.NewID(doorman.PrefixChallenge, created), TokenHash: hash,
			AccountID: a.ID, UserID: u.ID, RememberMe: true, CreatedAt: created, ExpiresAt: created.Add(doorman.ChallengeTTL)}
	}
	c := newChallenge(Base.Add(3 * us))
	ok(t, e.s.CreateSignInChallenge(e.ctx, c), "CreateSignInChallenge")
	got, err := e.s.FindSignInChallenge(e.ctx, c.TokenHash)
	ok(t, err, "FindSignInChallenge")
	if got.ID != c.ID || !bytes.Equal(got.TokenHash, c.TokenHash) || got.AccountID != a.ID || got.UserID != u.ID ||
		!got.RememberMe || !got.CreatedAt.Equal(c.CreatedAt) || !got.ExpiresAt.Equal(c.ExpiresAt) || got.Attempts != 0 {
		t.Fatalf("FindSignInChallenge = %+v, want %+v", got, c)
	}
	dup := newChallenge(Base)
	dup.TokenHash = c.TokenHash
	wantCode(t, e.s.CreateSignInChallenge(e.ctx, dup), doorman.ECONFLICT, "CreateSignInChallenge(same token)")
	bad := newChallenge(Base)
	bad.AccountID = b.ID
	wantCode(t, e.s.CreateSignInChallenge(e.ctx, bad), doorman.ENOTFOUND, "CreateSignInChallenge(user of another account)")

	for want := 1; want <= 3; want++ {
		n, err := e.s.FailSignInChallenge(e.ctx, c.ID)
		ok(t, err, "FailSignInChallenge")
		if n != want {
			t.Fatalf("FailSignInChallenge = %d, want %d", n, want)
		}
	}
	if got, _ := e.s.FindSignInChallenge(e.ctx, c.TokenHash); got.Attempts != 3 {
		t.Fatalf("Attempts %d, want 3", got.Attempts)
	}
	ok(t, e.s.DeleteSignInChallenge(e.ctx, c.ID), "DeleteSignInChallenge")
	wantCode(t, e.s.DeleteSignInChallenge(e.ctx, c.ID), doorman.ENOTFOUND, "DeleteSignInChallenge(used)")
	_, err = e.s.FindSignInChallenge(e.ctx, c.TokenHash)
	wantCode(t, err, doorman.ENOTFOUND, "FindSignInChallenge(used)")
	_, err = e.s.FailSignInChallenge(e.ctx, c.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FailSignInChallenge(used)")

	// An expired challenge stays findable (the Service judges expiry) until
	// a later creation sweeps it.
	old := newChallenge(Base)
	ok(t, e.s.CreateSignInChallenge(e.ctx, old), "CreateSignInChallenge(old)")
	live := newChallenge(Base.Add(doorman.ChallengeTTL - time.Second))
	ok(t, e.s.CreateSignInChallenge(e.ctx, live), "CreateSignInChallenge(live)")
	if _, err := e.s.FindSignInChallenge(e.ctx, old.TokenHash); err != nil {
		t.Fatalf("FindSignInChallenge(expired, not swept): %v", err)
	}
	ok(t, e.s.CreateSignInChallenge(e.ctx, newChallenge(Base.Add(doorman.ChallengeTTL+time.Second))), "CreateSignInChallenge(later)")
	_, err = e.s.FindSignInChallenge(e.ctx, old.TokenHash)
	wantCode(t, err, doorman.ENOTFOUND, "FindSignInChallenge(swept)")
	if _, err := e.s.FindSignInChallenge(e.ctx, live.TokenHash); err != nil {
		t.Fatalf("FindSignInChallenge(live): %v", err)
	}
}
