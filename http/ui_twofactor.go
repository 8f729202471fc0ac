package http

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// twoFactorPage is GET /settings/security/two-factor: the status, and the
// forms to set it up, regenerate recovery codes or turn it off.
func (s *Server) twoFactorPage(w *request, r *http.Request) error {
	return s.renderTwoFactor(w, r, http.StatusOK, "", "")
}

func (s *Server) renderTwoFactor(w *request, r *http.Request, status int, field, msg string) error {
	tf, err := s.svc.TwoFactorStatus(r.Context(), w.principal)
	if err != nil {
		return err
	}
	page := &pages.TwoFactorPage{Layout: s.layout(w, r, "Two-factor authentication"), Enabled: tf.Enabled(),
		CodesLeft: tf.RecoveryCodesLeft, ErrorField: field}
	if msg != "" {
		page.Error = sentence(msg)
	}
	if tf.EnabledAt != nil {
		t := pages.NewTime(*tf.EnabledAt, s.now())
		page.EnabledAt = &t
	}
	if page.PasskeysOn = s.svc.WebAuthn != nil; page.PasskeysOn {
		list, err := s.svc.Passkeys(r.Context(), w.principal)
		if err != nil {
			return err
		}
		page.Passkeys = pages.NewPasskeys(list, s.now())
	}
	s.render(w, r, status, page)
	return nil
}

// twoFactorHome sends the GET of a two-factor form's path (after signing in
// again, say) to the two-factor page.
func (s *Server) twoFactorHome(w *request, r *http.Request) error {
	s.redirect(w, r, pages.PathTwoFactor)
	return nil
}

// twoFactorSetupPage is GET /settings/security/two-factor/setup: the setup
// in progress shown again, or the two-factor page when there is none.
func (s *Server) twoFactorSetupPage(w *request, r *http.Request) error {
	key, err := s.svc.TwoFactorSetupKey(r.Context(), w.principal)
	if s.reauthFirst(w, r, err, pages.PathTwoFactorSetup) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return s.twoFactorHome(w, r)
	}
	if err != nil {
		return err
	}
	s.renderTwoFactorSetup(w, r, http.StatusOK, key, "")
	return nil
}

// twoFactorSetupSubmit is POST /settings/security/two-factor/setup: a new
// secret (after a recent password proof), shown as a QR code and a key.
func (s *Server) twoFactorSetupSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	key, err := s.svc.BeginTwoFactorSetup(r.Context(), w.principal, "", s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathTwoFactor) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.ECONFLICT {
		s.setFlash(w, pages.FlashInfo, doorman.ErrorMessage(err)+".")
		return s.twoFactorHome(w, r)
	}
	if err != nil {
		return err
	}
	s.renderTwoFactorSetup(w, r, http.StatusOK, key, "")
	return nil
}

// twoFactorConfirmSubmit is POST /settings/security/two-factor/confirm: a
// right code turns two-factor authentication on and shows the recovery
// codes, once; a wrong one shows the setup again.
func (s *Server) twoFactorConfirmSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	on, err := s.svc.ConfirmTwoFactorSetup(r.Context(), w.principal, r.PostForm.Get("code"), s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathTwoFactorSetup) {
		return nil
	}
	switch code := doorman.ErrorCode(err); {
	case err == nil:
	case app.IsUnavailable(err):
		return err
	case code == doorman.ECONFLICT:
		s.setFlash(w, pages.FlashInfo, doorman.ErrorMessage(err)+".")
		return s.twoFactorHome(w, r)
	case code == doorman.EINVALID:
		key, kerr := s.svc.TwoFactorSetupKey(r.Context(), w.principal)
		if doorman.ErrorCode(kerr) == doorman.ENOTFOUND {
			s.setFlash(w, pages.FlashError, sentence(doorman.ErrorMessage(err)))
			return s.twoFactorHome(w, r)
		}
		if kerr != nil {
			return kerr
		}
		s.renderTwoFactorSetup(w, r, http.StatusBadRequest, key, sentence(doorman.ErrorMessage(err)))
		return nil
	default:
		return err
	}
	if on.Token != "" {
		// A privilege change: the browser gets the rotated session's cookie
		// before the page renders with its form token.
		w.principal = on.Principal
		s.setSessionCookie(w, on.Token, on.Principal)
	}
	s.render(w, r, http.StatusOK, &pages.RecoveryCodesPage{Layout: s.layout(w, r, "Recovery codes"), Codes: on.RecoveryCodes, Enabled: true})
	return nil
}

// recoveryCodesSubmit is POST /settings/security/two-factor/recovery-codes:
// new codes (after a recent proof), shown once.
func (s *Server) recoveryCodesSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	codes, err := s.svc.RegenerateRecoveryCodes(r.Context(), w.principal, "", "", s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathTwoFactor) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.ECONFLICT {
		s.setFlash(w, pages.FlashInfo, doorman.ErrorMessage(err)+".")
		return s.twoFactorHome(w, r)
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.RecoveryCodesPage{Layout: s.layout(w, r, "Recovery codes"), Codes: codes})
	return nil
}

// twoFactorDisableSubmit is POST /settings/security/two-factor/disable: the
// password and a code (or recovery code) turn it off; otherwise the page
// again, saying what was wrong.
func (s *Server) twoFactorDisableSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	err := s.svc.DisableTwoFactor(r.Context(), w.principal, f.Get("password"), f.Get("code"), s.meta(w, r))
	switch code := doorman.ErrorCode(err); {
	case err == nil:
	case app.IsUnavailable(err):
		return err
	case code == doorman.ECONFLICT:
		s.setFlash(w, pages.FlashInfo, doorman.ErrorMessage(err)+".")
		return s.twoFactorHome(w, r)
	case code == doorman.EINVALID || code == doorman.EUNAUTHORIZED:
		field := "code"
		if f.Get("password") == "" || doorman.ErrorMessage(err) == "the password is wrong" {
			field = "password"
		}
		return s.renderTwoFactor(w, r, http.StatusBadRequest, field, doorman.ErrorMessage(err))
	default:
		return err
	}
	s.setFlash(w, pages.FlashSuccess, "Two-factor authentication is off.")
	return s.twoFactorHome(w, r)
}

// The pending sign-in's cookie: a random token whose hash finds the
// server-side challenge. The password is never kept in the page.
const challengeCookie = "doorman_challenge"

func (s *Server) challengeCookieName() string {
	if s.secure {
		return "__Host-" + challengeCookie
	}
	return challengeCookie
}

func (s *Server) setChallengeCookie(w *request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: s.challengeCookieName(), Value: token, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(expires.Sub(s.now()) / time.Second)})
}

func (s *Server) clearChallengeCookie(w *request) {
	http.SetCookie(w, &http.Cookie{Name: s.challengeCookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// toSecondStep sends a browser whose password was right to the sign-in's
// second step, when SignIn answered with a challenge; it reports whether
// it did.
func (s *Server) toSecondStep(w *request, r *http.Request, err error, next string) bool {
	var ch *app.ChallengeRequired
	if !errors.As(err, &ch) {
		return false
	}
	s.setChallengeCookie(w, ch.Token, ch.ExpiresAt)
	to := pages.PathLoginTwoFactor
	if next != "" {
		to += "?next=" + url.QueryEscape(next)
	}
	s.redirect(w, r, to)
	return true
}

// loginTwoFactorPage is GET /login/two-factor, the sign-in's second step.
// Without a pending sign-in it goes back to the first.
func (s *Server) loginTwoFactorPage(w *request, r *http.Request) error {
	next := s.safeNext(r.URL.Query().Get("next"))
	if cookieValue(r.Header["Cookie"], s.challengeCookieName()) == "" {
		s.redirect(w, r, loginURL(next))
		return nil
	}
	hasPasskey, err := s.svc.PendingSignInHasPasskeys(r.Context(), cookieValue(r.Header["Cookie"], s.challengeCookieName()))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.LoginTwoFactorPage{Layout: s.layout(w, r, "Two-factor authentication"),
		Next: next, FormToken: loginFormToken(s.deviceKey(w, r)), Passkey: hasPasskey})
	return nil
}

// loginTwoFactorSubmit is POST /login/two-factor: a right code (or recovery
// code) starts the session; a wrong one shows the step again; a pending
// sign-in that expired, was used or had too many wrong codes goes back to
// the first step.
func (s *Server) loginTwoFactorSubmit(w *request, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	f := r.PostForm
	next := s.safeNext(f.Get("next"))
	key := s.deviceKey(w, r)
	page := &pages.LoginTwoFactorPage{Next: next}
	show := func(status int, msg string) error {
		page.Layout = s.layout(w, r, "Two-factor authentication")
		page.FormToken = loginFormToken(key)
		page.Error = msg
		page.Passkey, _ = s.svc.PendingSignInHasPasskeys(r.Context(), cookieValue(r.Header["Cookie"], s.challengeCookieName()))
		s.render(w, r, status, page)
		return nil
	}
	if got := f.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(loginFormToken(key))) {
		return show(http.StatusForbidden, "The sign-in form expired. Please try again.")
	}
	token := cookieValue(r.Header["Cookie"], s.challengeCookieName())
	m := s.meta(w, r)
	m.DeviceKey = key
	stoken, p, err := s.svc.CompleteSignIn(r.Context(), token, f.Get("code"), m)
	if err != nil {
		var e *doorman.Error
		switch {
		case app.IsUnavailable(err):
			return err
		case errors.As(err, &e) && e.Reason == app.ReasonChallengeGone:
			s.clearChallengeCookie(w)
			s.setFlash(w, pages.FlashError, e.Message)
			s.redirect(w, r, loginURL(next))
			return nil
		}
		code := doorman.ErrorCode(err)
		if code != doorman.EUNAUTHORIZED && code != doorman.EINVALID && code != doorman.ETOOMANY {
			return err
		}
		setRetryAfter(w, err)
		status, _, msg := errorStatus(err)
		return show(status, sentence(msg))
	}
	s.clearChallengeCookie(w)
	w.principal = p
	s.setSessionCookie(w, stoken, p)
	s.offerBinding(w, r, p)
	s.redirect(w, r, afterLogin(next))
	return nil
}

// renderTwoFactorSetup shows the setup in progress of key: its QR code and
// manual key, and the code field with msg as its error ("" for none).
func (s *Server) renderTwoFactorSetup(w *request, r *http.Request, status int, key *doorman.OTPKey, msg string) {
	page := pages.NewTwoFactorSetupPage(s.layout(w, r, "Set up two-factor authentication"), key.Secret, key.QRPNG)
	page.Error = msg
	s.render(w, r, status, page)
}
