package http_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/internal/testdb"
)

// eachStore runs f on a server over SQLite, then over PostgreSQL: bad bytes
// are refused by PostgreSQL and kept by SQLite, and both must answer alike.
func eachStore(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newEnvOn(t, testdb.SQLite(t))) })
	t.Run("postgres", func(t *testing.T) { f(t, newEnvOn(t, testdb.Postgres(t))) })
}

// checkNoOutage fails if the server logged a store outage or an internal
// error: a client's bad bytes are neither.
func checkNoOutage(t *testing.T, e *env) {
	t.Helper()
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `msg="store unavailable"`) || strings.Contains(line, `msg="internal error"`) {
			t.Errorf("log line after bad input: %s", line)
		}
	}
}

// TestBadInputAPI sends the JSON API the bytes PostgreSQL refuses (a NUL,
// invalid UTF-8), ids that cannot exist and unknown filter values: each is
// 400 invalid, naming what is wrong, or 404, on both stores.
func TestBadInputAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.user("admin@company.com", doorman.RoleAdmin)
		mike := e.user("mike@company.com", doorman.RoleMember)
		admin := bearer(e.login(nil, "admin@company.com", false).Token)
		mikeTok := e.login(nil, "mike@company.com", false).Token

		invalid := []struct {
			method, path string
			body         any
			message      string // a part of the error message
		}{
			{"POST", "/api/v1/login", map[string]any{"email": "admin\x00@company.com", "password": password}, "email must not contain a NUL byte"},
			{"POST", "/api/v1/team/users/" + mike.ID + "/sign-out", map[string]any{"reason": "Left\x00"}, "reason must not contain a NUL byte"},
			{"POST", "/api/v1/team/sessions/sign-out-all", map[string]any{"reason": "\x00Incident"}, "reason must not contain a NUL byte"},
			{"POST", "/api/v1/api-keys", map[string]any{"name": "CI\x00"}, "name must not contain a NUL byte"},
			{"PUT", "/api/v1/webhook", map[string]any{"url": "https://hooks.example.com/\x00", "enabled": true}, "URL must not contain a NUL byte"},
			{"PUT", "/api/v1/webhook", map[string]any{"url": "http://0xa9fea9fe/latest/meta-data/", "enabled": true}, "link-local"},
			{"PUT", "/api/v1/webhook", map[string]any{"url": "http://[::ffff:a9fe:a9fe]/", "enabled": true}, "link-local"},
			{"GET", "/api/v1/audit?actor=%ff", nil, "actor is not valid UTF-8"},
			{"GET", "/api/v1/audit?target=%00", nil, "target must not contain a NUL byte"},
			{"GET", "/api/v1/audit?action=sign_in_everywhere", nil, `"sign_in_everywhere" is not a known audit action`},
			{"GET", "/api/v1/audit?action=%ff", nil, "not a known audit action"},
			{"GET", "/api/v1/audit/export?format=csv&target=%ff", nil, "target is not valid UTF-8"},
			{"GET", "/api/v1/audit/export?format=jsonl&action=nope", nil, "not a known audit action"},
			{"GET", "/api/v1/team/sessions?user=%ff", nil, "user is not valid UTF-8"},
			{"GET", "/api/v1/team/sessions?user=mike%00", nil, "user must not contain a NUL byte"},
		}
		for _, tt := range invalid {
			a := e.do(nil, tt.method, tt.path, tt.body, admin...)
			if a.status != http.StatusBadRequest {
				t.Errorf("%s %s: %d %s, want 400", tt.method, tt.path, a.status, a.body)
				continue
			}
			if v := a.wantError(t, http.StatusBadRequest, doorman.EINVALID); !strings.Contains(v.Error.Message, tt.message) {
				t.Errorf("%s %s: message %q, want it to say %q", tt.method, tt.path, v.Error.Message, tt.message)
			}
		}

		// Ids that cannot exist (bad bytes, another kind's prefix, wrong
		// length) name nothing.
		for _, id := range []string{"%ff", "sess_%ff", "sess_%00", "%00", "usr_01HMX0000000000000000000AA", "sess_01HMX", "sess_" + strings.Repeat("0", 40)} {
			for _, r := range []struct{ method, path string }{
				{"GET", "/api/v1/sessions/" + id},
				{"DELETE", "/api/v1/sessions/" + id},
				{"GET", "/api/v1/team/users/" + id + "/sessions"},
				{"GET", "/api/v1/api-keys/" + id},
				{"DELETE", "/api/v1/api-keys/" + id},
			} {
				e.do(nil, r.method, r.path, nil, admin...).wantError(t, http.StatusNotFound, doorman.ENOTFOUND)
			}
			e.do(nil, "POST", "/api/v1/team/users/"+id+"/sign-out", map[string]any{"reason": "Left"}, admin...).
				wantError(t, http.StatusNotFound, doorman.ENOTFOUND)
		}

		// Nothing above changed anything: mike is still signed in, and the
		// log holds sign-ins alone.
		e.do(nil, "GET", "/api/v1/whoami", nil, bearer(mikeTok)...).want(t, http.StatusOK)
		var log auditAnswer
		e.do(nil, "GET", "/api/v1/audit?limit=1000", nil, admin...).want(t, http.StatusOK).decode(t, &log)
		for _, ev := range log.Events {
			if ev.Action != doorman.ActionSignIn && ev.Action != doorman.ActionUserCreated {
				t.Errorf("a %s event after refused requests", ev.Action)
			}
		}
		checkNoOutage(t, e)
	})
}

// TestBadInputPages sends the HTML pages the same mistakes: each answers
// 400 with the form and a message, or the 404 page, on both stores.
func TestBadInputPages(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.user("admin@company.com", doorman.RoleAdmin)
		mike := e.user("mike@company.com", doorman.RoleMember)
		c := e.browser()
		e.signIn(c, "admin@company.com", false, "")
		e.login(nil, "mike@company.com", false)

		// Sign in with a NUL, or invalid UTF-8, in the email.
		for bad, message := range map[string]string{"\x00": "Email must not contain a NUL byte.", "\xff": "Email is not valid UTF-8 text."} {
			anon := e.browser()
			form := formValues(e.page(anon, "GET", "/login", nil).wantStatus(http.StatusOK).one("form[action=/login]"))
			form.Set("email", "admin"+bad+"@company.com")
			form.Set("password", password)
			if p := e.page(anon, "POST", "/login", form).wantStatus(http.StatusBadRequest); !strings.Contains(p.text("#login-error"), message) {
				t.Errorf("sign-in with %q: error %q, want %q", bad, p.text("#login-error"), message)
			}
		}

		// Force sign-out with a NUL in the reason.
		confirm := e.page(c, "GET", "/admin/users/"+mike.ID+"/sign-out", nil).wantStatus(http.StatusOK)
		v := formValues(confirm.one(".confirm form"))
		v.Set("reason", "Left\x00")
		if p := e.page(c, "POST", "/admin/users/"+mike.ID+"/sign-out", v).wantStatus(http.StatusBadRequest); !strings.Contains(p.text("main"), "NUL") {
			t.Errorf("force sign-out with a NUL: %q", p.text("main"))
		}
		team := formValues(e.page(c, "GET", "/admin/sessions/sign-out-all", nil).wantStatus(http.StatusOK).one(".confirm form"))
		team.Set("reason", "Incident \xff")
		e.page(c, "POST", "/admin/sessions/sign-out-all", team).wantStatus(http.StatusBadRequest)

		// Filters with bad bytes or unknown values.
		for _, q := range []string{"action=sign_in_everywhere", "action=%ff", "actor=%ff", "actor=a%00b"} {
			p := e.page(c, "GET", "/admin/audit?"+q, nil).wantStatus(http.StatusBadRequest)
			if got := p.text(".alert-error"); !strings.Contains(got, "Nothing is shown until it is corrected") {
				t.Errorf("audit page ?%s: error %q", q, got)
			}
		}
		e.page(c, "GET", "/admin/sessions?user=%ff", nil).wantStatus(http.StatusBadRequest)

		// Ids that cannot exist.
		for _, id := range []string{"%ff", "sess_%00", "usr_01HMX0000000000000000000AA", "key_x"} {
			for _, path := range []string{"/settings/security/sessions/" + id, "/settings/security/sessions/" + id + "/sign-out",
				"/admin/users/" + id + "/sessions", "/admin/users/" + id + "/sign-out", "/settings/api-keys/" + id} {
				e.page(c, "GET", path, nil).wantStatus(http.StatusNotFound)
			}
		}
		// A long User-Agent of non-ASCII text: the sign-in succeeds and the
		// Sessions page shows it.
		long := e.browser()
		ua := "Mozilla/5.0 (X11; Linux x86_64) " + strings.Repeat("Браузер 東京 🚪 ", 120)
		hdr := []string{"User-Agent", ua}
		lf := formValues(e.page(long, "GET", "/login", nil, hdr...).wantStatus(http.StatusOK).one("form[action=/login]"))
		lf.Set("email", "mike@company.com")
		lf.Set("password", password)
		if a := e.page(long, "POST", "/login", lf, hdr...); a.status != http.StatusSeeOther {
			t.Fatalf("sign-in with a long non-ASCII User-Agent: %d\n%s", a.status, a.body)
		} else {
			e.collectToken(a.header)
		}
		e.page(long, "GET", "/settings/security/sessions", nil, hdr...).wantStatus(http.StatusOK)
		checkNoOutage(t, e)
	})
}

// TestLongNonASCIIUserAgentAPI signs in through the API with User-Agents
// whose cut at MaxUserAgent bytes falls inside a character: 200 on both
// stores, and the session lists.
func TestLongNonASCIIUserAgentAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.user("ana@company.com", doorman.RoleMember)
		for _, ua := range []string{
			"Mozilla/5.0 " + strings.Repeat("é", doorman.MaxUserAgent), // 2-byte characters
			"Mozilla/5.0 " + strings.Repeat("東", doorman.MaxUserAgent), // 3-byte characters
			"Mozilla/5.0 " + strings.Repeat("🚪", doorman.MaxUserAgent), // 4-byte characters
			"Mozilla/5.0 caf\xe9 \xff",                                 // Latin-1 bytes, not UTF-8
		} {
			a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@company.com", "password": password}, "User-Agent", ua)
			if a.status != http.StatusOK {
				t.Fatalf("sign-in with User-Agent %.40q…: %d %s", ua, a.status, a.body)
			}
			var v loginAnswer
			a.decode(t, &v)
			e.mu.Lock()
			e.tokens = append(e.tokens, v.Token)
			e.mu.Unlock()
			e.do(nil, "GET", "/api/v1/sessions", nil, bearer(v.Token)...).want(t, http.StatusOK)
		}
		checkNoOutage(t, e)
	})
}

// TestJSONEndpointsRefuseOtherBodies sends each JSON endpoint that reads a
// body something else: 415 before anything is read or changed.
func TestJSONEndpointsRefuseOtherBodies(t *testing.T) {
	e := newEnv(t)
	e.user("admin@company.com", doorman.RoleAdmin)
	admin := bearer(e.login(nil, "admin@company.com", false).Token)
	routes := []struct{ method, path, body string }{
		{"POST", "/api/v1/login", `{"email":"admin@company.com","password":"` + password + `"}`},
		{"POST", "/api/v1/sessions/sign-out-all", `{}`},
		{"POST", "/api/v1/password", `{"current_password":"x","new_password":"y"}`},
		{"PUT", "/api/v1/settings/sessions", `{"idle_timeout":"1d"}`},
		{"POST", "/api/v1/team/sessions/sign-out-all", `{"reason":"Incident"}`},
		{"POST", "/api/v1/api-keys", `{"name":"CI"}`},
		{"PUT", "/api/v1/webhook", `{"url":"https://hooks.example.com/x","enabled":true}`},
	}
	for _, r := range routes {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
			"application/jsonp", "text/json", "application/json;;", "application/", "*/*"} {
			hdr := append([]string{"Content-Type", ct}, admin...)
			if r.path == "/api/v1/login" {
				hdr = hdr[:2]
			}
			e.do(nil, r.method, r.path, r.body, hdr...).wantError(t, http.StatusUnsupportedMediaType, doorman.EINVALID)
		}
	}
	// Nothing changed: the admin is still signed in, with the settings as they were.
	var set struct {
		IdleTimeout string `json:"idle_timeout"`
	}
	e.do(nil, "GET", "/api/v1/settings/sessions", nil, admin...).want(t, http.StatusOK).decode(t, &set)
	if set.IdleTimeout != string(doorman.DefaultSettings().IdleTimeout) {
		t.Errorf("idle timeout %q after refused bodies", set.IdleTimeout)
	}
}
