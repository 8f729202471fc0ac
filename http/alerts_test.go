package http_test

import (
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
	"github.com/doorman/doorman/internal/smtptest"
	"github.com/doorman/doorman/smtp"
	"github.com/doorman/doorman/webhook"
)

// receiver is a webhook endpoint that checks every request's signature
// with the secret it is given, and answers status.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	status   int
	bodies   [][]byte
	headers  []http.Header
	verified int
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	rc := &receiver{t: t, status: http.StatusNoContent}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.bodies = append(rc.bodies, body)
		rc.headers = append(rc.headers, r.Header.Clone())
		if err := webhook.Verify(rc.secret, r.Header.Get("X-Doorman-Signature"), body, now(), 5*time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
		} else {
			rc.verified++
		}
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) set(secret string, status int) {
	rc.mu.Lock()
	rc.secret, rc.status = secret, status
	rc.mu.Unlock()
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

// alertEnv is a server whose Service sends alerts by SMTP to mailAddr and
// by webhook, placing addresses with the test database and naming browsers.
func alertEnv(t *testing.T, mailAddr string) *env {
	t.Helper()
	e := placedEnv(t)
	m, err := smtp.New(mailAddr, "Doorman <doorman@acme.example>", "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Alerts = doorman.AlertConfig{Mailer: m, Webhooks: webhook.New(), LinkBase: e.srv.URL}
	return e
}

func (e *env) deliver() int {
	e.t.Helper()
	n, err := e.svc.DeliverAlerts(context.Background())
	if err != nil {
		e.t.Fatalf("DeliverAlerts: %v", err)
	}
	return n
}

// setWebhook creates the account's webhook through the API as the admin
// signed in with c, and returns its secret.
func (e *env) setWebhook(c *http.Client, url string) string {
	e.t.Helper()
	a := e.do(c, "PUT", "/api/v1/webhook", map[string]any{"url": url}, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac)
	if a.status != http.StatusCreated {
		e.t.Fatalf("PUT /api/v1/webhook: %d %s", a.status, a.body)
	}
	var v struct {
		Webhook struct {
			URL     string `json:"url"`
			Enabled bool   `json:"enabled"`
		} `json:"webhook"`
		Secret string `json:"secret"`
	}
	a.decode(e.t, &v)
	if v.Webhook.URL != url || !v.Webhook.Enabled || !strings.HasPrefix(v.Secret, "whsec_") {
		e.t.Fatalf("PUT /api/v1/webhook answer: %s", a.body)
	}
	return v.Secret
}

type deliveryAnswer struct {
	ID             string  `json:"id"`
	Event          string  `json:"event"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	LastStatusCode int     `json:"last_status_code"`
	LastError      string  `json:"last_error"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	DeliveredAt    *string `json:"delivered_at"`
}

func (e *env) deliveries(c *http.Client) []deliveryAnswer {
	e.t.Helper()
	var v struct {
		Deliveries []deliveryAnswer `json:"deliveries"`
	}
	e.do(c, "GET", "/api/v1/webhook/deliveries", nil, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac).decode(e.t, &v)
	return v.Deliveries
}

var alertLinkRE = regexp.MustCompile(`/alerts/([A-Za-z0-9_-]{43})`)

// A sign-in from Germany after Spain sends the user an email through a real
// SMTP server and the account's webhook a signed event; the email's link
// shows the sign-in, and its button signs the session out, once.
func TestSignInAlertEmailWebhookAndLink(t *testing.T) {
	mailSrv := smtptest.Start(t)
	e := alertEnv(t, mailSrv.Addr)
	rc := newReceiver(t, e.clock.Now)
	e.user("ana@acme.example", doorman.RoleAdmin)

	laptop := e.browser()
	e.signInFrom(laptop, "ana@acme.example", geoiptest.Madrid, riskUAMac)
	rc.set(e.setWebhook(laptop, rc.srv.URL+"/doorman"), http.StatusNoContent)
	if n := e.deliver(); n != 0 || len(mailSrv.Messages()) != 0 {
		t.Fatalf("the first sign-in sent %d deliveries", n)
	}

	e.clock.Advance(time.Hour)
	away := e.browser()
	e.signInFrom(away, "ana@acme.example", geoiptest.Berlin, riskUAFirefox)
	awayHdr := []string{"X-Forwarded-For", geoiptest.Berlin, "User-Agent", riskUAFirefox}
	if n := e.deliver(); n != 2 {
		t.Fatalf("suspicious sign-in: %d deliveries, want 2", n)
	}

	// The email.
	msgs := mailSrv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "ana@acme.example" || msgs[0].From != "doorman@acme.example" {
		t.Fatalf("emails: %+v", msgs)
	}
	parsed, err := mail.ReadMessage(msgs[0].Reader())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	text := string(raw)
	when := e.clock.Now().UTC().Format("Monday, 2 January 2006 at 15:04 UTC")
	for _, want := range []string{"Firefox on Windows", "Berlin, Germany", geoiptest.Berlin, when, e.srv.URL + "/alerts/",
		"Concern:  High", "- Unknown location: first sign-in from Berlin, Germany", "- Unknown device: first sign-in from Firefox on Windows"} {
		if !strings.Contains(text, want) {
			t.Errorf("email lacks %q:\n%s", want, text)
		}
	}
	m := alertLinkRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no link in the email:\n%s", text)
	}
	token, link := m[1], m[0]

	// The webhook: signed, and the documented body.
	if rc.count() != 1 || rc.verified != 1 {
		t.Fatalf("webhook requests %d, verified %d", rc.count(), rc.verified)
	}
	h := rc.headers[0]
	if h.Get("X-Doorman-Event") != "session.suspicious_sign_in" || !strings.HasPrefix(h.Get("X-Doorman-Delivery"), "dlv_") ||
		h.Get("Content-Type") != "application/json" {
		t.Errorf("webhook headers: %v", h)
	}
	var ev struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		AccountID string `json:"account_id"`
		User      struct{ ID, Email string }
		Session   struct {
			ID, Label, Browser, OS, IP string
			Location                   struct {
				Label, City, Country string
				CountryCode          string `json:"country_code"`
			}
			Risk struct {
				Level   string
				Reasons []string
			}
		}
	}
	if err := json.Unmarshal(rc.bodies[0], &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "session.suspicious_sign_in" || ev.User.Email != "ana@acme.example" || ev.Session.Label != "Firefox on Windows" ||
		ev.Session.Browser != "Firefox" || ev.Session.OS != "Windows" || ev.Session.IP != geoiptest.Berlin ||
		ev.Session.Location.CountryCode != "DE" || ev.Session.Location.Label != "Berlin, Germany" || ev.Session.Risk.Level != "high" {
		t.Errorf("webhook body: %s", rc.bodies[0])
	}
	if strings.Contains(string(rc.bodies[0]), token) {
		t.Error("the webhook body carries the email's link token")
	}
	if ds := e.deliveries(laptop); len(ds) != 1 || ds[0].Status != "delivered" || ds[0].Attempts != 1 || ds[0].LastStatusCode != 204 || ds[0].DeliveredAt == nil {
		t.Errorf("deliveries: %+v", ds)
	}

	// GET shows and changes nothing, whoever opens it (signed out here).
	p := e.page(nil, "GET", link, nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, p)
	if p.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", p.header.Get("Referrer-Policy"))
	}
	if got := attr(p.one(`meta[name=referrer]`), "content"); got != "no-referrer" {
		t.Errorf("meta referrer %q", got)
	}
	if p.text("[data-device]") != "Firefox on Windows" || p.text("[data-place]") != "Berlin, Germany" || p.text("[data-ip]") != geoiptest.Berlin {
		t.Errorf("confirmation page: %s", p.body)
	}
	if got := p.text(".alert-concern"); got != "High concern" {
		t.Errorf("concern %q", got)
	}
	if got := p.texts(".risk-reasons li"); !slices.Contains(got, "Unknown location: first sign-in from Berlin, Germany") ||
		!slices.Contains(got, "Unknown device: first sign-in from Firefox on Windows") {
		t.Errorf("reasons %q", got)
	}
	e.page(away, "GET", "/settings/security/sessions", nil, awayHdr...).wantStatus(http.StatusOK)

	// The button needs the page's form token, and refuses another origin.
	form := p.one("form[method=post]")
	if attr(form, "action") != link {
		t.Fatalf("form action %q", attr(form, "action"))
	}
	e.page(nil, "POST", link, map[string][]string{"csrf": {"forged"}}).wantStatus(http.StatusForbidden)
	e.page(nil, "POST", link, formValues(form), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site").wantStatus(http.StatusForbidden)
	e.page(away, "GET", "/settings/security/sessions", nil, awayHdr...).wantStatus(http.StatusOK)

	done := e.page(nil, "POST", link, formValues(form)).wantStatus(http.StatusOK)
	checkPageMarkup(t, done)
	if attr(done.one("[data-change-password]"), "href") != "/settings/security/password" {
		t.Errorf("done page: %s", done.body)
	}
	if a := e.do(away, "GET", "/api/v1/whoami", nil, awayHdr...); a.status != http.StatusUnauthorized {
		t.Errorf("the reported session: %d, want 401", a.status)
	}
	if a := e.do(laptop, "GET", "/api/v1/whoami", nil, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac); a.status != http.StatusOK {
		t.Errorf("her own session: %d, want 200", a.status)
	}

	// Single use.
	again := e.page(nil, "POST", link, formValues(form)).wantStatus(http.StatusNotFound)
	if got := again.text("h1"); got != "This link was already used or has expired" {
		t.Errorf("second use: %q", got)
	}
	e.page(nil, "GET", link, nil).wantStatus(http.StatusNotFound)
	e.page(nil, "GET", "/alerts/not-a-token", nil).wantStatus(http.StatusNotFound)

	// Audited; the token never reaches the logs.
	var audit struct {
		Events []struct {
			Action string `json:"action"`
			Target string `json:"target"`
			Reason string `json:"reason"`
		} `json:"events"`
	}
	e.do(laptop, "GET", "/api/v1/audit?limit=100", nil, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac).decode(t, &audit)
	seen := map[string]int{}
	for _, a := range audit.Events {
		seen[a.Action]++
	}
	for _, action := range []string{"sign_in_alert", "alert_delivered", "session_reported", "webhook_updated"} {
		if seen[action] == 0 {
			t.Errorf("no %s event in %v", action, seen)
		}
	}
	logs := e.logs.String()
	if strings.Contains(logs, token) {
		t.Error("the alert link's token appears in the logs")
	}
	if !strings.Contains(logs, "/alerts/[redacted]") {
		t.Error("the access log has no redacted alert path")
	}
}

// A sign-in succeeds while the SMTP server and the webhook are down; each
// delivery is retried after its backoff, each attempt recorded, and goes
// through once the other side is back.
func TestSignInAlertRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadSMTP := ln.Addr().String()
	ln.Close()
	e := alertEnv(t, deadSMTP)
	rc := newReceiver(t, e.clock.Now)
	e.user("ana@acme.example", doorman.RoleAdmin)
	laptop := e.browser()
	e.signInFrom(laptop, "ana@acme.example", geoiptest.Madrid, riskUAMac)
	rc.set(e.setWebhook(laptop, rc.srv.URL), http.StatusInternalServerError)

	e.clock.Advance(time.Hour)
	e.signInFrom(e.browser(), "ana@acme.example", geoiptest.Berlin, riskUAFirefox)
	if n := e.deliver(); n != 2 {
		t.Fatalf("first attempts: %d", n)
	}
	ds := e.deliveries(laptop)
	if len(ds) != 1 || ds[0].Status != "pending" || ds[0].Attempts != 1 || ds[0].LastStatusCode != 500 || ds[0].NextAttemptAt == nil {
		t.Fatalf("after a 500: %+v", ds)
	}
	next, _ := time.Parse(time.RFC3339, *ds[0].NextAttemptAt)
	if want := e.clock.Now().Add(30 * time.Second); !next.Equal(want) {
		t.Errorf("next attempt %s, want %s (30 s later)", next, want)
	}
	if n := e.deliver(); n != 0 {
		t.Errorf("retried before the backoff: %d", n)
	}
	e.clock.Advance(30 * time.Second)
	if n := e.deliver(); n != 2 {
		t.Fatalf("second attempts: %d", n)
	}
	if ds := e.deliveries(laptop); ds[0].Attempts != 2 || ds[0].Status != "pending" {
		t.Errorf("after the second 500: %+v", ds[0])
	}
	rc.set(rc.secret, http.StatusOK)
	e.clock.Advance(2 * time.Minute)
	if n := e.deliver(); n != 2 {
		t.Fatalf("third attempts: %d", n)
	}
	if ds := e.deliveries(laptop); ds[0].Attempts != 3 || ds[0].Status != "delivered" || ds[0].LastStatusCode != 200 {
		t.Errorf("after the webhook came back: %+v", ds[0])
	}
	if rc.count() != 3 || rc.verified != 3 {
		t.Errorf("webhook requests %d, verified %d; want 3", rc.count(), rc.verified)
	}
}

// A link past its 7 days shows the expired page and signs nothing out.
func TestSignInAlertLinkExpired(t *testing.T) {
	mailSrv := smtptest.Start(t)
	e := alertEnv(t, mailSrv.Addr)
	e.user("ana@acme.example", doorman.RoleMember)
	e.signInFrom(e.browser(), "ana@acme.example", geoiptest.Madrid, riskUAMac)
	e.clock.Advance(time.Hour)
	away := e.browser()
	e.signInFrom(away, "ana@acme.example", geoiptest.Berlin, riskUAFirefox)
	e.deliver()
	msgs := mailSrv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("emails: %d", len(msgs))
	}
	parsed, _ := mail.ReadMessage(msgs[0].Reader())
	raw, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	m := alertLinkRE.FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("no link")
	}
	form := e.page(nil, "GET", m[0], nil).wantStatus(http.StatusOK).one("form[method=post]")
	e.clock.Advance(7 * 24 * time.Hour)
	p := e.page(nil, "POST", m[0], formValues(form)).wantStatus(http.StatusNotFound)
	if got := p.text("h1"); got != "This link was already used or has expired" {
		t.Errorf("expired: %q", got)
	}
}

// The webhook API: admins only, a valid URL, re-authentication after 15
// minutes, the secret shown only when drawn.
func TestWebhookAPI(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", doorman.RoleAdmin)
	e.user("member@acme.example", doorman.RoleMember)
	admin, member := e.browser(), e.browser()
	e.login(admin, "admin@acme.example", false)
	e.login(member, "member@acme.example", false)

	e.do(admin, "GET", "/api/v1/webhook", nil).wantError(t, http.StatusNotFound, "not_found")
	e.do(member, "GET", "/api/v1/webhook", nil).wantError(t, http.StatusForbidden, "forbidden")
	e.do(member, "PUT", "/api/v1/webhook", map[string]any{"url": "https://hooks.example.com/x"}).wantError(t, http.StatusForbidden, "forbidden")
	e.do(member, "GET", "/api/v1/webhook/deliveries", nil).wantError(t, http.StatusForbidden, "forbidden")
	for _, bad := range []string{"", "http://hooks.example.com/x", "not a url", "https://u:p@hooks.example.com/"} {
		e.do(admin, "PUT", "/api/v1/webhook", map[string]any{"url": bad}).wantError(t, http.StatusBadRequest, "invalid")
	}
	e.do(admin, "PUT", "/api/v1/webhook", map[string]any{"url": "https://hooks.example.com/x", "extra": 1}).wantError(t, http.StatusBadRequest, "invalid")
	e.do(admin, "PUT", "/api/v1/webhook", `{"url":"`+strings.Repeat("x", 70<<10)+`"}`).wantError(t, http.StatusRequestEntityTooLarge, "invalid")

	a := e.do(admin, "PUT", "/api/v1/webhook", map[string]any{"url": "https://hooks.example.com/x", "enabled": false})
	if a.status != http.StatusCreated || !strings.Contains(string(a.body), `"secret":"whsec_`) {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	a = e.do(admin, "GET", "/api/v1/webhook", nil)
	if a.status != http.StatusOK || strings.Contains(string(a.body), "secret") || !strings.Contains(string(a.body), `"enabled":false`) {
		t.Errorf("GET: %d %s", a.status, a.body)
	}
	e.do(admin, "POST", "/api/v1/webhook/test", nil).wantError(t, http.StatusBadRequest, "invalid") // disabled

	// 16 minutes after sign-in the change needs the password again.
	e.clock.Advance(16 * time.Minute)
	e.do(admin, "PUT", "/api/v1/webhook", map[string]any{"url": "https://hooks.example.com/y"}).wantError(t, http.StatusForbidden, "reauth_required")
	a = e.do(admin, "PUT", "/api/v1/webhook", map[string]any{"url": "https://hooks.example.com/y", "password": password})
	if a.status != http.StatusOK || strings.Contains(string(a.body), "secret") {
		t.Errorf("change: %d %s", a.status, a.body)
	}
	a = e.do(admin, "POST", "/api/v1/webhook/test", nil)
	if a.status != http.StatusAccepted || !strings.Contains(string(a.body), `"event":"webhook.test"`) {
		t.Errorf("test: %d %s", a.status, a.body)
	}
	if ds := e.deliveries(admin); len(ds) != 1 || ds[0].Status != "pending" || ds[0].Event != "webhook.test" {
		t.Errorf("deliveries: %+v", ds)
	}
	if a := e.do(admin, "DELETE", "/api/v1/webhook", nil); a.status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", a.status, a.body)
	}
	e.do(admin, "DELETE", "/api/v1/webhook", nil).wantError(t, http.StatusNotFound, "not_found")
}

// Team → Webhook: the form creates the webhook and shows its secret once;
// a bad URL is refused with a clear message; members cannot open it.
func TestWebhookPage(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", doorman.RoleAdmin)
	e.user("member@acme.example", doorman.RoleMember)
	admin, member := e.browser(), e.browser()
	e.login(admin, "admin@acme.example", false)
	e.login(member, "member@acme.example", false)
	e.page(member, "GET", "/admin/settings/webhook", nil).wantStatus(http.StatusForbidden)

	p := e.page(admin, "GET", "/admin/settings/webhook", nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, p)
	if got := p.text(".muted"); got != "No deliveries yet." {
		t.Errorf("empty deliveries: %q", got)
	}
	form := p.one("form[action=/admin/settings/webhook]")
	v := formValues(form)
	v.Set("url", "http://hooks.example.com/x")
	bad := e.page(admin, "POST", "/admin/settings/webhook", v).wantStatus(http.StatusBadRequest)
	if got := bad.text("#form-error"); !strings.Contains(got, "https://") {
		t.Errorf("error message: %q", got)
	}
	v.Set("url", "https://hooks.example.com/x")
	created := e.page(admin, "POST", "/admin/settings/webhook", v).wantStatus(http.StatusOK)
	checkPageMarkup(t, created)
	secret := attr(created.one("input#secret"), "value")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	again := e.page(admin, "GET", "/admin/settings/webhook", nil).wantStatus(http.StatusOK)
	if len(again.all("input#secret")) != 0 || strings.Contains(string(again.body), secret) {
		t.Error("the secret is shown again")
	}
	if attr(again.one("input#url"), "value") != "https://hooks.example.com/x" {
		t.Error("the saved URL is not shown")
	}
	test := formValues(again.one("form[action=/admin/settings/webhook/test]"))
	e.page(admin, "POST", "/admin/settings/webhook/test", test).wantRedirect("/admin/settings/webhook")
	rows := e.page(admin, "GET", "/admin/settings/webhook", nil).wantStatus(http.StatusOK).all("tr[data-delivery]")
	if len(rows) != 1 {
		t.Errorf("deliveries rows: %d", len(rows))
	}

	// Delete, through its confirmation page.
	confirm := e.page(admin, "GET", "/admin/settings/webhook/delete", nil).wantStatus(http.StatusOK)
	if got := confirm.text("h2.confirm-title"); got != "Delete Webhook?" {
		t.Errorf("confirmation: %q", got)
	}
	del := formValues(confirm.one("form[action=/admin/settings/webhook/delete]"))
	e.page(member, "POST", "/admin/settings/webhook/delete", del).wantStatus(http.StatusForbidden)
	e.page(admin, "POST", "/admin/settings/webhook/delete", del).wantRedirect("/admin/settings/webhook")
	after := e.page(admin, "GET", "/admin/settings/webhook", nil).wantStatus(http.StatusOK)
	if got := after.text("form.settings-form button[type=submit]"); got != "Create webhook" {
		t.Errorf("after deleting: %q", got)
	}
	e.page(admin, "GET", "/admin/settings/webhook/delete", nil).wantStatus(http.StatusNotFound)
}
