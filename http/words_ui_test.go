package http_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip"
	"github.com/doorman/doorman/geoip/geoiptest"
)

// The sign-in page's footer, and the pages that show places, name the
// geolocation data's source only when a database is installed.
func TestPlaceCredits(t *testing.T) {
	for _, tt := range []struct {
		name   string
		places doorman.Locator
		want   []string // "text → link"
	}{
		{"no locator", nil, nil},
		{"no database", emptyLocator(t), nil},
		{"GeoLite2", geoiptest.Open(t), []string{"GeoLite2 data created by MaxMind → https://www.maxmind.com"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.places != nil {
				e.svc.Places = tt.places
			}
			e.user("ana@acme.example", doorman.RoleMember)
			c := e.browser()
			credits := func(p *page) []string {
				var out []string
				for _, a := range p.all(".attribution a") {
					out = append(out, textOf(a)+" → "+attr(a, "href"))
				}
				if len(out) == 0 && len(p.all(".attribution")) != 0 {
					out = append(out, "(an empty credit)")
				}
				return out
			}
			login := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
			if got := credits(login); !slices.Equal(got, tt.want) {
				t.Errorf("sign-in page credits %q, want %q", got, tt.want)
			}
			if tt.want != nil && len(login.all("footer.auth-footer .attribution")) != 1 {
				t.Error("the sign-in page's credit is not in its footer")
			}
			e.signIn(c, "ana@acme.example", false, "")
			p := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
			if got := credits(p); !slices.Equal(got, tt.want) {
				t.Errorf("sessions page credits %q, want %q", got, tt.want)
			}
			// A page without places credits no one.
			if got := credits(e.page(c, "GET", "/settings/security/password", nil)); got != nil {
				t.Errorf("password page credits %q", got)
			}
		})
	}
}

// emptyLocator is a geoip Locator over a directory without databases, as a
// server started before `doorman geoip install` has.
func emptyLocator(t *testing.T) doorman.Locator {
	t.Helper()
	l, err := geoip.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// The sessions page and the team pages carry the guide's advice on when to
// review sessions, with links that lead somewhere.
func TestReviewHelp(t *testing.T) {
	e, c := demoEnv(t)
	m := e.browser()
	e.signIn(m, "sarah@company.com", false, "")
	for _, tt := range []struct {
		who   *http.Client
		path  string
		first string // the first advice
	}{
		{c, "/settings/security/sessions", "Immediately if you notice suspicious activity"},
		{m, "/settings/security/sessions", "Immediately if you notice suspicious activity"},
		{c, "/admin/team", "Immediately during a security incident"},
		{c, "/admin/sessions", "Immediately during a security incident"},
	} {
		p := e.page(tt.who, "GET", tt.path, nil).wantStatus(http.StatusOK)
		sec := p.one("section.help-card")
		if got := textOf(only(t, within(sec, "h2"), "h2")); got != "When to review your sessions" {
			t.Errorf("%s: help titled %q", tt.path, got)
		}
		items := within(sec, "li")
		if len(items) < 3 || !strings.HasPrefix(visibleText(items[0]), tt.first) {
			t.Errorf("%s: advice %q", tt.path, p.texts("section.help-card li"))
		}
		for _, u := range within(sec, ".urgency") {
			if !hasClass(u, "urgency-high") && !hasClass(u, "urgency-medium") && !hasClass(u, "urgency-low") {
				t.Errorf("%s: urgency %q without a level", tt.path, textOf(u))
			}
		}
		for _, a := range within(sec, "a") {
			if got := e.page(tt.who, "GET", attr(a, "href"), nil).status; got != http.StatusOK {
				t.Errorf("%s: help link %q → %s answers %d", tt.path, textOf(a), attr(a, "href"), got)
			}
		}
	}
}
