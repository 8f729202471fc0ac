package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/demo"
)

// signInFrom signs email in with a request's address and User-Agent.
func (f *fixture) signInFrom(t *testing.T, email, ip, ua string) (string, *doorman.Principal) {
	t.Helper()
	tok, p, err := f.svc.SignIn(context.Background(), app.SignInRequest{Email: email, Password: password,
		Meta: app.Meta{IP: ip, UserAgent: ua}})
	if err != nil {
		t.Fatal(err)
	}
	return tok, p
}

// fresh re-reads a principal as its next request would, with the account's
// settings as they are now.
func (f *fixture) fresh(t *testing.T, tok string) *doorman.Principal {
	t.Helper()
	p, err := f.auth(tok)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// events returns every audit event of the account, newest first.
func events(t *testing.T, store doorman.Store, accountID string) []*doorman.AuditEvent {
	t.Helper()
	evs, _, err := store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: accountID})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// newEvents returns the events written since before was taken (events
// returns newest first).
func newEvents(t *testing.T, store doorman.Store, accountID string, before []*doorman.AuditEvent) []*doorman.AuditEvent {
	t.Helper()
	now := events(t, store, accountID)
	return now[:len(now)-len(before)]
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if doorman.ErrorCode(err) != code {
		t.Errorf("%s: error %v, want %s", what, err, code)
	}
}

var adminMeta = app.Meta{IP: "198.51.100.7", UserAgent: "Mozilla/5.0 (admin console)"}

// adminCalls calls every admin method as p and returns each one's error.
func adminCalls(ctx context.Context, svc *app.Service, p *doorman.Principal, userID, accountID string) map[string]error {
	errs := map[string]error{}
	_, _, _, errs["TeamSessions"] = svc.TeamSessions(ctx, p, doorman.TeamFilter{})
	_, errs["TeamUsers"] = svc.TeamUsers(ctx, p)
	_, _, errs["TeamUserSessions"] = svc.TeamUserSessions(ctx, p, userID)
	_, _, _, errs["TeamUserHistory"] = svc.TeamUserHistory(ctx, p, userID)
	_, _, errs["ForceSignOut"] = svc.ForceSignOut(ctx, p, userID, "Security concern", adminMeta)
	_, errs["SignOutTeam"] = svc.SignOutTeam(ctx, p, "Security concern", adminMeta)
	_, _, errs["AuditLog"] = svc.AuditLog(ctx, p, doorman.AuditFilter{})
	errs["ExportAudit"] = svc.ExportAudit(ctx, p, doorman.AuditFilter{}, func(*doorman.AuditEvent) error { return nil })
	_, errs["UpdateSettings"] = svc.UpdateSettings(ctx, p, accountID, doorman.DefaultSettings(), adminMeta)
	return errs
}

func TestAdminMethodsForbidMembers(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		admin := f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		adminTok, _ := f.signIn(t, "admin@company.com", false)
		_, sarah := f.signIn(t, "sarah@company.com", false)
		before := events(t, store, admin.AccountID)
		for name, err := range adminCalls(ctx, f.svc, sarah, admin.ID, admin.AccountID) {
			wantCode(t, "member calling "+name, err, doorman.EFORBIDDEN)
		}
		if got := newEvents(t, store, admin.AccountID, before); len(got) != 0 {
			t.Errorf("refused admin calls wrote %d audit events", len(got))
		}
		if _, err := f.auth(adminTok); err != nil {
			t.Errorf("a member's refused sign-outs signed the admin out: %v", err)
		}
	})
}

func TestAdminCannotReachAnotherAccount(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		adminA := f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		adminB := f.user(t, "Agency", "boss@agency.com", doorman.RoleAdmin)
		guestB := f.user(t, "Agency", "guest@agency.com", doorman.RoleMember)
		_, pA := f.signIn(t, "admin@company.com", false)
		tokB, _ := f.signIn(t, "guest@agency.com", false)
		tokBoss, _ := f.signIn(t, "boss@agency.com", false)
		beforeB := events(t, store, adminB.AccountID)

		if _, _, err := f.svc.TeamUserSessions(ctx, pA, guestB.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("TeamUserSessions(another account's user) = %v, want ENOTFOUND", err)
		}
		if _, _, err := f.svc.ForceSignOut(ctx, pA, guestB.ID, "Security concern", adminMeta); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("ForceSignOut(another account's user) = %v, want ENOTFOUND", err)
		}
		if _, _, err := f.svc.ForceSignOut(ctx, pA, "usr_missing", "Security concern", adminMeta); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("ForceSignOut(unknown user) = %v, want ENOTFOUND", err)
		}
		if _, err := f.svc.UpdateSettings(ctx, pA, adminB.AccountID, doorman.Settings{IdleTimeout: doorman.Idle1Day,
			RememberMeDays: 1}, adminMeta); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("UpdateSettings(another account) = %v, want ENOTFOUND", err)
		}
		members, users, active, err := f.svc.TeamSessions(ctx, pA, doorman.TeamFilter{})
		if err != nil || users != 2 || active != 1 || len(members) != 2 {
			t.Errorf("TeamSessions = %d members, %d users, %d active, %v; want Company's 2 users and 1 session", len(members), users, active, err)
		}
		for _, m := range members {
			if m.User.AccountID != adminA.AccountID {
				t.Errorf("TeamSessions listed %s of another account", m.User.Email)
			}
		}
		if members, users, _, _ := f.svc.TeamSessions(ctx, pA, doorman.TeamFilter{Email: "guest@agency.com"}); len(members) != 0 || users != 0 {
			t.Errorf("TeamSessions(filter by another account's email) = %d members, %d users; want none", len(members), users)
		}
		list, _ := f.svc.TeamUsers(ctx, pA)
		for _, u := range list {
			if u.AccountID != adminA.AccountID {
				t.Errorf("TeamUsers listed %s of another account", u.Email)
			}
		}
		evs, n, err := f.svc.AuditLog(ctx, pA, doorman.AuditFilter{AccountID: adminB.AccountID})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.AccountID != adminA.AccountID {
				t.Errorf("AuditLog with another account's id in the filter returned its event %s %s", ev.Action, ev.Target)
			}
		}
		if n != len(evs) || n == 0 {
			t.Errorf("AuditLog total %d for %d events", n, len(evs))
		}
		_ = f.svc.ExportAudit(ctx, pA, doorman.AuditFilter{AccountID: adminB.AccountID}, func(ev *doorman.AuditEvent) error {
			if ev.AccountID != adminA.AccountID {
				t.Errorf("ExportAudit returned another account's event %s", ev.ID)
			}
			return nil
		})
		// Team B is as it was.
		for _, tok := range []string{tokB, tokBoss} {
			if _, err := f.auth(tok); err != nil {
				t.Errorf("a session of account B ended: %v", err)
			}
		}
		if got := newEvents(t, store, adminB.AccountID, beforeB); len(got) != 0 {
			t.Errorf("account B's audit log grew by %d events", len(got))
		}
		acct, _ := store.FindAccountByID(ctx, adminB.AccountID)
		if acct.Settings != doorman.DefaultSettings() {
			t.Errorf("account B's settings changed: %+v", acct.Settings)
		}
	})
}

func TestForceSignOut(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		guest := f.user(t, "Company", "guest@agency.com", doorman.RoleMember)
		adminTok, admin := f.signIn(t, "admin@company.com", false)
		var toks []string
		for i := range 4 {
			tok, _ := f.signInFrom(t, "guest@agency.com", fmt.Sprintf("90.84.33.%d", i+1), "guest-agent")
			toks = append(toks, tok)
		}
		// A fifth session, idle past the timeout: it is signed out too, but
		// was not active, so it does not count.
		idleTok, _ := f.signInFrom(t, "guest@agency.com", "90.84.33.9", "guest-agent")
		f.clock.Advance(4 * 24 * time.Hour)
		for _, tok := range append(toks, adminTok) {
			if _, err := f.auth(tok); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(3*24*time.Hour + time.Minute)
		if _, err := f.auth(adminTok); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.TeamUserSessions(ctx, admin, guest.ID); err != nil {
			t.Fatal(err)
		}
		// A week after signing in, the admin confirms the password first.
		if err := f.svc.Reauthenticate(ctx, admin, password, adminMeta); err != nil {
			t.Fatal(err)
		}
		before := events(t, store, guest.AccountID)

		// Without a reason nothing changes and nothing is written.
		for _, reason := range []string{"", "   \t"} {
			_, n, err := f.svc.ForceSignOut(ctx, admin, guest.ID, reason, adminMeta)
			if doorman.ErrorCode(err) != doorman.EINVALID || doorman.ErrorMessage(err) != "reason is required" || n != 0 {
				t.Errorf("ForceSignOut(reason %q) = %d, %v; want EINVALID \"reason is required\"", reason, n, err)
			}
		}
		if _, _, err := f.svc.ForceSignOut(ctx, admin, guest.ID, strings.Repeat("x", 501), adminMeta); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Errorf("ForceSignOut(reason of 501 bytes) = %v, want EINVALID", err)
		}
		for _, tok := range toks {
			if _, err := f.auth(tok); err != nil {
				t.Fatalf("a refused forced sign-out changed a session: %v", err)
			}
		}
		if got := newEvents(t, store, guest.AccountID, before); len(got) != 0 {
			t.Fatalf("a refused forced sign-out wrote %d audit events", len(got))
		}

		u, n, err := f.svc.ForceSignOut(ctx, admin, guest.ID, "  Security concern - unusual activity ", adminMeta)
		if err != nil || n != 4 || u.ID != guest.ID || u.Email != "guest@agency.com" {
			t.Fatalf("ForceSignOut = %+v, %d, %v; want the guest and the 4 active sessions", u, n, err)
		}
		for _, tok := range append(toks, idleTok) {
			_, err := f.auth(tok)
			wantReason(t, err, doorman.ReasonRevokedByAdmin)
			if doorman.ErrorMessage(err) != "An administrator signed you out" {
				t.Errorf("message = %q", doorman.ErrorMessage(err))
			}
		}
		if _, err := f.auth(adminTok); err != nil {
			t.Errorf("the admin was signed out: %v", err)
		}
		got := newEvents(t, store, guest.AccountID, before)
		if len(got) != 1 {
			t.Fatalf("ForceSignOut wrote %d audit events, want exactly one", len(got))
		}
		ev := got[0]
		want := doorman.AuditEvent{ID: ev.ID, AccountID: admin.Account.ID, At: f.clock.Now(), ActorID: admin.User.ID,
			Actor: "admin@company.com", Action: doorman.ActionUserSessionsRevoked, Target: "guest@agency.com",
			Reason: "Security concern - unusual activity", IP: adminMeta.IP, UserAgent: adminMeta.UserAgent, Count: 4,
			Details: "user_id=" + guest.ID}
		if *ev != want {
			t.Errorf("audit event\n\t%+v\nwant\n\t%+v", *ev, want)
		}
		_, list, _ := f.svc.TeamUserSessions(ctx, admin, guest.ID)
		if len(list) != 0 {
			t.Errorf("after the forced sign-out the guest has %d active sessions", len(list))
		}
		// Again: nothing left, still one event of count 0.
		if _, n, err := f.svc.ForceSignOut(ctx, admin, guest.ID, "again", adminMeta); err != nil || n != 0 {
			t.Errorf("ForceSignOut(again) = %d, %v; want 0", n, err)
		}

		// An admin forcing themself out keeps the current session.
		otherTok, _ := f.signIn(t, "admin@company.com", false)
		_, n, err = f.svc.ForceSignOut(ctx, admin, admin.User.ID, "lost laptop", adminMeta)
		if err != nil || n != 1 {
			t.Errorf("ForceSignOut(self) = %d, %v; want 1", n, err)
		}
		if _, err := f.auth(adminTok); err != nil {
			t.Errorf("the admin's current session ended: %v", err)
		}
		if _, err := f.auth(otherTok); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Errorf("the admin's other session: %v, want signed out", err)
		}
	})
}

func TestSignOutTeam(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		f.user(t, "Company", "mike@company.com", doorman.RoleMember)
		f.user(t, "Agency", "eve@agency.com", doorman.RoleAdmin)
		adminTok, admin := f.signIn(t, "admin@company.com", false)
		adminOther, _ := f.signIn(t, "admin@company.com", false)
		sarah1, _ := f.signIn(t, "sarah@company.com", true)
		sarah2, _ := f.signIn(t, "sarah@company.com", false)
		mike, _ := f.signIn(t, "mike@company.com", false)
		eve, _ := f.signIn(t, "eve@agency.com", false)
		before := events(t, store, admin.Account.ID)

		if n, err := f.svc.SignOutTeam(ctx, admin, " ", adminMeta); doorman.ErrorCode(err) != doorman.EINVALID || n != 0 {
			t.Errorf("SignOutTeam without a reason = %d, %v; want EINVALID", n, err)
		}
		if got := newEvents(t, store, admin.Account.ID, before); len(got) != 0 {
			t.Fatalf("a refused team sign-out wrote %d events", len(got))
		}
		_, _, active, _ := f.svc.TeamSessions(ctx, admin, doorman.TeamFilter{})
		if active != 5 {
			t.Fatalf("TeamSessions total = %d, want 5", active)
		}
		n, err := f.svc.SignOutTeam(ctx, admin, "Security incident", adminMeta)
		if err != nil || n != 4 {
			t.Fatalf("SignOutTeam = %d, %v; want 4 (all but the admin's current session)", n, err)
		}
		if _, err := f.auth(adminTok); err != nil {
			t.Errorf("the admin's current session ended: %v", err)
		}
		for _, tok := range []string{sarah1, sarah2, mike} {
			_, err := f.auth(tok)
			wantReason(t, err, doorman.ReasonRevokedByAdmin)
		}
		_, err = f.auth(adminOther)
		wantReason(t, err, doorman.ReasonRevokedByUser) // signed out by its own user, from another device
		if _, err := f.auth(eve); err != nil {
			t.Errorf("another account's session ended: %v", err)
		}
		got := newEvents(t, store, admin.Account.ID, before)
		if len(got) != 1 {
			t.Fatalf("SignOutTeam wrote %d audit events, want one", len(got))
		}
		ev := got[0]
		if ev.Action != doorman.ActionTeamSessionsRevoked || ev.Actor != "admin@company.com" || ev.ActorID != admin.User.ID ||
			ev.Target != "Company" || ev.Reason != "Security incident" || ev.IP != adminMeta.IP ||
			ev.UserAgent != adminMeta.UserAgent || ev.Count != 4 {
			t.Errorf("audit event = %+v", *ev)
		}
		_, _, active, _ = f.svc.TeamSessions(ctx, admin, doorman.TeamFilter{})
		if active != 1 {
			t.Errorf("after SignOutTeam the team has %d active sessions, want 1", active)
		}
	})
}

// TestTeamSessionsGuide checks the team view of the user guide's demo team:
// admin 3 Now, sarah 2 1 hour ago, mike 1 Yesterday, guest 4 3 days ago;
// total 10.
func TestTeamSessionsGuide(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		if _, err := demo.Seed(ctx, f.svc, password); err != nil {
			t.Fatal(err)
		}
		acct, err := store.FindAccountByName(ctx, demo.Account)
		if err != nil {
			t.Fatal(err)
		}
		users, _, _ := store.FindUsers(ctx, doorman.UserFilter{AccountID: acct.ID, Email: "admin@company.com"})
		admin := users[0]
		// The admin uses their latest demo session now: it is the current one.
		list, _, _ := store.FindSessions(ctx, doorman.SessionFilter{AccountID: acct.ID, UserID: admin.ID})
		cur := list[0]
		now := f.clock.Now()
		if err := store.TouchSession(ctx, cur.ID, doorman.Touch{At: now, Actions: 1}); err != nil {
			t.Fatal(err)
		}
		cur.LastActiveAt = now
		p := &doorman.Principal{Session: cur, User: admin, Account: acct}

		members, n, total, err := f.svc.TeamSessions(ctx, p, doorman.TeamFilter{})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			email    string
			sessions int
			last     string
		}
		var got []row
		for _, m := range members {
			got = append(got, row{m.User.Email, m.Sessions, doorman.RelativeTime(now, *m.LastActiveAt)})
		}
		want := []row{
			{"admin@company.com", 3, "Active now"},
			{"sarah@company.com", 2, "1 hour ago"},
			{"mike@company.com", 1, "Yesterday"},
			{"guest@agency.com", 4, "3 days ago"},
		}
		if !slices.Equal(got, want) || n != 4 || total != 10 {
			t.Errorf("TeamSessions = %v (users %d, total %d), want %v (users 4, total 10)", got, n, total, want)
		}
		members, n, total, _ = f.svc.TeamSessions(ctx, p, doorman.TeamFilter{Email: " Guest@Agency.com "})
		if len(members) != 1 || members[0].Sessions != 4 || n != 1 || total != 10 {
			t.Errorf("TeamSessions(filter guest) = %d rows, %d users, total %d", len(members), n, total)
		}
		all, err := f.svc.TeamUsers(ctx, p)
		var emails []string
		for _, u := range all {
			emails = append(emails, u.Email)
		}
		if err != nil || !slices.Equal(emails, []string{"admin@company.com", "guest@agency.com", "mike@company.com", "sarah@company.com"}) {
			t.Errorf("TeamUsers = %v, %v; want the four by email", emails, err)
		}
		guest := members[0].User
		u, sessions, err := f.svc.TeamUserSessions(ctx, p, guest.ID)
		if err != nil || u.ID != guest.ID || len(sessions) != 4 {
			t.Fatalf("TeamUserSessions(guest) = %v, %d sessions, %v", u, len(sessions), err)
		}
		for i := 1; i < len(sessions); i++ {
			if sessions[i].LastActiveAt.After(sessions[i-1].LastActiveAt) {
				t.Errorf("TeamUserSessions not most recent first: %v after %v", sessions[i].LastActiveAt, sessions[i-1].LastActiveAt)
			}
		}
		// Paging: two per page, the total stays.
		members, n, total, _ = f.svc.TeamSessions(ctx, p, doorman.TeamFilter{Limit: 2, Offset: 2})
		if len(members) != 2 || members[0].User.Email != "mike@company.com" || n != 4 || total != 10 {
			t.Errorf("TeamSessions(page 2 of 2) = %d rows, %d users, total %d", len(members), n, total)
		}
	})
}

func TestMembersRestrictedFromSessions(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		adminTok, admin := f.signIn(t, "admin@company.com", false)
		sarahTok, _ := f.signIn(t, "sarah@company.com", false)
		_, sarahOther := f.signIn(t, "sarah@company.com", false)
		if !admin.Account.Settings.MembersSeeSessions {
			t.Fatal("a new account restricts members by default")
		}
		set := admin.Account.Settings
		set.MembersSeeSessions = false
		before := events(t, store, admin.Account.ID)
		if _, err := f.svc.UpdateSettings(ctx, admin, admin.Account.ID, set, adminMeta); err != nil {
			t.Fatal(err)
		}
		got := newEvents(t, store, admin.Account.ID, before)
		if len(got) != 1 || !strings.Contains(got[0].Details, "members_see_sessions=true->false") {
			t.Errorf("settings events = %d, details %q; want one with members_see_sessions=true->false", len(got), got[0].Details)
		}

		sarah := f.fresh(t, sarahTok)
		_, err1 := f.svc.ListSessions(ctx, sarah)
		_, err2 := f.svc.GetSession(ctx, sarah, sarah.Session.ID)
		err3 := f.svc.RevokeSession(ctx, sarah, sarahOther.Session.ID, app.Meta{})
		_, err4 := f.svc.SignOutOthers(ctx, sarah, app.Meta{})
		_, err5 := f.svc.SessionHistory(ctx, sarah, sarah.Session.ID)
		for i, err := range []error{err1, err2, err3, err4, err5} {
			if doorman.ErrorCode(err) != doorman.EFORBIDDEN ||
				doorman.ErrorMessage(err) != "An administrator restricted the Sessions page for members of this account" {
				t.Errorf("call %d of a restricted member: %v, want EFORBIDDEN with the restriction message", i+1, err)
			}
		}
		if _, err := f.svc.GetSession(ctx, sarah, sarahOther.Session.ID); doorman.ErrorCode(err) != doorman.EFORBIDDEN {
			t.Errorf("GetSession(other) = %v, want EFORBIDDEN", err)
		}
		admin = f.fresh(t, adminTok)
		if list, err := f.svc.ListSessions(ctx, admin); err != nil || len(list) != 1 {
			t.Errorf("the admin's ListSessions = %d, %v; admins are never restricted", len(list), err)
		}
		// Signing out stays allowed, also through RevokeSession of the current one.
		if err := f.svc.RevokeSession(ctx, sarah, sarah.Session.ID, app.Meta{}); err != nil {
			t.Errorf("a restricted member signing out: %v", err)
		}
		_, err := f.auth(sarahTok)
		wantReason(t, err, doorman.ReasonSignedOut)

		set.MembersSeeSessions = true
		if _, err := f.svc.UpdateSettings(ctx, admin, admin.Account.ID, set, adminMeta); err != nil {
			t.Fatal(err)
		}
		_, sarah = f.signIn(t, "sarah@company.com", false)
		if list, err := f.svc.ListSessions(ctx, sarah); err != nil || len(list) != 2 {
			t.Errorf("after lifting the restriction: %d sessions, %v", len(list), err)
		}
	})
}

func TestAuditLogAndExport(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		f.user(t, "Other", "eve@other.com", doorman.RoleAdmin)
		_, admin := f.signIn(t, "admin@company.com", false)
		_, _, _ = f.svc.SignIn(ctx, app.SignInRequest{Email: "admin@company.com", Password: "wrong password wrong",
			Meta: app.Meta{IP: "203.0.113.9", UserAgent: "=cmd|' /C calc'!A0"}})
		f.signIn(t, "eve@other.com", false)
		// Enough events for several export pages.
		for i := range 1005 {
			at := f.clock.Now().Add(-time.Duration(i+1) * time.Minute)
			ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, at), AccountID: admin.Account.ID, At: at,
				ActorID: admin.User.ID, Actor: "admin@company.com", Action: doorman.ActionSignIn, Target: fmt.Sprint("sess_", i)}
			if err := store.CreateAuditEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		evs, n, err := f.svc.AuditLog(ctx, admin, doorman.AuditFilter{})
		if err != nil || len(evs) != app.DefaultAuditLimit || n != 1005+3 {
			t.Fatalf("AuditLog = %d events of %d, %v; want the first %d of 1008", len(evs), n, err, app.DefaultAuditLimit)
		}
		if evs[0].Action != doorman.ActionSignInFailed {
			t.Errorf("newest event = %s, want the failed sign-in", evs[0].Action)
		}
		evs, n, _ = f.svc.AuditLog(ctx, admin, doorman.AuditFilter{Action: doorman.ActionSignInFailed, Limit: 5000})
		if len(evs) != 1 || n != 1 || evs[0].Target != "admin@company.com" || evs[0].IP != "203.0.113.9" {
			t.Errorf("AuditLog(failed sign-ins) = %d (total %d)", len(evs), n)
		}
		evs, _, _ = f.svc.AuditLog(ctx, admin, doorman.AuditFilter{Limit: 5000})
		if len(evs) != app.MaxAuditLimit {
			t.Errorf("AuditLog(Limit 5000) returned %d, want at most %d", len(evs), app.MaxAuditLimit)
		}
		evs, _, _ = f.svc.AuditLog(ctx, admin, doorman.AuditFilter{Since: f.clock.Now().Add(-10 * time.Minute), Limit: 100})
		if len(evs) != 3+10 {
			t.Errorf("AuditLog(last 10 minutes) = %d events, want 13 (Since is inclusive)", len(evs))
		}

		var all []*doorman.AuditEvent
		if err := f.svc.ExportAudit(ctx, admin, doorman.AuditFilter{Limit: 3, Offset: 7}, func(ev *doorman.AuditEvent) error {
			all = append(all, ev)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, ev := range all {
			if seen[ev.ID] || ev.AccountID != admin.Account.ID || i > 0 && ev.At.After(all[i-1].At) {
				t.Fatalf("export event %d (%s) repeated, of another account, or out of order", i, ev.ID)
			}
			seen[ev.ID] = true
		}
		if len(all) != 1008 {
			t.Errorf("ExportAudit returned %d events, want all 1008", len(all))
		}
		// The operator's export of every account has Other's too.
		count := 0
		_ = f.svc.ExportAudit(ctx, nil, doorman.AuditFilter{}, func(*doorman.AuditEvent) error { count++; return nil })
		if count != 1008+2 {
			t.Errorf("operator export of every account: %d events, want 1010", count)
		}

		var csvOut, jsonOut bytes.Buffer
		if err := doorman.WriteAuditCSV(&csvOut, all[:3]); err != nil {
			t.Fatal(err)
		}
		if err := doorman.WriteAuditJSONL(&jsonOut, all[:3]); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(&csvOut).ReadAll()
		if err != nil || len(records) != 4 || strings.Join(records[0], ",") != "id,at,actor,action,target,reason,ip,user_agent,count,details" {
			t.Fatalf("CSV = %v, %v", records, err)
		}
		failed := records[1]
		if failed[3] != doorman.ActionSignInFailed || failed[7] != "'=cmd|' /C calc'!A0" || failed[1] != all[0].At.Format(time.RFC3339Nano) {
			t.Errorf("CSV row = %q; want the failed sign-in with its User-Agent defused and the time in RFC 3339", failed)
		}
		lines := strings.Split(strings.TrimSpace(jsonOut.String()), "\n")
		var obj map[string]any
		if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &obj) != nil {
			t.Fatalf("JSON Lines = %q", jsonOut.String())
		}
		keys := []string{}
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"action", "actor", "at", "count", "details", "id", "ip", "reason", "target", "user_agent"}) ||
			obj["user_agent"] != "=cmd|' /C calc'!A0" || obj["at"] != all[0].At.Format(time.RFC3339Nano) {
			t.Errorf("JSON line = %v", obj)
		}
		var empty bytes.Buffer
		if err := doorman.WriteAuditCSV(&empty, nil); err != nil || empty.String() != "id,at,actor,action,target,reason,ip,user_agent,count,details\n" {
			t.Errorf("CSV of no events = %q, %v; want the header alone", empty.String(), err)
		}
	})
}

func TestPurgeAudit(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		u := f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		for _, ago := range []time.Duration{400, 366, 365, 10} {
			at := f.clock.Now().Add(-ago * 24 * time.Hour)
			if err := store.CreateAuditEvent(ctx, &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, at),
				AccountID: u.AccountID, At: at, Action: doorman.ActionSignIn}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := f.svc.PurgeAudit(ctx, 0, 10); err != nil || n != 0 {
			t.Errorf("PurgeAudit(retention 0) = %d, %v; want 0: keep forever", n, err)
		}
		n, err := f.svc.PurgeAudit(ctx, 365*24*time.Hour, 1)
		if err != nil || n != 2 {
			t.Errorf("PurgeAudit(365 days, batches of 1) = %d, %v; want the 2 older than a year", n, err)
		}
		if evs := events(t, store, u.AccountID); len(evs) != 3 {
			t.Errorf("%d events left, want 3 (the one exactly a year old, the recent one, user_created)", len(evs))
		}
	})
}

func TestOperatorForceSignOut(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		a := f.user(t, "Company", "guest@agency.com", doorman.RoleMember)
		b := f.user(t, "Agency", "guest@agency.com", doorman.RoleAdmin)
		f.user(t, "Company", "mike@company.com", doorman.RoleMember)
		// Both share the password, so a sign-in could pick either: their
		// sessions are stored directly.
		session := func(u *doorman.User) string {
			tok, hash := doorman.NewToken()
			s := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, f.clock.Now()), TokenHash: hash, UserID: u.ID,
				AccountID: u.AccountID, CreatedAt: f.clock.Now(), LastActiveAt: f.clock.Now()}
			if err := store.CreateSession(ctx, s, nil); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		tokA, tokB := session(a), session(b)
		tokMike, _ := f.signIn(t, "mike@company.com", false)
		beforeA, beforeB := events(t, store, a.AccountID), events(t, store, b.AccountID)
		if _, _, err := f.svc.OperatorForceSignOut(ctx, "guest@agency.com", ""); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Errorf("OperatorForceSignOut without a reason = %v, want EINVALID", err)
		}
		if _, _, err := f.svc.OperatorForceSignOut(ctx, "nobody@agency.com", "x"); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("OperatorForceSignOut(unknown email) = %v, want ENOTFOUND", err)
		}
		if len(newEvents(t, store, a.AccountID, beforeA)) != 0 {
			t.Fatal("a refused operator sign-out wrote events")
		}
		users, counts, err := f.svc.OperatorForceSignOut(ctx, " Guest@Agency.com", "Contract ended")
		if err != nil || len(users) != 2 || counts[a.ID] != 1 || counts[b.ID] != 1 {
			t.Fatalf("OperatorForceSignOut = %d users, %v, %v", len(users), counts, err)
		}
		for _, tok := range []string{tokA, tokB} {
			_, err := f.auth(tok)
			wantReason(t, err, doorman.ReasonRevokedByAdmin)
		}
		if _, err := f.auth(tokMike); err != nil {
			t.Errorf("another user was signed out: %v", err)
		}
		for _, c := range []struct {
			u      *doorman.User
			before []*doorman.AuditEvent
		}{{a, beforeA}, {b, beforeB}} {
			got := newEvents(t, store, c.u.AccountID, c.before)
			if len(got) != 1 || got[0].Action != doorman.ActionUserSessionsRevoked || got[0].ActorID != doorman.ActorSystem ||
				got[0].Actor != doorman.ActorSystem || got[0].Target != "guest@agency.com" || got[0].Reason != "Contract ended" ||
				got[0].Count != 1 {
				t.Errorf("account %s: events %+v, want one user_sessions_revoked by system", c.u.AccountID, got)
			}
		}
	})
}

// TeamUserHistory lists a member's ended sessions, the latest end first, each
// with when and why: forced out with the admin's reason, the idle timeout
// (not yet recorded: computed), a sign-out. A live session is not listed.
func TestTeamUserHistory(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		ctx := context.Background()
		f.user(t, "Acme", "root@acme.example", doorman.RoleAdmin)
		ana := f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)

		_, out := f.signIn(t, "ana@acme.example", false)
		signedOutAt := f.clock.Now()
		if err := f.svc.SignOut(ctx, out, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		_, idle := f.signIn(t, "ana@acme.example", false)
		timeout, _ := idle.Account.Settings.IdleTimeout.Duration()
		idleAt := f.clock.Now().Add(timeout)
		f.clock.Advance(timeout + time.Hour)
		_, forced := f.signIn(t, "ana@acme.example", false)
		_, admin := f.signIn(t, "root@acme.example", false)
		if _, _, err := f.svc.ForceSignOut(ctx, admin, ana.ID, "Lost laptop", adminMeta); err != nil {
			t.Fatal(err)
		}
		forcedAt := f.clock.Now()
		f.clock.Advance(time.Minute)
		_, live := f.signIn(t, "ana@acme.example", false)

		_, _, got, err := f.svc.TeamUserHistory(ctx, admin, ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []app.EndedSession{
			{Session: forced.Session, At: forcedAt, Reason: doorman.ReasonRevokedByAdmin, Note: "Lost laptop"},
			{Session: idle.Session, At: idleAt, Reason: doorman.ReasonIdle},
			{Session: out.Session, At: signedOutAt, Reason: doorman.ReasonSignedOut},
		}
		if len(got) != len(want) {
			t.Fatalf("%d ended sessions, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if g.Session.ID != w.Session.ID || !g.At.Equal(w.At) || g.Reason != w.Reason || g.Note != w.Note {
				t.Errorf("ended[%d] = %s at %v, %q %q; want %s at %v, %q %q", i, g.Session.ID, g.At, g.Reason, g.Note,
					w.Session.ID, w.At, w.Reason, w.Note)
			}
			if g.Session.ID == live.Session.ID {
				t.Errorf("the live session is listed as ended")
			}
		}
	})
}
