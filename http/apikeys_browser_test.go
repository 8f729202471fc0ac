package http_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAPIKeysBrowser drives the API Sessions pages in Chromium as the demo
// admin: the guide's table, creating a key (its secret shown once, never on
// a later page), its details with the usage chart, and revoking it through
// the confirmation dialog. It saves docs/screenshots/api-keys.png and
// api-key-details.png.
func TestAPIKeysBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := guideEnv(t)
	browser := startBrowser(t, path)
	a := newTab(t, browser, e.srv.URL, macChrome)
	a.navigate("/settings/api-keys")
	a.signIn("admin@company.com", false)
	if got := a.path(); got != "/settings/api-keys" {
		t.Fatalf("after sign-in: at %q", got)
	}
	want := []string{
		"Production API | 5 minutes ago | 1,234",
		"BigQuery Sync | 3 hours ago | 89",
		"Test Key | Never | 0",
	}
	if got := keyRows(a.dom()); !slices.Equal(got, want) {
		t.Errorf("API Sessions:\n got %q\nwant %q", got, want)
	}
	a.screenshot("api-keys", true)

	// Create: the answer shows the secret once.
	a.do(chromedp.SendKeys(chromedp.CSS("#key-name"), "Staging deploys"))
	a.clickAndLoad("form.create-key button[type=submit]")
	created := a.dom()
	if got := created.text("h1"); got != "API key created" {
		t.Fatalf("after create: h1 %q", got)
	}
	secret := attr(created.one("input#secret"), "value")
	if !strings.HasPrefix(secret, "dk_") || len(secret) != 55 {
		t.Fatalf("secret %q", secret)
	}
	e.mu.Lock()
	e.tokens = append(e.tokens, secret)
	e.mu.Unlock()
	detailsPath := attr(created.all(".group-actions a")[0], "href")

	// Neither the list nor the details show it again.
	a.navigate("/settings/api-keys")
	if src := a.source(); strings.Contains(src, secret) {
		t.Fatal("the list shows the secret again")
	}
	if got := keyRows(a.dom()); !slices.Contains(got, "Staging deploys | Never | 0") {
		t.Errorf("rows after create %q", got)
	}
	a.navigate(detailsPath)
	if src := a.source(); strings.Contains(src, secret) {
		t.Fatal("the details show the secret")
	}

	// The guide's busiest key: details and the chart.
	a.navigate("/settings/api-keys")
	a.clickAndLoad("table.apikey-table tbody tr:first-child th a")
	d := a.dom()
	if got := d.text("h1"); got != "API Key Details" {
		t.Errorf("details h1 %q", got)
	}
	if n := len(d.all("svg.chart rect.chart-bar")); n != 24 {
		t.Errorf("%d bars", n)
	}
	facts := strings.Join(d.texts(".facts dd"), " | ")
	for _, w := range []string{"admin@company.com", "34.120.55.10", "Python Requests", "1,234"} {
		if !strings.Contains(facts, w) {
			t.Errorf("facts %q lack %q", facts, w)
		}
	}
	a.screenshot("api-key-details", true)

	// Revoke the new key through the dialog.
	a.navigate(detailsPath)
	a.click("a[data-confirm=confirm-revoke]")
	if !a.waitFor(`document.querySelector("dialog[open] .confirm-title") !== null`) {
		t.Fatal("no confirmation dialog")
	}
	a.clickAndLoad("dialog[open] button[type=submit]")
	if got := a.path(); got != "/settings/api-keys" {
		t.Fatalf("after revoke: at %q", got)
	}
	after := a.dom()
	if got := after.text(".alert-success"); !strings.HasPrefix(got, "Revoked Staging deploys") {
		t.Errorf("flash %q", got)
	}
	if got := keyRows(after); !slices.Equal(got, want) {
		t.Errorf("after revoke:\n got %q\nwant %q", got, want)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(secret)...).wantError(t, 401, "unauthorized")
}

// source is the tab's current document as HTML.
func (b *tab) source() string {
	b.t.Helper()
	return run(b, chromedp.OuterHTML(chromedp.CSS("html")))
}
