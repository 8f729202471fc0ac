package app_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/totp"
	ptotp "github.com/pquerna/otp/totp"
)

// enable2FA turns two-factor authentication on for p through the Service
// and returns the secret and the recovery codes. *p becomes the rotated
// session that replaced p's.
func (f *fixture) enable2FA(t *testing.T, p *doorman.Principal) (string, []string) {
	t.Helper()
	ctx := context.Background()
	key, err := f.svc.BeginTwoFactorSetup(ctx, p, "", app.Meta{})
	if err != nil {
		t.Fatalf("BeginTwoFactorSetup: %v", err)
	}
	on, err := f.svc.ConfirmTwoFactorSetup(ctx, p, f.code(t, key.Secret), app.Meta{})
	if err != nil {
		t.Fatalf("ConfirmTwoFactorSetup: %v", err)
	}
	*p = *on.Principal
	return key.Secret, on.RecoveryCodes
}

// code returns the TOTP code of secret at the fixture's clock.
func (f *fixture) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := ptotp.GenerateCode(secret, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) signInCode(email, code string) (string, *doorman.Principal, error) {
	return f.svc.SignIn(context.Background(), app.SignInRequest{Email: email, Password: password, TOTPCode: code,
		Meta: app.Meta{IP: "83.45.123.78", UserAgent: "test-agent"}})
}

func countEvents(t *testing.T, store doorman.Store, accountID, action, reason string) int {
	t.Helper()
	evs, _, err := store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: accountID, Action: action})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if reason == "" || ev.Reason == reason {
			n++
		}
	}
	return n
}

func TestTwoFactorSetupAndSignIn(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.OTP = totp.OTP{}
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		oldToken, p := f.signIn(t, "ana@company.com", false)
		acct := p.Account.ID

		// Setup needs a recent password proof.
		f.clock.Advance(app.ReauthAfter)
		if _, err := f.svc.BeginTwoFactorSetup(ctx, p, "", app.Meta{}); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("BeginTwoFactorSetup without a recent password = %v, want EREAUTH", err)
		}
		key, err := f.svc.BeginTwoFactorSetup(ctx, p, password, app.Meta{})
		if err != nil || key.Secret == "" || key.URI == "" || len(key.QRPNG) == 0 {
			t.Fatalf("BeginTwoFactorSetup = %+v, %v", key, err)
		}
		if again, err := f.svc.TwoFactorSetupKey(ctx, p); err != nil || again.Secret != key.Secret {
			t.Fatalf("TwoFactorSetupKey = %+v, %v; want the pending secret", again, err)
		}
		for _, bad := range []string{"", "000000"} {
			if _, err := f.svc.ConfirmTwoFactorSetup(ctx, p, bad, app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
				t.Fatalf("ConfirmTwoFactorSetup(%q) = %v, want EINVALID", bad, err)
			}
		}
		on, err := f.svc.ConfirmTwoFactorSetup(ctx, p, f.code(t, key.Secret), app.Meta{IP: "83.45.123.78"})
		if err != nil || len(on.RecoveryCodes) != doorman.RecoveryCodeCount {
			t.Fatalf("ConfirmTwoFactorSetup = %+v, %v", on, err)
		}
		codes := on.RecoveryCodes
		// A privilege change: the session was rotated. The old token
		// stops working; the new one is the same sign-in, now with a
		// second factor, and its password proof is not renewed.
		if on.Token == "" || on.Token == oldToken || on.Principal.Session.ID == p.Session.ID {
			t.Fatalf("ConfirmTwoFactorSetup did not rotate the session: token %q, session %s", on.Token, on.Principal.Session.ID)
		}
		_, err = f.auth(oldToken)
		wantReason(t, err, doorman.ReasonRevokedByUser)
		np, err := f.auth(on.Token)
		if err != nil || np.Session.ID != on.Principal.Session.ID {
			t.Fatalf("Authenticate(new token) = %v, %v", np, err)
		}
		if !np.Session.TwoFactor || !np.Session.AuthenticatedAt.Equal(p.Session.AuthenticatedAt) ||
			!np.Session.CreatedAt.Equal(p.Session.CreatedAt) {
			t.Fatalf("rotated session: TwoFactor %t, AuthenticatedAt %v, CreatedAt %v; want true, %v, %v", np.Session.TwoFactor,
				np.Session.AuthenticatedAt, np.Session.CreatedAt, p.Session.AuthenticatedAt, p.Session.CreatedAt)
		}
		if n := countEvents(t, store, acct, doorman.ActionSessionRotated, ""); n != 1 {
			t.Fatalf("%d session_rotated events, want 1", n)
		}
		p = on.Principal
		if st, _ := f.svc.TwoFactorStatus(ctx, p); !st.Enabled() || st.Secret != "" || st.RecoveryCodesLeft != 10 {
			t.Fatalf("TwoFactorStatus = %+v", st)
		}
		if n := countEvents(t, store, acct, doorman.ActionTwoFactorEnabled, ""); n != 1 {
			t.Fatalf("%d two_factor_enabled events", n)
		}
		if _, err := f.svc.BeginTwoFactorSetup(ctx, p, password, app.Meta{}); doorman.ErrorCode(err) != doorman.ECONFLICT {
			t.Fatalf("BeginTwoFactorSetup when on = %v, want ECONFLICT", err)
		}

		// No code: totp_required. The setup's code cannot be used again.
		if _, _, err := f.signInCode("ana@company.com", ""); doorman.ErrorCode(err) != doorman.ETOTP || doorman.ErrorMessage(err) != "Two-factor code required" {
			t.Fatalf("SignIn without code = %v, want ETOTP", err)
		}
		if _, _, err := f.signInCode("ana@company.com", f.code(t, key.Secret)); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("SignIn with the setup's code again = %v, want EUNAUTHORIZED", err)
		}
		if _, _, err := f.signInCode("ana@company.com", "123456"); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("SignIn with a wrong code = %v, want EUNAUTHORIZED", err)
		}
		if n := countEvents(t, store, acct, doorman.ActionSignInFailed, app.ReasonBadTwoFactor); n != 2 {
			t.Fatalf("%d sign_in_failed 'bad two-factor code' events, want 2", n)
		}
		// A wrong password with the right code is a wrong password.
		f.clock.Advance(30 * time.Second)
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "ana@company.com", Password: "wrong password!", TOTPCode: f.code(t, key.Secret)}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("wrong password = %v", err)
		}
		tok, p2, err := f.signInCode("ana@company.com", f.code(t, key.Secret))
		if err != nil || !p2.Session.TwoFactor {
			t.Fatalf("SignIn with the code = %v (TwoFactor %t)", err, p2 != nil && p2.Session.TwoFactor)
		}
		if got, err := f.auth(tok); err != nil || !got.Session.TwoFactor {
			t.Fatalf("Authenticate: TwoFactor not kept (%v)", err)
		}
		evs, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: acct, Action: doorman.ActionSignIn, Target: p2.Session.ID})
		if err != nil || len(evs) != 1 || evs[0].Details != "two_factor=true" {
			t.Fatalf("sign_in event of a 2FA sign-in: %+v, %v", evs, err)
		}
		// Replay of the same code, same step: refused.
		if _, _, err := f.signInCode("ana@company.com", f.code(t, key.Secret)); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("replayed code = %v, want EUNAUTHORIZED", err)
		}

		// A recovery code, typed in upper case: once.
		if _, p3, err := f.signInCode("ana@company.com", " "+upper(codes[0])+" "); err != nil || !p3.Session.TwoFactor {
			t.Fatalf("SignIn with a recovery code = %v", err)
		}
		if _, _, err := f.signInCode("ana@company.com", codes[0]); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("used recovery code = %v, want EUNAUTHORIZED", err)
		}
		if n := countEvents(t, store, acct, doorman.ActionRecoveryCodeUsed, ""); n != 1 {
			t.Fatalf("%d recovery_code_used events, want 1", n)
		}

		// Regenerate: old codes stop working.
		f.clock.Advance(app.ReauthAfter)
		if _, err := f.svc.RegenerateRecoveryCodes(ctx, p, "", "", app.Meta{}); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("RegenerateRecoveryCodes without proof = %v, want EREAUTH", err)
		}
		if _, err := f.svc.RegenerateRecoveryCodes(ctx, p, password, "", app.Meta{}); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("RegenerateRecoveryCodes without code = %v, want EREAUTH", err)
		}
		fresh, err := f.svc.RegenerateRecoveryCodes(ctx, p, password, f.code(t, key.Secret), app.Meta{})
		if err != nil || len(fresh) != doorman.RecoveryCodeCount {
			t.Fatalf("RegenerateRecoveryCodes = %v", err)
		}
		if _, _, err := f.signInCode("ana@company.com", codes[1]); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("old recovery code after regenerating = %v", err)
		}
		if n := countEvents(t, store, acct, doorman.ActionRecoveryCodesRenewed, ""); n != 1 {
			t.Fatalf("%d recovery_codes_regenerated events", n)
		}

		// Turning off needs the password and a code, whatever the sign-in's age.
		f.clock.Advance(time.Minute)
		if err := f.svc.DisableTwoFactor(ctx, p, password, "", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("DisableTwoFactor without code = %v", err)
		}
		if err := f.svc.DisableTwoFactor(ctx, p, "wrong password!", f.code(t, key.Secret), app.Meta{}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("DisableTwoFactor with a wrong password = %v", err)
		}
		if err := f.svc.DisableTwoFactor(ctx, p, password, "654321", app.Meta{}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("DisableTwoFactor with a wrong code = %v", err)
		}
		if err := f.svc.DisableTwoFactor(ctx, p, password, fresh[2], app.Meta{}); err != nil {
			t.Fatalf("DisableTwoFactor with a recovery code = %v", err)
		}
		if n := countEvents(t, store, acct, doorman.ActionTwoFactorDisabled, ""); n != 1 {
			t.Fatalf("%d two_factor_disabled events", n)
		}
		if _, p4, err := f.signInCode("ana@company.com", ""); err != nil || p4.Session.TwoFactor {
			t.Fatalf("SignIn after turning off = %v", err)
		}
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestTwoFactorChallenge(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.OTP = totp.OTP{}
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		_, p := f.signIn(t, "ana@company.com", false)
		secret, codes := f.enable2FA(t, p)
		m := app.Meta{IP: "83.45.123.78", UserAgent: "test-agent"}
		start := func() string {
			t.Helper()
			_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "ana@company.com", Password: password, RememberMe: true, Challenge: true, Meta: m})
			var ch *app.ChallengeRequired
			if !errors.As(err, &ch) || ch.Token == "" {
				t.Fatalf("SignIn with Challenge = %v, want ChallengeRequired", err)
			}
			return ch.Token
		}
		gone := func(err error, what string) {
			t.Helper()
			var e *doorman.Error
			if !errors.As(err, &e) || e.Code != doorman.EUNAUTHORIZED || e.Reason != app.ReasonChallengeGone {
				t.Fatalf("%s = %v, want the challenge gone", what, err)
			}
		}

		f.clock.Advance(time.Minute)
		tok := start()
		if _, _, err := f.svc.CompleteSignIn(ctx, tok, "", m); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("CompleteSignIn without code = %v, want EINVALID", err)
		}
		if _, _, err := f.svc.CompleteSignIn(ctx, tok, "111111", m); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED || doorman.ErrorMessage(err) != "Invalid two-factor code" {
			t.Fatalf("CompleteSignIn with a wrong code = %v", err)
		}
		_, p2, err := f.svc.CompleteSignIn(ctx, tok, f.code(t, secret), m)
		if err != nil || !p2.Session.TwoFactor || !p2.Session.RememberMe {
			t.Fatalf("CompleteSignIn = %v", err)
		}
		_, _, err = f.svc.CompleteSignIn(ctx, tok, codes[0], m)
		gone(err, "CompleteSignIn(used challenge)")
		_, _, err = f.svc.CompleteSignIn(ctx, "not-a-token", codes[0], m)
		gone(err, "CompleteSignIn(bad token)")

		// Expired after 5 minutes.
		tok = start()
		f.clock.Advance(doorman.ChallengeTTL)
		_, _, err = f.svc.CompleteSignIn(ctx, tok, codes[0], m)
		gone(err, "CompleteSignIn(expired)")

		// Five wrong codes end it.
		tok = start()
		for i := 1; i < doorman.ChallengeMaxAttempts; i++ {
			if _, _, err := f.svc.CompleteSignIn(ctx, tok, "222222", m); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("wrong code %d = %v", i, err)
			}
		}
		_, _, err = f.svc.CompleteSignIn(ctx, tok, "222222", m)
		gone(err, "CompleteSignIn(last wrong code)")
		_, _, err = f.svc.CompleteSignIn(ctx, tok, codes[1], m)
		gone(err, "CompleteSignIn(after too many)")

		// A recovery code completes it too.
		tok = start()
		if _, p3, err := f.svc.CompleteSignIn(ctx, tok, codes[1], m); err != nil || !p3.Session.TwoFactor {
			t.Fatalf("CompleteSignIn with a recovery code = %v", err)
		}
	})
}

func TestTwoFactorThrottleAndReauth(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.OTP = totp.OTP{}
		f.svc.SignInLimits = app.SignInLimits{} // the defaults: 5 a minute per email
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		_, p := f.signIn(t, "ana@company.com", false)
		secret, _ := f.enable2FA(t, p)

		// Wrong codes count against the sign-in limits: the sign-in above
		// and four wrong codes use up the five.
		for i := range 4 {
			if _, _, err := f.signInCode("ana@company.com", "444444"); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("wrong code %d = %v", i, err)
			}
		}
		if _, _, err := f.signInCode("ana@company.com", f.code(t, secret)); doorman.ErrorCode(err) != doorman.ETOOMANY {
			t.Fatalf("sign-in after 4 wrong codes = %v, want ETOOMANY", err)
		}

		// Re-authentication asks for the code too.
		f.clock.Advance(app.ReauthAfter)
		if err := f.svc.Reauthenticate(ctx, p, password, app.Meta{}); doorman.ErrorCode(err) != doorman.ETOTP {
			t.Fatalf("Reauthenticate without code = %v, want ETOTP", err)
		}
		if err := f.svc.ReauthenticateCode(ctx, p, password, "333333", app.Meta{}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("ReauthenticateCode with a wrong code = %v", err)
		}
		if err := f.svc.RequireRecentAuth(ctx, p, password, app.Meta{}); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("RequireRecentAuth without code = %v, want EREAUTH", err)
		}
		if err := f.svc.ReauthenticateCode(ctx, p, password, f.code(t, secret), app.Meta{}); err != nil {
			t.Fatalf("ReauthenticateCode = %v", err)
		}
		if f.svc.NeedsReauth(p) {
			t.Fatal("still needs re-authentication")
		}
		if n := countEvents(t, store, p.Account.ID, doorman.ActionReauthFailed, app.ReasonBadTwoFactor); n != 1 {
			t.Fatalf("%d reauth_failed 'bad two-factor code' events, want 1", n)
		}

	})
}

// TestTwoFactorChallengeThrottle: the second step costs a sign-in attempt
// only for a wrong code, and is refused while the limits say wait.
func TestTwoFactorChallengeThrottle(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.OTP = totp.OTP{}
		f.svc.SignInLimits = app.SignInLimits{} // 5 a minute per email
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		_, p := f.signIn(t, "ana@company.com", false) // the first attempt
		_, codes := f.enable2FA(t, p)
		m := app.Meta{IP: "83.45.123.78"}
		start := func() string {
			t.Helper()
			_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "ana@company.com", Password: password, Challenge: true, Meta: m})
			var ch *app.ChallengeRequired
			if !errors.As(err, &ch) {
				t.Fatalf("SignIn = %v, want ChallengeRequired", err)
			}
			return ch.Token
		}
		// 2 and 3: a right code costs nothing more. The clock stands still,
		// so recovery codes stand in for codes of new time steps.
		for _, code := range codes[:2] {
			tok := start()
			if _, _, err := f.svc.CompleteSignIn(ctx, tok, code, m); err != nil {
				t.Fatalf("CompleteSignIn = %v", err)
			}
		}
		// 4, then 5 for the wrong code.
		tok := start()
		if _, _, err := f.svc.CompleteSignIn(ctx, tok, "000000", m); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("wrong code = %v", err)
		}
		if _, _, err := f.svc.CompleteSignIn(ctx, tok, "000000", m); doorman.ErrorCode(err) != doorman.ETOOMANY {
			t.Fatalf("a sixth attempt in the minute = %v, want ETOOMANY", err)
		}
	})
}

// TestTwoFactorSetupNeedsRecentAuth: a session that has not proved the
// password lately can neither read a pending setup's key nor confirm it.
func TestTwoFactorSetupNeedsRecentAuth(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.OTP = totp.OTP{}
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		_, old := f.signIn(t, "ana@company.com", false)
		f.clock.Advance(app.ReauthAfter)
		_, p := f.signIn(t, "ana@company.com", false)
		key, err := f.svc.BeginTwoFactorSetup(ctx, p, "", app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.TwoFactorSetupKey(ctx, old); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("TwoFactorSetupKey from an old session = %v, want EREAUTH", err)
		}
		if _, err := f.svc.ConfirmTwoFactorSetup(ctx, old, f.code(t, key.Secret), app.Meta{}); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("ConfirmTwoFactorSetup from an old session = %v, want EREAUTH", err)
		}
		if _, err := f.svc.ConfirmTwoFactorSetup(ctx, p, f.code(t, key.Secret), app.Meta{}); err != nil {
			t.Fatalf("ConfirmTwoFactorSetup = %v", err)
		}
	})
}

// createFailingStore refuses to create sessions once failing is set.
type createFailingStore struct {
	doorman.Store
	failing atomic.Bool
}

func (s *createFailingStore) CreateSession(ctx context.Context, sess *doorman.Session, ev *doorman.AuditEvent) error {
	if s.failing.Load() {
		return errors.New("disk I/O error")
	}
	return s.Store.CreateSession(ctx, sess, ev)
}

// TestTwoFactorOnRotationFails: when the rotated session cannot be written
// after two-factor authentication is on, the recovery codes are still
// returned (they exist nowhere else) and the old session goes on.
func TestTwoFactorOnRotationFails(t *testing.T) {
	ctx := context.Background()
	store := &createFailingStore{Store: testdb.SQLite(t)}
	f := newFixture(t, store)
	f.svc.OTP = totp.OTP{}
	f.user(t, "Company", "ana@company.com", doorman.RoleMember)
	tok, p := f.signIn(t, "ana@company.com", false)
	key, err := f.svc.BeginTwoFactorSetup(ctx, p, "", app.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	store.failing.Store(true)
	on, err := f.svc.ConfirmTwoFactorSetup(ctx, p, f.code(t, key.Secret), app.Meta{})
	if err != nil || len(on.RecoveryCodes) != doorman.RecoveryCodeCount || on.Token != "" || on.Principal != p {
		t.Fatalf("ConfirmTwoFactorSetup with a failing rotation = %+v, %v; want the codes, no token, the same principal", on, err)
	}
	if _, err := f.auth(tok); err != nil {
		t.Fatalf("the old session after a failed rotation: %v", err)
	}
	if st, err := f.svc.TwoFactorStatus(ctx, p); err != nil || !st.Enabled() {
		t.Fatalf("TwoFactorStatus = %+v, %v; want on", st, err)
	}
}
