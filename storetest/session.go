package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var sessionTests = []test{
	{"RoundTrip", testSessionRoundTrip},
	{"Conflict", testSessionConflict},
	{"UserNotFound", testSessionUserNotFound},
	{"FindByTokenHashNotFound", testSessionHashNotFound},
	{"FindByIDScoped", testSessionFindByIDScoped},
	{"FindSessions", testFindSessions},
}

func testSessionRoundTrip(t *testing.T, open opener) {
	e := newEnv(t, open)
	set := doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: true, RememberMeDays: 90}
	a := e.account("Acme", set)
	u := e.user(a, "ana@example.com")

	full := newSession(u, func(s *doorman.Session) {
		s.CreatedAt = at(-2*day + 1*us)
		s.LastActiveAt = at(-3*time.Hour + 999999*us)
		s.ExpiresAt = ptr(at(88*day + 7*us))
		s.RememberMe = true
		s.IP = "2001:db8::1"
		s.Device = doorman.Device{Browser: "Mobile Safari", BrowserVersion: "18.1", OS: "iOS", OSVersion: "18.1.1", Model: "iPhone", Type: "mobile"}
		s.Location = doorman.Location{City: "São Paulo", Region: "São Paulo", Country: "Brazil", CountryCode: "BR", ISP: "Exemplo Telecom"}
		s.Activity = doorman.Activity{Logins: 3, Actions: 42, LastPage: "Active sessions"}
		s.Risk = doorman.Risk{Level: "high", Reasons: []string{"unknown_location", "new_device"}}
		s.NewDevice = true // stored as given: no device key
	})
	bare := newSession(u, func(s *doorman.Session) {
		s.CreatedAt = at(-time.Hour)
		s.LastActiveAt = at(-time.Hour)
		s.ExpiresAt = nil
		s.RememberMe = false
		s.IP = "192.168.1.10"
		s.UserAgent = ""
		s.Device = doorman.Device{}
		s.Location = doorman.Location{Local: true}
		s.Activity = doorman.Activity{}
		s.Risk = doorman.Risk{Level: "medium", Reasons: []string{"impossible_travel"}}
	})
	plain := newSession(u, nil)

	ev := event(a.ID, doorman.ActionSignIn, full.CreatedAt)
	ev.ActorID, ev.Actor, ev.Target = u.ID, u.Email, full.ID
	ok(t, e.s.CreateSession(e.ctx, full, ev), "CreateSession(full)")
	ok(t, e.s.CreateSession(e.ctx, bare, nil), "CreateSession(bare)")
	ok(t, e.s.CreateSession(e.ctx, plain, nil), "CreateSession(plain)")

	for _, want := range []*doorman.Session{full, bare, plain} {
		p, err := e.s.FindSessionByTokenHash(e.ctx, want.TokenHash)
		ok(t, err, "FindSessionByTokenHash")
		if p == nil || p.Session == nil || p.User == nil || p.Account == nil {
			t.Fatalf("FindSessionByTokenHash = %+v, want session, user and account", p)
		}
		diffSession(p.Session, want).report(t, "FindSessionByTokenHash session "+want.ID)
		diffUser(p.User, u).report(t, "FindSessionByTokenHash user")
		diffAccount(p.Account, a).report(t, "FindSessionByTokenHash account")

		got, err := e.s.FindSessionByID(e.ctx, a.ID, want.ID)
		ok(t, err, "FindSessionByID")
		diffSession(got, want).report(t, "FindSessionByID "+want.ID)
	}

	list, n := e.audits(doorman.AuditFilter{AccountID: a.ID})
	if n != 1 || len(list) != 1 {
		t.Fatalf("audit events: %d (total %d), want the sign_in event only", len(list), n)
	}
	diffEvent(list[0], ev).report(t, "sign_in event")

	// A revoked session is still found by its hash, with who, when and why.
	r := doorman.Revocation{At: at(1234567 * us), By: "usr_admin", Reason: "lost laptop"}
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: full.ID}, r, nil)
	ok(t, err, "RevokeSessions")
	p, err := e.s.FindSessionByTokenHash(e.ctx, full.TokenHash)
	ok(t, err, "FindSessionByTokenHash(revoked)")
	want := *full
	want.RevokedAt, want.RevokedBy, want.RevokeReason = ptr(r.At), r.By, r.Reason
	diffSession(p.Session, &want).report(t, "revoked session")

	// The user and account travel with the session as they are now.
	set2 := doorman.Settings{IdleTimeout: doorman.IdleNever, RememberMeAllowed: false, RememberMeDays: 1}
	_, err = e.s.UpdateAccountSettings(e.ctx, a.ID, set2, Base, event(a.ID, doorman.ActionSettingsUpdated, Base))
	ok(t, err, "UpdateAccountSettings")
	p, err = e.s.FindSessionByTokenHash(e.ctx, plain.TokenHash)
	ok(t, err, "FindSessionByTokenHash")
	if p.Account.Settings != set2 {
		t.Errorf("FindSessionByTokenHash account settings = %+v after update, want %+v", p.Account.Settings, set2)
	}
}

func testSessionConflict(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	first := newSession(u, nil)
	ok(t, e.s.CreateSession(e.ctx, first, event(a.ID, doorman.ActionSignIn, Base)), "CreateSession")

	dupID := newSession(u, func(s *doorman.Session) { s.ID = first.ID; s.IP = "198.51.100.1" })
	err := e.s.CreateSession(e.ctx, dupID, event(a.ID, doorman.ActionSignIn, Base))
	wantCode(t, err, doorman.ECONFLICT, "CreateSession(same id)")
	_, err = e.s.FindSessionByTokenHash(e.ctx, dupID.TokenHash)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByTokenHash(rejected session)")

	dupHash := newSession(u, func(s *doorman.Session) { s.TokenHash = first.TokenHash; s.IP = "198.51.100.2" })
	err = e.s.CreateSession(e.ctx, dupHash, event(a.ID, doorman.ActionSignIn, Base))
	wantCode(t, err, doorman.ECONFLICT, "CreateSession(same token hash)")
	_, err = e.s.FindSessionByID(e.ctx, "", dupHash.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByID(rejected session)")

	if n := e.auditTotal(); n != 1 {
		t.Errorf("audit events: %d, want 1: the events of rejected CreateSession calls must roll back", n)
	}
	diffSession(e.sessionByID(first.ID), first).report(t, "first session after conflicts")
	if _, n := e.sessions(doorman.SessionFilter{AccountID: a.ID}); n != 1 {
		t.Errorf("sessions: %d, want 1", n)
	}
}

func testSessionUserNotFound(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	ghost := &doorman.User{ID: "usr_missing", AccountID: a.ID}
	s := newSession(ghost, nil)
	err := e.s.CreateSession(e.ctx, s, event(a.ID, doorman.ActionSignIn, Base))
	wantCode(t, err, doorman.ENOTFOUND, "CreateSession(unknown user)")
	if n := e.auditTotal(); n != 0 {
		t.Errorf("audit events: %d, want 0 after a rejected CreateSession", n)
	}
}

func testSessionHashNotFound(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	e.session(e.user(a, "ana@example.com"), nil)
	_, hash := doorman.NewToken()
	p, err := e.s.FindSessionByTokenHash(e.ctx, hash)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByTokenHash(unknown hash)")
	if err == nil && p != nil {
		t.Errorf("FindSessionByTokenHash(unknown hash) = %+v", p)
	}
	_, err = e.s.FindSessionByTokenHash(e.ctx, nil)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByTokenHash(nil)")
}

func testSessionFindByIDScoped(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	sa := e.session(e.user(a, "ana@example.com"), nil)
	sb := e.session(e.user(b, "bo@example.com"), nil)

	_, err := e.s.FindSessionByID(e.ctx, b.ID, sa.ID)
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByID(session of A, account B)")
	_, err = e.s.FindSessionByID(e.ctx, a.ID, "sess_missing")
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByID(unknown id)")
	_, err = e.s.FindSessionByID(e.ctx, "", "sess_missing")
	wantCode(t, err, doorman.ENOTFOUND, "FindSessionByID(any account, unknown id)")
	for _, want := range []*doorman.Session{sa, sb} {
		got, err := e.s.FindSessionByID(e.ctx, "", want.ID)
		ok(t, err, "FindSessionByID(any account)")
		diffSession(got, want).report(t, "FindSessionByID(any account)")
		got, err = e.s.FindSessionByID(e.ctx, want.AccountID, want.ID)
		ok(t, err, "FindSessionByID(own account)")
		diffSession(got, want).report(t, "FindSessionByID(own account)")
	}
}

func testFindSessions(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ana := e.user(a, "ana@example.com")
	bo := e.user(a, "bo@example.com")
	cy := e.user(b, "cy@example.com")

	// Last activity is not creation order: index i is active at Base - order[i] minutes.
	order := []int{5, 1, 7, 3, 2, 6, 4}
	var all []*doorman.Session
	for i, m := range order {
		u := ana
		if i%3 == 2 {
			u = bo
		}
		all = append(all, e.session(u, func(s *doorman.Session) {
			s.CreatedAt = at(-time.Hour)
			s.LastActiveAt = at(-time.Duration(m) * time.Minute)
		}))
	}
	other := e.session(cy, nil)

	byActivity := func(list []*doorman.Session, keep func(*doorman.Session) bool) []string {
		list = slices.Clone(list)
		slices.SortFunc(list, func(x, y *doorman.Session) int { return y.LastActiveAt.Compare(x.LastActiveAt) })
		var ids []string
		for _, s := range list {
			if keep(s) {
				ids = append(ids, s.ID)
			}
		}
		return ids
	}
	wantA := byActivity(all, func(*doorman.Session) bool { return true })
	wantAna := byActivity(all, func(s *doorman.Session) bool { return s.UserID == ana.ID })

	list, n := e.sessions(doorman.SessionFilter{AccountID: a.ID})
	if !slices.Equal(sessionIDs(list), wantA) || n != len(wantA) {
		t.Errorf("FindSessions(account A) = %v (total %d), want %v most recently active first", sessionIDs(list), n, wantA)
	}
	byID := map[string]*doorman.Session{}
	for _, s := range all {
		byID[s.ID] = s
	}
	for _, got := range list {
		if want := byID[got.ID]; want != nil {
			diffSession(got, want).report(t, "FindSessions row")
		}
	}

	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: ana.ID})
	if !slices.Equal(sessionIDs(list), wantAna) || n != len(wantAna) {
		t.Errorf("FindSessions(user) = %v (total %d), want %v", sessionIDs(list), n, wantAna)
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: ana.ID, Limit: 2, Offset: 1})
	if !slices.Equal(sessionIDs(list), wantAna[1:3]) || n != len(wantAna) {
		t.Errorf("FindSessions(user, Limit 2, Offset 1) = %v (total %d), want %v (total %d)", sessionIDs(list), n, wantAna[1:3], len(wantAna))
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, Limit: 3})
	if !slices.Equal(sessionIDs(list), wantA[:3]) || n != len(wantA) {
		t.Errorf("FindSessions(Limit 3) = %v (total %d), want %v (total %d)", sessionIDs(list), n, wantA[:3], len(wantA))
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, Limit: 3, Offset: 6})
	if !slices.Equal(sessionIDs(list), wantA[6:]) || n != len(wantA) {
		t.Errorf("FindSessions(Limit 3, Offset 6) = %v (total %d), want %v (total %d)", sessionIDs(list), n, wantA[6:], len(wantA))
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, Limit: 3, Offset: 20})
	if len(list) != 0 || n != len(wantA) {
		t.Errorf("FindSessions(Offset past the end) = %v (total %d), want none (total %d)", sessionIDs(list), n, len(wantA))
	}

	// Account isolation: a user id or a session id of another account finds nothing.
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, UserID: cy.ID})
	if len(list) != 0 || n != 0 {
		t.Errorf("FindSessions(account A, user of B) = %v (total %d), want none", sessionIDs(list), n)
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, ID: other.ID})
	if len(list) != 0 || n != 0 {
		t.Errorf("FindSessions(account A, session of B) = %v (total %d), want none", sessionIDs(list), n)
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: b.ID})
	if !slices.Equal(sessionIDs(list), []string{other.ID}) || n != 1 {
		t.Errorf("FindSessions(account B) = %v (total %d), want [%s]", sessionIDs(list), n, other.ID)
	}
	list, n = e.sessions(doorman.SessionFilter{AccountID: a.ID, ID: all[3].ID})
	if !slices.Equal(sessionIDs(list), []string{all[3].ID}) || n != 1 {
		t.Errorf("FindSessions(ID) = %v (total %d), want [%s]", sessionIDs(list), n, all[3].ID)
	}
	// Operator commands: no account means every account.
	list, n = e.sessions(doorman.SessionFilter{UserID: cy.ID})
	if !slices.Equal(sessionIDs(list), []string{other.ID}) || n != 1 {
		t.Errorf("FindSessions(user, any account) = %v (total %d), want [%s]", sessionIDs(list), n, other.ID)
	}
	if _, n = e.sessions(doorman.SessionFilter{}); n != len(all)+1 {
		t.Errorf("FindSessions(no filter) total = %d, want %d", n, len(all)+1)
	}
}
