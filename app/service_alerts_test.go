package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/aesgcm"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/geoip/geoiptest"
	"github.com/doorman/doorman/totp"
	ptotp "github.com/pquerna/otp/totp"
)

// fakeMailer records messages, or fails with err.
type fakeMailer struct {
	mu   sync.Mutex
	sent []doorman.Email
	err  error
}

func (m *fakeMailer) Send(_ context.Context, e doorman.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.sent = append(m.sent, e)
	return nil
}

func (m *fakeMailer) messages() []doorman.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]doorman.Email(nil), m.sent...)
}

// fakeHooks records requests and answers status.
type fakeHooks struct {
	mu     sync.Mutex
	got    []doorman.WebhookRequest
	status int
}

func (h *fakeHooks) Post(_ context.Context, r doorman.WebhookRequest) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, r)
	if h.status/100 != 2 {
		return h.status, errors.New("webhook answered an error")
	}
	return h.status, nil
}

var linkRE = regexp.MustCompile(`https://doorman\.example\.com/alerts/([A-Za-z0-9_-]{43})`)

// alerted is a user with a usual sign-in from Madrid, and the ports.
func alerted(t *testing.T, store doorman.Store) (*placed, *fakeMailer, *fakeHooks) {
	t.Helper()
	f := newPlaced(t, store)
	m, h := &fakeMailer{}, &fakeHooks{status: 204}
	f.svc.Alerts = doorman.AlertConfig{Mailer: m, Webhooks: h, LinkBase: "https://doorman.example.com/"}
	f.user(t, "Company", "sarah@company.com", doorman.RoleAdmin)
	f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "laptop"})
	return f, m, h
}

func (f *placed) deliver(t *testing.T) int {
	t.Helper()
	n, err := f.svc.DeliverAlerts(context.Background())
	if err != nil {
		t.Fatalf("DeliverAlerts: %v", err)
	}
	return n
}

func TestSignInAlert(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f, mail, hooks := alerted(t, store)
		admin, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "sarah@company.com", Password: password,
			Meta: app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "laptop"}})
		if err != nil {
			t.Fatal(err)
		}
		ap, _ := f.auth(admin)
		if _, secret, err := f.svc.SetWebhook(ctx, ap, app.WebhookUpdate{URL: "https://hooks.example.com/x", Enabled: true}, app.Meta{}); err != nil || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("SetWebhook: %q, %v", secret, err)
		}
		// The first sign-in (baseline) and the usual one sent nothing.
		if n := f.deliver(t); n != 0 {
			t.Fatalf("usual sign-ins: %d deliveries", n)
		}

		f.clock.Advance(time.Hour)
		_, away := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows})
		if n := f.deliver(t); n != 2 {
			t.Fatalf("suspicious sign-in: %d deliveries, want 2", n)
		}
		msgs := mail.messages()
		if len(msgs) != 1 || msgs[0].To != "sarah@company.com" {
			t.Fatalf("emails: %+v", msgs)
		}
		for _, want := range []string{"Chrome on Windows", "Berlin, Germany", geoiptest.Berlin, "10:15 UTC", "wasn't you"} {
			if !strings.Contains(msgs[0].Text, want) {
				t.Errorf("email lacks %q:\n%s", want, msgs[0].Text)
			}
		}
		link := linkRE.FindStringSubmatch(msgs[0].Text)
		if link == nil {
			t.Fatalf("no link in the email:\n%s", msgs[0].Text)
		}
		if len(hooks.got) != 1 || hooks.got[0].Event != doorman.EventSuspiciousSignIn || !strings.HasPrefix(hooks.got[0].Secret, "whsec_") {
			t.Fatalf("webhook requests: %+v", hooks.got)
		}
		var ev doorman.AlertEvent
		if err := json.Unmarshal(hooks.got[0].Body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != doorman.EventSuspiciousSignIn || ev.Session == nil || ev.Session.ID != away.Session.ID ||
			ev.Session.Location.CountryCode != "DE" || ev.User.Email != "sarah@company.com" || ev.Session.Risk.Level != doorman.RiskHigh {
			t.Errorf("webhook body: %s", hooks.got[0].Body)
		}
		if n := f.deliver(t); n != 0 {
			t.Errorf("delivered twice: %d", n)
		}

		// The link: shown, then used once, which signs the session out.
		if _, info, err := f.svc.AlertLink(ctx, link[1]); err != nil || info.Session.ID != away.Session.ID {
			t.Fatalf("AlertLink: %v", err)
		}
		if _, err := f.svc.ReportAlert(ctx, link[1], app.Meta{IP: geoiptest.Madrid}); err != nil {
			t.Fatalf("ReportAlert: %v", err)
		}
		if s := f.stored(t, away); s.RevokedAt == nil || s.RevokeReason != doorman.ReasonReported {
			t.Errorf("reported session: revoked %v (%q)", s.RevokedAt, s.RevokeReason)
		}
		if _, err := f.svc.ReportAlert(ctx, link[1], app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("second use: %v, want ENOTFOUND", err)
		}
		if _, _, err := f.svc.AlertLink(ctx, link[1]); doorman.ErrorMessage(err) != "This link was already used or has expired." {
			t.Errorf("used link: %v", err)
		}
		events, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: ap.Account.ID})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range events {
			counts[e.Action]++
		}
		for action, want := range map[string]int{doorman.ActionSignInAlert: 1, doorman.ActionAlertDelivered: 2,
			doorman.ActionSessionReported: 1, doorman.ActionWebhookUpdated: 1} {
			if counts[action] != want {
				t.Errorf("%s events: %d, want %d", action, counts[action], want)
			}
		}

		// Purged after AlertRetention, not before.
		f.clock.Advance(app.AlertRetention - 2*time.Hour)
		if n, err := f.svc.PurgeAlerts(ctx, 10); err != nil || n != 0 {
			t.Errorf("PurgeAlerts before the retention: %d, %v", n, err)
		}
		f.clock.Advance(3 * time.Hour)
		if n, err := f.svc.PurgeAlerts(ctx, 10); err != nil || n != 1 {
			t.Errorf("PurgeAlerts after the retention: %d, %v; want 1", n, err)
		}
	})
}

func TestSignInAlertLinkExpires(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, mail, _ := alerted(t, store)
		f.clock.Advance(time.Hour)
		f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows})
		f.deliver(t)
		link := linkRE.FindStringSubmatch(mail.messages()[0].Text)
		f.clock.Advance(doorman.AlertLinkTTL)
		if _, err := f.svc.ReportAlert(context.Background(), link[1], app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("expired link: %v, want ENOTFOUND", err)
		}
		for _, bad := range []string{"", "short", strings.Repeat("A", 43)} {
			if _, _, err := f.svc.AlertLink(context.Background(), bad); doorman.ErrorCode(err) != doorman.ENOTFOUND {
				t.Errorf("AlertLink(%q): %v", bad, err)
			}
		}
	})
}

// A sign-in succeeds while mail and webhook are down; the deliveries are
// retried after the backoff, each attempt recorded, and fail after the last.
func TestSignInAlertRetries(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f, mail, hooks := alerted(t, store)
		mail.err = errors.New("connection refused")
		hooks.status = 500
		tok, _ := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "laptop"})
		p, _ := f.auth(tok)
		if _, _, err := f.svc.SetWebhook(ctx, p, app.WebhookUpdate{URL: "http://127.0.0.1:9/hook", Enabled: true}, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		if _, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "sarah@company.com", Password: password,
			Meta: app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows}}); err != nil {
			t.Fatalf("sign-in with mail and webhook down: %v", err)
		}
		if n := f.deliver(t); n != 2 {
			t.Fatalf("first attempts: %d", n)
		}
		mail.err = nil // the email goes through on its first retry
		for i, wait := range app.AlertBackoff {
			f.clock.Advance(wait - time.Second)
			if n := f.deliver(t); n != 0 {
				t.Fatalf("retry %d attempted %d before its backoff", i+1, n)
			}
			f.clock.Advance(time.Second)
			want := 1
			if i == 0 {
				want = 2
			}
			if n := f.deliver(t); n != want {
				t.Fatalf("retry %d: %d attempts, want %d", i+1, n, want)
			}
		}
		ds, err := f.svc.WebhookDeliveries(ctx, p)
		if err != nil || len(ds) != 1 {
			t.Fatalf("WebhookDeliveries: %v, %v", ds, err)
		}
		if d := ds[0]; d.Status != doorman.DeliveryFailed || d.Attempts != len(app.AlertBackoff)+1 || d.LastStatusCode != 500 {
			t.Errorf("webhook delivery: %+v", d)
		}
		if len(hooks.got) != len(app.AlertBackoff)+1 {
			t.Errorf("webhook posts: %d", len(hooks.got))
		}
		if len(mail.messages()) != 1 {
			t.Errorf("emails: %d, want 1 (on the first retry)", len(mail.messages()))
		}
		f.clock.Advance(24 * time.Hour)
		if n := f.deliver(t); n != 0 {
			t.Errorf("after the last attempt: %d more", n)
		}
	})
}

func TestWebhookSettings(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f, _, hooks := alerted(t, store)
		f.user(t, "Company", "member@company.com", doorman.RoleMember)
		tok, _ := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "laptop"})
		admin, _ := f.auth(tok)
		mtok, _ := f.signInWith(t, "member@company.com", app.Meta{IP: geoiptest.Madrid})
		member, _ := f.auth(mtok)

		if _, _, err := f.svc.SetWebhook(ctx, member, app.WebhookUpdate{URL: "https://x.example"}, app.Meta{}); doorman.ErrorCode(err) != doorman.EFORBIDDEN {
			t.Errorf("member SetWebhook: %v", err)
		}
		if _, err := f.svc.Webhook(ctx, admin); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("Webhook before any: %v", err)
		}
		for _, bad := range []string{"", "hooks.example.com", "http://hooks.example.com/x", "ftp://x.example/",
			"https://user:pw@x.example/", "https://x.example/#f", "https://" + strings.Repeat("a", 2050),
			// Cloud instance metadata, and other addresses no webhook lives at.
			"http://169.254.169.254/latest/meta-data/", "https://169.254.169.254/", "http://[fe80::1]/h",
			"https://[::ffff:169.254.169.254]/", "https://0.0.0.0/", "https://[::]/", "https://224.0.0.1/"} {
			if _, _, err := f.svc.SetWebhook(ctx, admin, app.WebhookUpdate{URL: bad}, app.Meta{}); doorman.ErrorCode(err) != doorman.EINVALID {
				t.Errorf("SetWebhook(%q): %v, want EINVALID", bad, err)
			}
		}
		for _, good := range []string{"https://hooks.example.com/x", "http://localhost:8080/h", "http://127.0.0.1/h", "http://10.1.2.3/h", "http://[::1]:9/h"} {
			if err := app.ValidateWebhookURL(good); err != nil {
				t.Errorf("ValidateWebhookURL(%q): %v", good, err)
			}
		}
		w, secret, err := f.svc.SetWebhook(ctx, admin, app.WebhookUpdate{URL: "https://hooks.example.com/x", Enabled: true}, app.Meta{})
		if err != nil || secret == "" || w.Secret != "" {
			t.Fatalf("SetWebhook: %+v %q %v", w, secret, err)
		}
		_, again, err := f.svc.SetWebhook(ctx, admin, app.WebhookUpdate{URL: "https://hooks.example.com/y", Enabled: true}, app.Meta{})
		if err != nil || again != "" {
			t.Fatalf("change without rotation: secret %q, %v", again, err)
		}
		_, rotated, err := f.svc.SetWebhook(ctx, admin, app.WebhookUpdate{URL: "https://hooks.example.com/y", Enabled: true, RotateSecret: true}, app.Meta{})
		if err != nil || rotated == "" || rotated == secret {
			t.Fatalf("rotation: %q, %v", rotated, err)
		}
		d, err := f.svc.TestWebhook(ctx, admin, app.Meta{})
		if err != nil || d.Kind != doorman.EventWebhookTest {
			t.Fatalf("TestWebhook: %+v %v", d, err)
		}
		f.deliver(t)
		if len(hooks.got) != 1 || hooks.got[0].Secret != rotated || hooks.got[0].Event != doorman.EventWebhookTest || hooks.got[0].URL != "https://hooks.example.com/y" {
			t.Fatalf("test event: %+v", hooks.got)
		}
		if err := f.svc.DeleteWebhook(ctx, admin, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteWebhook(ctx, admin, app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("second delete: %v", err)
		}
		if _, err := f.svc.TestWebhook(ctx, admin, app.Meta{}); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("TestWebhook without a webhook: %v", err)
		}
	})
}

// Without a Mailer no email delivery is created; the alert is still audited.
func TestSignInAlertWithoutChannels(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, _, _ := alerted(t, store)
		f.svc.Alerts = doorman.AlertConfig{}
		f.clock.Advance(time.Hour)
		_, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows})
		if n := f.deliver(t); n != 0 {
			t.Errorf("deliveries without channels: %d", n)
		}
		events, n, err := store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: p.Account.ID, Action: doorman.ActionSignInAlert})
		if err != nil || n != 1 || !strings.HasSuffix(events[0].Details, "channels=none") {
			t.Errorf("sign_in_alert events: %d %v %v", n, events, err)
		}
	})
}

// alertsDown is a store that cannot write alerts.
type alertsDown struct{ doorman.Store }

func (alertsDown) CreateAlert(context.Context, *doorman.Alert, []*doorman.Delivery, *doorman.AuditEvent) error {
	return errors.New("disk full")
}

// A sign-in whose alert cannot be written still succeeds; the failure is
// only logged.
func TestSignInAlertStoreDown(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f, _, _ := alerted(t, alertsDown{store})
		f.clock.Advance(time.Hour)
		tok, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows})
		if tok == "" || p.Session.Risk.Level != doorman.RiskHigh {
			t.Fatalf("sign-in: %q %+v", tok, p.Session.Risk)
		}
		if _, err := f.auth(tok); err != nil {
			t.Errorf("the new session: %v", err)
		}
	})
}

// TestAccountChangeAlerts: a password change and two-factor authentication
// turned off are told to the user by email and to the account's webhook,
// naming the session that made them; neither carries a "This wasn't me"
// link, and without any channel nothing is written.
func TestAccountChangeAlerts(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f, mail, hooks := alerted(t, store)
		f.svc.OTP = totp.OTP{}
		tok, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "sarah@company.com", Password: password,
			Meta: app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "laptop"}})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := f.auth(tok)
		if _, _, err := f.svc.SetWebhook(ctx, p, app.WebhookUpdate{URL: "https://hooks.example.com/x", Enabled: true}, app.Meta{}); err != nil {
			t.Fatal(err)
		}

		const newPassword = "a brand new passphrase"
		_, np, _, err := f.svc.ChangePassword(ctx, p, app.ChangePasswordRequest{CurrentPassword: password, NewPassword: newPassword,
			Meta: app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac}})
		if err != nil {
			t.Fatal(err)
		}
		if n := f.deliver(t); n != 2 {
			t.Fatalf("password change: %d deliveries, want 2", n)
		}
		msgs := mail.messages()
		if len(msgs) != 1 || msgs[0].Subject != "Your Doorman password was changed" || linkRE.MatchString(msgs[0].Text) {
			t.Fatalf("emails: %+v", msgs)
		}
		for _, want := range []string{"The password of your Doorman account sarah@company.com was changed.", "Madrid, Spain",
			geoiptest.Madrid, "Tell an administrator"} {
			if !strings.Contains(msgs[0].Text, want) {
				t.Errorf("email lacks %q:\n%s", want, msgs[0].Text)
			}
		}
		var ev doorman.AlertEvent
		if len(hooks.got) != 1 || hooks.got[0].Event != doorman.EventPasswordChanged || json.Unmarshal(hooks.got[0].Body, &ev) != nil ||
			ev.Type != doorman.EventPasswordChanged || ev.Session == nil || ev.Session.ID != np.Session.ID || ev.User.Email != "sarah@company.com" {
			t.Fatalf("webhook: %+v", hooks.got)
		}

		// Two-factor authentication on, then off.
		key, err := f.svc.BeginTwoFactorSetup(ctx, np, "", app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		code, err := ptotp.GenerateCode(key.Secret, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		on, err := f.svc.ConfirmTwoFactorSetup(ctx, np, code, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		codes := on.RecoveryCodes
		np = on.Principal // the session was rotated
		if n := f.deliver(t); n != 0 {
			t.Errorf("turning 2FA on sent %d", n)
		}
		if err := f.svc.DisableTwoFactor(ctx, np, newPassword, codes[0], app.Meta{IP: geoiptest.Berlin}); err != nil {
			t.Fatal(err)
		}
		if n := f.deliver(t); n != 2 {
			t.Fatalf("2FA off: %d deliveries, want 2", n)
		}
		if msgs := mail.messages(); len(msgs) != 2 || msgs[1].Subject != "Two-factor authentication was turned off for your Doorman account" {
			t.Errorf("emails: %+v", msgs)
		}
		if len(hooks.got) != 2 || hooks.got[1].Event != doorman.EventTwoFactorDisabled {
			t.Errorf("webhook: %+v", hooks.got)
		}

		// No channel, no alert row.
		f.svc.Alerts.Mailer = nil
		if err := f.svc.DeleteWebhook(ctx, np, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := f.svc.ChangePassword(ctx, np, app.ChangePasswordRequest{CurrentPassword: newPassword, NewPassword: password}); err != nil {
			t.Fatal(err)
		}
		if n := f.deliver(t); n != 0 {
			t.Errorf("without channels: %d deliveries", n)
		}
	})
}

// TestSecretsSealed: with a SecretBox, the TOTP and webhook secrets are
// stored sealed, and still check codes and sign webhooks; secrets stored
// before the key was set still work; a sealed secret without the key is
// never taken for a plain one.
func TestSecretsSealed(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f, _, hooks := alerted(t, store)
		f.svc.OTP = totp.OTP{}
		key := make([]byte, aesgcm.KeySize)
		for i := range key {
			key[i] = byte(i)
		}
		box, err := aesgcm.New(key)
		if err != nil {
			t.Fatal(err)
		}
		f.user(t, "Company", "old@company.com", doorman.RoleMember)
		// A secret stored before the key was set.
		oldTok, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "old@company.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		op, _ := f.auth(oldTok)
		oldKey, err := f.svc.BeginTwoFactorSetup(ctx, op, "", app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		code := func(secret string) string {
			c, err := ptotp.GenerateCode(secret, f.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if _, err := f.svc.ConfirmTwoFactorSetup(ctx, op, code(oldKey.Secret), app.Meta{}); err != nil {
			t.Fatal(err)
		}

		f.svc.Secrets = box
		tok, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "sarah@company.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := f.auth(tok)
		k, err := f.svc.BeginTwoFactorSetup(ctx, p, "", app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		tf, err := store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
		if err != nil || !strings.HasPrefix(tf.PendingSecret, doorman.SealedPrefix) || strings.Contains(tf.PendingSecret, k.Secret) {
			t.Fatalf("pending secret stored as %q (%v), want it sealed", tf.PendingSecret, err)
		}
		if again, err := f.svc.TwoFactorSetupKey(ctx, p); err != nil || again.Secret != k.Secret {
			t.Fatalf("setup key shown again: %v", err)
		}
		if _, err := f.svc.ConfirmTwoFactorSetup(ctx, p, code(k.Secret), app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if tf, _ := store.FindTwoFactor(ctx, p.Account.ID, p.User.ID); !strings.HasPrefix(tf.Secret, doorman.SealedPrefix) {
			t.Fatalf("secret stored as %q, want it sealed", tf.Secret)
		}
		f.clock.Advance(30 * time.Second)
		signIn := func(email, c string) error {
			_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: email, Password: password, TOTPCode: c})
			return err
		}
		if err := signIn("sarah@company.com", code(k.Secret)); err != nil {
			t.Errorf("sign-in with a sealed secret: %v", err)
		}
		if err := signIn("old@company.com", code(oldKey.Secret)); err != nil {
			t.Errorf("sign-in with a secret from before the key: %v", err)
		}

		// The webhook's secret: sealed in the store, plain to the receiver.
		_, secret, err := f.svc.SetWebhook(ctx, p, app.WebhookUpdate{URL: "https://hooks.example.com/x", Enabled: true}, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		if w, err := store.FindWebhook(ctx, p.Account.ID); err != nil || !strings.HasPrefix(w.Secret, doorman.SealedPrefix) {
			t.Fatalf("webhook secret stored as %q (%v)", w.Secret, err)
		}
		if _, err := f.svc.TestWebhook(ctx, p, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		f.deliver(t)
		if n := len(hooks.got); n == 0 || hooks.got[n-1].Secret != secret {
			t.Fatalf("webhook signed with %+v, want the secret shown", hooks.got)
		}

		// Without the key, a sealed secret is an error, never a code check
		// against the sealed text.
		f.svc.Secrets = nil
		f.clock.Advance(30 * time.Second)
		if err := signIn("sarah@company.com", code(k.Secret)); err == nil || doorman.ErrorCode(err) != doorman.EINTERNAL {
			t.Errorf("sign-in without the key: %v, want an internal error", err)
		}
	})
}
