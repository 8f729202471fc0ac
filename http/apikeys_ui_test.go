package http_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// keyRows returns the API Sessions table as "name | last used | requests".
func keyRows(p *page) []string {
	p.t.Helper()
	var out []string
	for _, tr := range p.all("table.apikey-table tbody tr") {
		name := textOf(within(tr, "th a")[0])
		cells := within(tr, "td")
		out = append(out, name+" | "+visibleText(cells[0])+" | "+visibleText(cells[1]))
	}
	return out
}

func TestAPIKeysPageGuide(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/settings/api-keys", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "API Sessions" {
		t.Errorf("h1 %q", got)
	}
	if got := navCurrent(p); got != "Team › API keys" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.texts("table.apikey-table thead th"); !slices.Equal(got[:3], []string{"API Key", "Last Used", "Requests/24h"}) {
		t.Errorf("columns %q", got)
	}
	want := []string{
		"Production API | 5 minutes ago | 1,234",
		"BigQuery Sync | 3 hours ago | 89",
		"Test Key | Never | 0",
	}
	if got := keyRows(p); !slices.Equal(got, want) {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
	for _, td := range p.all("table.apikey-table tbody td") {
		if !hasClass(td, "num") {
			t.Error("a number cell is not right-aligned")
		}
	}
	if links := p.all("table.apikey-table a.btn"); len(links) != 3 || !strings.HasPrefix(textOf(links[0]), "View API Key Details") {
		t.Errorf("details links %d", len(links))
	}
	// Members may not open it.
	e.page(nil, "GET", "/settings/api-keys", nil) // signed out: to sign-in
	m := e.browser()
	e.signIn(m, "sarah@company.com", false, "")
	e.page(m, "GET", "/settings/api-keys", nil).wantStatus(http.StatusForbidden)
}

func TestAPIKeyCreateShowOnceDetailsRevoke(t *testing.T) {
	e, c := demoEnv(t)
	list := e.page(c, "GET", "/settings/api-keys", nil).wantStatus(http.StatusOK)
	form := formValues(list.one("form.create-key"))
	form.Set("name", "CI deploys")
	form.Set("read_only", "1")

	// A missing name: the form again, with the reason.
	bad := url.Values{"csrf": form["csrf"], "once": form["once"], "name": {"  "}}
	p := e.page(c, "POST", "/settings/api-keys", bad).wantStatus(http.StatusBadRequest)
	if p.one("#form-error") == nil || attr(p.one("#key-name"), "aria-invalid") != "true" {
		t.Error("no error shown for an empty name")
	}
	// Without the form token: refused.
	e.page(c, "POST", "/settings/api-keys", url.Values{"name": {"x"}}).wantStatus(http.StatusForbidden)

	created := e.page(c, "POST", "/settings/api-keys", form).wantStatus(http.StatusCreated)
	if cc := created.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if created.header.Get("Location") != "" || created.header.Get("Set-Cookie") != "" {
		t.Error("the secret page redirects or sets a cookie")
	}
	secret := attr(created.one("input#secret"), "value")
	if !strings.HasPrefix(secret, "dk_") || attr(created.one("button[data-copy]"), "data-copy") != secret {
		t.Fatalf("secret %q and its copy button", secret)
	}
	e.mu.Lock()
	e.answers = e.answers[:len(e.answers)-1] // the one answer that shows it
	e.tokens = append(e.tokens, secret)
	e.mu.Unlock()

	// The list has it, never again the secret (checked by checkNoTokenLeak).
	list = e.page(c, "GET", "/settings/api-keys", nil).wantStatus(http.StatusOK)
	if got := keyRows(list); !slices.Contains(got, "CI deploys | Never | 0") {
		t.Errorf("rows %q", got)
	}
	detailsPath := attr(created.all(".group-actions a")[0], "href")

	// Using it (read-only: GETs only) shows on the details page.
	for range 3 {
		e.do(nil, "GET", "/api/v1/api-keys", nil, "Authorization", "Bearer "+secret, "User-Agent", "curl/8.5.0")
	}
	d := e.page(c, "GET", detailsPath, nil).wantStatus(http.StatusOK)
	checkPageMarkup(t, d)
	facts := strings.Join(d.texts(".facts dd"), " | ")
	for _, want := range []string{"admin@company.com", "Read-only", "127.0.0.1", "curl/8.5.0", " | 3"} {
		if !strings.Contains(facts, want) {
			t.Errorf("details facts %q lack %q", facts, want)
		}
	}
	bars := d.all("svg.chart rect.chart-bar")
	if len(bars) != 24 || d.one("title#chart-svg-title") == nil || len(d.all(".chart-table tbody tr")) != 24 {
		t.Fatalf("chart: %d bars", len(bars))
	}
	if got := textOf(bars[23]); !strings.HasSuffix(got, "3 requests") {
		t.Errorf("last bar %q", got)
	}

	// Revoke: a confirmation (also as a dialog template), then the POST.
	link := d.one("a[data-confirm=confirm-revoke]")
	if d.one("template#confirm-revoke") == nil {
		t.Error("no dialog template")
	}
	conf := e.page(c, "GET", attr(link, "href"), nil).wantStatus(http.StatusOK)
	if got := conf.text("h1"); got != "Revoke API Key?" {
		t.Errorf("confirmation h1 %q", got)
	}
	if got := conf.texts(".confirm-actions > .btn"); len(got) != 2 || got[0] != "Cancel" {
		t.Errorf("confirmation actions %q (Cancel first)", got)
	}
	e.page(c, "POST", attr(link, "href"), formValues(conf.one(".confirm form"))).wantRedirect("/settings/api-keys")
	after := e.page(c, "GET", "/settings/api-keys", nil).wantStatus(http.StatusOK)
	if got := after.text(".alert-success"); !strings.Contains(got, "Revoked CI deploys") {
		t.Errorf("flash %q", got)
	}
	if got := keyRows(after); slices.Contains(got, "CI deploys | Just now | 3") || len(got) != 3 {
		t.Errorf("rows after revoke %q", got)
	}
	e.do(nil, "GET", "/api/v1/api-keys", nil, "Authorization", "Bearer "+secret).wantError(t, 401, "unauthorized")
	// Revoking again, or another account's key: the not-found page.
	e.page(c, "GET", attr(link, "href"), nil).wantStatus(http.StatusNotFound)
}
