package http_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/doorman/doorman"
)

func TestStoreUnavailableIs503(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)

	e.store.failAuth.Store(true)
	for _, a := range []answer{
		e.do(c, "GET", "/api/v1/whoami", nil),
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(v.Token)...),
		e.do(c, "GET", "/auth/verify", nil),
		e.do(nil, "GET", "/auth/verify", nil, bearer(v.Token)...),
		e.do(c, "GET", "/api/v1/sessions", nil),
		e.do(c, "POST", "/api/v1/logout", nil),
	} {
		a.wantError(t, http.StatusServiceUnavailable, "unavailable")
		if a.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if a.header.Get("Set-Cookie") != "" {
			t.Error("a 503 must not clear the cookie: the session may well be valid")
		}
		if strings.Contains(string(a.body), "disk I/O") {
			t.Errorf("the store's error reached the client: %s", a.body)
		}
	}
	if !strings.Contains(e.logs.String(), "disk I/O error") {
		t.Error("the store's error was not logged")
	}

	e.store.failAuth.Store(false)
	if a := e.do(c, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("after the store came back: %d %s", a.status, a.body)
	}
}

func TestReadyz(t *testing.T) {
	e := newEnv(t)
	if a := e.do(nil, "GET", "/healthz", nil); a.status != http.StatusOK {
		t.Errorf("healthz: %d", a.status)
	}
	if a := e.do(nil, "GET", "/readyz", nil); a.status != http.StatusOK {
		t.Errorf("readyz: %d %s", a.status, a.body)
	}
	e.store.failPing.Store(true)
	e.do(nil, "GET", "/readyz", nil).wantError(t, http.StatusServiceUnavailable, "unavailable")
	if a := e.do(nil, "GET", "/healthz", nil); a.status != http.StatusOK {
		t.Errorf("healthz with the store down: %d, want 200 (the process lives)", a.status)
	}
}

// A store failure in the middle of a signed-in request is 503 (nothing can
// be decided), with the details in the log under the request id only.
func TestStoreErrorHidesDetailsAndLogsRequestID(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)

	e.store.failList.Store(true)
	v := e.do(c, "GET", "/api/v1/sessions", nil).wantError(t, http.StatusServiceUnavailable, "unavailable")
	if strings.Contains(v.Error.Message, "disk I/O") {
		t.Errorf("message %q reveals the store's error", v.Error.Message)
	}
	logs := e.logs.String()
	if !regexp.MustCompile(`store unavailable.*request_id=` + v.Error.RequestID + `.*disk I/O error`).MatchString(logs) {
		t.Errorf("the full error with request id %s is not logged:\n%s", v.Error.RequestID, logs)
	}
	// One line per failed request is a debug line: the store's OutageLog
	// writes the warnings, a few per outage.
	if regexp.MustCompile(`level=(WARN|ERROR).*request_id=` + v.Error.RequestID).MatchString(logs) {
		t.Errorf("a failed request wrote a warning of its own:\n%s", logs)
	}
}

func TestPanicIs500(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)

	e.store.panicAuth.Store(true)
	v := e.do(c, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusInternalServerError, "internal")
	if v.Error.Message != "Internal error" {
		t.Errorf("message %q", v.Error.Message)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "store exploded") || !strings.Contains(logs, "request_id="+v.Error.RequestID) {
		t.Errorf("panic not logged with its request id:\n%s", logs)
	}
	e.store.panicAuth.Store(false)
	if a := e.do(c, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("the server after a panic: %d", a.status)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	e.do(nil, "GET", "/api/v1/nope", nil).wantError(t, http.StatusNotFound, "not_found")
	e.do(nil, "GET", "/api/v2/whoami", nil).wantError(t, http.StatusNotFound, "not_found")
	e.do(nil, "GET", "/api/v1/sessions/", nil).wantError(t, http.StatusNotFound, "not_found")

	a := e.do(nil, "POST", "/api/v1/whoami", nil)
	a.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if got := a.header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q", got)
	}
	a = e.do(nil, "PATCH", "/api/v1/sessions/sess_1", nil)
	a.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if got := a.header.Get("Allow"); got != "DELETE, GET, HEAD" {
		t.Errorf("Allow %q", got)
	}
	a = e.do(nil, "GET", "/api/v1/login", nil)
	a.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if got := a.header.Get("Allow"); got != "POST" {
		t.Errorf("Allow %q", got)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	e.login(c, "ana@acme.example", false)
	seen := map[string]bool{}
	freshID := func(a answer) {
		t.Helper()
		id := a.header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) || seen[id] {
			t.Errorf("X-Request-Id %q: want 32 fresh hex digits", id)
		}
		seen[id] = true
	}
	// Every answer that is not a page: nothing may load or frame it.
	for _, a := range []answer{
		e.do(c, "GET", "/api/v1/whoami", nil),
		e.do(nil, "GET", "/api/v1/whoami", nil),
		e.do(nil, "GET", "/nope", nil),
		e.do(nil, "GET", "/healthz", nil),
		e.do(nil, "GET", "/metrics", nil),
		e.do(nil, "GET", "/api/v1/openapi.json", nil),
		e.do(c, "GET", "/auth/verify", nil),
	} {
		for h, want := range map[string]string{
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := a.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		freshID(a)
	}
	// Pages, signed in or not, found or not, add what matters to a
	// document.
	for _, a := range []answer{
		e.do(c, "GET", "/settings/security/sessions", nil),
		e.do(nil, "GET", "/login", nil),
		e.do(nil, "GET", "/no-such-page", nil, "Accept", "text/html"),
	} {
		if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Fatalf("not a page: %d %s", a.status, a.header.Get("Content-Type"))
		}
		for h, want := range map[string]string{
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": pageCSP,
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
		} {
			if got := a.header.Get(h); got != want {
				t.Errorf("page %d: %s = %q, want %q", a.status, h, got, want)
			}
		}
		freshID(a)
	}
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	c := e.browser()
	v := e.login(c, "ana@acme.example", false)
	a := e.do(c, "GET", "/api/v1/sessions?token="+v.Token[:10], nil, bearer(v.Token)...)
	id := a.header.Get("X-Request-Id")

	var line string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "request_id="+id) && strings.Contains(l, "msg=request") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no access log line for request %s:\n%s", id, e.logs.String())
	}
	for _, want := range []string{"method=GET", "path=/api/v1/sessions ", `route="GET /api/v1/sessions"`, "status=200",
		"duration=", "bytes=", "ip=127.0.0.1"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log %q lacks %q", line, want)
		}
	}
	for _, never := range []string{v.Token[:10], "Bearer", "Cookie", "doorman_session"} {
		if strings.Contains(line, never) {
			t.Errorf("access log %q contains %q", line, never)
		}
	}
}
