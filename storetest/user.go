package storetest

import (
	"slices"
	"testing"

	"github.com/doorman/doorman"
)

var userTests = []test{
	{"CreateFind", testUserCreateFind},
	{"Conflict", testUserConflict},
	{"AccountNotFound", testUserAccountNotFound},
	{"FindByIDScoped", testUserFindByIDScoped},
	{"FindUsers", testFindUsers},
	{"UpdatePassword", testUserUpdatePassword},
}

func testUserUpdatePassword(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@acme.example")
	other := e.user(a, "bo@acme.example")
	ev := event(a.ID, doorman.ActionPasswordChanged, at(us))
	ok(t, e.s.UpdateUserPassword(e.ctx, a.ID, u.ID, "$argon2id$new", ev), "UpdateUserPassword")
	got, err := e.s.FindUserByID(e.ctx, a.ID, u.ID)
	ok(t, err, "FindUserByID")
	if got.PasswordHash != "$argon2id$new" {
		t.Fatalf("password hash %q after the update", got.PasswordHash)
	}
	if got, _ := e.s.FindUserByID(e.ctx, a.ID, other.ID); got.PasswordHash == "$argon2id$new" {
		t.Fatal("another user's hash changed")
	}
	list, _ := e.audits(doorman.AuditFilter{AccountID: a.ID, Action: doorman.ActionPasswordChanged})
	if len(list) != 1 {
		t.Fatalf("%d password_changed events, want 1", len(list))
	}
	diffEvent(list[0], ev).report(t, "password_changed event")

	// Another account's user, or an unknown one, is not found and nothing
	// is written.
	err = e.s.UpdateUserPassword(e.ctx, b.ID, u.ID, "$argon2id$evil", event(b.ID, doorman.ActionPasswordChanged, at(2*us)))
	wantCode(t, err, doorman.ENOTFOUND, "UpdateUserPassword(user of A, account B)")
	err = e.s.UpdateUserPassword(e.ctx, a.ID, "usr_unknown", "$argon2id$evil", event(a.ID, doorman.ActionPasswordChanged, at(2*us)))
	wantCode(t, err, doorman.ENOTFOUND, "UpdateUserPassword(unknown user)")
	if got, _ := e.s.FindUserByID(e.ctx, a.ID, u.ID); got.PasswordHash != "$argon2id$new" {
		t.Fatalf("password hash %q after refused updates", got.PasswordHash)
	}
	if _, n := e.audits(doorman.AuditFilter{Action: doorman.ActionPasswordChanged}); n != 1 {
		t.Fatalf("%d password_changed events after refused updates, want 1", n)
	}
}

func testUserCreateFind(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	want := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: "ana@acme.example",
		Name: "Ana Pérez", Role: doorman.RoleAdmin, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g",
		Disabled: true, CreatedAt: at(-987654 * us)}
	ev := event(a.ID, doorman.ActionUserCreated, at(us))
	ev.Details = "role=admin"
	ok(t, e.s.CreateUser(e.ctx, want, ev), "CreateUser")

	got, err := e.s.FindUserByID(e.ctx, a.ID, want.ID)
	ok(t, err, "FindUserByID")
	diffUser(got, want).report(t, "FindUserByID")

	member := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: "bo@acme.example",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: Base}
	ok(t, e.s.CreateUser(e.ctx, member, nil), "CreateUser(nil event)")
	got, err = e.s.FindUserByID(e.ctx, a.ID, member.ID)
	ok(t, err, "FindUserByID(member)")
	diffUser(got, member).report(t, "FindUserByID(member)")

	list, n := e.audits(doorman.AuditFilter{AccountID: a.ID})
	if n != 1 || len(list) != 1 {
		t.Fatalf("audit events: %d (total %d), want exactly the user_created event", len(list), n)
	}
	diffEvent(list[0], ev).report(t, "user_created event")
}

func testUserConflict(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")

	dupEmail := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: u.Email,
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: Base}
	err := e.s.CreateUser(e.ctx, dupEmail, event(a.ID, doorman.ActionUserCreated, Base))
	wantCode(t, err, doorman.ECONFLICT, "CreateUser(same email, same account)")
	_, err = e.s.FindUserByID(e.ctx, a.ID, dupEmail.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindUserByID(rejected user)")

	dupID := &doorman.User{ID: u.ID, AccountID: a.ID, Email: "other@example.com",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: Base}
	err = e.s.CreateUser(e.ctx, dupID, event(a.ID, doorman.ActionUserCreated, Base))
	wantCode(t, err, doorman.ECONFLICT, "CreateUser(same id)")
	if n := e.auditTotal(); n != 0 {
		t.Errorf("audit events after rejected CreateUser calls: %d, want 0 (the event must roll back)", n)
	}
	got, err := e.s.FindUserByID(e.ctx, a.ID, u.ID)
	ok(t, err, "FindUserByID")
	diffUser(got, u).report(t, "user after conflicts")

	// The same email is another person in another account.
	other := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: b.ID, Email: u.Email,
		Role: doorman.RoleAdmin, PasswordHash: "y", CreatedAt: Base}
	ok(t, e.s.CreateUser(e.ctx, other, event(b.ID, doorman.ActionUserCreated, Base)), "CreateUser(same email, other account)")
	got, err = e.s.FindUserByID(e.ctx, b.ID, other.ID)
	ok(t, err, "FindUserByID(other account)")
	diffUser(got, other).report(t, "same email in another account")
}

func testUserAccountNotFound(t *testing.T, open opener) {
	e := newEnv(t, open)
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: "acc_missing", Email: "ana@example.com",
		Role: doorman.RoleMember, PasswordHash: "x", CreatedAt: Base}
	err := e.s.CreateUser(e.ctx, u, event("acc_missing", doorman.ActionUserCreated, Base))
	wantCode(t, err, doorman.ENOTFOUND, "CreateUser(unknown account)")
	if n := e.auditTotal(); n != 0 {
		t.Errorf("audit events after a rejected CreateUser: %d, want 0", n)
	}
	users, n, err := e.s.FindUsers(e.ctx, doorman.UserFilter{})
	ok(t, err, "FindUsers")
	if n != 0 || len(users) != 0 {
		t.Errorf("FindUsers after a rejected CreateUser: %d users (total %d), want none", len(users), n)
	}
}

func testUserFindByIDScoped(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	e.user(b, "bo@example.com")

	_, err := e.s.FindUserByID(e.ctx, b.ID, u.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindUserByID(user of A, account B)")
	_, err = e.s.FindUserByID(e.ctx, a.ID, "usr_missing")
	wantCode(t, err, doorman.ENOTFOUND, "FindUserByID(unknown id)")
	_, err = e.s.FindUserByID(e.ctx, "acc_missing", u.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindUserByID(unknown account)")
}

func testFindUsers(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	// Created out of order so that insertion order is not email order.
	var inA []*doorman.User
	for _, email := range []string{"dan@example.com", "ana@example.com", "eve@example.com", "bo@example.com", "cy@example.com"} {
		inA = append(inA, e.user(a, email))
	}
	ana := inA[1]
	anaB := e.user(b, "ana@example.com")
	zed := e.user(b, "zed@example.com")

	find := func(f doorman.UserFilter) ([]*doorman.User, int) {
		t.Helper()
		list, n, err := e.s.FindUsers(e.ctx, f)
		ok(t, err, "FindUsers")
		return list, n
	}
	byEmail := slices.Clone(inA)
	slices.SortFunc(byEmail, func(x, y *doorman.User) int {
		if x.Email < y.Email {
			return -1
		}
		return 1
	})
	wantAll := userIDs(byEmail)

	list, n := find(doorman.UserFilter{AccountID: a.ID})
	if !slices.Equal(userIDs(list), wantAll) || n != 5 {
		t.Errorf("FindUsers(account A) = %v (total %d), want %v ordered by email (total 5)", userIDs(list), n, wantAll)
	}
	for i := range list {
		diffUser(list[i], byEmail[i]).report(t, "FindUsers row "+byEmail[i].Email)
	}

	list, n = find(doorman.UserFilter{AccountID: a.ID, Limit: 2, Offset: 1})
	if !slices.Equal(userIDs(list), wantAll[1:3]) || n != 5 {
		t.Errorf("FindUsers(Limit 2, Offset 1) = %v (total %d), want %v (total 5)", userIDs(list), n, wantAll[1:3])
	}
	list, n = find(doorman.UserFilter{AccountID: a.ID, Limit: 10, Offset: 3})
	if !slices.Equal(userIDs(list), wantAll[3:]) || n != 5 {
		t.Errorf("FindUsers(Limit 10, Offset 3) = %v (total %d), want %v (total 5)", userIDs(list), n, wantAll[3:])
	}
	list, n = find(doorman.UserFilter{AccountID: a.ID, Limit: 2, Offset: 5})
	if len(list) != 0 || n != 5 {
		t.Errorf("FindUsers(Offset past the end) = %v (total %d), want none (total 5)", userIDs(list), n)
	}

	// The sign-in lookup: one email in every account.
	list, n = find(doorman.UserFilter{Email: "ana@example.com"})
	if !sameSet(userIDs(list), []string{ana.ID, anaB.ID}) || n != 2 {
		t.Errorf("FindUsers(email across accounts) = %v (total %d), want %v (total 2)", userIDs(list), n, []string{ana.ID, anaB.ID})
	}
	list, n = find(doorman.UserFilter{Email: "ana@example.com", Limit: 1})
	if len(list) != 1 || n != 2 {
		t.Errorf("FindUsers(email, Limit 1) = %v (total %d), want one user (total 2)", userIDs(list), n)
	}
	list, n = find(doorman.UserFilter{AccountID: b.ID, Email: "ana@example.com"})
	if !slices.Equal(userIDs(list), []string{anaB.ID}) || n != 1 {
		t.Errorf("FindUsers(account B, email) = %v (total %d), want [%s]", userIDs(list), n, anaB.ID)
	}
	list, n = find(doorman.UserFilter{Email: "nobody@example.com"})
	if len(list) != 0 || n != 0 {
		t.Errorf("FindUsers(unknown email) = %v (total %d), want none (an empty list, not an error)", userIDs(list), n)
	}
	list, n = find(doorman.UserFilter{ID: zed.ID})
	if !slices.Equal(userIDs(list), []string{zed.ID}) || n != 1 {
		t.Errorf("FindUsers(ID) = %v (total %d), want [%s]", userIDs(list), n, zed.ID)
	}
	list, n = find(doorman.UserFilter{AccountID: a.ID, ID: zed.ID})
	if len(list) != 0 || n != 0 {
		t.Errorf("FindUsers(account A, ID of a user of B) = %v (total %d), want none", userIDs(list), n)
	}
	list, n = find(doorman.UserFilter{})
	if len(list) != 7 || n != 7 {
		t.Errorf("FindUsers(no filter) = %d users (total %d), want 7", len(list), n)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].Email > list[i].Email {
			t.Errorf("FindUsers(no filter) not ordered by email: %s before %s", list[i-1].Email, list[i].Email)
		}
	}
}
