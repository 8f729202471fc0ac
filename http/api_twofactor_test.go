package http_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

type twoFactorStatus struct {
	Enabled           bool    `json:"enabled"`
	EnabledAt         *string `json:"enabled_at"`
	SetupPending      bool    `json:"setup_pending"`
	RecoveryCodesLeft int     `json:"recovery_codes_left"`
}

func (e *env) twoFactorStatus(token string) twoFactorStatus {
	e.t.Helper()
	var v twoFactorStatus
	e.do(nil, "GET", "/api/v1/two-factor", nil, bearer(token)...).want(e.t, http.StatusOK).decode(e.t, &v)
	return v
}

// TestTwoFactorSetupAPI: a host application turns two-factor
// authentication on, renews the recovery codes and turns it off for the
// signed-in person, through the JSON API alone, with the pages' rules.
func TestTwoFactorSetupAPI(t *testing.T) {
	e := newEnv(t)
	e.user("admin@acme.example", doorman.RoleAdmin)
	e.user("ana@acme.example", doorman.RoleMember)
	admin := e.login(nil, "admin@acme.example", false).Token
	ana := e.login(nil, "ana@acme.example", false).Token
	_, key := e.createKey(admin, "Sync", false)

	if v := e.twoFactorStatus(ana); v.Enabled || v.EnabledAt != nil || v.SetupPending || v.RecoveryCodesLeft != 0 {
		t.Fatalf("before: %+v", v)
	}
	e.do(nil, "POST", "/api/v1/two-factor/confirm", map[string]any{"code": "123456"}, bearer(ana)...).
		wantError(t, http.StatusBadRequest, doorman.EINVALID)

	var setup struct {
		Secret     string `json:"secret"`
		OTPAuthURI string `json:"otpauth_uri"`
		QRPNG      string `json:"qr_png"`
	}
	e.do(nil, "POST", "/api/v1/two-factor/setup", nil, bearer(ana)...).want(t, http.StatusOK).decode(t, &setup)
	if len(setup.Secret) < 16 || !strings.HasPrefix(setup.OTPAuthURI, "otpauth://totp/") || !strings.Contains(setup.OTPAuthURI, "secret="+setup.Secret) {
		t.Fatalf("setup %+v", setup)
	}
	raw, err := base64.StdEncoding.DecodeString(setup.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("qr_png is not a PNG: %v", err)
	}
	if v := e.twoFactorStatus(ana); v.Enabled || !v.SetupPending {
		t.Fatalf("after setup: %+v, want a pending setup", v)
	}
	for _, body := range []any{map[string]any{"code": "000000"}, map[string]any{}, map[string]any{"code": 123456}} {
		e.do(nil, "POST", "/api/v1/two-factor/confirm", body, bearer(ana)...).wantError(t, http.StatusBadRequest, doorman.EINVALID)
	}
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	var on struct {
		RecoveryCodes []string `json:"recovery_codes"`
		Token         string   `json:"token"`
		Session       session  `json:"session"`
	}
	e.do(nil, "POST", "/api/v1/two-factor/confirm", map[string]any{"code": e.totpCode(setup.Secret)}, bearer(ana)...).
		want(t, http.StatusOK).decode(t, &on)
	if len(on.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes %q, want 10", on.RecoveryCodes)
	}
	// A privilege change, as a password change is: a new token in the
	// answer, and the old one stops working.
	if on.Token == "" || on.Token == ana || !on.Session.Current || on.Session.ID == "" {
		t.Fatalf("confirm answer: token %q, session %+v; want a new token for the current session", on.Token, on.Session)
	}
	e.do(nil, "GET", "/api/v1/whoami", nil, bearer(ana)...).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	ana = on.Token
	e.mu.Lock()
	e.tokens = append(e.tokens, ana)
	e.mu.Unlock()
	if v := e.twoFactorStatus(ana); !v.Enabled || v.EnabledAt == nil || v.SetupPending || v.RecoveryCodesLeft != 10 {
		t.Fatalf("after confirm: %+v", v)
	}
	e.do(nil, "POST", "/api/v1/two-factor/setup", nil, bearer(ana)...).wantError(t, http.StatusConflict, doorman.ECONFLICT)
	// Sign-in now asks for the code.
	e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password}).
		wantError(t, http.StatusUnauthorized, doorman.ETOTP)

	// 16 minutes on, new recovery codes need the password and a code.
	e.clock.Advance(16 * time.Minute)
	e.do(nil, "POST", "/api/v1/two-factor/recovery-codes", nil, bearer(ana)...).wantError(t, http.StatusForbidden, doorman.EREAUTH)
	e.do(nil, "POST", "/api/v1/two-factor/recovery-codes", map[string]any{"password": password, "totp_code": e.totpCode(setup.Secret)}, bearer(ana)...).
		want(t, http.StatusOK).decode(t, &rc)
	if len(rc.RecoveryCodes) != 10 {
		t.Fatalf("new recovery codes %q", rc.RecoveryCodes)
	}

	// Off: always the password and a code; a recovery code does too.
	e.clock.Advance(time.Minute)
	e.do(nil, "POST", "/api/v1/two-factor/disable", map[string]any{"password": password}, bearer(ana)...).
		wantError(t, http.StatusBadRequest, doorman.EINVALID)
	// A wrong password is 401, as for every re-authentication.
	e.do(nil, "POST", "/api/v1/two-factor/disable", map[string]any{"password": "wrong password!", "totp_code": rc.RecoveryCodes[0]}, bearer(ana)...).
		wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	e.do(nil, "POST", "/api/v1/two-factor/disable", map[string]any{"password": password, "totp_code": rc.RecoveryCodes[1]}, bearer(ana)...).
		want(t, http.StatusNoContent)
	if v := e.twoFactorStatus(ana); v.Enabled || v.RecoveryCodesLeft != 0 {
		t.Errorf("after disable: %+v", v)
	}
	e.do(nil, "POST", "/api/v1/two-factor/disable", map[string]any{"password": password, "totp_code": "123456"}, bearer(ana)...).
		wantError(t, http.StatusConflict, doorman.ECONFLICT)

	// An API key is not a person; no credentials are 401.
	e.do(nil, "GET", "/api/v1/two-factor", nil, bearer(key)...).wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	e.do(nil, "POST", "/api/v1/two-factor/setup", nil, bearer(key)...).wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	e.do(nil, "GET", "/api/v1/two-factor", nil).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)

	// Every step is in the audit log.
	for _, action := range []string{doorman.ActionTwoFactorEnabled, doorman.ActionRecoveryCodesRenewed, doorman.ActionTwoFactorDisabled, doorman.ActionRecoveryCodeUsed} {
		var evs auditAnswer
		e.do(nil, "GET", "/api/v1/audit?action="+action, nil, bearer(admin)...).want(t, http.StatusOK).decode(t, &evs)
		if len(evs.Events) != 1 || evs.Events[0].Actor != "ana@acme.example" {
			t.Errorf("%s events: %+v", action, evs.Events)
		}
	}
}

// want fails the test unless the answer has status.
func (a answer) want(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	return a
}
