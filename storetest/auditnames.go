package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// auditNameTests check doorman.AuditNameStore: one event by id, and the
// batched lookups of what a page of events names, each scoped to one
// account.
var auditNameTests = []test{
	{"EventByID", testAuditEventByID},
	{"Sessions", testAuditNameSessions},
	{"APIKeys", testAuditNameAPIKeys},
	{"Users", testAuditNameUsers},
	{"ManyIDs", testAuditNameManyIDs},
	{"BadInput", testAuditNameBadInput},
}

func testAuditEventByID(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	full := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, Base), AccountID: a.ID, At: at(-3 * us),
		ActorID: "usr_01", Actor: "ana@example.com", Action: doorman.ActionUserSessionsRevoked, Target: "bob@example.com",
		Reason: "Left the company", IP: "2001:db8::2", UserAgent: "Mozilla/5.0", Count: 4, Details: "user_id=usr_02"}
	other := event(b.ID, doorman.ActionSignIn, Base)
	anonymous := event("", doorman.ActionSignInFailed, Base)
	for _, ev := range []*doorman.AuditEvent{full, other, anonymous} {
		ok(t, e.s.CreateAuditEvent(e.ctx, ev), "CreateAuditEvent")
	}

	got, err := e.s.FindAuditEventByID(e.ctx, a.ID, full.ID)
	ok(t, err, "FindAuditEventByID")
	diffEvent(got, full).report(t, "event by id")

	for name, q := range map[string][2]string{
		"another account's":        {a.ID, other.ID},
		"one of no account":        {a.ID, anonymous.ID},
		"one of no account, by ''": {"", anonymous.ID},
		"unknown":                  {a.ID, doorman.NewID(doorman.PrefixEvent, Base)},
		"unknown account":          {"acc_nobody", full.ID},
	} {
		_, err := e.s.FindAuditEventByID(e.ctx, q[0], q[1])
		wantCode(t, err, doorman.ENOTFOUND, "FindAuditEventByID("+name+")")
	}
}

func testAuditNameSessions(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ana, bob := e.user(a, "ana@example.com"), e.user(b, "bob@example.com")
	live := e.session(ana, nil)
	gone := e.session(ana, func(s *doorman.Session) {
		s.Device = doorman.Device{Browser: "Safari", OS: "iOS", Model: "iPhone", Type: "mobile"}
		s.Location = doorman.Location{City: "Berlin", Country: "Germany", CountryCode: "DE"}
	})
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: gone.ID},
		doorman.Revocation{At: at(time.Minute), By: ana.ID, Reason: doorman.ReasonSignedOut}, nil)
	ok(t, err, "RevokeSessions")
	gone.RevokedAt, gone.RevokedBy, gone.RevokeReason = ptr(at(time.Minute)), ana.ID, doorman.ReasonSignedOut
	elsewhere := e.session(bob, nil)

	ids := []string{gone.ID, live.ID, elsewhere.ID, live.ID, doorman.NewID(doorman.PrefixSession, Base), ""}
	list, err := e.s.FindSessionsByIDs(e.ctx, a.ID, ids)
	ok(t, err, "FindSessionsByIDs")
	if !sameSet(sessionIDs(list), []string{live.ID, gone.ID}) {
		t.Fatalf("FindSessionsByIDs = %v, want the account's two sessions once each (revoked too), never another account's",
			sessionIDs(list))
	}
	for _, got := range list {
		want := live
		if got.ID == gone.ID {
			want = gone
		}
		diffSession(got, want).report(t, "session by id")
	}

	for name, ids := range map[string][]string{"none": nil, "empty": {}, "another account's": {elsewhere.ID}} {
		list, err := e.s.FindSessionsByIDs(e.ctx, a.ID, ids)
		if err != nil || list == nil || len(list) != 0 {
			t.Errorf("FindSessionsByIDs(%s) = %v, %v; want an empty list", name, sessionIDs(list), err)
		}
	}
}

func testAuditNameAPIKeys(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	prod, _ := e.apiKey(a, "Production API", at(-time.Hour), nil)
	old, _ := e.apiKey(a, "Old key", at(-2*time.Hour), nil)
	ok(t, e.s.RevokeAPIKey(e.ctx, a.ID, old.ID, doorman.Revocation{At: Base, By: "usr_admin"}, nil), "RevokeAPIKey")
	old.RevokedAt, old.RevokedBy = ptr(Base), "usr_admin"
	theirs, _ := e.apiKey(b, "Theirs", at(-time.Hour), nil)

	list, err := e.s.FindAPIKeysByIDs(e.ctx, a.ID, []string{old.ID, theirs.ID, prod.ID, old.ID, "key_unknown"})
	ok(t, err, "FindAPIKeysByIDs")
	if !sameSet(keyIDs(list), []string{prod.ID, old.ID}) {
		t.Fatalf("FindAPIKeysByIDs = %v, want the account's two keys once each (revoked too), never another account's", keyIDs(list))
	}
	for _, got := range list {
		want := prod
		if got.ID == old.ID {
			want = old
		}
		diffAPIKey(got, want).report(t, "key by id")
	}
	list, err = e.s.FindAPIKeysByIDs(e.ctx, a.ID, nil)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("FindAPIKeysByIDs(none) = %v, %v; want an empty list", keyIDs(list), err)
	}
}

func testAuditNameUsers(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ana := e.user(a, "ana@example.com")
	invited, _ := e.invite(a, "ivy@example.com", doorman.RoleMember)
	gone := e.user(a, "gus@example.com")
	_, err := e.s.UpdateUser(e.ctx, a.ID, gone.ID, doorman.UserUpdate{Remove: true, At: Base}, nil)
	ok(t, err, "UpdateUser(remove)")
	same := e.user(b, "ana@example.com") // the same email in another account
	e.user(b, "bob@example.com")

	list, err := e.s.FindUsersByEmails(e.ctx, a.ID, []string{"ana@example.com", "ivy@example.com", "gus@example.com",
		"bob@example.com", "ana@example.com", "nobody@example.com"})
	ok(t, err, "FindUsersByEmails")
	if !sameSet(userIDs(list), []string{ana.ID, invited.ID, gone.ID}) {
		t.Fatalf("FindUsersByEmails = %v, want ana, the invited and the removed user of the account once each", userIDs(list))
	}
	for _, got := range list {
		switch got.ID {
		case ana.ID:
			diffUser(got, ana).report(t, "user by email")
		case invited.ID:
			if !got.Invited || got.Email != "ivy@example.com" {
				t.Errorf("invited user = %+v", got)
			}
		case gone.ID:
			if got.RemovedAt == nil || !got.RemovedAt.Equal(Base) {
				t.Errorf("removed user's RemovedAt = %v, want %s", got.RemovedAt, fmtTime(Base))
			}
		}
	}
	list, err = e.s.FindUsersByEmails(e.ctx, b.ID, []string{"ana@example.com"})
	if err != nil || len(list) != 1 || list[0].ID != same.ID {
		t.Errorf("FindUsersByEmails(Globex) = %v, %v; want Globex's own ana", userIDs(list), err)
	}
	list, err = e.s.FindUsersByEmails(e.ctx, a.ID, nil)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("FindUsersByEmails(none) = %v, %v; want an empty list", userIDs(list), err)
	}
}

// testAuditNameManyIDs looks up more ids than any page holds, and more than
// one IN list of a store may: every match is found once.
func testAuditNameManyIDs(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	ana := e.user(a, "ana@example.com")
	var want, ids, emails []string
	for range 3 {
		s := e.session(ana, nil)
		want = append(want, s.ID)
		ids = append(ids, s.ID)
	}
	for range 2500 {
		ids = append(ids, doorman.NewID(doorman.PrefixSession, Base))
		emails = append(emails, "nobody"+uniq()+"@example.com")
	}
	slices.Reverse(ids) // the known ones last
	list, err := e.s.FindSessionsByIDs(e.ctx, a.ID, ids)
	ok(t, err, "FindSessionsByIDs(2,503 ids)")
	if !sameSet(sessionIDs(list), want) {
		t.Errorf("FindSessionsByIDs(2,503 ids) = %d sessions, want %d", len(list), len(want))
	}
	users, err := e.s.FindUsersByEmails(e.ctx, a.ID, append(emails, ana.Email))
	ok(t, err, "FindUsersByEmails(2,501 emails)")
	if len(users) != 1 || users[0].ID != ana.ID {
		t.Errorf("FindUsersByEmails(2,501 emails) = %v, want ana", userIDs(users))
	}
}

// testAuditNameBadInput: text no store could hold is EINVALID, never an
// outage, in any position of a list.
func testAuditNameBadInput(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	for name, bad := range badTexts {
		t.Run(name, func(t *testing.T) {
			_, err := e.s.FindAuditEventByID(e.ctx, a.ID, "evt_"+bad)
			wantInvalidText(t, err, "FindAuditEventByID")
			_, err = e.s.FindAuditEventByID(e.ctx, bad, doorman.NewID(doorman.PrefixEvent, Base))
			wantInvalidText(t, err, "FindAuditEventByID(account)")
			_, err = e.s.FindSessionsByIDs(e.ctx, a.ID, []string{doorman.NewID(doorman.PrefixSession, Base), "sess_" + bad})
			wantInvalidText(t, err, "FindSessionsByIDs")
			_, err = e.s.FindAPIKeysByIDs(e.ctx, a.ID, []string{bad})
			wantInvalidText(t, err, "FindAPIKeysByIDs")
			_, err = e.s.FindUsersByEmails(e.ctx, a.ID, []string{"ana@example.com", bad})
			wantInvalidText(t, err, "FindUsersByEmails")
		})
	}
}
