package http_test

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/smtptest"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/smtp"
)

type teamUser struct {
	UserID         string  `json:"user_id"`
	Email          string  `json:"email"`
	Name           string  `json:"name"`
	Role           string  `json:"role"`
	Status         string  `json:"status"`
	TwoFactor      bool    `json:"two_factor"`
	CreatedAt      string  `json:"created_at"`
	LastActiveAt   *string `json:"last_active_at"`
	ActiveSessions int     `json:"active_sessions"`
}

type inviteAnswer struct {
	User      teamUser `json:"user"`
	InviteURL string   `json:"invite_url"`
	EmailSent bool     `json:"email_sent"`
}

// teamUsers returns GET /api/v1/team/users as c, by email.
func (e *env) teamUsers(c *http.Client) map[string]teamUser {
	e.t.Helper()
	a := e.do(c, "GET", "/api/v1/team/users", nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("team users: %d %s", a.status, a.body)
	}
	var v struct {
		Users []teamUser `json:"users"`
	}
	a.decode(e.t, &v)
	out := map[string]teamUser{}
	for _, u := range v.Users {
		out[u.Email] = u
	}
	return out
}

var inviteLinkRE = regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`)

// mailParts returns the plain text and HTML of a multipart/alternative
// message the sink received.
func mailParts(t *testing.T, m smtptest.Message) (text, html string, hdr mail.Header) {
	t.Helper()
	msg, err := mail.ReadMessage(m.Reader())
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return text, html, msg.Header
}

// TestTeamUsersLifecycle walks a person's whole life in a team from
// outside, on both stores: invited by email through a real SMTP server,
// accepting through the link, listed Active; demoting without a reason is
// 400; disabling ends the live token and makes sign-in fail as a wrong
// password does; enabling lets them back; the last admin stays; every step
// is in the audit log with actor and reason.
func TestTeamUsersLifecycle(t *testing.T) {
	for name, open := range map[string]func(testing.TB) doorman.Store{
		"sqlite":   func(tb testing.TB) doorman.Store { return testdb.SQLite(tb) },
		"postgres": func(tb testing.TB) doorman.Store { return testdb.Postgres(tb) },
	} {
		t.Run(name, func(t *testing.T) {
			mailSrv := smtptest.Start(t)
			e := newEnvOn(t, open(t))
			m, err := smtp.New(mailSrv.Addr, "Doorman <doorman@acme.example>", "", "")
			if err != nil {
				t.Fatal(err)
			}
			e.svc.Alerts = doorman.AlertConfig{Mailer: m, LinkBase: e.srv.URL}
			e.user("boss@acme.example", doorman.RoleAdmin)
			e.user("mo@acme.example", doorman.RoleMember)
			admin, member := e.browser(), e.browser()
			e.login(admin, "boss@acme.example", false)
			e.login(member, "mo@acme.example", false)

			// Members cannot list or invite.
			e.do(member, "GET", "/api/v1/team/users", nil).wantError(t, http.StatusForbidden, "forbidden")
			e.do(member, "POST", "/api/v1/team/users", map[string]any{"email": "x@acme.example"}).wantError(t, http.StatusForbidden, "forbidden")
			// An email that has a user is 409.
			e.do(admin, "POST", "/api/v1/team/users", map[string]any{"email": "mo@acme.example", "role": "member"}).
				wantError(t, http.StatusConflict, "conflict")

			a := e.do(admin, "POST", "/api/v1/team/users", map[string]any{"email": "nia@acme.example", "role": "member"})
			if a.status != http.StatusCreated {
				t.Fatalf("invite: %d %s", a.status, a.body)
			}
			var inv inviteAnswer
			a.decode(t, &inv)
			if inv.User.Status != "invited" || inv.User.Email != "nia@acme.example" || !inv.EmailSent ||
				!strings.HasPrefix(inv.InviteURL, e.srv.URL+"/invite/") || a.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("invite answer %s", a.body)
			}
			token := inviteLinkRE.FindStringSubmatch(inv.InviteURL)[1]
			msgs := mailSrv.Messages()
			if len(msgs) != 1 || msgs[0].To[0] != "nia@acme.example" {
				t.Fatalf("emails: %+v", msgs)
			}
			text, html, hdr := mailParts(t, msgs[0])
			if !strings.Contains(text, inv.InviteURL) || !strings.Contains(html, inv.InviteURL) ||
				!strings.Contains(text, "Acme") || !strings.Contains(html, "Acme") {
				t.Fatalf("invitation email:\n%s\n%s", text, html)
			}
			if subj, _ := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject")); !strings.Contains(subj, "Acme") {
				t.Errorf("subject %q does not name the account", subj)
			}

			// Accepting through the link: a short password is refused, then
			// the person is signed in.
			nia := e.browser()
			e.do(nia, "POST", "/api/v1/invitations/accept", map[string]any{"token": token, "password": "short"}).
				wantError(t, http.StatusBadRequest, "invalid")
			a = e.do(nia, "POST", "/api/v1/invitations/accept", map[string]any{"token": token, "password": "nia's own passphrase", "name": "Nia New"})
			if a.status != http.StatusOK {
				t.Fatalf("accept: %d %s", a.status, a.body)
			}
			var acc loginAnswer
			a.decode(t, &acc)
			if acc.User.Name != "Nia New" || acc.Session.ID == "" {
				t.Fatalf("accept answer %s", a.body)
			}
			if a := e.do(nia, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
				t.Fatalf("whoami with the cookie of the accepted invitation: %d %s", a.status, a.body)
			}
			if a := e.do(nil, "GET", "/api/v1/whoami", nil, bearer(acc.Token)...); a.status != http.StatusOK {
				t.Fatalf("whoami with the token of the accepted invitation: %d", a.status)
			}
			e.do(nil, "POST", "/api/v1/invitations/accept", map[string]any{"token": token, "password": "another passphrase"}).
				wantError(t, http.StatusBadRequest, "invalid")
			users := e.teamUsers(admin)
			if u := users["nia@acme.example"]; u.Status != "active" || u.ActiveSessions != 1 || u.LastActiveAt == nil || u.Name != "Nia New" {
				t.Fatalf("the new member is listed as %+v", u)
			}
			niaID, boss := users["nia@acme.example"].UserID, users["boss@acme.example"]

			// Demoting or disabling without a reason is 400 and changes nothing.
			e.do(admin, "PATCH", "/api/v1/team/users/"+boss.UserID, map[string]any{"role": "member"}).
				wantError(t, http.StatusBadRequest, "invalid")
			e.do(admin, "PATCH", "/api/v1/team/users/"+niaID, map[string]any{"disabled": true}).
				wantError(t, http.StatusBadRequest, "invalid")

			// Disabling ends the member's live token at once; sign-in fails
			// exactly as a wrong password does.
			a = e.do(admin, "PATCH", "/api/v1/team/users/"+niaID, map[string]any{"disabled": true, "reason": "contract ended"})
			if a.status != http.StatusOK {
				t.Fatalf("disable: %d %s", a.status, a.body)
			}
			var patched struct {
				User teamUser `json:"user"`
			}
			a.decode(t, &patched)
			if patched.User.Status != "disabled" || patched.User.ActiveSessions != 0 {
				t.Fatalf("disable answer %s", a.body)
			}
			e.do(nil, "GET", "/api/v1/whoami", nil, bearer(acc.Token)...).wantError(t, http.StatusUnauthorized, "unauthorized")
			disabled := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "nia@acme.example", "password": "nia's own passphrase"})
			wrong := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "mo@acme.example", "password": "not the password"})
			dv, wv := disabled.wantError(t, http.StatusUnauthorized, "unauthorized"), wrong.wantError(t, http.StatusUnauthorized, "unauthorized")
			if dv.Error.Message != wv.Error.Message || dv.Error.Reason != wv.Error.Reason {
				t.Fatalf("disabled user's sign-in %s; wrong password %s", disabled.body, wrong.body)
			}

			// Enabling lets them back.
			if a := e.do(admin, "PATCH", "/api/v1/team/users/"+niaID, map[string]any{"disabled": false}); a.status != http.StatusOK {
				t.Fatalf("enable: %d %s", a.status, a.body)
			}
			if a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "nia@acme.example", "password": "nia's own passphrase"}); a.status != http.StatusOK {
				t.Fatalf("sign-in after enabling: %d %s", a.status, a.body)
			}

			// The last admin cannot be removed, demoted or disabled.
			e.do(admin, "DELETE", "/api/v1/team/users/"+boss.UserID, map[string]any{"reason": "leaving"}).
				wantError(t, http.StatusConflict, "conflict")
			e.do(admin, "PATCH", "/api/v1/team/users/"+boss.UserID, map[string]any{"role": "member", "reason": "leaving"}).
				wantError(t, http.StatusConflict, "conflict")
			// Removing needs a reason; a removed member is gone from the list.
			e.do(admin, "DELETE", "/api/v1/team/users/"+niaID, map[string]any{}).wantError(t, http.StatusBadRequest, "invalid")
			if a := e.do(admin, "DELETE", "/api/v1/team/users/"+niaID, map[string]any{"reason": "left the company"}); a.status != http.StatusNoContent {
				t.Fatalf("remove: %d %s", a.status, a.body)
			}
			if _, ok := e.teamUsers(admin)["nia@acme.example"]; ok {
				t.Fatal("a removed user is listed")
			}
			e.do(admin, "PATCH", "/api/v1/team/users/"+niaID, map[string]any{"disabled": false}).wantError(t, http.StatusNotFound, "not_found")

			// Every step, with actor and reason.
			want := []struct{ action, actor, reason string }{
				{"user_invited", "boss@acme.example", ""},
				{"invitation_accepted", "nia@acme.example", ""},
				{"user_disabled", "boss@acme.example", "contract ended"},
				{"user_enabled", "boss@acme.example", ""},
				{"user_removed", "boss@acme.example", "left the company"},
			}
			log := e.audit(admin, "?limit=200")
			for _, w := range want {
				found := false
				for _, ev := range log.Events {
					if ev.Action == w.action && ev.Actor == w.actor && ev.Reason == w.reason && ev.Target == "nia@acme.example" {
						found = true
					}
				}
				if !found {
					t.Errorf("no %s event by %s with reason %q", w.action, w.actor, w.reason)
				}
			}
			if strings.Contains(e.logs.String(), token) {
				t.Error("the invitation token is in the logs")
			}
		})
	}
}

// TestInviteReauthAndResend: inviting is a sensitive action (password
// again after 15 minutes); without SMTP the link is in the answer to hand
// over; resending replaces the link; revoking an invitation frees the email.
func TestInviteReauthAndResend(t *testing.T) {
	e := newEnv(t)
	e.user("boss@acme.example", doorman.RoleAdmin)
	admin := e.browser()
	e.login(admin, "boss@acme.example", false)
	e.clock.Advance(16 * time.Minute)
	e.do(admin, "POST", "/api/v1/team/users", map[string]any{"email": "x@acme.example"}).wantError(t, http.StatusForbidden, "reauth_required")
	a := e.do(admin, "POST", "/api/v1/team/users", map[string]any{"email": "x@acme.example", "password": password})
	if a.status != http.StatusCreated {
		t.Fatalf("invite with the password: %d %s", a.status, a.body)
	}
	var first inviteAnswer
	a.decode(t, &first)
	if first.EmailSent || !strings.HasPrefix(first.InviteURL, e.srv.URL+"/invite/") || first.User.Role != "member" {
		t.Fatalf("invite without SMTP: %s", a.body)
	}
	a = e.do(admin, "POST", "/api/v1/team/users/"+first.User.UserID+"/invitation", map[string]any{})
	var second inviteAnswer
	a.decode(t, &second)
	if a.status != http.StatusOK || second.InviteURL == first.InviteURL {
		t.Fatalf("resend: %d %s", a.status, a.body)
	}
	oldToken := inviteLinkRE.FindStringSubmatch(first.InviteURL)[1]
	e.do(nil, "POST", "/api/v1/invitations/accept", map[string]any{"token": oldToken, "password": "a good passphrase"}).
		wantError(t, http.StatusBadRequest, "invalid")
	if a := e.do(admin, "DELETE", "/api/v1/team/users/"+first.User.UserID, map[string]any{"reason": "wrong address"}); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	newToken := inviteLinkRE.FindStringSubmatch(second.InviteURL)[1]
	e.do(nil, "POST", "/api/v1/invitations/accept", map[string]any{"token": newToken, "password": "a good passphrase"}).
		wantError(t, http.StatusBadRequest, "invalid")
	if a := e.do(admin, "POST", "/api/v1/team/users", map[string]any{"email": "x@acme.example"}); a.status != http.StatusCreated {
		t.Fatalf("invite the freed email again: %d %s", a.status, a.body)
	}
	// Another account's user is 404.
	other := e.user("eve@globex.example", doorman.RoleMember, "Globex")
	e.do(admin, "PATCH", "/api/v1/team/users/"+other.ID, map[string]any{"name": "Eve"}).wantError(t, http.StatusNotFound, "not_found")
	e.do(admin, "DELETE", "/api/v1/team/users/"+other.ID, map[string]any{"reason": "x"}).wantError(t, http.StatusNotFound, "not_found")
}
