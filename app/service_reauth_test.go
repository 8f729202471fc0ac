package app_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/totp"
)

// sensitiveOp is one operation of the Service that needs a recent
// password: prepare runs while the session is fresh and returns the call.
type sensitiveOp struct {
	name string
	// twoFactor turns two-factor authentication on first, so that the
	// proof needs a code as well.
	twoFactor bool
	prepare   func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error
}

var sensitiveOps = []sensitiveOp{
	{name: "SignOutAll", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error { _, err := f.svc.SignOutAll(context.Background(), p, m); return err }
	}},
	{name: "ForceSignOut", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		u := f.user(t, "Company", "member@company.com", doorman.RoleMember)
		f.signIn(t, "member@company.com", false)
		return func(m app.Meta) error {
			_, _, err := f.svc.ForceSignOut(context.Background(), p, u.ID, "lost laptop", m)
			return err
		}
	}},
	{name: "SignOutTeam", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error {
			_, err := f.svc.SignOutTeam(context.Background(), p, "incident", m)
			return err
		}
	}},
	{name: "UpdateSettings", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		set := p.Account.Settings
		set.IdleTimeout = doorman.Idle1Day
		return func(m app.Meta) error {
			_, err := f.svc.UpdateSettings(context.Background(), p, p.Account.ID, set, m)
			return err
		}
	}},
	{name: "CreateAPIKey", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error {
			_, _, err := f.svc.CreateAPIKey(context.Background(), p, "deploy", false, m)
			return err
		}
	}},
	{name: "SetWebhook", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error {
			_, _, err := f.svc.SetWebhook(context.Background(), p,
				app.WebhookUpdate{URL: "https://hooks.example.com/doorman", Enabled: true}, m)
			return err
		}
	}},
	{name: "DeleteWebhook", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		if _, _, err := f.svc.SetWebhook(context.Background(), p,
			app.WebhookUpdate{URL: "https://hooks.example.com/doorman", Enabled: true}, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		return func(m app.Meta) error { return f.svc.DeleteWebhook(context.Background(), p, m) }
	}},
	{name: "BeginTwoFactorSetup", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error {
			_, err := f.svc.BeginTwoFactorSetup(context.Background(), p, m.Proof.Password, m)
			return err
		}
	}},
	{name: "TwoFactorSetupKey", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		if _, err := f.svc.BeginTwoFactorSetup(context.Background(), p, "", app.Meta{}); err != nil {
			t.Fatal(err)
		}
		// It takes no proof: a stale session re-authenticates first.
		return func(m app.Meta) error {
			if m.Proof.Password != "" {
				if err := f.svc.Reauthenticate(context.Background(), p, m.Proof.Password, m); err != nil {
					return err
				}
			}
			_, err := f.svc.TwoFactorSetupKey(context.Background(), p)
			return err
		}
	}},
	{name: "ConfirmTwoFactorSetup", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		key, err := f.svc.BeginTwoFactorSetup(context.Background(), p, "", app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return func(m app.Meta) error {
			_, err := f.svc.ConfirmTwoFactorSetup(context.Background(), p, f.code(t, key.Secret), m)
			return err
		}
	}},
	{name: "RegenerateRecoveryCodes", twoFactor: true, prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error {
			_, err := f.svc.RegenerateRecoveryCodes(context.Background(), p, m.Proof.Password, m.Proof.Code, m)
			return err
		}
	}},
	{name: "BeginPasskeyRegistration", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		f.svc.WebAuthn = relyingParty(t)
		return func(m app.Meta) error {
			_, err := f.svc.BeginPasskeyRegistration(context.Background(), p, m)
			return err
		}
	}},
	{name: "RemovePasskey", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		pk := storedPasskey(t, f, p.User)
		return func(m app.Meta) error { return f.svc.RemovePasskey(context.Background(), p, pk.ID, m) }
	}},
	{name: "InviteUser", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		return func(m app.Meta) error {
			_, err := f.svc.InviteUser(context.Background(), p, app.InviteRequest{Email: "new@company.com"}, m)
			return err
		}
	}},
	{name: "ResendInvitation", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		inv, err := f.svc.InviteUser(context.Background(), p, app.InviteRequest{Email: "invited@company.com"}, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return func(m app.Meta) error {
			_, err := f.svc.ResendInvitation(context.Background(), p, inv.User.ID, m)
			return err
		}
	}},
	{name: "UpdateTeamUser", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		u := f.user(t, "Company", "member@company.com", doorman.RoleMember)
		disabled := true
		return func(m app.Meta) error {
			_, err := f.svc.UpdateTeamUser(context.Background(), p, u.ID, app.UserChange{Disabled: &disabled, Reason: "left"}, m)
			return err
		}
	}},
	{name: "RemoveTeamUser", prepare: func(t *testing.T, f *fixture, p *doorman.Principal) func(app.Meta) error {
		u := f.user(t, "Company", "member@company.com", doorman.RoleMember)
		return func(m app.Meta) error {
			return f.svc.RemoveTeamUser(context.Background(), p, u.ID, "left the company", m)
		}
	}},
}

// notSensitive are the Service's other operations on a principal, each
// with why it needs no recent password. An operation in neither list fails
// TestSensitiveOperationsClassified: a new one must be placed.
var notSensitive = map[string]string{
	"APIKey":                    "read",
	"APIKeys":                   "read",
	"Assertion":                 "read: signs what the forward-auth check already says",
	"ClaimForm":                 "records that a form was sent; the form's action asks for itself",
	"NewFormToken":              "writes nothing: a token for the session's own forms",
	"AuditEvent":                "read",
	"AuditLog":                  "read",
	"AuditNames":                "read",
	"ExportAudit":               "read",
	"GetSession":                "read",
	"ListSessions":              "read",
	"NeedsReauth":               "the rule's own question",
	"ReuseFor":                  "read: how long the forward-auth check's answer may be reused",
	"SessionHistory":            "read",
	"TeamPeople":                "read",
	"TeamSessions":              "read",
	"TeamUserSessions":          "read",
	"TeamUserHistory":           "read",
	"TeamUsers":                 "read",
	"TwoFactorStatus":           "read",
	"Passkeys":                  "read",
	"FinishPasskeyRegistration": "finishes, in the same session, what BeginPasskeyRegistration began after a recent password",
	"Webhook":                   "read",
	"WebhookDeliveries":         "read",
	"ChangePassword":            "asks for the current password every time",
	"DisableTwoFactor":          "asks for the password and a code every time",
	"Reauthenticate":            "is the proof",
	"ReauthenticateCode":        "is the proof",
	"RequireRecentAuth":         "is the rule",
	"RevokeAPIKey":              "only takes access away",
	"RevokeSession":             "only takes access away",
	"OfferBinding":              "called at sign-in only, by the sign-in itself, before any request of the session: the password was just given",
	"SignOut":                   "only takes access away",
	"SignOutOthers":             "only takes access away; the guide's answer to a lost device",
	"TestWebhook":               "sends a test event to the webhook already set up",
}

// TestSensitiveOperationsNeedRecentAuth: every sensitive operation refuses
// a session whose password proof is ReauthAfter old with EREAUTH, writes
// nothing, and goes on once the request carries the password (and the
// code, for a user with two-factor authentication).
func TestSensitiveOperationsNeedRecentAuth(t *testing.T) {
	for _, op := range sensitiveOps {
		t.Run(op.name, func(t *testing.T) {
			stores(t, func(t *testing.T, store doorman.Store) {
				f := newFixture(t, store)
				f.svc.OTP = totp.OTP{}
				admin := f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
				_, p := f.signIn(t, "admin@company.com", false)
				secret := ""
				if op.twoFactor {
					secret, _ = f.enable2FA(t, p)
				}
				call := op.prepare(t, f, p)
				f.clock.Advance(app.ReauthAfter)

				before := events(t, store, admin.AccountID)
				err := call(app.Meta{})
				if doorman.ErrorCode(err) != doorman.EREAUTH {
					t.Fatalf("%s from a session signed in %v ago = %v, want EREAUTH", op.name, app.ReauthAfter, err)
				}
				if got := newEvents(t, store, admin.AccountID, before); len(got) != 0 {
					t.Fatalf("%s refused, but wrote %d audit events (%s first)", op.name, len(got), got[0].Action)
				}

				proof := app.Proof{Password: password}
				if op.twoFactor {
					proof.Code = f.code(t, secret)
				}
				if err := call(app.Meta{Proof: proof}); err != nil {
					t.Fatalf("%s with the password = %v, want it done", op.name, err)
				}
			})
		})
	}
}

// TestSensitiveOperationsClassified: every method of the Service that acts
// for a principal is either a sensitive operation tested above or listed
// in notSensitive with its reason.
func TestSensitiveOperationsClassified(t *testing.T) {
	principal := reflect.TypeFor[*doorman.Principal]()
	typ := reflect.TypeFor[*app.Service]()
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		ins := slices.Collect(m.Type.Ins())
		if !slices.Contains(ins, principal) {
			continue
		}
		sensitive := slices.ContainsFunc(sensitiveOps, func(op sensitiveOp) bool { return op.name == m.Name })
		_, other := notSensitive[m.Name]
		switch {
		case sensitive && other:
			t.Errorf("%s is both sensitive and not", m.Name)
		case !sensitive && !other:
			t.Errorf("Service.%s acts for a principal: add it to sensitiveOps (and call requireRecentAuth) or to notSensitive with the reason", m.Name)
		}
	}
	for name := range notSensitive {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("notSensitive lists %s, which the Service no longer has", name)
		}
	}
}
