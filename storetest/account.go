package storetest

import (
	"testing"

	"github.com/doorman/doorman"
)

var accountTests = []test{
	{"CreateFind", testAccountCreateFind},
	{"Conflict", testAccountConflict},
	{"UpdateSettings", testAccountUpdateSettings},
	{"UpdateSettingsNotFound", testAccountUpdateSettingsNotFound},
}

func testAccountCreateFind(t *testing.T, open opener) {
	e := newEnv(t, open)
	want := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, Base), Name: "Acme Corp",
		Settings: doorman.Settings{IdleTimeout: doorman.Idle30Days, RememberMeAllowed: false, RememberMeDays: 365, MembersSeeSessions: false,
			EndSessionOnFailedProof: false},
		CreatedAt: at(123456 * us)}
	ok(t, e.s.CreateAccount(e.ctx, want), "CreateAccount")
	other := e.account("Globex", doorman.DefaultSettings())

	got, err := e.s.FindAccountByID(e.ctx, want.ID)
	ok(t, err, "FindAccountByID")
	diffAccount(got, want).report(t, "FindAccountByID")
	got, err = e.s.FindAccountByName(e.ctx, want.Name)
	ok(t, err, "FindAccountByName")
	diffAccount(got, want).report(t, "FindAccountByName")
	got, err = e.s.FindAccountByID(e.ctx, other.ID)
	ok(t, err, "FindAccountByID(other)")
	diffAccount(got, other).report(t, "FindAccountByID(other)")

	_, err = e.s.FindAccountByID(e.ctx, "acc_missing")
	wantCode(t, err, doorman.ENOTFOUND, "FindAccountByID(unknown)")
	_, err = e.s.FindAccountByName(e.ctx, "Initech")
	wantCode(t, err, doorman.ENOTFOUND, "FindAccountByName(unknown)")
}

func testAccountConflict(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())

	dupName := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, Base), Name: a.Name,
		Settings: doorman.DefaultSettings(), CreatedAt: Base}
	wantCode(t, e.s.CreateAccount(e.ctx, dupName), doorman.ECONFLICT, "CreateAccount(same name)")
	dupID := &doorman.Account{ID: a.ID, Name: "Other name", Settings: doorman.DefaultSettings(), CreatedAt: Base}
	wantCode(t, e.s.CreateAccount(e.ctx, dupID), doorman.ECONFLICT, "CreateAccount(same id)")

	_, err := e.s.FindAccountByID(e.ctx, dupName.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindAccountByID(rejected account)")
	_, err = e.s.FindAccountByName(e.ctx, dupID.Name)
	wantCode(t, err, doorman.ENOTFOUND, "FindAccountByName(rejected account)")
	got, err := e.s.FindAccountByID(e.ctx, a.ID)
	ok(t, err, "FindAccountByID")
	diffAccount(got, a).report(t, "account after conflicts")
}

func testAccountUpdateSettings(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())

	if !a.Settings.MembersSeeSessions || !a.Settings.EndSessionOnFailedProof {
		t.Fatalf("DefaultSettings: %+v, want MembersSeeSessions and EndSessionOnFailedProof true", a.Settings)
	}
	set := doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: false, RememberMeDays: 7, MembersSeeSessions: false,
		EndSessionOnFailedProof: false}
	ev := event(a.ID, doorman.ActionSettingsUpdated, at(5*us))
	ev.Details = "idle_timeout=7d->1d remember_me_allowed=true->false remember_me_days=30->7 members_see_sessions=true->false"
	n, err := e.s.UpdateAccountSettings(e.ctx, a.ID, set, at(5*us), ev)
	ok(t, err, "UpdateAccountSettings")
	if n != 0 || ev.Count != 0 {
		t.Errorf("UpdateAccountSettings of an account without sessions = %d, ev.Count %d, want 0 and 0", n, ev.Count)
	}

	got, err := e.s.FindAccountByID(e.ctx, a.ID)
	ok(t, err, "FindAccountByID")
	want := *a
	want.Settings = set
	diffAccount(got, &want).report(t, "account after UpdateAccountSettings")
	got, err = e.s.FindAccountByID(e.ctx, b.ID)
	ok(t, err, "FindAccountByID(other)")
	diffAccount(got, b).report(t, "other account after UpdateAccountSettings")

	list, n := e.audits(doorman.AuditFilter{AccountID: a.ID})
	if n != 1 || len(list) != 1 {
		t.Fatalf("audit events of the account: %d (total %d), want the settings event", len(list), n)
	}
	diffEvent(list[0], ev).report(t, "settings audit event")

	// And back: the field is stored, not only defaulted.
	set.MembersSeeSessions = true
	set.EndSessionOnFailedProof = true
	_, err = e.s.UpdateAccountSettings(e.ctx, a.ID, set, at(6*us), event(a.ID, doorman.ActionSettingsUpdated, at(6*us)))
	ok(t, err, "UpdateAccountSettings")
	got, err = e.s.FindAccountByID(e.ctx, a.ID)
	ok(t, err, "FindAccountByID")
	want.Settings = set
	diffAccount(got, &want).report(t, "account after a second UpdateAccountSettings")
}

func testAccountUpdateSettingsNotFound(t *testing.T, open opener) {
	e := newEnv(t, open)
	e.account("Acme", doorman.DefaultSettings())
	ev := event("acc_missing", doorman.ActionSettingsUpdated, Base)
	_, err := e.s.UpdateAccountSettings(e.ctx, "acc_missing", doorman.DefaultSettings(), Base, ev)
	wantCode(t, err, doorman.ENOTFOUND, "UpdateAccountSettings(unknown id)")
	if n := e.auditTotal(); n != 0 {
		t.Errorf("audit events after a failed UpdateAccountSettings: %d, want 0 (the event must roll back)", n)
	}
}
