package storetest

import (
	"testing"

	"github.com/doorman/doorman"
)

var badInputTests = []test{
	{"Finders", testBadInputFinders},
	{"Writers", testBadInputWriters},
	{"EventRollsBack", testBadInputEventRollsBack},
}

// badTexts are the bytes PostgreSQL refuses in text and SQLite would keep:
// a NUL byte, a byte that starts no UTF-8 sequence, a rune cut in half, a
// UTF-16 surrogate and an overlong encoding.
var badTexts = map[string]string{
	"NUL":       "ana\x00@example.com",
	"0xff":      "\xff",
	"half rune": "caf\xc3",
	"surrogate": "\xed\xa0\x80",
	"overlong":  "\xc0\xaf",
}

// wantInvalidText fails unless err is itself a *doorman.Error with code
// EINVALID: bad bytes are the caller's mistake, never an error that would
// be taken for an outage.
func wantInvalidText(tb testing.TB, err error, what string) {
	tb.Helper()
	de, ok := err.(*doorman.Error)
	if !ok || de.Code != doorman.EINVALID {
		tb.Errorf("%s = %v (%T), want a *doorman.Error with code %s", what, err, err, doorman.EINVALID)
	}
}

// badInputEnv is one account with a user, a session and an API key.
type badInputEnv struct {
	*env
	a    *doorman.Account
	u    *doorman.User
	sess *doorman.Session
}

func newBadInputEnv(t *testing.T, open opener) *badInputEnv {
	e := &badInputEnv{env: newEnv(t, open)}
	e.a = e.account("Acme", doorman.DefaultSettings())
	e.u = e.user(e.a, "ana@example.com")
	e.sess = e.session(e.u, nil)
	return e
}

// testBadInputFinders looks up text no store could hold: every finder
// answers EINVALID.
func testBadInputFinders(t *testing.T, open opener) {
	e := newBadInputEnv(t, open)
	ctx, s, a := e.ctx, e.s, e.a
	w := doorman.Window(a.Settings, Base)
	for name, bad := range badTexts {
		t.Run(name, func(t *testing.T) {
			_, err := s.FindAccountByName(ctx, bad)
			wantInvalidText(t, err, "FindAccountByName")
			_, err = s.FindAccountByID(ctx, bad)
			wantInvalidText(t, err, "FindAccountByID")
			_, err = s.FindUserByID(ctx, a.ID, bad)
			wantInvalidText(t, err, "FindUserByID")
			_, _, err = s.FindUsers(ctx, doorman.UserFilter{Email: bad})
			wantInvalidText(t, err, "FindUsers(Email)")
			_, _, err = s.FindUsers(ctx, doorman.UserFilter{AccountID: a.ID, Email: bad, Limit: 5})
			wantInvalidText(t, err, "FindUsers(AccountID, Email, Limit)")
			_, err = s.FindSessionByID(ctx, a.ID, "sess_"+bad)
			wantInvalidText(t, err, "FindSessionByID")
			_, _, err = s.FindSessions(ctx, doorman.SessionFilter{AccountID: a.ID, UserID: bad, Active: w})
			wantInvalidText(t, err, "FindSessions(UserID)")
			_, err = s.FindSessionIPs(ctx, a.ID, bad)
			wantInvalidText(t, err, "FindSessionIPs")
			for field, f := range map[string]doorman.AuditFilter{
				"Action":  {AccountID: a.ID, Action: bad},
				"Actor":   {AccountID: a.ID, Actor: bad},
				"ActorID": {AccountID: a.ID, ActorID: bad},
				"Target":  {AccountID: a.ID, Target: bad, Limit: 10, Offset: 10},
			} {
				_, _, err = s.FindAuditEvents(ctx, f)
				wantInvalidText(t, err, "FindAuditEvents("+field+")")
			}
			_, _, _, err = s.FindTeamMembers(ctx, a.ID, w, doorman.TeamFilter{Email: bad, Limit: 10})
			wantInvalidText(t, err, "FindTeamMembers(Email)")
			_, err = s.FindAPIKeys(ctx, doorman.APIKeyFilter{AccountID: a.ID, ID: "key_" + bad})
			wantInvalidText(t, err, "FindAPIKeys(ID)")
			_, err = s.FindWebhook(ctx, bad)
			wantInvalidText(t, err, "FindWebhook")
			_, err = s.FindTwoFactor(ctx, a.ID, bad)
			wantInvalidText(t, err, "FindTwoFactor")
		})
	}
	// The store still answers, and still has what it had.
	if got := e.sessionByID(e.sess.ID); got.ID != e.sess.ID {
		t.Errorf("FindSessionByID after bad lookups = %s", got.ID)
	}
}

// testBadInputWriters stores text no store could hold: every writer
// answers EINVALID and writes nothing, its audit event included.
func testBadInputWriters(t *testing.T, open opener) {
	e := newBadInputEnv(t, open)
	ctx, s, a, u := e.ctx, e.s, e.a, e.u
	before := e.auditTotal()
	for name, bad := range badTexts {
		t.Run(name, func(t *testing.T) {
			acct := &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, Base), Name: "Acme " + bad,
				Settings: doorman.DefaultSettings(), CreatedAt: Base}
			wantInvalidText(t, s.CreateAccount(ctx, acct), "CreateAccount(Name)")
			if _, err := s.FindAccountByID(ctx, acct.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
				t.Errorf("account after a refused CreateAccount: %v, want ENOTFOUND", err)
			}

			nu := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: bad,
				Name: "Bad", Role: doorman.RoleMember, PasswordHash: "$argon2id$x", CreatedAt: Base}
			wantInvalidText(t, s.CreateUser(ctx, nu, event(a.ID, doorman.ActionUserCreated, Base)), "CreateUser(Email)")
			nu.Email, nu.Name = "new@example.com", "Bad "+bad
			wantInvalidText(t, s.CreateUser(ctx, nu, event(a.ID, doorman.ActionUserCreated, Base)), "CreateUser(Name)")
			if _, err := s.FindUserByID(ctx, a.ID, nu.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
				t.Errorf("user after a refused CreateUser: %v, want ENOTFOUND", err)
			}

			for field, edit := range map[string]func(*doorman.Session){
				"UserAgent":    func(x *doorman.Session) { x.UserAgent = "Mozilla/5.0 " + bad },
				"Device.Model": func(x *doorman.Session) { x.Device.Model = bad },
				"Location.ISP": func(x *doorman.Session) { x.Location.ISP = bad },
				"LastPage":     func(x *doorman.Session) { x.Activity.LastPage = bad },
			} {
				ns := newSession(u, edit)
				ns.DeviceKeyHash = doorman.HashDeviceKey("device " + field)
				wantInvalidText(t, s.CreateSession(ctx, ns, event(a.ID, doorman.ActionSignIn, Base)), "CreateSession("+field+")")
				if _, err := s.FindSessionByID(ctx, "", ns.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
					t.Errorf("session after a refused CreateSession(%s): %v, want ENOTFOUND", field, err)
				}
			}

			rev := doorman.Revocation{At: at(us), By: u.ID, Reason: "reason " + bad}
			_, err := s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: e.sess.ID}, rev,
				event(a.ID, doorman.ActionSessionRevoked, at(us)))
			wantInvalidText(t, err, "RevokeSessions(Reason)")
			_, err = s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: bad},
				doorman.Revocation{At: at(us), By: u.ID}, nil)
			wantInvalidText(t, err, "RevokeSessions(SessionID)")

			err = s.TouchSession(ctx, e.sess.ID, doorman.Touch{At: at(us), Actions: 1, LastPage: bad})
			wantInvalidText(t, err, "TouchSession(LastPage)")
			err = s.TouchSession(ctx, e.sess.ID, doorman.Touch{At: at(us), Actions: 1, IP: "198.51.100.9",
				UserAgent: "curl/8.0 " + bad})
			wantInvalidText(t, err, "TouchSession(UserAgent)")

			ev := event(a.ID, doorman.ActionSettingsUpdated, Base)
			ev.Details = "idle_timeout=" + bad
			wantInvalidText(t, s.CreateAuditEvent(ctx, ev), "CreateAuditEvent(Details)")

			k := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, Base), AccountID: a.ID, Name: "Key " + bad,
				Prefix: "dk_" + uniq(), Hash: doorman.HashAPIKey("key " + name), CreatedAt: Base, CreatedBy: u.ID,
				CreatedByEmail: u.Email}
			wantInvalidText(t, s.CreateAPIKey(ctx, k, event(a.ID, doorman.ActionAPIKeyCreated, Base)), "CreateAPIKey(Name)")

			hook := &doorman.Webhook{AccountID: a.ID, URL: "https://hooks.example.com/" + bad, Secret: "whsec_x",
				Enabled: true, CreatedAt: Base, UpdatedAt: Base}
			wantInvalidText(t, s.PutWebhook(ctx, hook, event(a.ID, doorman.ActionWebhookUpdated, Base)), "PutWebhook(URL)")
		})
	}

	// Nothing of the above was written.
	if got := e.sessionByID(e.sess.ID); got.RevokedAt != nil || got.Activity.Actions != e.sess.Activity.Actions ||
		got.Activity.LastPage != e.sess.Activity.LastPage || got.UserAgent != e.sess.UserAgent || got.IP != e.sess.IP {
		t.Errorf("session after refused writes: revoked %v, actions %d, last page %q, UA %q, IP %q; want it unchanged",
			got.RevokedAt, got.Activity.Actions, got.Activity.LastPage, got.UserAgent, got.IP)
	}
	if keys, err := s.FindAPIKeys(ctx, doorman.APIKeyFilter{AccountID: a.ID, IncludeRevoked: true}); err != nil || len(keys) != 0 {
		t.Errorf("API keys after refused CreateAPIKey: %d, %v; want none", len(keys), err)
	}
	if _, err := s.FindWebhook(ctx, a.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
		t.Errorf("webhook after refused PutWebhook: %v, want ENOTFOUND", err)
	}
	if users, n, err := s.FindUsers(ctx, doorman.UserFilter{AccountID: a.ID}); err != nil || n != 1 || users[0].ID != u.ID {
		t.Errorf("users after refused CreateUser: %d, %v; want ana alone", n, err)
	}
	if n := e.auditTotal(); n != before {
		t.Errorf("audit events after refused writes: %d, want %d", n, before)
	}
}

// testBadInputEventRollsBack makes only the audit event bad: the change it
// records must not land without it.
func testBadInputEventRollsBack(t *testing.T, open opener) {
	e := newBadInputEnv(t, open)
	ctx, s, a, u := e.ctx, e.s, e.a, e.u
	before := e.auditTotal()

	ev := event(a.ID, doorman.ActionSessionRevoked, at(us))
	ev.Reason = "suspicious\x00"
	_, err := s.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: e.sess.ID},
		doorman.Revocation{At: at(us), By: u.ID, Reason: "suspicious"}, ev)
	wantInvalidText(t, err, "RevokeSessions(event with a NUL)")
	if got := e.sessionByID(e.sess.ID); got.RevokedAt != nil {
		t.Errorf("session revoked although its audit event was refused")
	}

	nu := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, Base), AccountID: a.ID, Email: "bo@example.com",
		Name: "Bo", Role: doorman.RoleMember, PasswordHash: "$argon2id$x", CreatedAt: Base}
	ev = event(a.ID, doorman.ActionUserCreated, Base)
	ev.Target = "bo\xff@example.com"
	wantInvalidText(t, s.CreateUser(ctx, nu, ev), "CreateUser(event with invalid UTF-8)")
	if _, err := s.FindUserByID(ctx, a.ID, nu.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
		t.Errorf("user created although its audit event was refused: %v", err)
	}

	ns := newSession(u, nil)
	ev = event(a.ID, doorman.ActionSignIn, Base)
	ev.UserAgent = "Mozilla/5.0 \xe6\x97"
	wantInvalidText(t, s.CreateSession(ctx, ns, ev), "CreateSession(event with a cut rune)")
	if _, err := s.FindSessionByID(ctx, "", ns.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
		t.Errorf("session created although its audit event was refused: %v", err)
	}

	if n := e.auditTotal(); n != before {
		t.Errorf("audit events after refused writes: %d, want %d", n, before)
	}
	// Good text still goes through, the characters kept as they are.
	nu.Name = "Zoë 東京 🚪"
	if err := s.CreateUser(ctx, nu, event(a.ID, doorman.ActionUserCreated, Base)); err != nil {
		t.Fatalf("CreateUser(non-ASCII name): %v", err)
	}
	if got, err := s.FindUserByID(ctx, a.ID, nu.ID); err != nil || got.Name != nu.Name {
		t.Errorf("FindUserByID = %+v, %v; want the name kept", got, err)
	}
}
