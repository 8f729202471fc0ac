package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var invitationTests = []test{
	{"InviteAccept", testInviteAccept},
	{"InviteConflict", testInviteConflict},
	{"AcceptExpired", testAcceptExpired},
	{"Renew", testRenewInvitation},
}

// invite stores an invited user of a with that email and role, and its
// invitation created at Base; it returns both.
func (e *env) invite(a *doorman.Account, email string, role doorman.Role) (*doorman.User, *doorman.Invitation) {
	e.tb.Helper()
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: email, Role: role,
		PasswordHash: "$argon2id$placeholder", Invited: true, CreatedAt: Base}
	inv := newInvitation(u, Base)
	if err := e.s.InviteUser(e.ctx, u, inv, event(a.ID, doorman.ActionUserInvited, Base)); err != nil {
		e.tb.Fatalf("InviteUser(%s): %v", email, err)
	}
	return u, inv
}

func newInvitation(u *doorman.User, t time.Time) *doorman.Invitation {
	_, hash := doorman.NewToken()
	return &doorman.Invitation{UserID: u.ID, AccountID: u.AccountID, TokenHash: hash, CreatedAt: t, ExpiresAt: t.Add(doorman.InvitationTTL)}
}

func testInviteAccept(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u, inv := e.invite(a, "new@acme.example", doorman.RoleMember)
	got := e.userByID(a, u.ID)
	if !got.Invited || got.Status() != doorman.UserInvited || got.RemovedAt != nil {
		t.Fatalf("invited user read back as %+v", got)
	}
	found, err := e.s.FindInvitation(e.ctx, inv.TokenHash)
	ok(t, err, "FindInvitation")
	if found.UserID != u.ID || found.AccountID != a.ID || found.Email != u.Email || !bytes.Equal(found.TokenHash, inv.TokenHash) ||
		!found.CreatedAt.Equal(inv.CreatedAt) || !found.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Fatalf("FindInvitation = %+v, want %+v", found, inv)
	}
	_, other := doorman.NewToken()
	_, err = e.s.FindInvitation(e.ctx, other)
	wantCode(t, err, doorman.ENOTFOUND, "FindInvitation(unknown)")

	ev := event(a.ID, doorman.ActionInvitationAccepted, at(time.Hour))
	acc, err := e.s.AcceptInvitation(e.ctx, inv.TokenHash, "Nia New", "$argon2id$chosen", at(time.Hour), ev)
	ok(t, err, "AcceptInvitation")
	if acc.ID != u.ID || acc.Invited || acc.Name != "Nia New" || acc.PasswordHash != "$argon2id$chosen" || acc.Status() != doorman.UserActive {
		t.Fatalf("accepted user %+v", acc)
	}
	if got := e.userByID(a, u.ID); got.Invited || got.Name != "Nia New" || got.PasswordHash != "$argon2id$chosen" {
		t.Fatalf("accepted user read back as %+v", got)
	}
	list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionInvitationAccepted})
	if len(list) != 1 {
		t.Fatalf("%d invitation_accepted events, want 1", len(list))
	}
	diffEvent(list[0], ev).report(t, "invitation_accepted event")

	// The link works once.
	_, err = e.s.AcceptInvitation(e.ctx, inv.TokenHash, "Eve", "$argon2id$evil", at(2*time.Hour), event(a.ID, doorman.ActionInvitationAccepted, at(2*time.Hour)))
	wantCode(t, err, doorman.ENOTFOUND, "AcceptInvitation(second use)")
	_, err = e.s.FindInvitation(e.ctx, inv.TokenHash)
	wantCode(t, err, doorman.ENOTFOUND, "FindInvitation(used)")
	if got := e.userByID(a, u.ID); got.PasswordHash != "$argon2id$chosen" {
		t.Fatal("a second use changed the password")
	}
	if _, n := e.audits(doorman.AuditFilter{Action: doorman.ActionInvitationAccepted}); n != 1 {
		t.Fatalf("%d invitation_accepted events after a refused use, want 1", n)
	}
}

func testInviteConflict(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	e.user(a, "ana@acme.example")
	before := e.auditTotal()
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: "ana@acme.example",
		Role: doorman.RoleMember, PasswordHash: "$argon2id$x", Invited: true, CreatedAt: Base}
	err := e.s.InviteUser(e.ctx, u, newInvitation(u, Base), event(a.ID, doorman.ActionUserInvited, Base))
	wantCode(t, err, doorman.ECONFLICT, "InviteUser(email taken)")
	if _, err := e.s.FindUserByID(e.ctx, a.ID, u.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
		t.Fatalf("refused invitation left a user: %v", err)
	}
	if n := e.auditTotal(); n != before {
		t.Fatalf("refused invitation wrote %d events", n-before)
	}
	// The same email in another account is another person.
	e.invite(b, "ana@acme.example", doorman.RoleMember)
	// An unknown account.
	ghost := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, Base)}
	v := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: ghost.ID, Email: "x@acme.example",
		Role: doorman.RoleMember, PasswordHash: "$argon2id$x", Invited: true, CreatedAt: Base}
	err = e.s.InviteUser(e.ctx, v, newInvitation(v, Base), nil)
	wantCode(t, err, doorman.ENOTFOUND, "InviteUser(unknown account)")
}

func testAcceptExpired(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u, inv := e.invite(a, "late@acme.example", doorman.RoleMember)
	_, err := e.s.AcceptInvitation(e.ctx, inv.TokenHash, "Late", "$argon2id$late", inv.ExpiresAt, nil)
	wantCode(t, err, doorman.ENOTFOUND, "AcceptInvitation(at its expiry)")
	if got := e.userByID(a, u.ID); !got.Invited {
		t.Fatal("an expired invitation was accepted")
	}
	// A disabled invited user cannot accept.
	_, err = e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Disabled: flag(true)}, nil)
	ok(t, err, "UpdateUser(disable invited)")
	_, err = e.s.AcceptInvitation(e.ctx, inv.TokenHash, "Late", "$argon2id$late", inv.ExpiresAt.Add(-us), nil)
	wantCode(t, err, doorman.ENOTFOUND, "AcceptInvitation(disabled)")
	if _, err := e.s.FindInvitation(e.ctx, inv.TokenHash); err != nil {
		t.Fatalf("a refused acceptance used the invitation: %v", err)
	}
	_, err = e.s.UpdateUser(e.ctx, a.ID, u.ID, doorman.UserUpdate{Disabled: flag(false)}, nil)
	ok(t, err, "UpdateUser(enable invited)")
	// One microsecond earlier it still works.
	_, err = e.s.AcceptInvitation(e.ctx, inv.TokenHash, "Late", "$argon2id$late", inv.ExpiresAt.Add(-us), nil)
	ok(t, err, "AcceptInvitation(just before expiry)")
}

func testRenewInvitation(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u, old := e.invite(a, "new@acme.example", doorman.RoleMember)
	renewed := newInvitation(u, at(time.Hour))
	ev := event(a.ID, doorman.ActionInvitationResent, at(time.Hour))
	ok(t, e.s.RenewInvitation(e.ctx, renewed, ev), "RenewInvitation")
	_, err := e.s.FindInvitation(e.ctx, old.TokenHash)
	wantCode(t, err, doorman.ENOTFOUND, "FindInvitation(replaced)")
	_, err = e.s.AcceptInvitation(e.ctx, old.TokenHash, "", "$argon2id$x", at(2*time.Hour), nil)
	wantCode(t, err, doorman.ENOTFOUND, "AcceptInvitation(replaced)")
	got, err := e.s.FindInvitation(e.ctx, renewed.TokenHash)
	ok(t, err, "FindInvitation(renewed)")
	if !got.ExpiresAt.Equal(renewed.ExpiresAt) {
		t.Fatalf("renewed invitation expires at %v, want %v", got.ExpiresAt, renewed.ExpiresAt)
	}
	list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionInvitationResent})
	if len(list) != 1 {
		t.Fatalf("%d invitation_resent events, want 1", len(list))
	}

	// Another account, an active user, an unknown user: not found.
	other := newInvitation(u, at(time.Hour))
	other.AccountID = b.ID
	wantCode(t, e.s.RenewInvitation(e.ctx, other, nil), doorman.ENOTFOUND, "RenewInvitation(other account)")
	active := e.user(a, "ana@acme.example")
	wantCode(t, e.s.RenewInvitation(e.ctx, newInvitation(active, Base), nil), doorman.ENOTFOUND, "RenewInvitation(active user)")
	_, err = e.s.AcceptInvitation(e.ctx, renewed.TokenHash, "", "$argon2id$x", at(2*time.Hour), nil)
	ok(t, err, "AcceptInvitation(renewed)")
	wantCode(t, e.s.RenewInvitation(e.ctx, newInvitation(u, at(3*time.Hour)), nil), doorman.ENOTFOUND, "RenewInvitation(accepted)")
}
