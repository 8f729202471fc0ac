package storetest

import (
	"sync"
	"testing"

	"github.com/doorman/doorman"
)

// userUpdateTests check UpdateUser: changes of role, status and name, the
// last-admin rule, and removal.
var userUpdateTests = []test{
	{"UpdateUser", testUpdateUser},
	{"LastAdmin", testLastAdmin},
	{"LastAdminRace", testLastAdminRace},
	{"RemoveUser", testRemoveUser},
	{"RemoveInvited", testRemoveInvited},
}

// admin creates an active admin of a with that email.
func (e *env) admin(a *doorman.Account, email string) *doorman.User {
	e.tb.Helper()
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: email, Name: "Admin " + email,
		Role: doorman.RoleAdmin, PasswordHash: "$argon2id$admin", CreatedAt: at(-60 * day)}
	ok(e.tb, e.s.CreateUser(e.ctx, u, nil), "CreateUser(admin)")
	return u
}

func (e *env) userByID(a *doorman.Account, id string) *doorman.User {
	e.tb.Helper()
	u, err := e.s.FindUserByID(e.ctx, a.ID, id)
	ok(e.tb, err, "FindUserByID")
	return u
}

func role(r doorman.Role) *doorman.Role { return &r }
func flag(b bool) *bool                 { return &b }

func testUpdateUser(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	e.admin(a, "boss@acme.example")
	u := e.user(a, "ana@acme.example")
	sess := e.session(u, nil)
	ev := event(a.ID, doorman.ActionUserRoleChanged, at(us))
	ev.Reason = "runs the team now"
	got, err := e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Role: role(doorman.RoleAdmin), At: at(us)}, ev)
	ok(t, err, "UpdateUser(role)")
	if got.Role != doorman.RoleAdmin || got.Name != u.Name || got.Disabled {
		t.Fatalf("after promotion: %+v", got)
	}
	list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionUserRoleChanged})
	if len(list) != 1 {
		t.Fatalf("%d user_role_changed events, want 1", len(list))
	}
	diffEvent(list[0], ev).report(t, "user_role_changed event")

	got, err = e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Disabled: flag(true), Name: ptrString("Ana P."), At: at(2 * us)}, nil)
	ok(t, err, "UpdateUser(disable, rename)")
	if !got.Disabled || got.Name != "Ana P." || got.Role != doorman.RoleAdmin || got.Status() != doorman.UserDisabled {
		t.Fatalf("after disabling: %+v", got)
	}
	// The principal of the user's session reads the user as disabled; the
	// session itself is the Service's to revoke.
	p, err := e.s.FindSessionByTokenHash(e.ctx, sess.TokenHash)
	ok(t, err, "FindSessionByTokenHash")
	if !p.User.Disabled || p.Session.RevokedAt != nil {
		t.Fatalf("principal after disabling: user disabled %t, session revoked %v", p.User.Disabled, p.Session.RevokedAt)
	}
	got, err = e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Disabled: flag(false), At: at(3 * us)}, nil)
	ok(t, err, "UpdateUser(enable)")
	if got.Disabled {
		t.Fatal("still disabled after enabling")
	}
	if p, _ := e.s.FindSessionByTokenHash(e.ctx, sess.TokenHash); p.User.Disabled {
		t.Fatal("principal still disabled after enabling")
	}

	before := e.auditTotal()
	_, err = e.s.UpdateUser(e.ctx, b.ID, u.ID, doorman.UserUpdate{Disabled: flag(true)}, event(b.ID, doorman.ActionUserDisabled, at(4*us)))
	wantCode(t, err, doorman.ENOTFOUND, "UpdateUser(user of A, account B)")
	_, err = e.s.UpdateUser(e.ctx, a.ID, "usr_unknown", doorman.UserUpdate{Disabled: flag(true)}, event(a.ID, doorman.ActionUserDisabled, at(4*us)))
	wantCode(t, err, doorman.ENOTFOUND, "UpdateUser(unknown)")
	if n := e.auditTotal(); n != before {
		t.Fatalf("refused updates wrote %d events", n-before)
	}
	if got := e.userByID(a, u.ID); got.Disabled {
		t.Fatal("a refused update disabled the user")
	}
}

func ptrString(s string) *string { return &s }

func testLastAdmin(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	boss := e.admin(a, "boss@acme.example")
	e.user(a, "ana@acme.example")
	// Admins who cannot act do not count: invited, disabled, removed.
	e.invite(a, "later@acme.example", doorman.RoleAdmin)
	off := e.admin(a, "off@acme.example")
	_, err := e.s.UpdateUser(e.ctx, a.ID, off.ID, doorman.UserUpdate{Disabled: flag(true)}, nil)
	ok(t, err, "UpdateUser(disable the other admin)")
	gone := e.admin(a, "gone@acme.example")
	_, err = e.s.UpdateUser(e.ctx, a.ID, gone.ID, doorman.UserUpdate{Remove: true, At: Base}, nil)
	ok(t, err, "UpdateUser(remove the other admin)")

	before := e.auditTotal()
	for name, upd := range map[string]doorman.UserUpdate{
		"demote":  {Role: role(doorman.RoleMember)},
		"disable": {Disabled: flag(true)},
		"remove":  {Remove: true, At: Base},
	} {
		_, err := e.s.UpdateUser(e.ctx, a.ID, boss.ID, upd, event(a.ID, doorman.ActionUserRoleChanged, at(us)))
		wantCode(t, err, doorman.ECONFLICT, "UpdateUser("+name+" the last admin)")
	}
	if got := e.userByID(a, boss.ID); !got.IsActiveAdmin() {
		t.Fatalf("the last admin changed: %+v", got)
	}
	if n := e.auditTotal(); n != before {
		t.Fatalf("refused changes wrote %d events", n-before)
	}
	// Renaming the last admin, or "making" them admin again, is no loss.
	_, err = e.s.UpdateUser(e.ctx, a.ID, boss.ID, doorman.UserUpdate{Name: ptrString("The Boss"), Role: role(doorman.RoleAdmin)}, nil)
	ok(t, err, "UpdateUser(rename the last admin)")
	// Enabling the other admin makes demoting the first possible.
	_, err = e.s.UpdateUser(e.ctx, a.ID, off.ID, doorman.UserUpdate{Disabled: flag(false)}, nil)
	ok(t, err, "UpdateUser(enable the other admin)")
	_, err = e.s.UpdateUser(e.ctx, a.ID, boss.ID, doorman.UserUpdate{Role: role(doorman.RoleMember)}, nil)
	ok(t, err, "UpdateUser(demote with another admin)")
}

// testLastAdminRace has two admins demote (or disable, or remove) each
// other at once, many times: one change always fails, and the account
// always keeps one active admin.
func testLastAdminRace(t *testing.T, open opener) {
	e := newEnv(t, open)
	changes := []doorman.UserUpdate{
		{Role: role(doorman.RoleMember)},
		{Disabled: flag(true)},
		{Remove: true, At: Base},
	}
	for i := range 30 {
		a := e.account("Race "+uniq(), doorman.DefaultSettings())
		x, y := e.admin(a, "x@race.example"), e.admin(a, "y@race.example")
		upd := changes[i%len(changes)]
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, target := range []*doorman.User{x, y} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = e.s.UpdateUser(e.ctx, a.ID, target.ID, upd, event(a.ID, doorman.ActionUserRoleChanged, at(us)))
			}()
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			switch doorman.ErrorCode(err) {
			case "":
			case doorman.ECONFLICT:
				failed++
			default:
				t.Fatalf("round %d: UpdateUser: %v", i, err)
			}
		}
		if failed != 1 {
			t.Fatalf("round %d (%+v): %d of two crossing changes failed, want exactly 1", i, upd, failed)
		}
		users, _, err := e.s.FindUsers(e.ctx, doorman.UserFilter{AccountID: a.ID})
		ok(t, err, "FindUsers")
		active := 0
		for _, u := range users {
			if u.IsActiveAdmin() {
				active++
			}
		}
		if active != 1 {
			t.Fatalf("round %d: %d active admins left, want 1", i, active)
		}
	}
}

func testRemoveUser(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	e.admin(a, "boss@acme.example")
	u := e.user(a, "ana@acme.example")
	ev := event(a.ID, doorman.ActionUserRemoved, at(us))
	ev.Reason = "left the company"
	got, err := e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Remove: true, At: at(us)}, ev)
	ok(t, err, "UpdateUser(remove)")
	if got == nil || got.RemovedAt == nil || !got.RemovedAt.Equal(at(us)) || !got.Disabled {
		t.Fatalf("UpdateUser(remove) returned %+v", got)
	}
	// The row stays, naming the person for the audit log.
	kept := e.userByID(a, u.ID)
	if kept.Status() != doorman.UserRemoved || kept.Email != u.Email || kept.Name != u.Name || !kept.Disabled ||
		kept.RemovedAt == nil || !kept.RemovedAt.Equal(at(us)) {
		t.Fatalf("removed user read back as %+v", kept)
	}
	list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionUserRemoved})
	if len(list) != 1 {
		t.Fatalf("%d user_removed events, want 1", len(list))
	}
	diffEvent(list[0], ev).report(t, "user_removed event")
	// A removed user cannot be changed or removed again, and is not on the
	// team view; the email stays reserved.
	_, err = e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Disabled: flag(false)}, nil)
	wantCode(t, err, doorman.ENOTFOUND, "UpdateUser(enable a removed user)")
	_, err = e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Remove: true, At: at(2 * us)}, nil)
	wantCode(t, err, doorman.ENOTFOUND, "UpdateUser(remove twice)")
	members, users, _ := e.team(a.ID, doorman.Window(a.Settings, Base), doorman.TeamFilter{Limit: 50})
	if users != 1 || len(members) != 1 || members[0].User.ID == u.ID {
		t.Fatalf("team view after removal: %d users, %d rows", users, len(members))
	}
	v := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: u.Email,
		Role: doorman.RoleMember, PasswordHash: "$argon2id$x", Invited: true, CreatedAt: Base}
	wantCode(t, e.s.InviteUser(e.ctx, v, newInvitation(v, Base), nil), doorman.ECONFLICT, "InviteUser(removed user's email)")
}

func testRemoveInvited(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	e.admin(a, "boss@acme.example")
	u, inv := e.invite(a, "typo@acme.example", doorman.RoleMember)
	ev := event(a.ID, doorman.ActionInvitationRevoked, at(us))
	got, err := e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Remove: true, At: at(us)}, ev)
	ok(t, err, "UpdateUser(remove invited)")
	if got != nil {
		t.Fatalf("removing an invited user returned %+v, want nil", got)
	}
	_, err = e.s.FindUserByID(e.ctx, a.ID, u.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindUserByID(revoked invitation)")
	_, err = e.s.FindInvitation(e.ctx, inv.TokenHash)
	wantCode(t, err, doorman.ENOTFOUND, "FindInvitation(revoked)")
	_, err = e.s.AcceptInvitation(e.ctx, inv.TokenHash, "", "$argon2id$x", at(2*us), nil)
	wantCode(t, err, doorman.ENOTFOUND, "AcceptInvitation(revoked)")
	if list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionInvitationRevoked}); len(list) != 1 {
		t.Fatalf("%d invitation_revoked events, want 1", len(list))
	}
	// The email is free again.
	e.invite(a, "typo@acme.example", doorman.RoleMember)
}
