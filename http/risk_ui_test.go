package http_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
	"github.com/doorman/doorman/useragent"
)

const (
	riskUAMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	riskUAFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)

// signInFrom signs c in through the sign-in page from ip with the
// User-Agent ua (the server trusts 127.0.0.1's X-Forwarded-For).
func (e *env) signInFrom(c *http.Client, email, ip, ua string) {
	e.t.Helper()
	hdr := []string{"X-Forwarded-For", ip, "User-Agent", ua}
	form := e.page(c, "GET", "/login", nil, hdr...).wantStatus(http.StatusOK).one("form[action=/login]")
	v := formValues(form)
	v.Set("email", email)
	v.Set("password", password)
	a := e.page(c, "POST", "/login", v, hdr...)
	if a.status != http.StatusSeeOther {
		e.t.Fatalf("sign in %s: %d\n%s", email, a.status, a.body)
	}
	e.collectToken(a.header)
}

// A user who signed in from Spain and then signs in from Germany with a new
// browser sees that session flagged high, with both reasons, in the API and
// on the pages; her first and her usual sign-ins are not flagged.
func TestSuspiciousSignIn(t *testing.T) {
	e := placedEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)

	laptop := e.browser()
	e.signInFrom(laptop, "ana@acme.example", geoiptest.Madrid, riskUAMac)
	e.clock.Advance(time.Hour)
	e.signInFrom(e.browser(), "ana@acme.example", geoiptest.Madrid, riskUAMac) // the same browser and place
	e.clock.Advance(time.Hour)
	away := e.browser()
	e.signInFrom(away, "ana@acme.example", geoiptest.Berlin, riskUAFirefox)

	var list struct {
		Sessions []struct {
			ID    string `json:"id"`
			Label string `json:"label"`
			Risk  struct {
				Level   string   `json:"level"`
				Reasons []string `json:"reasons"`
			} `json:"risk"`
		} `json:"sessions"`
	}
	e.do(laptop, "GET", "/api/v1/sessions", nil, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac).decode(t, &list)
	if len(list.Sessions) != 3 {
		t.Fatalf("%d sessions, want 3", len(list.Sessions))
	}
	var flagged string
	for _, s := range list.Sessions {
		switch s.Label {
		case "Firefox on Windows":
			flagged = s.ID
			if s.Risk.Level != "high" || !slices.Contains(s.Risk.Reasons, "unknown_location") || !slices.Contains(s.Risk.Reasons, "unknown_device") {
				t.Errorf("Berlin session risk %+v, want high with unknown_location and unknown_device", s.Risk)
			}
		default:
			if s.Risk.Level != "none" || len(s.Risk.Reasons) != 0 {
				t.Errorf("%s session risk %+v, want none", s.Label, s.Risk)
			}
		}
	}
	if flagged == "" {
		t.Fatal("no Firefox on Windows session")
	}

	p := e.page(laptop, "GET", "/settings/security/sessions", nil, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac).wantStatus(http.StatusOK)
	if got := p.texts(".risk"); !slices.Equal(got, []string{"High concern"}) {
		t.Errorf("risk badges %q, want one high", got)
	}
	if got := p.texts(".session-risk li"); !slices.Contains(got, "Unknown location: first sign-in from Berlin, Germany") ||
		!slices.Contains(got, "Unknown device: first sign-in from Firefox on Windows") {
		t.Errorf("card reasons %q", got)
	}

	d := e.page(laptop, "GET", "/settings/security/sessions/"+flagged, nil, "X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac).wantStatus(http.StatusOK)
	checkPageMarkup(t, d)
	box := d.text(".suspicious")
	for _, want := range []string{"Suspicious Session Detected?", "High concern",
		"Unknown location: first sign-in from Berlin, Germany", "Unknown device: first sign-in from Firefox on Windows"} {
		if !strings.Contains(box, want) {
			t.Errorf("suspicious box %q lacks %q", box, want)
		}
	}
	var links []string
	for _, a := range d.all(".risk-actions a") {
		links = append(links, visibleText(a)+" "+attr(a, "href"))
	}
	want := []string{"Sign Out This Session /settings/security/sessions/" + flagged + "/sign-out?from=details",
		"Sign Out All Sessions /settings/security/sessions/sign-out-all",
		"Change Password /settings/security/password"}
	if !slices.Equal(links, want) {
		t.Errorf("box actions %q, want %q (no audit log for a member)", links, want)
	}

	// The team view marks her, and only her.
	e.user("boss@acme.example", doorman.RoleAdmin)
	boss := e.browser()
	e.signInFrom(boss, "boss@acme.example", geoiptest.London, riskUAMac)
	team := e.page(boss, "GET", "/admin/sessions", nil, "X-Forwarded-For", geoiptest.London, "User-Agent", riskUAMac).wantStatus(http.StatusOK)
	var marked []string
	for _, th := range team.all("th.team-user") {
		if strings.Contains(visibleText(th), "Suspicious session") {
			marked = append(marked, visibleText(th))
		}
	}
	if len(marked) != 1 || !strings.Contains(marked[0], "ana@acme.example") {
		t.Errorf("team rows marked %q, want ana's alone", marked)
	}
	// So does the team API.
	flags := map[string]bool{}
	for _, u := range e.team(boss, "").Users {
		flags[u.Email] = u.Flagged
	}
	if !flags["ana@acme.example"] || flags["boss@acme.example"] || len(flags) != 2 {
		t.Errorf("team API flagged = %v, want ana alone", flags)
	}
}

// placedEnv is a server behind a trusted proxy on 127.0.0.1 (so tests set
// the client's address with X-Forwarded-For) whose Service names browsers
// and places addresses with the test location databases.
func placedEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, withTrustedProxies("127.0.0.1"))
	det, err := useragent.New()
	if err != nil {
		t.Fatal(err)
	}
	e.svc.Devices = det
	e.svc.Places = geoiptest.Open(t)
	return e
}
