package http_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/doorman/doorman"
)

// navigation is what Caddy and Traefik send for a browser that opened
// https://docs.app.test/reports?year=2026 (both forward the browser's own
// headers, Accept included).
var navigation = []string{
	"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"X-Forwarded-Method", "GET",
	"X-Forwarded-Proto", "https",
	"X-Forwarded-Host", "docs.app.test",
	"X-Forwarded-Uri", "/reports?year=2026",
}

// with returns hdr with name set to value (appended, or replacing it).
func with(hdr []string, name, value string) []string {
	out := append([]string(nil), hdr...)
	for i := 0; i+1 < len(out); i += 2 {
		if out[i] == name {
			out[i+1] = value
			return out
		}
	}
	return append(out, name, value)
}

func TestForwardSendsSignedOutBrowserToSignIn(t *testing.T) {
	e, c := domainEnv(t, withTrustedProxies("127.0.0.0/8"))
	e.user("ana@acme.example", doorman.RoleMember)
	const orig = "https://docs.app.test/reports?year=2026"
	wantLoc := e.srv.URL + "/login?next=" + url.QueryEscape(orig)

	for _, method := range []string{"GET", "HEAD"} {
		a := e.do(c, "GET", "/auth/forward", nil, with(navigation, "X-Forwarded-Method", method)...)
		if a.status != http.StatusFound || a.header.Get("Location") != wantLoc {
			t.Errorf("signed-out %s navigation: %d to %q, want 302 to %q", method, a.status, a.header.Get("Location"), wantLoc)
		}
	}

	// Anything but a page navigation is an API call and gets 401.
	for name, hdr := range map[string][]string{
		"fetch of JSON":           with(navigation, "Accept", "application/json"),
		"no Accept":               with(navigation, "Accept", ""),
		"HTML refused":            with(navigation, "Accept", "text/html;q=0, application/json"),
		"form post":               with(navigation, "X-Forwarded-Method", "POST"),
		"no forwarded host":       with(navigation, "X-Forwarded-Host", ""),
		"forwarded host with '@'": with(navigation, "X-Forwarded-Host", "docs.app.test@evil.test"),
		"other proto":             with(navigation, "X-Forwarded-Proto", "javascript"),
		"scheme-relative uri":     with(navigation, "X-Forwarded-Uri", "//evil.test/"),
	} {
		a := e.do(c, "GET", "/auth/forward", nil, hdr...)
		a.wantError(t, http.StatusUnauthorized, "unauthorized")
		if loc := a.header.Get("Location"); loc != "" {
			t.Errorf("%s: Location %q on a 401", name, loc)
		}
	}

	// The sign-in page takes the browser back to the page it asked for.
	loc, _ := url.Parse(wantLoc)
	if got := e.signIn(c, "ana@acme.example", false, loc.Query().Get("next")); got != orig {
		t.Errorf("after sign-in: Location %q, want %q", got, orig)
	}

	// Signed in, the same check passes with the user in headers.
	a := e.do(c, "GET", "/auth/forward", nil, navigation...)
	if a.status != http.StatusOK || a.header.Get("X-Doorman-User-Email") != "ana@acme.example" || len(a.body) != 0 {
		t.Fatalf("signed in: %d %q %s", a.status, a.header.Get("X-Doorman-User-Email"), a.body)
	}
}

func TestForwardBelievesOnlyTrustedProxies(t *testing.T) {
	// The test client connects from 127.0.0.1, outside the trusted network.
	e := newEnv(t, withTrustedProxies("10.0.0.0/8"))
	a := e.do(nil, "GET", "/auth/forward", nil, navigation...)
	a.wantError(t, http.StatusUnauthorized, "unauthorized")
	if loc := a.header.Get("Location"); loc != "" {
		t.Errorf("untrusted peer: Location %q", loc)
	}
}

func TestForwardAndVerifyUnavailable(t *testing.T) {
	e := newEnv(t, withTrustedProxies("127.0.0.0/8"))
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)

	e.store.failAuth.Store(true)
	for _, path := range []string{"/auth/verify", "/auth/forward"} {
		for name, hdr := range map[string][]string{
			"cookie, navigation": navigation,
			"bearer":             bearer(v.Token),
		} {
			a := e.do(c, "GET", path, nil, hdr...)
			a.wantError(t, http.StatusServiceUnavailable, "unavailable")
			if a.header.Get("Location") != "" || strings.Contains(a.header.Get("Set-Cookie"), "doorman_session=;") {
				t.Errorf("%s, %s: a store outage redirected or cleared the cookie: %v", path, name, a.header)
			}
		}
	}
	e.store.failAuth.Store(false)
	if a := e.do(c, "GET", "/auth/forward", nil, navigation...); a.status != http.StatusOK {
		t.Errorf("after the outage: %d %s", a.status, a.body)
	}
}

func TestForwardDeadCookie(t *testing.T) {
	e := newEnv(t, withTrustedProxies("127.0.0.0/8"))
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)
	e.do(nil, "POST", "/api/v1/logout", nil, bearer(v.Token)...)

	a := e.do(c, "GET", "/auth/forward", nil, navigation...)
	if a.status != http.StatusFound || !strings.Contains(a.header.Get("Location"), "/login?next=") {
		t.Fatalf("revoked session, navigation: %d to %q, want 302 to sign-in", a.status, a.header.Get("Location"))
	}
	if ck := cookieNamed(t, a.header, "doorman_session"); ck.MaxAge >= 0 {
		t.Errorf("the dead cookie is not cleared: %+v", ck)
	}
}
