package http

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"net/url"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// Passkeys on the pages. The ceremonies need navigator.credentials, so
// static/app.js drives them: it posts a form (with the page's form token,
// through the same cross-origin protection as every form) to a …/begin
// path, hands the options it gets back to the browser, and posts the
// browser's answer, with the ceremony's token, to the finishing path. Both
// answer in JSON: {"ceremony", "options"}, then {"redirect"}; a refusal is
// {"error"} (and {"redirect"} when the page must change, as for
// re-authentication).

// passkeyAnswer is the JSON the passkey paths answer with.
type passkeyAnswer struct {
	Ceremony string  `json:"ceremony,omitempty"`
	Options  jsonRaw `json:"options,omitempty"`
	Redirect string  `json:"redirect,omitempty"`
	Error    string  `json:"error,omitempty"`
	Reason   string  `json:"reason,omitempty"`
}

// jsonRaw is JSON written as it is.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// maxCredentialJSON bounds the browser's answer: a passkey's attestation
// or assertion is a few kilobytes.
const maxCredentialJSON = 64 << 10

// passkeyFail answers a passkey request with the error a person may see,
// or returns err when it is not one (an outage, a bug): the error page.
func (s *Server) passkeyFail(w *request, err error) error {
	code := doorman.ErrorCode(err)
	if app.IsUnavailable(err) || (code != doorman.EINVALID && code != doorman.EUNAUTHORIZED && code != doorman.ECONFLICT &&
		code != doorman.ENOTFOUND && code != doorman.ETOOMANY && code != doorman.EFORBIDDEN) {
		return err
	}
	setRetryAfter(w, err)
	status, _, msg := errorStatus(err)
	var e *doorman.Error
	reason := ""
	if errors.As(err, &e) {
		reason = e.Reason
	}
	writeJSON(w, status, &passkeyAnswer{Error: sentence(msg), Reason: reason})
	return nil
}

func credentialField(r *http.Request) ([]byte, error) {
	c := r.PostForm.Get("credential")
	if c == "" || len(c) > maxCredentialJSON {
		return nil, doorman.Errorf(doorman.EINVALID, "the browser sent no passkey")
	}
	return []byte(c), nil
}

// passkeyBeginSubmit is POST /settings/security/passkeys/begin: the
// options to create a passkey, after a recent password proof.
func (s *Server) passkeyBeginSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	c, err := s.svc.BeginPasskeyRegistration(r.Context(), w.principal, s.meta(w, r))
	if err != nil && !app.IsUnavailable(err) && doorman.ErrorCode(err) == doorman.EREAUTH {
		writeJSON(w, http.StatusForbidden, &passkeyAnswer{Error: sentence(doorman.ErrorMessage(err)),
			Redirect: pages.PathReauth + "?next=" + url.QueryEscape(pages.PathTwoFactor)})
		return nil
	}
	if err != nil {
		return s.passkeyFail(w, err)
	}
	writeJSON(w, http.StatusOK, &passkeyAnswer{Ceremony: c.Token, Options: c.Options})
	return nil
}

// passkeyFinishSubmit is POST /settings/security/passkeys/finish: the new
// passkey, verified and stored under its name.
func (s *Server) passkeyFinishSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	cred, err := credentialField(r)
	if err != nil {
		return s.passkeyFail(w, err)
	}
	pk, err := s.svc.FinishPasskeyRegistration(r.Context(), w.principal, r.PostForm.Get("ceremony"), r.PostForm.Get("name"), cred, s.meta(w, r))
	if err != nil {
		return s.passkeyFail(w, err)
	}
	s.setFlash(w, pages.FlashSuccess, "Passkey “"+pk.Name+"” added. You can sign in with it.")
	writeJSON(w, http.StatusOK, &passkeyAnswer{Redirect: pages.PathTwoFactor})
	return nil
}

// passkeyRemoveSubmit is POST /settings/security/passkeys/{id}/remove, a
// plain form: the passkey goes, after a recent password proof.
func (s *Server) passkeyRemoveSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	err := s.svc.RemovePasskey(r.Context(), w.principal, r.PathValue("id"), s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathTwoFactor) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.ENOTFOUND && !app.IsUnavailable(err) {
		s.setFlash(w, pages.FlashInfo, "That passkey was removed already.")
		return s.twoFactorHome(w, r)
	}
	if err != nil {
		return err
	}
	s.setFlash(w, pages.FlashSuccess, "Passkey removed.")
	return s.twoFactorHome(w, r)
}

// checkLoginForm checks a signed-out form's token (bound to the device
// cookie, as the sign-in form's).
func (s *Server) checkLoginForm(w *request, r *http.Request) (string, error) {
	if err := r.ParseForm(); err != nil {
		return "", formParseError(err)
	}
	key := s.deviceKey(w, r)
	if got := r.PostForm.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(loginFormToken(key))) {
		return "", doorman.Errorf(doorman.EFORBIDDEN, "The sign-in form expired. Reload the page and try again.")
	}
	return key, nil
}

// loginPasskeyBeginSubmit is POST /login/passkey/begin: the options of a
// sign-in with any passkey of this site the browser holds.
func (s *Server) loginPasskeyBeginSubmit(w *request, r *http.Request) error {
	if _, err := s.checkLoginForm(w, r); err != nil {
		return s.passkeyFail(w, err)
	}
	c, err := s.svc.BeginPasskeySignIn(r.Context())
	if err != nil {
		return s.passkeyFail(w, err)
	}
	writeJSON(w, http.StatusOK, &passkeyAnswer{Ceremony: c.Token, Options: c.Options})
	return nil
}

// loginPasskeySubmit is POST /login/passkey: the signed answer starts a
// session, as the password does.
func (s *Server) loginPasskeySubmit(w *request, r *http.Request) error {
	key, err := s.checkLoginForm(w, r)
	if err != nil {
		return s.passkeyFail(w, err)
	}
	cred, err := credentialField(r)
	if err != nil {
		return s.passkeyFail(w, err)
	}
	f := r.PostForm
	m := s.meta(w, r)
	m.DeviceKey = key
	remember := f.Get("remember_me") != ""
	token, p, err := s.svc.PasskeySignIn(r.Context(), f.Get("ceremony"), cred, remember, m)
	if err != nil {
		return s.passkeyFail(w, err)
	}
	w.principal = p
	s.setSessionCookie(w, token, p)
	if remember && !doorman.Remembered(p.Session, p.Account.Settings) {
		s.setFlash(w, pages.FlashInfo, rememberRefused(p.Account.Settings))
	}
	writeJSON(w, http.StatusOK, &passkeyAnswer{Redirect: afterLogin(s.safeNext(f.Get("next")))})
	return nil
}

// loginTwoFactorPasskeyBeginSubmit is POST /login/two-factor/passkey/begin:
// at the sign-in's second step, the options of an assertion by one of the
// user's passkeys.
func (s *Server) loginTwoFactorPasskeyBeginSubmit(w *request, r *http.Request) error {
	if _, err := s.checkLoginForm(w, r); err != nil {
		return s.passkeyFail(w, err)
	}
	c, err := s.svc.BeginPasskeySecondFactor(r.Context(), cookieValue(r.Header["Cookie"], s.challengeCookieName()))
	if err != nil {
		return s.secondStepFail(w, r, err)
	}
	writeJSON(w, http.StatusOK, &passkeyAnswer{Ceremony: c.Token, Options: c.Options})
	return nil
}

// loginTwoFactorPasskeySubmit is POST /login/two-factor/passkey: the
// passkey's answer finishes the sign-in in place of a code.
func (s *Server) loginTwoFactorPasskeySubmit(w *request, r *http.Request) error {
	key, err := s.checkLoginForm(w, r)
	if err != nil {
		return s.passkeyFail(w, err)
	}
	cred, err := credentialField(r)
	if err != nil {
		return s.passkeyFail(w, err)
	}
	m := s.meta(w, r)
	m.DeviceKey = key
	token, p, err := s.svc.CompleteSignInPasskey(r.Context(), cookieValue(r.Header["Cookie"], s.challengeCookieName()),
		r.PostForm.Get("ceremony"), cred, m)
	if err != nil {
		return s.secondStepFail(w, r, err)
	}
	s.clearChallengeCookie(w)
	w.principal = p
	s.setSessionCookie(w, token, p)
	writeJSON(w, http.StatusOK, &passkeyAnswer{Redirect: afterLogin(s.safeNext(r.PostForm.Get("next")))})
	return nil
}

// secondStepFail answers a failed passkey at the second step: a pending
// sign-in that is gone sends the browser back to the first step.
func (s *Server) secondStepFail(w *request, r *http.Request, err error) error {
	var e *doorman.Error
	if !app.IsUnavailable(err) && errors.As(err, &e) && e.Reason == app.ReasonChallengeGone {
		s.clearChallengeCookie(w)
		s.setFlash(w, pages.FlashError, e.Message)
		writeJSON(w, http.StatusUnauthorized, &passkeyAnswer{Error: e.Message, Reason: e.Reason,
			Redirect: loginURL(s.safeNext(r.PostForm.Get("next")))})
		return nil
	}
	return s.passkeyFail(w, err)
}
