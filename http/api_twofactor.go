package http

import (
	"net/http"
	"time"
)

// The two-factor endpoints let a host application that signs people in
// through the API offer what Settings → Security → Two-factor
// authentication offers: the same rules, since both call the Service.

type twoFactorJSON struct {
	Enabled bool `json:"enabled"`
	// EnabledAt is null while two-factor authentication is off.
	EnabledAt *time.Time `json:"enabled_at"`
	// SetupPending is true between setup and confirm.
	SetupPending      bool `json:"setup_pending"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// twoFactorStatus is GET /api/v1/two-factor: the caller's state, never its
// secret.
func (s *Server) twoFactorStatus(w *request, r *http.Request) error {
	tf, err := s.svc.TwoFactorStatus(r.Context(), w.principal)
	if err != nil {
		return err
	}
	// The status hides the secrets; whether a setup waits is read from
	// the key it would show again.
	v := twoFactorJSON{Enabled: tf.Enabled(), RecoveryCodesLeft: tf.RecoveryCodesLeft}
	if tf.EnabledAt != nil {
		t := tf.EnabledAt.UTC()
		v.EnabledAt = &t
	} else if _, err := s.svc.TwoFactorSetupKey(r.Context(), w.principal); err == nil {
		v.SetupPending = true
	}
	writeJSON(w, http.StatusOK, &v)
	return nil
}

type twoFactorSetupResponse struct {
	// Secret is the base32 key for typing into an authenticator app.
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	// QRPNG is the otpauth URI as a QR code: a PNG, base64 in JSON.
	QRPNG []byte `json:"qr_png"`
}

// twoFactorSetup is POST /api/v1/two-factor/setup: a new pending secret,
// to be confirmed with a code. It needs a sign-in from the last 15 minutes
// or the password in the body; 409 when two-factor authentication is on.
func (s *Server) twoFactorSetup(w *request, r *http.Request) error {
	var req passwordOnly
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	key, err := s.svc.BeginTwoFactorSetup(r.Context(), w.principal, req.Password, s.meta(w, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &twoFactorSetupResponse{Secret: key.Secret, OTPAuthURI: key.URI, QRPNG: key.QRPNG})
	return nil
}

type twoFactorCodeRequest struct {
	Code string `json:"code"`
}

type recoveryCodesResponse struct {
	// RecoveryCodes are shown this once; only their hashes are kept.
	RecoveryCodes []string `json:"recovery_codes"`
}

type twoFactorConfirmResponse struct {
	// RecoveryCodes are shown this once; only their hashes are kept.
	RecoveryCodes []string `json:"recovery_codes"`
	// Token replaces the caller's, as after a password change: the session
	// was rotated. Absent in the rare case the rotation could not be
	// written, when the caller's token goes on working.
	Token   string       `json:"token,omitempty"`
	Session *sessionJSON `json:"session,omitempty"`
}

// twoFactorConfirm is POST /api/v1/two-factor/confirm: a right code of the
// pending secret turns two-factor authentication on and answers the
// recovery codes, once, with the session's new token (also in the cookie):
// the old one stops working.
func (s *Server) twoFactorConfirm(w *request, r *http.Request) error {
	var req twoFactorCodeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	on, err := s.svc.ConfirmTwoFactorSetup(r.Context(), w.principal, req.Code, s.meta(w, r))
	if err != nil {
		return err
	}
	resp := &twoFactorConfirmResponse{RecoveryCodes: on.RecoveryCodes}
	if on.Token != "" {
		p := on.Principal
		w.principal = p
		s.setSessionCookie(w, on.Token, p)
		sj := newSessionJSON(p.Session, true, p.Account.Settings, s.now())
		resp.Token, resp.Session = on.Token, &sj
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// twoFactorDisable is POST /api/v1/two-factor/disable: the password and a
// current code (or a recovery code) turn two-factor authentication off →
// 204.
func (s *Server) twoFactorDisable(w *request, r *http.Request) error {
	var req passwordOnly
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.svc.DisableTwoFactor(r.Context(), w.principal, req.Password, req.TOTPCode, s.meta(w, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// twoFactorRecoveryCodes is POST /api/v1/two-factor/recovery-codes: new
// recovery codes replace every earlier one, answered once. It needs a
// sign-in from the last 15 minutes or the password and a code in the body.
func (s *Server) twoFactorRecoveryCodes(w *request, r *http.Request) error {
	var req passwordOnly
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	codes, err := s.svc.RegenerateRecoveryCodes(r.Context(), w.principal, req.Password, req.TOTPCode, s.meta(w, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &recoveryCodesResponse{RecoveryCodes: codes})
	return nil
}
