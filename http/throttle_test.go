package http_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// TestSignInThrottled: the sixth attempt for one email within a minute is
// 429 with Retry-After, the same for a known and an unknown email, on the
// API and on the sign-in page; a minute later it works again.
func TestSignInThrottled(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	for _, email := range []string{"ana@acme.example", "nobody@acme.example"} {
		for range 5 {
			e.do(nil, "POST", "/api/v1/login", map[string]any{"email": email, "password": "wrong password!"}).
				wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
		}
		a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": email, "password": password})
		v := a.wantError(t, http.StatusTooManyRequests, doorman.ETOOMANY)
		if got := a.header.Get("Retry-After"); got != "12" {
			t.Errorf("%s: Retry-After %q, want 12", email, got)
		}
		if v.Error.Message != "Too many sign-in attempts. Try again in 12 seconds." {
			t.Errorf("%s: message %q", email, v.Error.Message)
		}
	}

	// The sign-in page says the same, with the same status.
	c := e.browser()
	form := formValues(e.page(c, "GET", "/login", nil).one("form"))
	form.Set("email", "ana@acme.example")
	form.Set("password", password)
	p := e.page(c, "POST", "/login", form).wantStatus(http.StatusTooManyRequests)
	if got := p.text("#login-error"); got != "Too many sign-in attempts. Try again in 12 seconds." {
		t.Errorf("sign-in page error %q", got)
	}
	if p.header.Get("Retry-After") != "12" {
		t.Errorf("sign-in page Retry-After %q", p.header.Get("Retry-After"))
	}

	e.clock.Advance(time.Minute)
	e.login(nil, "ana@acme.example", false)
}

// TestSignInThrottledPerAddress: one address trying many emails is
// refused after 20 attempts a minute.
func TestSignInThrottledPerAddress(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		e.do(nil, "POST", "/api/v1/login", map[string]any{"email": string(rune('a'+i)) + "@acme.example", "password": "wrong password!"}).
			wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	}
	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "z@acme.example", "password": "wrong password!"})
	a.wantError(t, http.StatusTooManyRequests, doorman.ETOOMANY)
	if a.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q, want 3", a.header.Get("Retry-After"))
	}
}
