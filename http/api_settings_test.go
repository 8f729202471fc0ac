package http_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

type settings struct {
	IdleTimeout       string `json:"idle_timeout"`
	RememberMeAllowed bool   `json:"remember_me_allowed"`
	RememberMeDays    int    `json:"remember_me_days"`
}

func TestSettings(t *testing.T) {
	e := newEnv(t)
	e.user("root@acme.example", doorman.RoleAdmin)
	e.user("ana@acme.example", doorman.RoleMember)
	admin, member := e.browser(), e.browser()
	e.login(member, "ana@acme.example", false)
	e.login(admin, "root@acme.example", false)

	get := func(c *http.Client) settings {
		t.Helper()
		a := e.do(c, "GET", "/api/v1/settings/sessions", nil)
		if a.status != http.StatusOK {
			t.Fatalf("get settings: %d %s", a.status, a.body)
		}
		var v settings
		a.decode(t, &v)
		return v
	}
	defaults := settings{IdleTimeout: "7d", RememberMeAllowed: true, RememberMeDays: 30}
	if got := get(member); got != defaults {
		t.Errorf("member reads %+v, want %+v", got, defaults)
	}
	if got := get(admin); got != defaults {
		t.Errorf("admin reads %+v, want %+v", got, defaults)
	}

	valid := map[string]any{"idle_timeout": "1d", "remember_me_allowed": false, "remember_me_days": 14}
	e.do(member, "PUT", "/api/v1/settings/sessions", valid).wantError(t, http.StatusForbidden, "forbidden")
	e.do(member, "PUT", "/api/v1/settings/sessions", "{").wantError(t, http.StatusForbidden, "forbidden")

	for name, body := range map[string]any{
		"idle 2d":       map[string]any{"idle_timeout": "2d", "remember_me_allowed": true, "remember_me_days": 30},
		"days 0":        map[string]any{"idle_timeout": "1d", "remember_me_allowed": true, "remember_me_days": 0},
		"days 366":      map[string]any{"idle_timeout": "1d", "remember_me_allowed": true, "remember_me_days": 366},
		"days string":   map[string]any{"idle_timeout": "1d", "remember_me_allowed": true, "remember_me_days": "30"},
		"days fraction": map[string]any{"idle_timeout": "1d", "remember_me_allowed": true, "remember_me_days": 1.5},
		"missing days":  map[string]any{"idle_timeout": "1d", "remember_me_allowed": true},
		"unknown field": map[string]any{"idle_timeout": "1d", "remember_me_allowed": true, "remember_me_days": 30, "mfa": true},
		"malformed":     `{"idle_timeout": "1d",`,
	} {
		t.Run(name, func(t *testing.T) {
			e.do(admin, "PUT", "/api/v1/settings/sessions", body).wantError(t, http.StatusBadRequest, "invalid")
		})
	}
	if got := get(admin); got != defaults {
		t.Fatalf("after refused changes the settings are %+v, want %+v", got, defaults)
	}

	// Shortening the idle timeout ends idle sessions at their next request.
	e.clock.Advance(2 * 24 * time.Hour)
	// Signed in two days ago: the password is asked again.
	e.do(admin, "PUT", "/api/v1/settings/sessions", valid).wantError(t, http.StatusForbidden, "reauth_required")
	valid["password"] = password
	a := e.do(admin, "PUT", "/api/v1/settings/sessions", valid)
	if a.status != http.StatusOK {
		t.Fatalf("admin put: %d %s", a.status, a.body)
	}
	var got settings
	a.decode(t, &got)
	if want := (settings{IdleTimeout: "1d", RememberMeAllowed: false, RememberMeDays: 14}); got != want {
		t.Errorf("put answered %+v, want %+v", got, want)
	}
	v := e.do(member, "GET", "/api/v1/whoami", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
	if v.Error.Reason != doorman.ReasonIdle {
		t.Errorf("reason %q, want idle", v.Error.Reason)
	}
	if a := e.do(admin, "GET", "/api/v1/whoami", nil); a.status != http.StatusOK {
		t.Errorf("the admin was active just now and stays signed in: %d %s", a.status, a.body)
	}
}
