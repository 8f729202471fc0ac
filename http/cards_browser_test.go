package http_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip/geoiptest"
)

// TestTwinSessionsBrowser signs one person in twice, three hours apart,
// from the same browser (one User-Agent) at two addresses of one city: the
// two cards must still say what differs (sign-in time, IP, device name),
// on a laptop and on a phone, and "This Device" must stand out by its
// badge and by the card itself. The details say when each session ends in
// the words of its kind: a remembered one ends on a date, whatever its use.
func TestTwinSessionsBrowser(t *testing.T) {
	path := chromiumPath(t)
	e := placedEnv(t)
	e.clock.mu.Lock()
	e.clock.t = time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)
	e.clock.mu.Unlock()
	const email = "ana@acme.example"
	e.user(email, doorman.RoleMember)
	browser := startBrowser(t, path)

	const otherMadrid = "83.45.7.9" // the same city as geoiptest.Madrid
	first := newTab(t, browser, e.srv.URL, client{userAgent: macChrome.userAgent, hints: macChrome.hints, ip: geoiptest.Madrid})
	first.navigate("/login")
	first.signIn(email, true)
	e.clock.Advance(3 * time.Hour)
	second := newTab(t, browser, e.srv.URL, client{userAgent: macChrome.userAgent, hints: macChrome.hints, ip: otherMadrid})
	second.navigate("/login")
	second.signIn(email, false)
	if got := second.path(); got != "/settings/security/sessions" {
		t.Fatalf("after sign-in: at %q", got)
	}

	type card struct{ title, place, ip, device, signedIn, status string }
	var cur, other card
	list := second.dom()
	for _, li := range list.all("li.session") {
		text := func(s string) string { return visibleText(only(t, within(li, s), s)) }
		c := card{text(".session-title"), text(".session-place"), text(".session-ip"), text(".session-device"),
			text(".session-signed-in"), text(".session-status")}
		if hasClass(li, "session-current") {
			cur = c
		} else {
			other = c
		}
	}
	if n := len(list.all("li.session")); n != 2 {
		t.Fatalf("%d session cards, want 2", n)
	}
	// (Each browser is new to the account, so the cards may say so too.)
	if !strings.HasPrefix(cur.title, "Chrome on macOS This Device") || !strings.HasPrefix(other.title, "Chrome on macOS") ||
		strings.Contains(other.title, "This Device") {
		t.Errorf("titles %q and %q: the same browser, This Device on the current one only", cur.title, other.title)
	}
	if cur.place != "Madrid, Spain" || other.place != "Madrid, Spain" {
		t.Errorf("places %q and %q, want Madrid for both", cur.place, other.place)
	}
	if cur.ip != "IP: "+otherMadrid || other.ip != "IP: "+geoiptest.Madrid {
		t.Errorf("addresses %q and %q", cur.ip, other.ip)
	}
	if cur.signedIn != "Signed in: just now" || other.signedIn != "Signed in: 3 hours ago" {
		t.Errorf("sign-ins %q and %q", cur.signedIn, other.signedIn)
	}
	if cur.status != "Active now" || other.status != "Last active: 3 hours ago" {
		t.Errorf("statuses %q and %q", cur.status, other.status)
	}
	name := regexp.MustCompile(`^Mac-[0-9A-Z]{4}$`)
	if !name.MatchString(cur.device) || !name.MatchString(other.device) || cur.device == other.device {
		t.Errorf("device names %q and %q: want two different Mac-XXXX", cur.device, other.device)
	}
	curID := strings.TrimPrefix(attr(list.one("li.session-current a.session-link"), "href"), "/settings/security/sessions/")
	if !strings.HasSuffix(curID, strings.TrimPrefix(cur.device, "Mac-")) {
		t.Errorf("device name %q does not end like its session id %q", cur.device, curID)
	}

	// This Device stands out: the card's edge and background, and the badge.
	style := func(sel, prop string) string {
		return eval[string](second, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).%s`, sel, prop))
	}
	for _, prop := range []string{"backgroundColor", "borderTopColor", "boxShadow"} {
		if a, b := style("li.session-current", prop), style("li.session:not(.session-current)", prop); a == b {
			t.Errorf("the current card's %s is the other's (%s)", prop, a)
		}
	}
	if a, b := style("li.session-current .badge-current", "backgroundColor"), style("li.session-current", "backgroundColor"); a == b {
		t.Errorf("the This Device badge does not stand out from its card (%s)", a)
	}

	// On a phone every one of those facts is still on screen.
	second.viewport(phoneWidth, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile)
	for _, sel := range []string{".session-ip", ".session-device", ".session-signed-in", ".session-status", ".badge-current"} {
		shown := eval[int64](second, fmt.Sprintf(`[...document.querySelectorAll("li.session %s")].filter(el => {
			const r = el.getBoundingClientRect();
			return r.width > 0 && r.height > 0 && r.right <= window.innerWidth;
		}).length`, sel))
		want := int64(2)
		if sel == ".badge-current" {
			want = 1
		}
		if shown != want {
			t.Errorf("at %d px: %d of %s shown, want %d", phoneWidth, shown, sel, want)
		}
	}
	second.viewport(laptopWidth, 900)

	// When each ends: the remembered one on a date, the other if unused.
	open := func(b *tab) map[string]string {
		t.Helper()
		b.navigate("/settings/security/sessions")
		b.clickAndLoad("li.session-current a.session-link")
		return details(b.dom())
	}
	f := open(first)
	if _, ok := f["Ends if unused"]; ok || !strings.HasPrefix(f["Ends"], "February 14, 2024") || f["Remember me"] != "On, for 30 days from sign-in" {
		t.Errorf("remembered session: Ends %q, Ends if unused %q, Remember me %q", f["Ends"], f["Ends if unused"], f["Remember me"])
	}
	f = open(second)
	if _, ok := f["Ends"]; ok || !strings.HasPrefix(f["Ends if unused"], "January 22, 2024") || f["Remember me"] != "Off" {
		t.Errorf("session: Ends %q, Ends if unused %q, Remember me %q", f["Ends"], f["Ends if unused"], f["Remember me"])
	}
	if got := second.dom().text(".session-head .session-signed-in"); got != "Signed in: just now" {
		t.Errorf("details: %q", got)
	}
	var firstSeen []string
	for _, td := range second.dom().all("table.table tbody td") {
		if attr(td, "data-label") == "First seen" {
			firstSeen = append(firstSeen, visibleText(td))
		}
	}
	if len(firstSeen) != 1 || firstSeen[0] != "just now" {
		t.Errorf("IP history first seen %q", firstSeen)
	}
}
