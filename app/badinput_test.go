package app_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// wantClientMistake fails unless err is a *doorman.Error with code, and not
// taken for an outage.
func wantClientMistake(t *testing.T, err error, code, what string) {
	t.Helper()
	if doorman.ErrorCode(err) != code || app.IsUnavailable(err) {
		t.Errorf("%s = %v, want %s (unavailable: %t)", what, err, code, app.IsUnavailable(err))
	}
}

// hintsDetector names the device after its Client Hints as they came, as a
// detector may: the Service must store what it names.
type hintsDetector struct{}

func (hintsDetector) Detect(ua string, h doorman.ClientHints) doorman.Device {
	return doorman.Device{Browser: "Chrome", OS: h.Platform, Model: h.Model, Type: "desktop"}
}

// TestBadInputIsTheClientsMistake sends the Service the bytes PostgreSQL
// refuses, on both stores: each is EINVALID or ENOTFOUND, decided before
// the store, and never an outage.
func TestBadInputIsTheClientsMistake(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		member := f.user(t, "Company", "mike@company.com", doorman.RoleMember)
		_, admin := f.signIn(t, "admin@company.com", false)
		_, mp := f.signIn(t, "mike@company.com", false)

		for name, bad := range map[string]string{"NUL": "\x00", "0xff": "\xff", "half rune": "\xc3"} {
			t.Run(name, func(t *testing.T) {
				_, err := f.svc.CreateUser(ctx, "Company", "new"+bad+"@company.com", "", doorman.RoleMember, password)
				wantClientMistake(t, err, doorman.EINVALID, "CreateUser(email)")
				_, err = f.svc.CreateUser(ctx, "Company", "new@company.com", "New "+bad, doorman.RoleMember, password)
				wantClientMistake(t, err, doorman.EINVALID, "CreateUser(name)")
				_, err = f.svc.CreateUser(ctx, "Company "+bad, "new@company.com", "", doorman.RoleMember, password)
				wantClientMistake(t, err, doorman.EINVALID, "CreateUser(account name)")

				_, _, err = f.svc.SignIn(ctx, app.SignInRequest{Email: "admin" + bad + "@company.com", Password: password})
				wantClientMistake(t, err, doorman.EINVALID, "SignIn(email)")

				_, _, err = f.svc.ForceSignOut(ctx, admin, member.ID, "Left "+bad, app.Meta{})
				wantClientMistake(t, err, doorman.EINVALID, "ForceSignOut(reason)")
				_, err = f.svc.SignOutTeam(ctx, admin, "Incident "+bad, app.Meta{})
				wantClientMistake(t, err, doorman.EINVALID, "SignOutTeam(reason)")
				_, _, err = f.svc.OperatorForceSignOut(ctx, "mike@company.com", "Left "+bad)
				wantClientMistake(t, err, doorman.EINVALID, "OperatorForceSignOut(reason)")
				_, _, err = f.svc.OperatorForceSignOut(ctx, "mike"+bad+"@company.com", "Left")
				wantClientMistake(t, err, doorman.EINVALID, "OperatorForceSignOut(email)")

				_, err = f.svc.GetSession(ctx, admin, "sess_"+bad)
				wantClientMistake(t, err, doorman.ENOTFOUND, "GetSession(id)")
				err = f.svc.RevokeSession(ctx, admin, "sess_"+bad, app.Meta{})
				wantClientMistake(t, err, doorman.ENOTFOUND, "RevokeSession(id)")
				_, err = f.svc.SessionHistory(ctx, admin, "sess_"+bad)
				wantClientMistake(t, err, doorman.ENOTFOUND, "SessionHistory(id)")
				_, _, err = f.svc.TeamUserSessions(ctx, admin, "usr_"+bad)
				wantClientMistake(t, err, doorman.ENOTFOUND, "TeamUserSessions(id)")
				_, _, err = f.svc.APIKey(ctx, admin, "key_"+bad)
				wantClientMistake(t, err, doorman.ENOTFOUND, "APIKey(id)")
				err = f.svc.OperatorRevokeSession(ctx, "sess_"+bad, "Incident")
				wantClientMistake(t, err, doorman.ENOTFOUND, "OperatorRevokeSession(id)")

				_, _, _, err = f.svc.TeamSessions(ctx, admin, doorman.TeamFilter{Email: "mike" + bad})
				wantClientMistake(t, err, doorman.EINVALID, "TeamSessions(user)")
				for field, flt := range map[string]doorman.AuditFilter{
					"action": {Action: "sign_in" + bad}, "actor": {Actor: bad}, "target": {Target: bad},
				} {
					_, _, err = f.svc.AuditLog(ctx, admin, flt)
					wantClientMistake(t, err, doorman.EINVALID, "AuditLog("+field+")")
					err = f.svc.ExportAudit(ctx, admin, flt, func(*doorman.AuditEvent) error { return nil })
					wantClientMistake(t, err, doorman.EINVALID, "ExportAudit("+field+")")
				}
				_, _, err = f.svc.CreateAPIKey(ctx, admin, "CI "+bad, false, app.Meta{})
				wantClientMistake(t, err, doorman.EINVALID, "CreateAPIKey(name)")
			})
		}
		// Ids that are not well formed name nothing; unknown filter values
		// are mistakes.
		for _, id := range []string{"", "sess_", "usr_01HMX0000000000000000000AA", "sess_../../etc", "sess_01HMX0000000000000000000A"} {
			_, err := f.svc.GetSession(ctx, admin, id)
			wantClientMistake(t, err, doorman.ENOTFOUND, "GetSession("+id+")")
		}
		_, _, err := f.svc.AuditLog(ctx, admin, doorman.AuditFilter{Action: "sign_in_everywhere"})
		wantClientMistake(t, err, doorman.EINVALID, "AuditLog(unknown action)")
		if _, _, err := f.svc.AuditLog(ctx, admin, doorman.AuditFilter{Action: doorman.ActionSignIn}); err != nil {
			t.Errorf("AuditLog(sign_in): %v", err)
		}
		// Nothing was signed out, nothing audited but the sign-ins.
		if _, err := f.auth(mustToken(t, f, "mike@company.com")); err != nil {
			t.Errorf("mike after refused sign-outs: %v", err)
		}
		if _, err := f.svc.GetSession(ctx, mp, mp.Session.ID); err != nil {
			t.Errorf("mike's session after refused sign-outs: %v", err)
		}
		evs, _, err := f.svc.AuditLog(ctx, admin, doorman.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Action != doorman.ActionSignIn && ev.Action != doorman.ActionUserCreated {
				t.Errorf("audit event %s after refused requests", ev.Action)
			}
		}
	})
}

func mustToken(t *testing.T, f *fixture, email string) string {
	t.Helper()
	tok, _ := f.signIn(t, email, false)
	return tok
}

// TestLongNonASCIIUserAgent signs in with a User-Agent of non-ASCII text
// longer than MaxUserAgent, odd bytes and odd Client Hints: the sign-in
// succeeds on both stores and what is stored is whole characters.
func TestLongNonASCIIUserAgent(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.Devices = hintsDetector{}
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		for name, ua := range map[string]string{
			// The cut at MaxUserAgent bytes falls inside a 2-byte, a 3-byte
			// and a 4-byte character.
			"Cyrillic": "Mozilla/5.0 (X11; Linux x86_64) " + strings.Repeat("Браузер ", 200),
			"CJK":      "Mozilla/5.0 (X11; Linux x86_64) " + strings.Repeat("東京", 400),
			"emoji":    "Mozilla/5.0 (X11; Linux x86_64) " + strings.Repeat("🚪", 300),
			"odd":      "Mozilla/5.0 \xff\xfe (Latin-1: caf\xe9) \x00",
		} {
			t.Run(name, func(t *testing.T) {
				tok, p, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "admin@company.com", Password: password,
					Meta: app.Meta{IP: "83.45.123.78", UserAgent: ua,
						Hints: doorman.ClientHints{Platform: `"Lin\xffux"`, Model: "Pixel \xe6\x97"}}})
				if err != nil {
					t.Fatalf("SignIn: %v", err)
				}
				s, err := store.FindSessionByID(ctx, p.Account.ID, p.Session.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(s.UserAgent) > doorman.MaxUserAgent || !doorman.ValidText(s.UserAgent) ||
					!doorman.ValidText(s.Device.Model) || !doorman.ValidText(s.Device.OS) {
					t.Errorf("stored User-Agent %d bytes, valid %t; device %+v", len(s.UserAgent), utf8.ValidString(s.UserAgent), s.Device)
				}
				if name != "odd" && (!strings.HasPrefix(ua, s.UserAgent) || len(s.UserAgent) < doorman.MaxUserAgent-3) {
					t.Errorf("stored User-Agent is not the start of the one sent (%d bytes)", len(s.UserAgent))
				}
				// The page title is cut the same way, and written with the touch.
				f.svc.RecordPage(p.Session.ID, strings.Repeat("Сессии ", 30))
				if _, err := f.auth(tok); err != nil {
					t.Fatal(err)
				}
				if err := f.svc.Flush(ctx); err != nil {
					t.Fatalf("Flush: %v", err)
				}
				s, err = store.FindSessionByID(ctx, p.Account.ID, p.Session.ID)
				if err != nil {
					t.Fatal(err)
				}
				if s.Activity.LastPage == "" || len(s.Activity.LastPage) > 100 || !doorman.ValidText(s.Activity.LastPage) {
					t.Errorf("stored last page %q", s.Activity.LastPage)
				}
			})
		}
	})
}
