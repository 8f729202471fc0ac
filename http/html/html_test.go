package html_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

var now = time.Date(2024, 1, 15, 12, 30, 0, 0, time.UTC)

func TestEveryPageRenders(t *testing.T) {
	r, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	sess := &doorman.Session{ID: "sess_01HMX0000000000000000000AA", CreatedAt: now.Add(-5 * 24 * time.Hour),
		LastActiveAt: now.Add(-2 * time.Hour), IP: "83.45.123.78",
		Device:   doorman.Device{Browser: "Safari", BrowserVersion: "17.2", OS: "iOS", OSVersion: "17.2", Model: "iPhone", Type: "mobile"},
		Location: doorman.Location{City: "Madrid", Country: "Spain", ISP: "Movistar España"},
		Risk:     doorman.Risk{Level: "medium", Reasons: []string{"impossible_travel"}}}
	v := pages.NewSession(sess, false, doorman.DefaultSettings(), now)
	cur := pages.NewSession(&doorman.Session{ID: "sess_cur", CreatedAt: now, LastActiveAt: now}, true, doorman.DefaultSettings(), now)
	user := &pages.User{Name: "Alex Admin", Email: "admin@company.com", Account: "Company"}
	nav := []pages.NavSection{{Title: "Security", Items: []pages.NavItem{{Label: "Sessions", Href: pages.PathSessions, Current: true}}}}
	signedIn := pages.Layout{Title: "T", User: user, Nav: nav, CSRF: "tok", RequestID: "rid",
		Flash: &pages.Flash{Kind: pages.FlashSuccess, Text: "Done <b>"}}
	for _, p := range []pages.Page{
		&pages.LoginPage{}, &pages.LoginPage{Email: "a@b.c", Error: "Invalid email or password.", Next: "/x", RememberMe: true},
		&pages.SessionsPage{Layout: signedIn, Current: cur},
		&pages.SessionsPage{Layout: signedIn, Current: cur, Others: []pages.Session{v, v}},
		&pages.SessionPage{Layout: signedIn, Session: v, History: []pages.IPUse{pages.NewIPUse(&doorman.SessionIP{IP: "1.2.3.4", FirstSeen: now, LastSeen: now}, now)}},
		&pages.SessionPage{Layout: signedIn, Session: cur},
		&pages.ConfirmSignOutPage{Layout: signedIn, Session: v, Cancel: pages.PathSessions},
		&pages.ConfirmSignOutOthersPage{Layout: signedIn, Others: []pages.Session{v}},
		&pages.ConfirmSignOutOthersPage{Layout: signedIn},
		&pages.ErrorPage{Status: 503, Heading: "Doorman is unavailable", Message: "m"},
		&pages.ErrorPage{Layout: signedIn, Status: 404, Heading: "Not found", Message: "m", NextHref: "/", NextLabel: "Back"},
		&pages.RestrictedPage{Layout: signedIn, Heading: "This page is for administrators", Message: "m <b>",
			Links: []pages.NavItem{{Label: "Change your password <b>", Href: pages.PathPassword}}},
	} {
		var b bytes.Buffer
		if err := r.Render(&b, p); err != nil {
			t.Errorf("%T: %v", p, err)
			continue
		}
		out := b.String()
		if !strings.HasPrefix(out, "<!doctype html>") || !strings.Contains(out, "</html>") {
			t.Errorf("%T: not a whole page", p)
		}
		if strings.Contains(out, "<b>") {
			t.Errorf("%T: text is not escaped", p)
		}
	}
}

func TestAssets(t *testing.T) {
	r, err := pages.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app.css", "app.js", "favicon.svg"} {
		a, ok := r.Asset(name)
		if !ok || len(a.Body) == 0 || len(a.Hash) != 16 || a.URL() != "/static/"+name+"?v="+a.Hash {
			t.Errorf("asset %s: %+v", name, a)
		}
	}
	if _, ok := r.Asset("../html.go"); ok {
		t.Error("a file outside static/ is served")
	}
}

func TestNewSession(t *testing.T) {
	set := doorman.DefaultSettings()
	empty := pages.NewSession(&doorman.Session{ID: "sess_01HMX0000000000000000000AA", CreatedAt: now, LastActiveAt: now}, true, set, now)
	for name, got := range map[string]string{"Browser": empty.Browser, "OS": empty.OS, "Device": empty.Device,
		"City": empty.City, "Country": empty.Country, "ISP": empty.ISP, "IP": empty.IP, "Logins": empty.Logins, "LastPage": empty.LastPage} {
		if got != pages.Unknown {
			t.Errorf("%s of an empty session = %q, want Unknown", name, got)
		}
	}
	if empty.Label != "Unknown browser" || empty.Place != "Unknown location" || empty.DeviceType != "other" || empty.DeviceKind != "Device" {
		t.Errorf("empty session: %+v", empty)
	}
	if empty.ShortID != "sess_01HMX000…" || empty.StatusText() != "Active now" || !empty.ActiveNow || empty.Summary() != "Unknown browser" {
		t.Errorf("short id %q, status %q, summary %q", empty.ShortID, empty.StatusText(), empty.Summary())
	}

	tests := []struct {
		ago    time.Duration
		active bool
		status string
	}{
		{time.Minute, true, "Active now"},
		{2 * time.Hour, true, "Last active: 2 hours ago"},
		{24*time.Hour - time.Second, true, "Last active: 23 hours ago"},
		{24 * time.Hour, false, "Last active: Yesterday"},
		{3 * 24 * time.Hour, false, "Last active: 3 days ago"},
	}
	for _, tt := range tests {
		v := pages.NewSession(&doorman.Session{ID: "sess_x", CreatedAt: now.Add(-tt.ago), LastActiveAt: now.Add(-tt.ago),
			Activity: doorman.Activity{Logins: 1234, Actions: 1234567}}, false, set, now)
		if v.Active != tt.active || v.StatusText() != tt.status {
			t.Errorf("%v ago: active %t %q, want %t %q", tt.ago, v.Active, v.StatusText(), tt.active, tt.status)
		}
		if v.Logins != "1,234" || v.Actions != "1,234,567" {
			t.Errorf("counts %q %q", v.Logins, v.Actions)
		}
	}

	v := pages.NewSession(&doorman.Session{ID: "sess_x", CreatedAt: now, LastActiveAt: now, IP: "10.0.0.1",
		Device:   doorman.Device{Browser: "Chrome", OS: "Windows", Type: "desktop"},
		Location: doorman.Location{City: "London", Country: "United Kingdom"}}, false, set, now)
	if v.Summary() != "Chrome on Windows (London)" || v.Browser != "Chrome" || v.Expires == nil {
		t.Errorf("summary %q, browser %q, expires %v", v.Summary(), v.Browser, v.Expires)
	}
	if got := pages.NewTime(now, now).Exact; got != "January 15, 2024 12:30 UTC" {
		t.Errorf("exact time %q", got)
	}
}

// Sessions of one browser, place and hour still read apart: their sign-in,
// their device name; and the end says whether use keeps it off.
func TestNewSessionTellsApart(t *testing.T) {
	set := doorman.DefaultSettings()
	mac := doorman.Device{Browser: "Chrome", OS: "macOS", Model: "Mac", Type: "desktop"}
	tests := []struct {
		sess     doorman.Session
		name     string
		signedIn string
		endsIf   bool // "Ends if unused" rather than "Ends"
		ends     time.Time
	}{
		{doorman.Session{ID: "sess_01HMX0000000000000000007QX2", Device: mac, CreatedAt: now.Add(-time.Minute), LastActiveAt: now},
			"Mac-7QX2", "just now", true, now.Add(7 * 24 * time.Hour)},
		{doorman.Session{ID: "sess_01HMX00000000000000000K3F9", Device: mac, CreatedAt: now.Add(-3 * time.Hour), LastActiveAt: now, RememberMe: true},
			"Mac-K3F9", "3 hours ago", false, now.Add(-3*time.Hour + 30*24*time.Hour)},
		{doorman.Session{ID: "sess_01HMX00000000000000000AB12", Device: doorman.Device{Type: "mobile"}, CreatedAt: now.Add(-48 * time.Hour), LastActiveAt: now},
			"Phone-AB12", "2 days ago", true, now.Add(7 * 24 * time.Hour)},
		{doorman.Session{ID: "sess_01HMX00000000000000000CD34", Device: doorman.Device{Model: "An Extremely Long Model Name Indeed", Type: "tablet"}, CreatedAt: now, LastActiveAt: now},
			"Tablet-CD34", "just now", true, now.Add(7 * 24 * time.Hour)},
		{doorman.Session{ID: "sess_01HMX00000000000000000EF56", Device: doorman.Device{Model: "iPhone 14 Pro", Type: "mobile"}, CreatedAt: now, LastActiveAt: now,
			ExpiresAt: ptr(now.Add(time.Hour))},
			"iPhone-14-Pro-EF56", "just now", false, now.Add(time.Hour)},
	}
	for _, tt := range tests {
		v := pages.NewSession(&tt.sess, false, set, now)
		if v.DeviceName != tt.name || v.Created.Relative != tt.signedIn {
			t.Errorf("%s: device name %q, signed in %q; want %q, %q", tt.sess.ID, v.DeviceName, v.Created.Relative, tt.name, tt.signedIn)
		}
		if v.Expires == nil || v.EndsIfUnused != tt.endsIf || v.Expires.ISO != tt.ends.UTC().Format(time.RFC3339) {
			t.Errorf("%s: ends %+v if unused %t; want %v, %t", tt.sess.ID, v.Expires, v.EndsIfUnused, tt.ends, tt.endsIf)
		}
	}
	never := doorman.DefaultSettings()
	never.IdleTimeout = doorman.IdleNever
	if v := pages.NewSession(&doorman.Session{ID: "sess_x", CreatedAt: now, LastActiveAt: now}, false, never, now); v.Expires != nil || v.EndsIfUnused {
		t.Errorf("no timeout, no cap: ends %+v, if unused %t", v.Expires, v.EndsIfUnused)
	}
	if got := pages.NewEventTime(now.Add(-time.Minute), now).Relative; got != "just now" {
		t.Errorf("a minute ago reads %q", got)
	}
	if got := pages.NewEventTime(now.Add(-5*time.Minute), now).Relative; got != "5 minutes ago" {
		t.Errorf("5 minutes ago reads %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
