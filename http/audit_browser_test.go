package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
)

// Text that pushes a table wide: emails of 60 and more characters, a reason
// with a long unbroken link, full-length IPv6 addresses, a long key name
// and a User-Agent no detector names.
const (
	longLocal  = "alexandra.konstantinopoulou.vandenberghe-mcallister"
	longDomain = "research-and-development.subsidiary.example.com"
	longReason = "Security review after the incident reported in " +
		"https://tickets.example.com/INCIDENT-2026-000123456789/escalations/security-operations-centre/follow-up " +
		"— her laptop was lost at the airport, so every session must end now and she signs in again from the new one."
	longKeyName = "Nightly reconciliation of the accounts-receivable ledger with the data warehouse"
	longUA      = "Mozilla/5.0 (X11; Linux x86_64; rv:0.0) ExoticEmbeddedKioskBrowserWithAVeryLongProductToken/123456789.987654321.123456789 " +
		"(compatible; SomeMonitoringRobotThatNobodyHasHeardOf/42.0; +https://monitoring.example.com/robots/about-this-robot-and-its-purpose.html)"
)

// longIPv6 are addresses that no "::" shortens.
var longIPv6 = []string{
	"2a02:8100:1234:5678:9abc:def0:1234:5678",
	"2a02:8100:ffff:eeee:dddd:cccc:bbbb:aaaa",
	"2001:db8:85a3:1111:2222:8a2e:370:7334",
}

// TestAuditLogFitsTheWindow drives the audit log and an event's page in
// Chromium at a phone's 390 px and a laptop's 1280 px with events built to
// be wide: nothing scrolls sideways, neither the page nor the table; on the
// phone each event is a stack of labelled lines that keeps every field;
// the action's words never break inside a word.
func TestAuditLogFitsTheWindow(t *testing.T) {
	path := chromiumPath(t)
	e := placedEnv(t)
	admin := e.user("admin@acme.example", doorman.RoleAdmin)
	c := e.browser()
	from := []string{"X-Forwarded-For", longIPv6[0], "User-Agent", longUA}
	e.signInFrom(c, admin.Email, longIPv6[0], longUA)
	var forced string
	for i := range 12 {
		email := fmt.Sprintf("%s.%02d@%s", longLocal, i, longDomain)
		u := e.user(email, doorman.RoleMember)
		e.signInFrom(e.browser(), email, longIPv6[i%len(longIPv6)], longUA)
		a := e.do(c, "POST", "/api/v1/team/users/"+u.ID+"/sign-out", map[string]any{"reason": longReason}, from...)
		if a.status != http.StatusOK {
			t.Fatalf("force sign-out: %d %s", a.status, a.body)
		}
	}
	if a := e.do(c, "POST", "/api/v1/api-keys", map[string]any{"name": longKeyName}, from...); a.status != http.StatusCreated && a.status != http.StatusOK {
		t.Fatalf("create key: %d %s", a.status, a.body)
	}
	e.clock.Advance(3 * time.Minute)
	evs := e.audit(c, "?action="+doorman.ActionUserSessionsRevoked+"&limit=1").Events
	if len(evs) != 1 {
		t.Fatal("no forced sign-out audited")
	}
	forced = evs[0].ID

	browser := startBrowser(t, path)
	b := newTab(t, browser, e.srv.URL, client{userAgent: macChrome.userAgent, ip: geoiptest.Madrid})
	b.navigate("/login")
	b.signIn(admin.Email, false)

	for _, size := range []struct {
		name          string
		width, height int64
		phone         bool
	}{
		{"phone", 390, 844, true},
		{"laptop", 1280, 900, false},
	} {
		t.Run(size.name, func(t *testing.T) {
			b.t = t
			if size.phone {
				b.viewport(size.width, size.height, chromedp.EmulateScale(3), chromedp.EmulateMobile)
			} else {
				b.viewport(size.width, size.height)
			}
			for _, p := range []string{"/admin/audit", "/admin/audit?action=" + doorman.ActionUserSessionsRevoked, "/admin/audit/" + forced} {
				b.navigate(p)
				if w := eval[int64](b, "window.innerWidth"); w != size.width {
					t.Fatalf("the window is %d px wide, want %d", w, size.width)
				}
				if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
					t.Errorf("%s: the page scrolls sideways at %d px: %d px wide", p, size.width,
						eval[int64](b, "document.documentElement.scrollWidth"))
				}
				// Nor does anything inside it: the table's card, the facts, a code.
				if wide := eval[[]string](b, overflowing); len(wide) > 0 {
					t.Errorf("%s at %d px: wider than their box: %q", p, size.width, wide)
				}
				if broken := eval[[]string](b, brokenWords); len(broken) > 0 {
					t.Errorf("%s at %d px: action words broken across lines: %q", p, size.width, broken)
				}
			}

			b.navigate("/admin/audit")
			rows := b.dom().all("table.audit-table tbody tr")
			if len(rows) < 30 {
				t.Fatalf("%d rows, want the whole history", len(rows))
			}
			// Every field of every event is on the screen, with its label
			// on a phone, under its column heading on a laptop.
			layout := eval[[]string](b, `[...document.querySelectorAll("table.audit-table tbody tr:first-child td")].map(td =>
				td.dataset.label + "|" + getComputedStyle(td).display + "|" + getComputedStyle(td, "::before").content + "|" +
				(td.getBoundingClientRect().height > 0 && td.getBoundingClientRect().width > 0))`)
			want := []string{"When", "Actor", "Action", "Target", "Reason", "IP", "Device"}
			if len(layout) != len(want) {
				t.Fatalf("first row %q", layout)
			}
			for i, l := range layout {
				parts := strings.Split(l, "|")
				shown := parts[3] == "true"
				switch {
				case parts[0] != want[i] || !shown:
					t.Errorf("cell %d: %q, want %s shown", i, l, want[i])
				case size.phone && (parts[1] != "block" || parts[2] != `"`+want[i]+`"`):
					t.Errorf("phone cell %s: display %s, label %s; want a block led by its label", want[i], parts[1], parts[2])
				case !size.phone && (parts[1] != "table-cell" || parts[2] != "none" && parts[2] != "normal"):
					t.Errorf("laptop cell %s: display %s, label %s; want a table cell under its heading", want[i], parts[1], parts[2])
				}
			}
			headVisible := eval[bool](b, `document.querySelector("table.audit-table thead").getBoundingClientRect().height > 1`)
			if headVisible == size.phone {
				t.Errorf("column headings shown: %t, want %t", headVisible, !size.phone)
			}
			// The long reason, email and address are whole in the page, wrapped.
			var first *html.Node
			for _, tr := range rows {
				if first == nil && attr(within(tr, "td.audit-action")[0], "data-action") == doorman.ActionUserSessionsRevoked {
					first = tr
				}
			}
			if got := auditText(within(first, "td.audit-reason")[0]); got != longReason {
				t.Errorf("reason %q", got)
			}
			if got := auditText(within(first, "td.audit-target")[0]); !strings.HasPrefix(got, longLocal) {
				t.Errorf("target %q", got)
			}
			if got := auditText(within(first, "td.audit-ip")[0]); got != longIPv6[0] {
				t.Errorf("IP %q", got)
			}
		})
	}
	b.t = t
}

// overflowing lists the elements of the audit pages whose content is wider
// than their box (and so would scroll, or spill over their neighbours).
const overflowing = `(() => {
  const out = [];
  const sel = ".audit-card, .audit-table, .audit-table td, .facts-group, .facts-group dd, .audit-details dd, .filter, .group-actions, main";
  for (const el of document.querySelectorAll(sel)) {
    if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName.toLowerCase() + "." + el.className + ": " + el.scrollWidth + ">" + el.clientWidth);
  }
  return out;
})()`

// brokenWords lists the words of action names that the browser broke
// across two lines.
const brokenWords = `(() => {
  const out = [];
  for (const el of document.querySelectorAll(".audit-action")) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.parentElement.closest(".audit-sub")) continue;
      const re = /\S+/g;
      let m;
      while ((m = re.exec(n.textContent))) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        if (r.getClientRects().length > 1) out.push(m[0]);
      }
    }
  }
  return out;
})()`
