package http

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// confirmSignOutAllPage is GET /settings/security/sessions/sign-out-all:
// "Sign Out All Sessions?", this one included.
func (s *Server) confirmSignOutAllPage(w *request, r *http.Request) error {
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	list, err := s.svc.ListSessions(r.Context(), w.principal)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.ConfirmSignOutAllPage{Layout: s.layout(w, r, "Sign Out All Sessions?"), Count: len(list)})
	return nil
}

// signOutAllSubmit is POST /settings/security/sessions/sign-out-all: every
// session ends and the browser lands on the sign-in page.
func (s *Server) signOutAllSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	n, err := s.svc.SignOutAll(r.Context(), w.principal, s.meta(w, r))
	if s.reauthFirst(w, r, err, r.URL.Path) {
		return nil
	}
	if err != nil {
		return err
	}
	s.clearCookie(w)
	msg := "You signed out of all your sessions."
	if n > 1 {
		msg = "You signed out of all " + strconv.Itoa(n) + " of your sessions."
	}
	s.setFlash(w, pages.FlashSuccess, msg)
	s.redirect(w, r, pages.PathLogin)
	return nil
}

// passwordPage is GET /settings/security/password.
func (s *Server) passwordPage(w *request, r *http.Request) error {
	s.render(w, r, http.StatusOK, &pages.PasswordPage{Layout: s.layout(w, r, "Password"), SignOutOthers: true,
		MinLength: doorman.MinPasswordLength})
	return nil
}

// passwordSubmit is POST /settings/security/password. On success the
// session has a new token (a new cookie) and the page says what happened;
// otherwise the form again, saying why, with nothing changed.
func (s *Server) passwordSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	page := &pages.PasswordPage{SignOutOthers: f.Get("sign_out_others") != "", MinLength: doorman.MinPasswordLength}
	fail := func(status int, field, msg string) error {
		page.Layout = s.layout(w, r, "Password")
		page.Error, page.ErrorField = sentence(msg), field
		s.render(w, r, status, page)
		return nil
	}
	if f.Get("new_password") != f.Get("confirm_password") {
		return fail(http.StatusBadRequest, "confirm_password", "the new passwords do not match")
	}
	token, p, n, err := s.svc.ChangePassword(r.Context(), w.principal, app.ChangePasswordRequest{
		CurrentPassword: f.Get("current_password"), NewPassword: f.Get("new_password"),
		SignOutOthers: page.SignOutOthers, Meta: s.meta(w, r)})
	switch code := doorman.ErrorCode(err); {
	case err == nil:
	case app.IsUnavailable(err):
		return err
	case code == doorman.EUNAUTHORIZED:
		return fail(http.StatusBadRequest, "current_password", doorman.ErrorMessage(err))
	case code == doorman.EINVALID:
		field := "new_password"
		if f.Get("current_password") == "" {
			field = "current_password"
		}
		return fail(http.StatusBadRequest, field, doorman.ErrorMessage(err))
	default:
		return err
	}
	w.principal = p
	s.setSessionCookie(w, token, p)
	msg := "Your password was changed."
	switch {
	case n == 1:
		msg += " Signed out 1 other session."
	case n > 1:
		msg += " Signed out " + strconv.Itoa(n) + " other sessions."
	}
	s.setFlash(w, pages.FlashSuccess, msg)
	s.redirect(w, r, pages.PathPassword)
	return nil
}

// needReauth sends a session that last proved its password over 15
// minutes ago to /reauth, which returns to next (a page showing the form
// of the sensitive action), and reports whether it did. Pages showing such
// a form ask it first, so that the password comes before the form is
// filled in; the action itself is refused by the Service (reauthFirst).
func (s *Server) needReauth(w *request, r *http.Request, next string) bool {
	if !s.svc.NeedsReauth(w.principal) {
		return false
	}
	s.redirect(w, r, pages.PathReauth+"?next="+url.QueryEscape(next))
	return true
}

// reauthFirst answers an action that the Service refused with EREAUTH (the
// session's password proof is over 15 minutes old) by sending the browser
// to /reauth, which returns to next, the page showing the action's form;
// it reports whether it did.
func (s *Server) reauthFirst(w *request, r *http.Request, err error, next string) bool {
	if err == nil || app.IsUnavailable(err) || doorman.ErrorCode(err) != doorman.EREAUTH {
		return false
	}
	s.redirect(w, r, pages.PathReauth+"?next="+url.QueryEscape(next))
	return true
}

// reauthPage is GET /reauth: "Confirm your password", then back to next.
func (s *Server) reauthPage(w *request, r *http.Request) error {
	next := s.safeNext(r.URL.Query().Get("next"))
	if !s.svc.NeedsReauth(w.principal) {
		s.redirect(w, r, afterLogin(next))
		return nil
	}
	tf, err := s.svc.TwoFactorStatus(r.Context(), w.principal)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.ReauthPage{Layout: s.layout(w, r, "Confirm your password"), Next: next,
		TwoFactor: tf.Enabled()})
	return nil
}

// reauthSubmit is POST /reauth: the right password records the proof on
// the session and goes on to next; a wrong one shows the form again.
func (s *Server) reauthSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	next := s.safeNext(r.PostForm.Get("next"))
	err := s.svc.ReauthenticateCode(r.Context(), w.principal, r.PostForm.Get("password"), r.PostForm.Get("code"), s.meta(w, r))
	if code := doorman.ErrorCode(err); err != nil && !app.IsUnavailable(err) &&
		(code == doorman.EUNAUTHORIZED || code == doorman.EINVALID || code == doorman.ETOTP || code == doorman.ETOOMANY) {
		status := http.StatusBadRequest
		if code == doorman.ETOOMANY {
			status = http.StatusTooManyRequests
			setRetryAfter(w, err)
		}
		s.render(w, r, status, &pages.ReauthPage{Layout: s.layout(w, r, "Confirm your password"), Next: next,
			Error: sentence(doorman.ErrorMessage(err)), TwoFactor: code == doorman.ETOTP || r.PostForm.Get("code") != ""})
		return nil
	} else if err != nil {
		return err
	}
	s.redirect(w, r, afterLogin(next))
	return nil
}
