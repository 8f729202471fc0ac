package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

const newPassword = "a brand new passphrase"

// inviteToken returns the token at the end of an invitation link.
func inviteToken(t *testing.T, inv *app.Invite) string {
	t.Helper()
	i := strings.LastIndex(inv.URL, app.PathInvite)
	if i < 0 {
		t.Fatalf("invite URL %q has no %s", inv.URL, app.PathInvite)
	}
	return inv.URL[i+len(app.PathInvite):]
}

func TestInviteAndAccept(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		mail := &fakeMailer{}
		f.svc.Alerts = doorman.AlertConfig{Mailer: mail, LinkBase: "https://doorman.example.com"}
		f.user(t, "Acme", "boss@acme.example", doorman.RoleAdmin)
		f.user(t, "Acme", "mo@acme.example", doorman.RoleMember)
		_, admin := f.signIn(t, "boss@acme.example", false)
		_, member := f.signIn(t, "mo@acme.example", false)

		_, err := f.svc.InviteUser(ctx, member, app.InviteRequest{Email: "x@acme.example"}, adminMeta)
		wantCode(t, "InviteUser(member)", err, doorman.EFORBIDDEN)
		_, err = f.svc.InviteUser(ctx, admin, app.InviteRequest{Email: "MO@acme.example"}, adminMeta)
		wantCode(t, "InviteUser(existing email)", err, doorman.ECONFLICT)
		_, err = f.svc.InviteUser(ctx, admin, app.InviteRequest{Email: "not an email"}, adminMeta)
		wantCode(t, "InviteUser(bad email)", err, doorman.EINVALID)
		_, err = f.svc.InviteUser(ctx, admin, app.InviteRequest{Email: "x@acme.example", Role: "owner"}, adminMeta)
		wantCode(t, "InviteUser(bad role)", err, doorman.EINVALID)

		inv, err := f.svc.InviteUser(ctx, admin, app.InviteRequest{Email: "Nia@Acme.example", Role: doorman.RoleAdmin}, adminMeta)
		if err != nil {
			t.Fatal(err)
		}
		if inv.User.Status() != doorman.UserInvited || inv.User.Email != "nia@acme.example" || !inv.Emailed ||
			!strings.HasPrefix(inv.URL, "https://doorman.example.com/invite/") {
			t.Fatalf("invite = %+v (user %+v)", inv, inv.User)
		}
		token := inviteToken(t, inv)
		msgs := mail.messages()
		if len(msgs) != 1 || msgs[0].To != "nia@acme.example" || !strings.Contains(msgs[0].Text, inv.URL) ||
			!strings.Contains(msgs[0].HTML, inv.URL) || !strings.Contains(msgs[0].Text, "Acme") || !strings.Contains(msgs[0].Subject, "Acme") {
			t.Fatalf("invitation emails: %+v", msgs)
		}
		// The invited person cannot sign in before accepting.
		_, _, err = f.svc.SignIn(ctx, app.SignInRequest{Email: "nia@acme.example", Password: newPassword})
		wantCode(t, "SignIn(invited)", err, doorman.EUNAUTHORIZED)

		people, err := f.svc.TeamPeople(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(people) != 3 || people[2].User.Email != "nia@acme.example" || people[2].User.Status() != doorman.UserInvited ||
			people[0].Sessions != 1 || people[0].LastActiveAt == nil {
			t.Fatalf("team people: %+v", people)
		}

		// The account's password rules apply.
		_, _, err = f.svc.AcceptInvitation(ctx, app.AcceptRequest{Token: token, Password: "short"})
		wantCode(t, "AcceptInvitation(short password)", err, doorman.EINVALID)
		f.clock.Advance(time.Hour)
		tok, p, err := f.svc.AcceptInvitation(ctx, app.AcceptRequest{Token: token, Name: "Nia New", Password: newPassword,
			Meta: app.Meta{IP: "203.0.113.9", UserAgent: "invitee-agent"}})
		if err != nil {
			t.Fatal(err)
		}
		if p.User.Name != "Nia New" || p.User.Status() != doorman.UserActive || p.User.Role != doorman.RoleAdmin {
			t.Fatalf("accepted user %+v", p.User)
		}
		if got, err := f.auth(tok); err != nil || got.User.ID != inv.User.ID {
			t.Fatalf("Authenticate(new session) = %v, %v", got, err)
		}
		// The link works once; the person signs in with the password.
		_, _, err = f.svc.AcceptInvitation(ctx, app.AcceptRequest{Token: token, Password: newPassword})
		wantCode(t, "AcceptInvitation(second use)", err, doorman.EINVALID)
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "nia@acme.example", Password: newPassword}); err != nil {
			t.Fatalf("SignIn after accepting: %v", err)
		}

		evs := events(t, store, admin.Account.ID)
		var invited, accepted *doorman.AuditEvent
		for _, ev := range evs {
			switch ev.Action {
			case doorman.ActionUserInvited:
				invited = ev
			case doorman.ActionInvitationAccepted:
				accepted = ev
			}
		}
		if invited == nil || invited.Actor != "boss@acme.example" || invited.Target != "nia@acme.example" {
			t.Fatalf("user_invited event %+v", invited)
		}
		if accepted == nil || accepted.Actor != "nia@acme.example" || accepted.IP != "203.0.113.9" {
			t.Fatalf("invitation_accepted event %+v", accepted)
		}
		for _, ev := range evs {
			if strings.Contains(ev.Details, token) || strings.Contains(ev.Reason, token) {
				t.Fatalf("the invitation token is in the audit log: %+v", ev)
			}
		}
	})
}

func TestInvitationExpiresResendRevoke(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Acme", "boss@acme.example", doorman.RoleAdmin)
		_, admin := f.signIn(t, "boss@acme.example", false)
		// Without a Mailer the admin gets the link to hand over.
		inv, err := f.svc.InviteUser(ctx, admin, app.InviteRequest{Email: "late@acme.example"}, adminMeta)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Emailed || !strings.HasPrefix(inv.URL, app.PathInvite) || inv.User.Role != doorman.RoleMember {
			t.Fatalf("invite without a mailer: %+v", inv)
		}
		old := inviteToken(t, inv)
		f.clock.Advance(doorman.InvitationTTL)
		_, _, err = f.svc.AcceptInvitation(ctx, app.AcceptRequest{Token: old, Password: newPassword})
		wantCode(t, "AcceptInvitation(7 days old)", err, doorman.EINVALID)

		admin = f.fresh(t, mustSignIn(t, f, "boss@acme.example"))
		again, err := f.svc.ResendInvitation(ctx, admin, inv.User.ID, adminMeta)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Invitation(ctx, old); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("old link after resending: %v, want EINVALID", err)
		}
		if _, _, err := f.svc.Invitation(ctx, inviteToken(t, again)); err != nil {
			t.Fatalf("new link: %v", err)
		}
		// An invitation is revoked, not disabled.
		yes := true
		_, err = f.svc.UpdateTeamUser(ctx, admin, inv.User.ID, app.UserChange{Disabled: &yes, Reason: "x"}, adminMeta)
		wantCode(t, "disable an invited user", err, doorman.ECONFLICT)
		// Making a member a member, or renaming, needs no reason.
		member := doorman.RoleMember
		name := "Late Larry"
		if _, err := f.svc.UpdateTeamUser(ctx, admin, inv.User.ID, app.UserChange{Role: &member, Name: &name}, adminMeta); err != nil {
			t.Fatalf("rename without a reason: %v", err)
		}
		// Revoking removes the invited user; the link stops working and the
		// email may be invited again.
		wantCode(t, "RemoveTeamUser(no reason)", f.svc.RemoveTeamUser(ctx, admin, inv.User.ID, "", adminMeta), doorman.EINVALID)
		if err := f.svc.RemoveTeamUser(ctx, admin, inv.User.ID, "typo in the address", adminMeta); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.AcceptInvitation(ctx, app.AcceptRequest{Token: inviteToken(t, again), Password: newPassword})
		wantCode(t, "AcceptInvitation(revoked)", err, doorman.EINVALID)
		if _, err := f.svc.InviteUser(ctx, admin, app.InviteRequest{Email: "late@acme.example"}, adminMeta); err != nil {
			t.Fatalf("inviting the email again: %v", err)
		}
		// Resending to an active user is a conflict.
		_, err = f.svc.ResendInvitation(ctx, admin, admin.User.ID, adminMeta)
		wantCode(t, "ResendInvitation(active user)", err, doorman.ECONFLICT)
	})
}

func mustSignIn(t *testing.T, f *fixture, email string) string {
	t.Helper()
	tok, _ := f.signIn(t, email, false)
	return tok
}

func TestDisableEnableRemove(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Acme", "boss@acme.example", doorman.RoleAdmin)
		mo := f.user(t, "Acme", "mo@acme.example", doorman.RoleMember)
		_, admin := f.signIn(t, "boss@acme.example", false)
		moTok, _ := f.signIn(t, "mo@acme.example", false)
		moTok2, _ := f.signIn(t, "mo@acme.example", true)
		key, secret, err := f.svc.CreateAPIKey(ctx, admin, "CI", false, adminMeta)
		if err != nil {
			t.Fatal(err)
		}

		yes, member := true, doorman.RoleMember
		_, err = f.svc.UpdateTeamUser(ctx, admin, mo.ID, app.UserChange{Disabled: &yes}, adminMeta)
		wantCode(t, "disable without a reason", err, doorman.EINVALID)
		_, err = f.svc.UpdateTeamUser(ctx, admin, mo.ID, app.UserChange{}, adminMeta)
		wantCode(t, "empty change", err, doorman.EINVALID)
		if _, err := f.auth(moTok); err != nil {
			t.Fatalf("a refused change ended a session: %v", err)
		}

		u, err := f.svc.UpdateTeamUser(ctx, admin, mo.ID, app.UserChange{Disabled: &yes, Reason: "laptop stolen"}, adminMeta)
		if err != nil {
			t.Fatal(err)
		}
		if u.Status() != doorman.UserDisabled {
			t.Fatalf("status %s after disabling", u.Status())
		}
		for _, tok := range []string{moTok, moTok2} {
			_, err := f.auth(tok)
			wantCode(t, "Authenticate(disabled user's session)", err, doorman.EUNAUTHORIZED)
		}
		list, _, _ := store.FindSessions(ctx, doorman.SessionFilter{AccountID: admin.Account.ID, UserID: mo.ID})
		for _, s := range list {
			if s.RevokedAt == nil || s.RevokeReason != "laptop stolen" || s.RevokedBy != admin.User.ID {
				t.Fatalf("session %s of the disabled user: revoked %v by %q for %q", s.ID, s.RevokedAt, s.RevokedBy, s.RevokeReason)
			}
		}
		// The account's API key is the account's: it stays.
		if _, err := f.svc.AuthenticateAPIKey(ctx, secret, app.Meta{}); err != nil {
			t.Fatalf("API key %s after disabling a user: %v", key.ID, err)
		}
		// Same answer as a wrong password.
		_, _, errDisabled := f.svc.SignIn(ctx, app.SignInRequest{Email: "mo@acme.example", Password: password})
		_, _, errWrong := f.svc.SignIn(ctx, app.SignInRequest{Email: "boss@acme.example", Password: "wrong password!"})
		var a, b *doorman.Error
		if !errors.As(errDisabled, &a) || !errors.As(errWrong, &b) || *a != *b {
			t.Fatalf("disabled: %v; wrong password: %v; want the same error", errDisabled, errWrong)
		}

		no := false
		if _, err := f.svc.UpdateTeamUser(ctx, admin, mo.ID, app.UserChange{Disabled: &no}, adminMeta); err != nil {
			t.Fatalf("enable: %v", err)
		}
		newTok, _ := f.signIn(t, "mo@acme.example", false)
		if _, err := f.auth(moTok); err == nil {
			t.Fatal("enabling brought an ended session back")
		}

		// Demoting needs a reason; so does removing.
		boss := admin.User
		_, err = f.svc.UpdateTeamUser(ctx, admin, boss.ID, app.UserChange{Role: &member}, adminMeta)
		wantCode(t, "demote without a reason", err, doorman.EINVALID)
		_, err = f.svc.UpdateTeamUser(ctx, admin, boss.ID, app.UserChange{Role: &member, Reason: "stepping down"}, adminMeta)
		wantCode(t, "demote the last admin", err, doorman.ECONFLICT)
		_, err = f.svc.UpdateTeamUser(ctx, admin, boss.ID, app.UserChange{Disabled: &yes, Reason: "leaving"}, adminMeta)
		wantCode(t, "disable the last admin", err, doorman.ECONFLICT)
		wantCode(t, "remove the last admin", f.svc.RemoveTeamUser(ctx, admin, boss.ID, "leaving", adminMeta), doorman.ECONFLICT)
		if _, err := f.auth(mustSignIn(t, f, "boss@acme.example")); err != nil {
			t.Fatalf("the last admin after refused changes: %v", err)
		}

		if err := f.svc.RemoveTeamUser(ctx, admin, mo.ID, "left the company", adminMeta); err != nil {
			t.Fatal(err)
		}
		_, err = f.auth(newTok)
		wantCode(t, "Authenticate(removed user's session)", err, doorman.EUNAUTHORIZED)
		_, _, err = f.svc.SignIn(ctx, app.SignInRequest{Email: "mo@acme.example", Password: password})
		wantCode(t, "SignIn(removed)", err, doorman.EUNAUTHORIZED)
		people, _ := f.svc.TeamPeople(ctx, admin)
		if len(people) != 1 {
			t.Fatalf("%d people listed after the removal, want 1", len(people))
		}
		_, err = f.svc.UpdateTeamUser(ctx, admin, mo.ID, app.UserChange{Disabled: &no}, adminMeta)
		wantCode(t, "enable a removed user", err, doorman.ENOTFOUND)

		want := map[string]string{doorman.ActionUserDisabled: "laptop stolen", doorman.ActionUserEnabled: "",
			doorman.ActionUserRemoved: "left the company"}
		for _, ev := range events(t, store, admin.Account.ID) {
			reason, ok := want[ev.Action]
			if !ok {
				continue
			}
			if ev.Actor != "boss@acme.example" || ev.Target != "mo@acme.example" || ev.Reason != reason ||
				!strings.Contains(ev.Details, "user_id="+mo.ID) {
				t.Errorf("%s event %+v", ev.Action, ev)
			}
			delete(want, ev.Action)
		}
		if len(want) != 0 {
			t.Fatalf("missing events: %v", want)
		}
	})
}

func TestOperatorUserCommands(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Acme", "boss@acme.example", doorman.RoleAdmin)
		inv, err := f.svc.OperatorInviteUser(ctx, "Acme", app.InviteRequest{Email: "ops@acme.example", Role: doorman.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.OperatorSetPassword(ctx, "Acme", "ops@acme.example", newPassword)
		wantCode(t, "OperatorSetPassword(invited)", err, doorman.ECONFLICT)
		if _, _, err := f.svc.AcceptInvitation(ctx, app.AcceptRequest{Token: inviteToken(t, inv), Password: newPassword}); err != nil {
			t.Fatal(err)
		}
		tok, _ := f.signIn(t, "boss@acme.example", false)
		member := doorman.RoleMember
		_, err = f.svc.OperatorUpdateUser(ctx, "Acme", "boss@acme.example", app.UserChange{Role: &member})
		wantCode(t, "OperatorUpdateUser(demote without a reason)", err, doorman.EINVALID)
		u, err := f.svc.OperatorUpdateUser(ctx, "Acme", "boss@acme.example", app.UserChange{Role: &member, Reason: "handed over"})
		if err != nil || u.Role != doorman.RoleMember {
			t.Fatalf("OperatorUpdateUser = %+v, %v", u, err)
		}
		_, n, err := f.svc.OperatorSetPassword(ctx, "Acme", "boss@acme.example", newPassword)
		if err != nil || n != 1 {
			t.Fatalf("OperatorSetPassword = %d, %v; want 1 session ended", n, err)
		}
		if _, err := f.auth(tok); err == nil {
			t.Fatal("the old session survived a password set by the operator")
		}
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "boss@acme.example", Password: newPassword}); err != nil {
			t.Fatalf("SignIn with the new password: %v", err)
		}
		_, err = f.svc.OperatorUpdateUser(ctx, "Acme", "ops@acme.example", app.UserChange{Role: &member, Reason: "x"})
		wantCode(t, "OperatorUpdateUser(last admin)", err, doorman.ECONFLICT)
		_, err = f.svc.OperatorUpdateUser(ctx, "Nope", "ops@acme.example", app.UserChange{Role: &member, Reason: "x"})
		wantCode(t, "OperatorUpdateUser(unknown account)", err, doorman.ENOTFOUND)
		for _, ev := range events(t, store, inv.User.AccountID) {
			switch ev.Action {
			case doorman.ActionUserInvited, doorman.ActionUserRoleChanged, doorman.ActionPasswordChanged:
				if ev.Actor != doorman.ActorSystem {
					t.Errorf("%s by %q, want the system actor", ev.Action, ev.Actor)
				}
			}
		}
	})
}
