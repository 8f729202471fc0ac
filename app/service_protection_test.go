package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

func TestSignOutAll(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		bo := f.user(t, "Company", "bo@company.com", doorman.RoleMember)
		tok1, p1 := f.signIn(t, "ana@company.com", false)
		tok2, _ := f.signIn(t, "ana@company.com", true)
		tokBo, _ := f.signIn(t, "bo@company.com", false)
		n, err := f.svc.SignOutAll(ctx, p1, app.Meta{IP: "83.45.123.78"})
		if err != nil || n != 2 {
			t.Fatalf("SignOutAll = %d, %v; want 2", n, err)
		}
		for _, tok := range []string{tok1, tok2} {
			if _, err := f.auth(tok); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("a signed-out session still works: %v", err)
			}
		}
		if p, err := f.auth(tokBo); err != nil || p.User.ID != bo.ID {
			t.Fatalf("another user's session: %v", err)
		}
		evs, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: p1.Account.ID, Action: doorman.ActionAllSessionsRevoked})
		if err != nil || len(evs) != 1 || evs[0].Count != 2 || evs[0].ActorID != p1.User.ID {
			t.Fatalf("all_sessions_revoked events %+v, %v; want one by ana counting 2", evs, err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		tok1, p1 := f.signIn(t, "ana@company.com", false)
		tok2, _ := f.signIn(t, "ana@company.com", false)
		m := app.Meta{IP: "83.45.123.78", UserAgent: "test-agent"}
		const newPassword = "a new long passphrase"

		for _, c := range []struct {
			req  app.ChangePasswordRequest
			code string
		}{
			{app.ChangePasswordRequest{CurrentPassword: "wrong password!", NewPassword: newPassword}, doorman.EUNAUTHORIZED},
			{app.ChangePasswordRequest{CurrentPassword: "", NewPassword: newPassword}, doorman.EINVALID},
			{app.ChangePasswordRequest{CurrentPassword: password, NewPassword: "short"}, doorman.EINVALID},
			{app.ChangePasswordRequest{CurrentPassword: password, NewPassword: password}, doorman.EINVALID},
		} {
			c.req.Meta = m
			if _, _, _, err := f.svc.ChangePassword(ctx, p1, c.req); doorman.ErrorCode(err) != c.code {
				t.Fatalf("ChangePassword(%+v) = %v, want %s", c.req, err, c.code)
			}
		}
		if _, err := f.auth(tok1); err != nil {
			t.Fatalf("a refused change ended the session: %v", err)
		}
		if evs, _, _ := store.FindAuditEvents(ctx, doorman.AuditFilter{Action: doorman.ActionReauthFailed}); len(evs) != 1 {
			t.Fatalf("%d reauth_failed events for one wrong password, want 1", len(evs))
		}

		tok, np, n, err := f.svc.ChangePassword(ctx, p1, app.ChangePasswordRequest{CurrentPassword: password,
			NewPassword: newPassword, SignOutOthers: true, Meta: m})
		if err != nil || n != 1 {
			t.Fatalf("ChangePassword = %d, %v; want 1 other signed out", n, err)
		}
		if tok == tok1 || np.Session.ID == p1.Session.ID {
			t.Fatal("the session kept its token after the password change")
		}
		for _, old := range []string{tok1, tok2} {
			if _, err := f.auth(old); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("an old token still works: %v", err)
			}
		}
		if p, err := f.auth(tok); err != nil || p.Session.ID != np.Session.ID || !p.Session.CreatedAt.Equal(p1.Session.CreatedAt) {
			t.Fatalf("the new token: %v, %v", p, err)
		}
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "ana@company.com", Password: password}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("the old password still signs in: %v", err)
		}
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "ana@company.com", Password: newPassword}); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		for action, want := range map[string]int{doorman.ActionPasswordChanged: 1, doorman.ActionSessionRotated: 1,
			doorman.ActionOtherSessionsRevoke: 1} {
			if evs, _, _ := store.FindAuditEvents(ctx, doorman.AuditFilter{Action: action}); len(evs) != want {
				t.Errorf("%d %s events, want %d", len(evs), action, want)
			}
		}

		// Keeping the other sessions (the one just signed in).
		if _, _, n, err := f.svc.ChangePassword(ctx, np, app.ChangePasswordRequest{CurrentPassword: newPassword,
			NewPassword: "yet another passphrase", Meta: m}); err != nil || n != 0 {
			t.Fatalf("ChangePassword keeping others = %d, %v", n, err)
		}
	})
}

func TestReauthenticate(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		tok, p := f.signIn(t, "ana@company.com", false)
		m := app.Meta{IP: "83.45.123.78"}
		if !p.Session.AuthenticatedAt.Equal(p.Session.CreatedAt) || f.svc.NeedsReauth(p) {
			t.Fatalf("a new session: authenticated at %v, needs re-auth %t", p.Session.AuthenticatedAt, f.svc.NeedsReauth(p))
		}
		if err := f.svc.RequireRecentAuth(ctx, p, "", m); err != nil {
			t.Fatalf("fresh session: %v", err)
		}
		f.clock.Advance(app.ReauthAfter)
		p, err := f.auth(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !f.svc.NeedsReauth(p) {
			t.Fatal("15 minutes after sign-in, no re-authentication needed")
		}
		if err := f.svc.RequireRecentAuth(ctx, p, "", m); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("without password: %v, want EREAUTH", err)
		}
		if err := f.svc.RequireRecentAuth(ctx, p, "wrong password!", m); doorman.ErrorCode(err) != doorman.EREAUTH {
			t.Fatalf("wrong password: %v, want EREAUTH", err)
		}
		if err := f.svc.RequireRecentAuth(ctx, p, password, m); err != nil {
			t.Fatalf("right password: %v", err)
		}
		// The proof is stored: the next request's principal carries it.
		p, err = f.auth(tok)
		if err != nil || f.svc.NeedsReauth(p) || !p.Session.AuthenticatedAt.Equal(f.clock.Now().UTC().Truncate(time.Microsecond)) {
			t.Fatalf("after re-auth: %v, authenticated at %v", err, p.Session.AuthenticatedAt)
		}
		for action, want := range map[string]int{doorman.ActionReauthenticated: 1, doorman.ActionReauthFailed: 1} {
			if evs, _, _ := store.FindAuditEvents(ctx, doorman.AuditFilter{Action: action}); len(evs) != want {
				t.Errorf("%d %s events, want %d", len(evs), action, want)
			}
		}
		// A revoked session cannot re-authenticate.
		if err := f.svc.SignOut(ctx, p, m); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Reauthenticate(ctx, p, password, m); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("re-auth of a signed-out session: %v", err)
		}
	})
}

// TestReauthThrottled: a session cannot be used to guess its user's
// password without limit. Wrong passwords count against the sign-in limits
// of the email; once they are spent even the right password waits, and the
// refusal is audited; right passwords never count.
func TestReauthThrottled(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.SignInLimits = app.SignInLimits{} // the defaults: 5 a minute per email
		f.user(t, "Company", "ana@company.com", doorman.RoleMember)
		_, p := f.signIn(t, "ana@company.com", false)
		m := app.Meta{IP: "83.45.123.78"}
		// Confirming one's password often never locks anyone out.
		for i := 0; i < 10; i++ {
			if err := f.svc.Reauthenticate(ctx, p, password, m); err != nil {
				t.Fatalf("right password #%d: %v", i+1, err)
			}
		}
		// The sign-in limit is 5 a minute per email; the sign-in above
		// took one.
		wrong := 0
		for ; wrong < 10; wrong++ {
			err := f.svc.Reauthenticate(ctx, p, "wrong password!", m)
			if doorman.ErrorCode(err) == doorman.ETOOMANY {
				break
			}
			if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("wrong password #%d: %v", wrong+1, err)
			}
		}
		if wrong != 4 {
			t.Errorf("%d wrong passwords before the limit, want 4", wrong)
		}
		err := f.svc.Reauthenticate(ctx, p, password, m)
		var e *doorman.Error
		if !errors.As(err, &e) || e.Code != doorman.ETOOMANY || e.RetryAfter <= 0 {
			t.Fatalf("right password while throttled: %v, want ETOOMANY with a wait", err)
		}
		evs, _, _ := store.FindAuditEvents(ctx, doorman.AuditFilter{Action: doorman.ActionReauthFailed})
		throttled := 0
		for _, ev := range evs {
			if ev.Reason == app.ReasonThrottled {
				throttled++
			}
		}
		if throttled != 2 {
			t.Errorf("%d throttled re-authentications audited, want 2", throttled)
		}
		f.clock.Advance(time.Minute)
		if err := f.svc.Reauthenticate(ctx, p, password, m); err != nil {
			t.Errorf("a minute later: %v", err)
		}
	})
}
