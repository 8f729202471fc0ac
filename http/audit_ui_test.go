package http_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
)

// auditWorld is two teams with a history: Acme's admin ana signed in from
// Madrid with Chrome on macOS; mike signed in from Berlin with Firefox on
// Windows, was signed out by force and his session purged; ana made an API
// key and removed gus. Globex's admin signed in from London and made a key
// of their own.
type auditWorld struct {
	*env
	admin, member      *http.Client
	ana, mike, gus     *doorman.User
	boss               *doorman.User
	keyID, bossKeyID   string
	bossSessionID      string
	forcedID, signInID string // Acme's forced sign-out of mike, and mike's sign-in
	// from are the headers of ana's browser in Madrid, which every request
	// of hers sends, as her sign-in did.
	from []string
}

// view is ana's browser opening path.
func (w *auditWorld) view(path string) *page {
	w.t.Helper()
	return w.page(w.admin, "GET", path, nil, w.from...)
}

func newAuditWorld(t *testing.T) *auditWorld {
	t.Helper()
	w := &auditWorld{env: placedEnv(t)}
	e := w.env
	w.ana = e.user("ana@acme.example", doorman.RoleAdmin)
	w.mike = e.user("mike@acme.example", doorman.RoleMember)
	w.gus = e.user("gus@acme.example", doorman.RoleMember)
	w.boss = e.user("boss@globex.example", doorman.RoleAdmin, "Globex")
	w.admin = e.browser()
	e.signInFrom(w.admin, w.ana.Email, geoiptest.Madrid, riskUAMac)
	mike := e.browser()
	e.signInFrom(mike, w.mike.Email, geoiptest.Berlin, riskUAFirefox)
	w.member = e.browser()
	e.user("sam@acme.example", doorman.RoleMember)
	e.signInFrom(w.member, "sam@acme.example", geoiptest.Madrid, riskUAMac)
	gus := e.browser()
	e.signInFrom(gus, w.gus.Email, geoiptest.Madrid, riskUAMac)
	boss := e.browser()
	e.signInFrom(boss, w.boss.Email, geoiptest.London, riskUAFirefox)

	w.from = []string{"X-Forwarded-For", geoiptest.Madrid, "User-Agent", riskUAMac}
	from := w.from
	e.clock.Advance(10 * time.Minute) // within the 15 minutes that sensitive actions allow
	if a := e.do(w.admin, "POST", "/api/v1/team/users/"+w.mike.ID+"/sign-out", map[string]any{"reason": "Left the company"}, from...); a.status != http.StatusOK {
		t.Fatalf("force sign-out: %d %s", a.status, a.body)
	}
	var key struct {
		APIKey struct{ ID string } `json:"api_key"`
		Secret string
	}
	e.do(w.admin, "POST", "/api/v1/api-keys", map[string]any{"name": "Production API"}, from...).decode(t, &key)
	w.keyID = key.APIKey.ID
	// The key acts too: it signs zoe out.
	zoe := e.user("zoe@acme.example", doorman.RoleMember)
	if a := e.do(nil, "POST", "/api/v1/team/users/"+zoe.ID+"/sign-out", map[string]any{"reason": "Rotation"},
		append([]string{"Authorization", "Bearer " + key.Secret}, from...)...); a.status != http.StatusOK {
		t.Fatalf("force sign-out by key: %d %s", a.status, a.body)
	}
	if a := e.do(w.admin, "DELETE", "/api/v1/team/users/"+w.gus.ID, map[string]any{"reason": "Contract ended"}, from...); a.status != http.StatusNoContent {
		t.Fatalf("remove gus: %d %s", a.status, a.body)
	}
	e.do(boss, "POST", "/api/v1/api-keys", map[string]any{"name": "Globex secret key"},
		"X-Forwarded-For", geoiptest.London, "User-Agent", riskUAFirefox).decode(t, &key)
	w.bossKeyID = key.APIKey.ID
	e.clock.Advance(20 * time.Minute)
	// Mike's ended session is purged: his sign-in names it from the event alone.
	if _, err := e.svc.Purge(context.Background(), -time.Hour, 100); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, _, err := e.store.FindSessions(ctx, doorman.SessionFilter{AccountID: w.boss.AccountID})
	if err != nil || len(list) != 1 {
		t.Fatalf("Globex's sessions: %d, %v", len(list), err)
	}
	w.bossSessionID = list[0].ID
	evs, _, err := e.store.FindAuditEvents(ctx, doorman.AuditFilter{AccountID: w.ana.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		switch {
		case ev.Action == doorman.ActionUserSessionsRevoked:
			w.forcedID = ev.ID
		case ev.Action == doorman.ActionSignIn && ev.Actor == w.mike.Email:
			w.signInID = ev.ID
		}
	}
	if w.forcedID == "" || w.signInID == "" {
		t.Fatal("the fixture's events are missing")
	}
	return w
}

// auditText is visibleText that reads a word split by <wbr> (an email,
// an IPv6 address) as one word, as a reader sees it.
func auditText(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch {
		case n.Type == html.ElementNode && hasClass(n, "visually-hidden"):
			return
		case n.Type == html.ElementNode && n.Data == "wbr":
			b.WriteByte(0) // joins the text on either side
			return
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), " \x00", "")), " ")
}

// rowOf returns the cells of the first row whose action cell is code and
// whose actor is actor ("" for any).
func rowOf(t *testing.T, p *page, code, actor string) (*html.Node, []string) {
	t.Helper()
	for _, tr := range p.all("table.audit-table tbody tr") {
		tds := within(tr, "td")
		if attr(tds[2], "data-action") == code && (actor == "" || auditText(tds[1]) == actor) {
			var cells []string
			for _, td := range tds {
				cells = append(cells, auditText(td))
			}
			return tr, cells
		}
	}
	t.Fatalf("no %s row by %q", code, actor)
	return nil, nil
}

// anyID matches an id as Doorman makes them.
var anyID = regexp.MustCompile(`\b(sess|usr|key|evt|acc|dlv|alt)_[0-9A-Za-z]{6,}`)

// TestAuditLogReadsAsSentences: each row says who did what to whom or what,
// why and from where, in words: a user target by email (and name), a
// session by its device and place, an API key by its name; nothing is an
// id, and what is gone says so.
func TestAuditLogReadsAsSentences(t *testing.T) {
	w := newAuditWorld(t)
	p := w.view("/admin/audit").wantStatus(http.StatusOK)
	checkPageMarkup(t, p)
	if got := p.texts("table.audit-table thead th"); !slices.Equal(got, []string{"When", "Actor", "Action", "Target", "Reason", "IP", "Device"}) {
		t.Errorf("columns %q", got)
	}
	body := auditText(p.one("table.audit-table tbody"))
	if id := anyID.FindString(body); id != "" {
		t.Errorf("the table shows an id (%s):\n%s", id, body)
	}
	for _, other := range []string{"globex", "Globex", "London"} {
		if strings.Contains(body, other) {
			t.Errorf("Acme's audit log mentions %q", other)
		}
	}

	tr, forced := rowOf(t, p, doorman.ActionUserSessionsRevoked, "ana@acme.example")
	if want := []string{"20 minutes ago", "ana@acme.example", "Forced sign-out 1 session",
		"mike@acme.example Name of mike@acme.example", "Left the company", geoiptest.Madrid, "Chrome on macOS"}; !slices.Equal(forced, want) {
		t.Errorf("forced sign-out row %q, want %q", forced, want)
	}
	links := within(tr, "a")
	if len(links) != 3 || attr(links[0], "href") != "/admin/team/"+w.ana.ID || attr(links[1], "href") != "/admin/audit/"+w.forcedID ||
		attr(links[2], "href") != "/admin/team/"+w.mike.ID {
		t.Errorf("forced sign-out links %v: want the actor's page, the event's, the target's", hrefs(links))
	}
	// A key that acted links to its page.
	byKey := 0
	for _, tr := range p.all("table.audit-table tbody tr") {
		tds := within(tr, "td")
		if actor := auditText(tds[1]); strings.HasPrefix(actor, "API key ") && attr(tds[2], "data-action") == doorman.ActionUserSessionsRevoked {
			byKey++
			if a := within(tds[1], "a"); actor != "API key "+strings.Fields(actor)[2]+" (Production API)" || len(a) != 1 ||
				attr(a[0], "href") != "/settings/api-keys/"+w.keyID || auditText(tds[3]) != "zoe@acme.example Name of zoe@acme.example" {
				t.Errorf("the key's forced sign-out: actor %q (%v), target %q", actor, hrefs(a), auditText(tds[3]))
			}
		}
	}
	if byKey != 1 {
		t.Errorf("%d forced sign-outs by the key, want 1", byKey)
	}
	// A live session: its device and place, from the store.
	if _, own := rowOf(t, p, doorman.ActionSignIn, "ana@acme.example"); own[3] != "Chrome on macOS Madrid, Spain" {
		t.Errorf("ana's sign-in names its session %q", own[3])
	}
	// A purged one: the sign-in's own request says what it was.
	if _, gone := rowOf(t, p, doorman.ActionSignIn, "mike@acme.example"); gone[3] != "Firefox on Windows Berlin, Germany Session since deleted" ||
		gone[5] != geoiptest.Berlin || gone[6] != "Firefox on Windows" {
		t.Errorf("mike's sign-in row %q: want its purged session named from the event", gone)
	}
	tr, key := rowOf(t, p, doorman.ActionAPIKeyCreated, "")
	if !strings.HasPrefix(key[3], "Production API dk_") || key[2] != "Created an API key" {
		t.Errorf("API key row %q", key)
	}
	if l := within(tr, "td.audit-target a"); len(l) != 1 || attr(l[0], "href") != "/settings/api-keys/"+w.keyID {
		t.Errorf("the key links to %v", hrefs(l))
	}
	if _, removed := rowOf(t, p, doorman.ActionUserRemoved, ""); removed[3] != "gus@acme.example Name of gus@acme.example Removed from the team" {
		t.Errorf("removed user row %q", removed)
	}
	// Every row opens its event.
	for _, tr := range p.all("table.audit-table tbody tr") {
		a := within(tr, "td.audit-action a")
		if len(a) != 1 || !strings.HasPrefix(attr(a[0], "href"), "/admin/audit/evt_") {
			t.Fatalf("a row without its event's link: %q", visibleText(tr))
		}
		w.view(attr(a[0], "href")).wantStatus(http.StatusOK)
	}
}

// TestAuditNamesStayInTheAccount: an Acme event that names Globex's
// session or key (as a forged or stray event might) shows nothing of
// them: lookups are scoped to the admin's account.
func TestAuditNamesStayInTheAccount(t *testing.T) {
	w := newAuditWorld(t)
	ctx := context.Background()
	now := w.clock.Now()
	for _, ev := range []*doorman.AuditEvent{
		{Action: doorman.ActionSessionRevoked, Target: w.bossSessionID},
		{Action: doorman.ActionAPIKeyRevoked, Target: w.bossKeyID},
		{Action: doorman.ActionUserSessionsRevoked, Target: w.boss.Email},
	} {
		ev.ID, ev.AccountID, ev.At, ev.ActorID, ev.Actor = doorman.NewID(doorman.PrefixEvent, now), w.ana.AccountID, now, w.ana.ID, w.ana.Email
		if err := w.store.CreateAuditEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	p := w.view("/admin/audit").wantStatus(http.StatusOK)
	if _, row := rowOf(t, p, doorman.ActionUserSessionsRevoked, ""); row[3] != "boss@globex.example No longer in the team" {
		t.Errorf("another account's user: %q", row[3])
	}
	if _, row := rowOf(t, p, doorman.ActionAPIKeyRevoked, ""); row[3] != "An API key No longer stored" {
		t.Errorf("another account's key: %q", row[3])
	}
	if _, row := rowOf(t, p, doorman.ActionSessionRevoked, ""); row[3] != "A session Since deleted" {
		t.Errorf("another account's session: %q", row[3])
	}
	if body := p.text("main"); strings.Contains(body, "London") || strings.Contains(body, "Globex secret key") {
		t.Error("Acme's page shows Globex's session or key")
	}
}

// auditFacts returns the facts of the event page's section, by term.
func auditFacts(p *page, section string) map[string]string {
	out := map[string]string{}
	for _, sec := range p.all("section") {
		if attr(sec, "aria-labelledby") != section {
			continue
		}
		for _, div := range within(sec, "dl div") {
			dt, dd := within(div, "dt"), within(div, "dd")
			if len(dt) == 1 && len(dd) == 1 {
				out[auditText(dt[0])] = auditText(dd[0])
			}
		}
	}
	return out
}

// TestAuditEventPage: one event, every field in words; another account's
// event and malformed ids answer 404, a member 403.
func TestAuditEventPage(t *testing.T) {
	w := newAuditWorld(t)
	p := w.view("/admin/audit/" + w.forcedID).wantStatus(http.StatusOK)
	checkPageHeaders(t, p)
	checkPageMarkup(t, p)
	if got := navCurrent(p); got != "Team › Audit log" {
		t.Errorf("navigation marks %q", got)
	}
	if got := p.text("h1"); got != "Forced sign-out" {
		t.Errorf("h1 %q", got)
	}
	ev := auditFacts(p, "event-title")
	want := map[string]string{
		"Actor":    "ana@acme.example",
		"Action":   "Forced sign-out Recorded as user_sessions_revoked",
		"Target":   "mike@acme.example Name of mike@acme.example",
		"Affected": "1 session",
		"Reason":   "Left the company",
		"Event ID": w.forcedID,
	}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %q, want %q", k, ev[k], v)
		}
	}
	if !strings.HasSuffix(ev["When"], " UTC 20 minutes ago") {
		t.Errorf("When = %q", ev["When"])
	}
	req := auditFacts(p, "request-title")
	if req["IP address"] != geoiptest.Madrid || req["Place"] != "Madrid, Spain" || req["Device"] != "Chrome on macOS" ||
		req["User-Agent"] != riskUAMac {
		t.Errorf("request facts %q", req)
	}
	if det := auditFacts(p, "details-title"); det["User ID"] != w.mike.ID {
		t.Errorf("details %q", det)
	}
	if got := p.texts(".crumbs a"); !slices.Equal(got, []string{"Audit log"}) {
		t.Errorf("crumbs %q", got)
	}

	// A sign-in without details says so.
	s := w.view("/admin/audit/" + w.signInID).wantStatus(http.StatusOK)
	if got := auditFacts(s, "event-title")["Target"]; got != "Firefox on Windows Berlin, Germany Session since deleted" {
		t.Errorf("purged session's sign-in target %q", got)
	}

	// Globex's events, unknown and malformed ids: 404, nothing of them shown.
	globex, _, err := w.store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: w.boss.AccountID})
	if err != nil || len(globex) == 0 {
		t.Fatal(err)
	}
	for _, id := range []string{globex[0].ID, doorman.NewID(doorman.PrefixEvent, w.clock.Now()), "evt_x", "%ff", "sess_" + w.forcedID[4:],
		strings.ToLower(w.forcedID), w.forcedID + "0", "evt_%00"} {
		nf := w.view("/admin/audit/" + id).wantStatus(http.StatusNotFound)
		if got := nf.text("main"); !strings.Contains(got, "This audit event does not exist") || strings.Contains(got, "boss@globex") {
			t.Errorf("%s: %q", id, got)
		}
	}
	w.page(w.member, "GET", "/admin/audit/"+w.forcedID, nil).wantStatus(http.StatusForbidden)
	w.page(nil, "GET", "/admin/audit/"+w.forcedID, nil).wantRedirect("/login?next=%2Fadmin%2Faudit%2F" + w.forcedID)
}

func hrefs(ns []*html.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, attr(n, "href"))
	}
	return out
}
