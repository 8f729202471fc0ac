package http_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/demo"
)

// demoEnv is a server with the user guide's demo team, and a browser
// signed in as its admin.
func demoEnv(t *testing.T) (*env, *http.Client) {
	t.Helper()
	e := newEnv(t)
	if _, err := demo.Seed(context.Background(), e.svc, password); err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	e.signIn(c, "admin@company.com", false, "")
	return e, c
}

// sessionCards returns the cards of one section ("current" or "others") as
// "title | place | ip | status" lines of visible text.
func sessionCards(p *page, section string) []string {
	p.t.Helper()
	var out []string
	for _, sec := range p.all("section.group") {
		if attr(sec, "aria-labelledby") != section+"-title" {
			continue
		}
		for _, li := range within(sec, "li.session") {
			var parts []string
			for _, sel := range []string{".session-title", ".session-place", ".session-ip", ".session-status"} {
				parts = append(parts, visibleText(only(p.t, within(li, sel), sel)))
			}
			out = append(out, strings.Join(parts, " | "))
		}
	}
	return out
}

func TestSessionsPage(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)

	if got := p.text("h1"); got != "Sessions" {
		t.Errorf("h1 %q", got)
	}
	if got := p.texts("main h2.group-title"); !slices.Equal(got, []string{"Current Session", "Other Sessions 3"}) {
		t.Errorf("sections %q: the current session comes first", got)
	}
	if got, want := sessionCards(p, "current"), []string{"Unknown browser This Device | Unknown location | IP: 127.0.0.1 | Active now"}; !slices.Equal(got, want) {
		t.Errorf("current:\n got %q\nwant %q", got, want)
	}
	want := []string{
		"Safari on iPhone | Madrid, Spain | IP: 83.45.123.78 | Last active: 2 hours ago",
		"Chrome on Windows | London, United Kingdom | IP: 203.0.113.45 | Last active: 3 days ago",
		"Firefox on Ubuntu | Berlin, Germany | IP: 91.64.12.7 | Last active: 4 days ago",
	}
	if got := sessionCards(p, "others"); !slices.Equal(got, want) {
		t.Errorf("others:\n got %q\nwant %q", got, want)
	}

	// Green for use in the last 24 hours, grey otherwise, with words.
	var dots []string
	for _, d := range p.all("li.session .dot") {
		dots = append(dots, attr(d, "class")+": "+attr(d, "aria-label"))
	}
	if !slices.Equal(dots, []string{
		"dot dot-active: Active in the last 24 hours", "dot dot-active: Active in the last 24 hours",
		"dot dot-idle: Not active in the last 24 hours", "dot dot-idle: Not active in the last 24 hours"}) {
		t.Errorf("dots %q", dots)
	}
	// Device icons carry their kind in words.
	if got := p.texts("li.session .device-icon .visually-hidden"); !slices.Equal(got, []string{"Device", "Phone", "Desktop", "Desktop"}) {
		t.Errorf("device icons %q", got)
	}
	// The exact time is on hover, in UTC until the script makes it local.
	tm := p.all("li.session .session-status time")[0]
	at, err := time.Parse(time.RFC3339, attr(tm, "datetime"))
	if err != nil || e.clock.Now().Sub(at) != 2*time.Hour {
		t.Errorf("<time datetime=%q>: want 2 hours before now", attr(tm, "datetime"))
	}
	if !regexp.MustCompile(`^[A-Z][a-z]+ \d{1,2}, \d{4} \d\d:\d\d UTC$`).MatchString(attr(tm, "title")) {
		t.Errorf("exact time %q", attr(tm, "title"))
	}

	// Each other session: its card opens its details, its button its
	// confirmation; the current one has no button.
	if n := len(p.all(".session-current .session-action")); n != 0 {
		t.Error("the current session has a Sign Out button in the list")
	}
	for _, li := range p.all("section[aria-labelledby=others-title] li.session") {
		link := only(t, within(li, "a.session-link"), "a.session-link")
		id := strings.TrimPrefix(attr(link, "href"), "/settings/security/sessions/")
		if !strings.HasPrefix(id, "sess_") {
			t.Fatalf("card link %q", attr(link, "href"))
		}
		btn := only(t, within(li, "a.btn"), "a.btn")
		if attr(btn, "href") != "/settings/security/sessions/"+id+"/sign-out" || visibleText(btn) != "Sign Out" {
			t.Errorf("button %q → %q", visibleText(btn), attr(btn, "href"))
		}
		if !strings.HasPrefix(textOf(btn), "Sign Out "+textOf(link)) {
			t.Errorf("button %q does not name its session for screen readers", textOf(btn))
		}
		// The same confirmation form waits in a <template> for the dialog.
		tpl := p.one("template#" + attr(btn, "data-confirm"))
		if got := textOf(only(t, within(tpl, "h2"), "h2")); got != "Sign Out Session?" {
			t.Errorf("dialog title %q", got)
		}
		form := only(t, within(tpl, "form"), "form")
		if attr(form, "action") != "/settings/security/sessions/"+id+"/sign-out" || formValues(form).Get("csrf") == "" {
			t.Errorf("dialog form %v", form.Attr)
		}
	}
	all := p.one("a[data-confirm=confirm-others]")
	if attr(all, "href") != "/settings/security/sessions/sign-out-others" || textOf(all) != "Sign Out All Other Sessions" {
		t.Errorf("sign out all: %q → %q", textOf(all), attr(all, "href"))
	}

	// The shell: navigation with the current page marked; no credit for
	// places without a geolocation database (TestPlaceCredits).
	cur := p.one("nav.sidenav a[aria-current=page]")
	if textOf(cur) != "Sessions" || attr(cur, "href") != "/settings/security/sessions" {
		t.Errorf("navigation marks %q", textOf(cur))
	}
	if n := len(p.all(".attribution")); n != 0 {
		t.Errorf("%d credits for places without a geolocation database", n)
	}
	if got := p.text(".topbar .who-name"); got != "Alex Admin" {
		t.Errorf("header %q", got)
	}
}

// Every link of the shell leads to a page that exists.
func TestPagesLinkOnlyToPagesThatExist(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/settings/security/sessions", nil)
	seen := map[string]bool{}
	for _, a := range p.allElements() {
		href := attr(a, "href")
		if a.Data != "a" || href == "" || strings.HasPrefix(href, "#") || strings.HasPrefix(href, "https://") || seen[href] {
			continue
		}
		seen[href] = true
		if got := e.page(c, "GET", href, nil).status; got != http.StatusOK {
			t.Errorf("link %s: %d", href, got)
		}
	}
	if len(seen) < 5 {
		t.Errorf("only %d links followed", len(seen))
	}
}

func TestSessionsPageEmpty(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	p := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if got := p.text(".empty"); got != "No other sessions: your account is signed in on this device only." {
		t.Errorf("empty state %q", got)
	}
	if len(p.all("a[data-confirm=confirm-others]")) != 0 || len(p.all("template")) != 0 {
		t.Error("sign out all offered with no other session")
	}
	if got := p.texts("main h2.group-title"); !slices.Equal(got, []string{"Current Session", "Other Sessions"}) {
		t.Errorf("sections %q", got)
	}
	// The confirmation page says there is nothing to do.
	conf := e.page(c, "GET", "/settings/security/sessions/sign-out-others", nil).wantStatus(http.StatusOK)
	if len(conf.all("form.confirm-actions")) != 0 || !strings.Contains(conf.text(".confirm"), "no other sessions") {
		t.Errorf("confirmation with nothing to sign out: %q", conf.text(".confirm"))
	}
}

// details returns a details page's facts by label.
func details(p *page) map[string]string {
	out := map[string]string{}
	for _, row := range p.all(".facts dl > div") {
		out[textOf(only(p.t, within(row, "dt"), "dt"))] = visibleText(only(p.t, within(row, "dd"), "dd"))
	}
	return out
}

func TestSessionDetailsPage(t *testing.T) {
	e, c := demoEnv(t)
	list := e.page(c, "GET", "/settings/security/sessions", nil)
	links := list.all("a.session-link")
	current, iphone := attr(links[0], "href"), attr(links[1], "href")

	p := e.page(c, "GET", iphone, nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Session Details" {
		t.Errorf("h1 %q", got)
	}
	f := details(p)
	for k, v := range map[string]string{
		"Browser": "Safari 17.2", "OS": "iOS 17.2", "Device": "iPhone",
		"City": "Madrid", "Country": "Spain", "ISP": "Movistar España", "IP address": "83.45.123.78",
		"Logins": "3", "Actions": "240", "Last Page": "Dashboard", "Remember me": "Off",
	} {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	for _, k := range []string{"Created", "Last Active", "Ends if unused"} {
		if !regexp.MustCompile(`^[A-Z][a-z]+ \d{1,2}, \d{4} \d\d:\d\d UTC$`).MatchString(f[k]) {
			t.Errorf("%s = %q", k, f[k])
		}
	}
	id := strings.TrimPrefix(iphone, "/settings/security/sessions/")
	code := p.one(".id-cell code")
	if textOf(code) != id[:13]+"…" || attr(code, "title") != id {
		t.Errorf("session id shown as %q (title %q)", textOf(code), attr(code, "title"))
	}
	copyBtn := p.one("button[data-copy]")
	if attr(copyBtn, "data-copy") != id || !hasAttr(copyBtn, "hidden") {
		t.Errorf("copy button %v: copies the whole id, hidden until the script shows it", copyBtn.Attr)
	}
	out := p.one("a[data-confirm=confirm-" + id + "]")
	if textOf(out) != "Sign Out This Session" || attr(out, "href") != iphone+"/sign-out?from=details" {
		t.Errorf("sign out %q → %q", textOf(out), attr(out, "href"))
	}
	if got := p.texts(".crumbs a"); !slices.Equal(got, []string{"Sessions"}) {
		t.Errorf("breadcrumb %q", got)
	}
	// Where the session has been.
	rows := p.all("table.table tbody tr")
	if len(rows) != 1 || !strings.HasPrefix(textOf(rows[0]), "83.45.123.78 Madrid, Spain") {
		t.Errorf("IP history %d rows: %q", len(rows), p.texts("table.table tbody tr"))
	}

	// The current session: what is not known says Unknown, never a blank;
	// its last page is the page seen before this one.
	e.page(c, "GET", "/settings/security/sessions", nil)
	p = e.page(c, "GET", current, nil).wantStatus(http.StatusOK)
	f = details(p)
	for _, k := range []string{"Browser", "OS", "Device", "City", "Country", "ISP"} {
		if f[k] != "Unknown" {
			t.Errorf("current session %s = %q, want Unknown", k, f[k])
		}
	}
	for k, v := range f {
		if v == "" {
			t.Errorf("%s is blank", k)
		}
	}
	if f["Last Page"] != "Sessions" {
		t.Errorf("Last Page %q, want the title of the page seen before", f["Last Page"])
	}
	if len(p.all(".session-head .badge")) != 1 || p.text(".session-head .badge") != "This Device" {
		t.Error("the current session's details lack the This Device badge")
	}
}

// A suspicious session shows its concern level, why, and what to do.
func TestSessionDetailsRisk(t *testing.T) {
	e := newEnv(t)
	u := e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.signIn(c, "ana@acme.example", false, "")
	now := e.clock.Now()
	_, hash := doorman.NewToken()
	exp := now.Add(24 * time.Hour)
	s := &doorman.Session{ID: doorman.NewID(doorman.PrefixSession, now), TokenHash: hash, UserID: u.ID, AccountID: u.AccountID,
		CreatedAt: now.Add(-time.Hour), LastActiveAt: now.Add(-time.Hour), ExpiresAt: &exp, IP: "198.51.100.7",
		Risk: doorman.Risk{Level: "high", Reasons: []string{"unknown_location", "new_device"}}}
	ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, now), AccountID: u.AccountID, At: now,
		ActorID: u.ID, Actor: u.Email, Action: doorman.ActionSignIn, Target: s.ID}
	if err := e.svc.Store.CreateSession(context.Background(), s, ev); err != nil {
		t.Fatal(err)
	}
	list := e.page(c, "GET", "/settings/security/sessions", nil)
	if got := list.texts(".risk"); !slices.Equal(got, []string{"High concern"}) {
		t.Errorf("risk badges %q", got)
	}
	p := e.page(c, "GET", "/settings/security/sessions/"+s.ID, nil).wantStatus(http.StatusOK)
	got := p.text(".alert-warning")
	for _, want := range []string{"High concern", "Unknown location: first sign-in from", "Unknown device: first sign-in from",
		"Sign out this session immediately", "Change your password"} {
		if !strings.Contains(got, want) {
			t.Errorf("risk notice %q lacks %q", got, want)
		}
	}
}

func TestSignOutOneSession(t *testing.T) {
	e, c := demoEnv(t)
	list := e.page(c, "GET", "/settings/security/sessions", nil)
	windows := attr(list.all("a.session-link")[2], "href")

	// The confirmation page, as the guide draws it, Cancel first.
	p := e.page(c, "GET", windows+"/sign-out", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Sign Out Session?" {
		t.Errorf("h1 %q", got)
	}
	if got := visibleText(p.one(".confirm")); got != "Sign Out Session? This will sign out: Chrome on Windows London, United Kingdom "+
		"IP: 203.0.113.45 · PC-"+windows[len(windows)-4:]+" Last active: 3 days ago The user will need to sign in again. Cancel Sign Out" {
		t.Errorf("confirmation reads %q", got)
	}
	if got := p.texts("form.confirm-actions > .btn"); !slices.Equal(got, []string{"Cancel", "Sign Out"}) {
		t.Errorf("buttons %q", got)
	}
	if got := attr(p.one("form.confirm-actions a"), "href"); got != "/settings/security/sessions" {
		t.Errorf("Cancel → %q", got)
	}
	if got := attr(e.page(c, "GET", windows+"/sign-out?from=details", nil).one("form.confirm-actions a"), "href"); got != windows {
		t.Errorf("Cancel from the details → %q", got)
	}
	form := p.one("form.confirm-actions")

	// Without the form token, or from another site, nothing happens.
	e.page(c, "POST", windows+"/sign-out", url.Values{}).wantStatus(http.StatusForbidden)
	bad := e.page(c, "POST", windows+"/sign-out", url.Values{"csrf": {"x" + formValues(form).Get("csrf")}}).wantStatus(http.StatusForbidden)
	checkPageHeaders(t, bad)
	if !strings.Contains(bad.text("main"), "This form has expired") || bad.text(".request-id code") != bad.header.Get("X-Request-Id") {
		t.Errorf("403 page: %q", bad.text("main"))
	}
	e.page(c, "POST", windows+"/sign-out", formValues(form), "Sec-Fetch-Site", "cross-site").wantStatus(http.StatusForbidden)
	// Another browser's token is no good.
	other := e.browser()
	e.signIn(other, "admin@company.com", false, "")
	otherForm := e.page(other, "GET", windows+"/sign-out", nil).one("form.confirm-actions")
	e.page(c, "POST", windows+"/sign-out", formValues(otherForm)).wantStatus(http.StatusForbidden)
	if n := len(sessionCards(e.page(c, "GET", "/settings/security/sessions", nil), "others")); n != 4 {
		t.Fatalf("%d other sessions after refused posts, want 4", n)
	}

	// With it: signed out, said so once, gone from the list.
	e.page(c, "POST", windows+"/sign-out", formValues(form)).wantRedirect("/settings/security/sessions")
	after := e.page(c, "GET", "/settings/security/sessions", nil)
	if got := after.text(".alert"); got != "Signed out Chrome on Windows (London)." {
		t.Errorf("flash %q", got)
	}
	if attr(after.one(".alert"), "role") != "status" {
		t.Error("the flash is not announced")
	}
	for _, card := range sessionCards(after, "others") {
		if strings.HasPrefix(card, "Chrome on Windows") {
			t.Error("the session is still listed")
		}
	}
	if len(e.page(c, "GET", "/settings/security/sessions", nil).all(".alert")) != 0 {
		t.Error("the flash shows twice")
	}
	// Twice is not an error: the same form sent again (a double click), or
	// another page's (the session ended meanwhile) says it is done.
	e.page(c, "POST", windows+"/sign-out", formValues(form)).wantRedirect("/settings/security/sessions")
	if got := e.page(c, "GET", "/settings/security/sessions", nil).text(".alert"); got != "This session is signed out." {
		t.Errorf("second sign-out: %q", got)
	}
	list = e.page(c, "GET", "/settings/security/sessions", nil)
	e.page(c, "POST", windows+"/sign-out", formValues(list.one("header form"))).wantRedirect("/settings/security/sessions")
	if got := e.page(c, "GET", "/settings/security/sessions", nil).text(".alert-success"); got != "This session is signed out." {
		t.Errorf("sign-out of an ended session: %q", got)
	}
	// And its details are gone.
	gone := e.page(c, "GET", windows, nil).wantStatus(http.StatusNotFound)
	if !strings.Contains(gone.text("main"), "This session no longer exists") {
		t.Errorf("404 page: %q", gone.text("main"))
	}
}

func TestSignOutCurrentSessionEndsOnLogin(t *testing.T) {
	e, c := demoEnv(t)
	cur := attr(e.page(c, "GET", "/settings/security/sessions", nil).one(".session-current a.session-link"), "href")
	p := e.page(c, "GET", cur+"/sign-out", nil).wantStatus(http.StatusOK)
	if got := p.texts(".confirm > p")[0]; got != "This will sign out this device, the one you are using now:" {
		t.Errorf("confirmation %q", got)
	}
	a := e.page(c, "POST", cur+"/sign-out", formValues(p.one("form.confirm-actions")))
	a.wantRedirect("/login")
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 {
		t.Error("the cookie was not cleared")
	}
	if got := e.page(c, "GET", "/login", nil).text(".alert"); got != "You signed out." {
		t.Errorf("flash %q", got)
	}
}

func TestSignOutOtherSessions(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/settings/security/sessions/sign-out-others", nil).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := p.text("h1"); got != "Sign Out All Other Sessions?" {
		t.Errorf("h1 %q (the pattern for {id} must not catch this page)", got)
	}
	if got := p.texts(".confirm > p")[0]; got != "This will sign out 3 other sessions:" {
		t.Errorf("intro %q", got)
	}
	if got := p.texts(".confirm-list li"); !slices.Equal(got,
		[]string{"Safari on iPhone (Madrid)", "Chrome on Windows (London)", "Firefox on Ubuntu (Berlin)"}) {
		t.Errorf("list %q", got)
	}
	if got := p.texts(".confirm > p")[1]; got != "Your current session will remain active. Other users will need to sign in again." {
		t.Errorf("outro %q", got)
	}
	if got := p.texts("form.confirm-actions > .btn"); !slices.Equal(got, []string{"Cancel", "Sign Out All"}) {
		t.Errorf("buttons %q", got)
	}
	form := p.one("form.confirm-actions")
	e.page(c, "POST", "/settings/security/sessions/sign-out-others", url.Values{}).wantStatus(http.StatusForbidden)
	e.page(c, "POST", "/settings/security/sessions/sign-out-others", formValues(form)).wantRedirect("/settings/security/sessions")
	after := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if got := after.text(".alert"); got != "Signed out 3 other sessions." {
		t.Errorf("flash %q", got)
	}
	if len(after.all(".empty")) != 1 || len(sessionCards(after, "current")) != 1 {
		t.Error("want the current session and the empty state")
	}
	// The same form sent again: done already. A new one: nothing to do.
	e.page(c, "POST", "/settings/security/sessions/sign-out-others", formValues(form)).wantRedirect("/settings/security/sessions")
	if got := e.page(c, "GET", "/settings/security/sessions", nil).text(".alert"); got != "Already signed out: your other sessions are signed out." {
		t.Errorf("flash %q", got)
	}
	p = e.page(c, "GET", "/settings/security/sessions/sign-out-others", nil).wantStatus(http.StatusOK)
	e.page(c, "POST", "/settings/security/sessions/sign-out-others", formValues(p.one("header form"))).wantRedirect("/settings/security/sessions")
	if got := e.page(c, "GET", "/settings/security/sessions", nil).text(".alert"); got != "There were no other sessions to sign out." {
		t.Errorf("flash %q", got)
	}
}

func TestPageErrors(t *testing.T) {
	e, c := demoEnv(t)

	// An unknown or someone else's session: 404, never 403.
	e.user("bob@acme.example", doorman.RoleMember)
	bob := e.browser()
	e.signIn(bob, "bob@acme.example", false, "")
	bobs := attr(e.page(bob, "GET", "/settings/security/sessions", nil).one(".session-current a.session-link"), "href")
	for _, path := range []string{"/settings/security/sessions/sess_nope", bobs, bobs + "/sign-out"} {
		p := e.page(c, "GET", path, nil).wantStatus(http.StatusNotFound)
		checkPageHeaders(t, p)
		if got := p.text("h1"); got != "Not found" {
			t.Errorf("%s: h1 %q", path, got)
		}
		if len(p.all("nav.sidenav")) != 1 {
			t.Errorf("%s: a signed-in error page keeps the navigation", path)
		}
	}

	// Browsers asking for a page that does not exist get a page; API
	// clients keep their JSON.
	p := e.page(nil, "GET", "/no/such/page", nil).wantStatus(http.StatusNotFound)
	checkPageHeaders(t, p)
	if !strings.Contains(p.text("main"), "There is no page at this address.") || p.text(".request-id code") != p.header.Get("X-Request-Id") {
		t.Errorf("404 page %q", p.text("main"))
	}
	e.do(nil, "GET", "/no/such/page", nil).wantError(t, http.StatusNotFound, "not_found")
	e.page(nil, "GET", "/api/v1/nope", nil) // JSON under /api even for browsers
	if a := e.do(nil, "GET", "/api/v1/nope", nil, "Accept", "text/html"); a.header.Get("Content-Type") != "application/json" {
		t.Errorf("API 404 for a browser: %q", a.header.Get("Content-Type"))
	}
	m := e.page(nil, "PUT", "/login", url.Values{}).wantStatus(http.StatusMethodNotAllowed)
	if m.header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("Allow %q", m.header.Get("Allow"))
	}
	if e.page(nil, "POST", "/", url.Values{}).wantStatus(http.StatusMethodNotAllowed).header.Get("Allow") != "GET, HEAD" {
		t.Error("POST / is not 405 with Allow: GET, HEAD")
	}
	if e.page(nil, "POST", "/nope", url.Values{}).status != http.StatusNotFound {
		t.Error("POST /nope is not 404")
	}

	// The store down: 503 with the request id, never its error.
	e.store.failList.Store(true)
	p = e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusServiceUnavailable)
	checkPageHeaders(t, p)
	id := p.header.Get("X-Request-Id")
	if p.text(".request-id code") != id || p.header.Get("Retry-After") == "" {
		t.Errorf("503 page: request id %q, want %q", p.text(".request-id code"), id)
	}
	if strings.Contains(string(p.body), "disk I/O") {
		t.Error("the store's error reached the page")
	}
	if !regexp.MustCompile(`store unavailable.*request_id=` + id + `.*disk I/O error`).MatchString(e.logs.String()) {
		t.Error("the store's error is not logged with the request id")
	}
	e.store.failList.Store(false)
	e.store.failAuth.Store(true)
	p = e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusServiceUnavailable)
	if p.text("h1") != "Doorman is unavailable" || strings.Contains(p.header.Get("Set-Cookie"), "doorman_session=;") {
		t.Errorf("503 at authentication: %q; the cookie must stay", p.text("h1"))
	}
	e.store.failAuth.Store(false)

	// A panic: 500 page with the request id, logged with its stack.
	e.store.panicAuth.Store(true)
	p = e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusInternalServerError)
	checkPageHeaders(t, p)
	if p.text("h1") != "Something went wrong" || p.text(".request-id code") != p.header.Get("X-Request-Id") {
		t.Errorf("500 page %q", p.text("main"))
	}
	if strings.Contains(string(p.body), "store exploded") {
		t.Error("the panic reached the page")
	}
	e.store.panicAuth.Store(false)
	e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
}

func TestHomeRedirects(t *testing.T) {
	e, c := demoEnv(t)
	for _, path := range []string{"/", "/settings", "/settings/security"} {
		e.page(c, "GET", path, nil).wantRedirect("/settings/security/sessions")
	}
	// Signed out, the sessions page goes to sign-in with no way back to carry.
	e.page(nil, "GET", "/settings/security/sessions", nil).wantRedirect("/login")
}

func TestStaticAssets(t *testing.T) {
	e, c := demoEnv(t)
	p := e.page(c, "GET", "/settings/security/sessions", nil)
	var urls []string
	for _, n := range p.all("link[href]") {
		urls = append(urls, attr(n, "href"))
	}
	for _, n := range p.all("script") {
		urls = append(urls, attr(n, "src"))
	}
	want := map[string]string{"app.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml",
		"app.js": "text/javascript; charset=utf-8"}
	if len(urls) != len(want) {
		t.Fatalf("assets %q", urls)
	}
	for _, u := range urls {
		m := regexp.MustCompile(`^/static/([a-z]+\.[a-z]+)\?v=([0-9a-f]{16})$`).FindStringSubmatch(u)
		if m == nil {
			t.Fatalf("asset URL %q is not versioned", u)
		}
		a := e.do(nil, "GET", u, nil)
		if a.status != http.StatusOK || a.header.Get("Content-Type") != want[m[1]] || len(a.body) == 0 {
			t.Errorf("%s: %d %q", u, a.status, a.header.Get("Content-Type"))
		}
		if a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || a.header.Get("Etag") != `"`+m[2]+`"` {
			t.Errorf("%s: Cache-Control %q, ETag %q", u, a.header.Get("Cache-Control"), a.header.Get("Etag"))
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s without nosniff", u)
		}
		if r := e.do(nil, "GET", u, nil, "If-None-Match", `"`+m[2]+`"`); r.status != http.StatusNotModified {
			t.Errorf("%s revalidated: %d, want 304", u, r.status)
		}
		if r := e.do(nil, "GET", "/static/"+m[1]+"?v=old", nil); r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("an old version is cached for good: %q", r.header.Get("Cache-Control"))
		}
	}
	if a := e.do(nil, "GET", "/static/nope.js", nil); a.status != http.StatusNotFound {
		t.Errorf("missing asset: %d", a.status)
	}
	// The stylesheet loads nothing from elsewhere.
	css := e.do(nil, "GET", urls[0], nil).body
	if regexp.MustCompile(`(?i)@import|url\(|https?://`).Match(css) {
		t.Error("app.css loads something")
	}
}

// Every page route is served by its handler, not the catch-all, and has a
// name for "Last Page"; none of them is in the API's route list.
func TestPageRoutesAreServed(t *testing.T) {
	e, c := demoEnv(t)
	api := map[string]bool{}
	for _, r := range e.server.Routes() {
		api[r.Pattern()] = true
	}
	for _, r := range e.server.PageRoutes() {
		if api[r.Pattern()] {
			t.Errorf("%s is listed as an API route", r.Pattern())
		}
		if r.Name == "" {
			t.Errorf("%s has no name", r.Pattern())
		}
		path := strings.NewReplacer("{id}", "sess_x", "{name}", "app.css", "{$}", "").Replace(r.Path)
		var form url.Values
		if r.Method == "POST" {
			form = url.Values{}
		}
		p := e.page(c, r.Method, path, form)
		if p.status == http.StatusMethodNotAllowed || (p.root != nil && len(p.all("main")) == 1 &&
			strings.Contains(p.text("main"), "There is no page at this address")) {
			t.Errorf("%s: answered by the catch-all (%d)", r.Pattern(), p.status)
		}
	}
}
