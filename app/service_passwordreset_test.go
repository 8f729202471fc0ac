package app_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

var resetLinkRE = regexp.MustCompile(`https://doorman\.example\.com/password/reset/([A-Za-z0-9_-]{43})`)

// resetFixture is a user with two live sessions and a mailer.
func resetFixture(t *testing.T, store doorman.Store) (*fixture, *fakeMailer, *doorman.User) {
	t.Helper()
	f := newFixture(t, store)
	m := &fakeMailer{}
	f.svc.Alerts = doorman.AlertConfig{Mailer: m, LinkBase: "https://doorman.example.com/"}
	u := f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
	return f, m, u
}

// requestLink asks for a reset link for email, delivers the outbox and
// returns the token of the newest mail's link ("" when none came).
func (f *fixture) requestLink(t *testing.T, m *fakeMailer, email, ip string) string {
	t.Helper()
	before := len(m.messages())
	if err := f.svc.SendPasswordReset(context.Background(), email, app.Meta{IP: ip, UserAgent: "test-agent"}); err != nil {
		t.Fatalf("SendPasswordReset: %v", err)
	}
	if _, err := f.svc.DeliverAlerts(context.Background()); err != nil {
		t.Fatalf("DeliverAlerts: %v", err)
	}
	msgs := m.messages()
	if len(msgs) == before {
		return ""
	}
	match := resetLinkRE.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if match == nil {
		t.Fatalf("no reset link in:\n%s", msgs[len(msgs)-1].Text)
	}
	return match[1]
}

func TestPasswordReset(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, m, u := resetFixture(t, store)
		ctx := context.Background()
		tok1, _ := f.signIn(t, u.Email, false)
		tok2, _ := f.signIn(t, u.Email, true)

		token := f.requestLink(t, m, "  Sarah@Company.com ", "203.0.113.5")
		if token == "" {
			t.Fatal("no email for a known address")
		}
		mail := m.messages()[0]
		if mail.To != u.Email || !strings.Contains(mail.Subject, "Company") || !strings.Contains(mail.Text, "Company") ||
			!strings.Contains(mail.HTML, "https://doorman.example.com/password/reset/"+token) || !strings.Contains(mail.HTML, "Company") {
			t.Errorf("reset email: %+v", mail)
		}
		// Checking the link changes nothing.
		for range 2 {
			if email, err := f.svc.PasswordResetLink(ctx, token); err != nil || email != u.Email {
				t.Fatalf("PasswordResetLink: %q %v", email, err)
			}
		}
		// The account's password rules apply, and a refused password
		// leaves the link usable.
		err := f.svc.ResetPassword(ctx, token, "short", app.Meta{IP: "203.0.113.5"})
		if doorman.ErrorCode(err) != doorman.EINVALID || !strings.Contains(doorman.ErrorMessage(err), "at least 12") {
			t.Fatalf("short password: %v", err)
		}
		if err := f.svc.ResetPassword(ctx, token, "a brand new passphrase", app.Meta{IP: "203.0.113.5", UserAgent: "test-agent"}); err != nil {
			t.Fatalf("ResetPassword: %v", err)
		}
		for _, tok := range []string{tok1, tok2} {
			if _, err := f.auth(tok); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Errorf("a session before the reset: %v, want EUNAUTHORIZED", err)
			}
		}
		// The new password signs in; the old one does not.
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: u.Email, Password: "a brand new passphrase"}); err != nil {
			t.Errorf("sign-in with the new password: %v", err)
		}
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: u.Email, Password: password}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Errorf("sign-in with the old password: %v", err)
		}
		// A second use is refused with the clear message.
		err = f.svc.ResetPassword(ctx, token, "yet another passphrase", app.Meta{})
		if doorman.ErrorCode(err) != doorman.EINVALID || !strings.Contains(doorman.ErrorMessage(err), "already used or has expired") {
			t.Errorf("second use: %v", err)
		}
		if _, err := f.svc.PasswordResetLink(ctx, token); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Errorf("PasswordResetLink after use: %v", err)
		}
		evs, _, err := f.svc.Store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: u.AccountID, Action: doorman.ActionPasswordReset})
		if err != nil || len(evs) != 1 || evs[0].ActorID != u.ID || evs[0].IP != "203.0.113.5" || evs[0].Count != 2 {
			t.Errorf("password_reset events: %+v %v", evs, err)
		}
		if _, n, _ := f.svc.Store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: u.AccountID, Action: doorman.ActionPasswordResetRequested}); n != 1 {
			t.Errorf("password_reset_requested events: %d, want 1", n)
		}
		// The person is told that the password changed.
		f.svc.DeliverAlerts(ctx)
		msgs := m.messages()
		if last := msgs[len(msgs)-1]; len(msgs) != 2 || !strings.Contains(last.Subject, "password was changed") {
			t.Errorf("after the reset, mails %+v, want the password change notice", msgs)
		}
	})
}

func TestPasswordResetExpiresAfter30Minutes(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, m, u := resetFixture(t, store)
		ctx := context.Background()
		first := f.requestLink(t, m, u.Email, "203.0.113.5")
		f.clock.Advance(doorman.PasswordResetTTL - time.Microsecond)
		if _, err := f.svc.PasswordResetLink(ctx, first); err != nil {
			t.Fatalf("a link just under 30 minutes old: %v", err)
		}
		second := f.requestLink(t, m, u.Email, "203.0.113.5")
		f.clock.Advance(time.Microsecond)
		if err := f.svc.ResetPassword(ctx, first, "a brand new passphrase", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("a link 30 minutes old: %v, want EINVALID", err)
		}
		// Using the second link ends the others, used or not.
		third := f.requestLink(t, m, u.Email, "203.0.113.5")
		if err := f.svc.ResetPassword(ctx, second, "a brand new passphrase", app.Meta{}); err != nil {
			t.Fatalf("the second link: %v", err)
		}
		if err := f.svc.ResetPassword(ctx, third, "another new passphrase", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Errorf("a link made before another was used: %v, want EINVALID", err)
		}
	})
}

func TestPasswordResetUnknownAndThrottled(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, m, u := resetFixture(t, store)
		ctx := context.Background()
		if tok := f.requestLink(t, m, "nobody@company.com", "203.0.113.5"); tok != "" {
			t.Fatal("a mail for an unknown address")
		}
		if err := f.svc.SendPasswordReset(ctx, "not an address", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Errorf("malformed email: %v", err)
		}
		if err := f.svc.RequestPasswordReset("not an address", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
			t.Errorf("RequestPasswordReset(malformed): %v", err)
		}
		// Per email: 3 an hour, whatever the address asking.
		for i := range doorman.ResetRequestsPerEmail {
			if tok := f.requestLink(t, m, u.Email, "198.51.100."+string(rune('1'+i))); tok == "" {
				t.Fatalf("request %d sent nothing", i+1)
			}
		}
		if tok := f.requestLink(t, m, u.Email, "198.51.100.9"); tok != "" {
			t.Fatal("a fourth mail within the hour")
		}
		f.clock.Advance(doorman.PasswordResetWindow + time.Second)
		if tok := f.requestLink(t, m, u.Email, "198.51.100.9"); tok == "" {
			t.Fatal("no mail an hour later")
		}
		// Per address: 20 an hour, known emails or not.
		for i := range doorman.ResetRequestsPerIP {
			f.requestLink(t, m, "probe"+string(rune('a'+i))+"@company.com", "192.0.2.1")
		}
		if tok := f.requestLink(t, m, u.Email, "192.0.2.1"); tok != "" {
			t.Error("a mail to a known email from an address over its limit")
		}
		// RequestPasswordReset does the same work in the background.
		f.clock.Advance(doorman.PasswordResetWindow + time.Second)
		before := len(m.messages())
		if err := f.svc.RequestPasswordReset(u.Email, app.Meta{IP: "203.0.113.80"}); err != nil {
			t.Fatal(err)
		}
		f.svc.WaitBackground()
		f.svc.DeliverAlerts(ctx)
		if len(m.messages()) != before+1 {
			t.Error("RequestPasswordReset sent no mail")
		}
	})
}

func TestPasswordResetWithoutEmail(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, m, u := resetFixture(t, store)
		ctx := context.Background()
		token := f.requestLink(t, m, u.Email, "203.0.113.5")
		// A server that sends no email makes no link at all.
		f.svc.Alerts.Mailer = nil
		if f.svc.EmailConfigured() {
			t.Fatal("EmailConfigured without a mailer")
		}
		if err := f.svc.SendPasswordReset(ctx, u.Email, app.Meta{IP: "203.0.113.5"}); err != nil {
			t.Fatal(err)
		}
		if _, n, _ := f.svc.Store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: u.AccountID, Action: doorman.ActionPasswordResetRequested}); n != 1 {
			t.Errorf("password_reset_requested events: %d, want 1 (none without email)", n)
		}
		// Garbage and unknown tokens are the same clear refusal.
		for _, tok := range []string{"", "x", strings.Repeat("A", 43), token + "A"} {
			if err := f.svc.ResetPassword(ctx, tok, "a brand new passphrase", app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
				t.Errorf("token %q: %v, want EINVALID", tok, err)
			}
		}
	})
}

// TestPasswordResetEmailRetries: a reset email that failed is retried
// while its link works, and given up once the link has expired.
func TestPasswordResetEmailRetries(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, m, u := resetFixture(t, store)
		ctx := context.Background()
		m.err = errors.New("the mail server is down")
		if tok := f.requestLink(t, m, u.Email, "203.0.113.5"); tok != "" {
			t.Fatal("a mail while the server is down")
		}
		m.mu.Lock()
		m.err = nil
		m.mu.Unlock()
		f.clock.Advance(app.AlertBackoff[0])
		if n, err := f.svc.DeliverAlerts(ctx); n != 1 || err != nil || len(m.messages()) != 1 {
			t.Fatalf("the retry: %d attempts, %d mails (%v), want the mail", n, len(m.messages()), err)
		}

		m.mu.Lock()
		m.err = errors.New("the mail server is down")
		m.mu.Unlock()
		f.clock.Advance(doorman.PasswordResetWindow)
		f.requestLink(t, m, u.Email, "203.0.113.5")
		m.mu.Lock()
		m.err = nil
		m.mu.Unlock()
		// The retries after 30 s and 2 min fall within the link's life; the
		// one after 10 more minutes still does; past 30 minutes it is not sent.
		f.clock.Advance(doorman.PasswordResetTTL)
		if n, err := f.svc.DeliverAlerts(ctx); n != 1 || err != nil {
			t.Fatalf("DeliverAlerts: %d, %v", n, err)
		}
		if len(m.messages()) != 1 {
			t.Errorf("%d mails, want no mail of an expired link", len(m.messages()))
		}
		f.clock.Advance(24 * time.Hour)
		if n, _ := f.svc.DeliverAlerts(ctx); n != 0 {
			t.Errorf("%d attempts after the link expired, want none: given up", n)
		}
	})
}
