package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// "Forgot password?": GET /password/forgot asks for the email, POST takes
// the request and says to check the mail, in the same words (and the same
// time) whether or not the email has a user. The emailed link,
// /password/reset/{token}, shows the new password's form on GET, without
// using the link up (mail scanners open links), and sets it on POST. Its
// token is a secret: the logs never see it (logPath) and its pages send no
// Referer (Referrer-Policy: no-referrer).
//
// After the reset the person signs in with the new password, rather than
// being signed in by the link: holding the link proves only the mailbox,
// and the sign-in still asks for the two-factor code when the user has it
// on, and counts against the sign-in limits.

// resetFormToken ties the reset form to the link, as alertFormToken does.
func resetFormToken(token string) string {
	m := hmac.New(sha256.New, doorman.HashToken(token))
	m.Write([]byte("doorman password reset form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) forgotPage(w *request, r *http.Request) error {
	s.render(w, r, http.StatusOK, &pages.ForgotPasswordPage{Layout: s.layout(w, r, "Reset your password"),
		FormToken: loginFormToken(s.deviceKey(w, r)), NoEmail: !s.svc.EmailConfigured()})
	return nil
}

func (s *Server) forgotSubmit(w *request, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	key := s.deviceKey(w, r)
	page := &pages.ForgotPasswordPage{Email: r.PostForm.Get("email"), NoEmail: !s.svc.EmailConfigured(),
		Minutes: int(doorman.PasswordResetTTL.Minutes())}
	status := http.StatusOK
	if got := r.PostForm.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(loginFormToken(key))) {
		page.Error, status = "The form expired. Please try again.", http.StatusForbidden
	} else if err := s.svc.RequestPasswordReset(page.Email, s.meta(w, r)); err != nil {
		if doorman.ErrorCode(err) != doorman.EINVALID {
			return err
		}
		page.Error, status = sentence(doorman.ErrorMessage(err)), http.StatusBadRequest
	} else {
		page.Sent = true
	}
	page.Layout = s.layout(w, r, "Reset your password")
	page.FormToken = loginFormToken(key)
	s.render(w, r, status, page)
	return nil
}

func (s *Server) resetLayout(w *request, r *http.Request, title string) pages.Layout {
	w.Header()["Referrer-Policy"] = noReferrer
	l := s.layout(w, r, title)
	l.NoReferrer = true
	return l
}

func (s *Server) resetGone(w *request, r *http.Request) error {
	s.render(w, r, http.StatusBadRequest, &pages.ResetPasswordPage{Layout: s.resetLayout(w, r, "Link expired"), Gone: true})
	return nil
}

// resetPage is GET /password/reset/{token}: the form, or "already used or
// expired". It changes nothing.
func (s *Server) resetPage(w *request, r *http.Request) error {
	w.Header()["Referrer-Policy"] = noReferrer
	token := r.PathValue("token")
	email, err := s.svc.PasswordResetLink(r.Context(), token)
	if errors.Is(err, app.ErrResetLink) {
		return s.resetGone(w, r)
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.ResetPasswordPage{Layout: s.resetLayout(w, r, "Choose a new password"),
		Action: pages.PathPasswordReset + token, FormToken: resetFormToken(token), Email: email, MinLength: doorman.MinPasswordLength})
	return nil
}

// resetSubmit is POST /password/reset/{token}: sets the password (once),
// ends every session, and sends the person to sign in.
func (s *Server) resetSubmit(w *request, r *http.Request) error {
	w.Header()["Referrer-Policy"] = noReferrer
	token := r.PathValue("token")
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	if got := r.PostForm.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(resetFormToken(token))) {
		return errFormToken
	}
	f := r.PostForm
	email, err := s.svc.PasswordResetLink(r.Context(), token)
	if errors.Is(err, app.ErrResetLink) {
		return s.resetGone(w, r)
	}
	if err != nil {
		return err
	}
	fail := func(field, msg string) error {
		s.render(w, r, http.StatusBadRequest, &pages.ResetPasswordPage{Layout: s.resetLayout(w, r, "Choose a new password"),
			Action: pages.PathPasswordReset + token, FormToken: resetFormToken(token), Email: email, MinLength: doorman.MinPasswordLength,
			Error: sentence(msg), ErrorField: field})
		return nil
	}
	if f.Get("new_password") != f.Get("confirm_password") {
		return fail("confirm_password", "the new passwords do not match")
	}
	err = s.svc.ResetPassword(r.Context(), token, f.Get("new_password"), s.meta(w, r))
	switch {
	case err == nil:
	case errors.Is(err, app.ErrResetLink):
		return s.resetGone(w, r) // used by another request meanwhile
	case doorman.ErrorCode(err) == doorman.EINVALID && !app.IsUnavailable(err):
		return fail("new_password", doorman.ErrorMessage(err))
	default:
		return err
	}
	// This browser's session, if it had one of the user's, ended too.
	if cookieValue(r.Header["Cookie"], s.cookieName) != "" {
		s.clearCookie(w)
	}
	s.setFlash(w, pages.FlashSuccess, "Your password was changed and every session of yours was signed out. Sign in with your new password.")
	s.redirect(w, r, pages.PathLogin)
	return nil
}
