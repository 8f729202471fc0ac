package http

import (
	"crypto/hmac"
	"net/http"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// The sign-in page always offers "Remember me". Which account an email
// belongs to is unknown until the password is checked, and telling before
// then would say which emails have accounts (and how they are configured).
// So the box is always there, the service ignores it for accounts that do
// not allow it, and the first page after signing in says so.

// loginPage is GET /login. A browser that is already signed in goes on at
// once; one whose session just ended is told why.
func (s *Server) loginPage(w *request, r *http.Request) error {
	next := s.safeNext(r.URL.Query().Get("next"))
	var reason string
	if token := cookieValue(r.Header["Cookie"], s.cookieName); token != "" {
		p, err := s.svc.Authenticate(r.Context(), token, s.meta(w, r))
		switch {
		case err == nil:
			w.principal = p
			s.redirect(w, r, afterLogin(next))
			return nil
		case doorman.ErrorCode(err) == doorman.EUNAUTHORIZED && !app.IsUnavailable(err) && !keepsCookie(err):
			s.clearCookie(w)
			reason = signedOutReason(err)
		}
		// A bound session without its bound cookie is still valid: its
		// cookie stays, and the browser's next refresh brings it back.
		// A store that cannot answer will fail the sign-in too, which
		// then says so; the form itself can still be shown.
	}
	p := &pages.LoginPage{Layout: s.layout(w, r, "Sign in"), Next: next,
		FormToken: loginFormToken(s.deviceKey(w, r)), Passkeys: s.svc.WebAuthn != nil}
	p.Places = true // the footer credits the geolocation data, when there is some
	if reason != "" && p.Flash == nil {
		p.Flash = &pages.Flash{Kind: pages.FlashInfo, Text: reason}
	}
	s.render(w, r, http.StatusOK, p)
	return nil
}

// loginSubmit is POST /login: on success a new session, its cookie, and the
// page the person was going to; otherwise the form again, saying why, with
// the same words for an unknown email and a wrong password.
func (s *Server) loginSubmit(w *request, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	f := r.PostForm
	page := &pages.LoginPage{Email: f.Get("email"), RememberMe: f.Get("remember_me") != "",
		Next: s.safeNext(f.Get("next"))}
	key := s.deviceKey(w, r)
	if got := f.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(loginFormToken(key))) {
		// Most often a device cookie that was cleared since the form was
		// shown: a new form (for the new cookie) lets the person go on.
		page.Error = "The sign-in form expired. Please sign in again."
		return s.renderLogin(w, r, http.StatusForbidden, page, key)
	}
	m := s.meta(w, r)
	m.DeviceKey = key
	token, p, err := s.svc.SignIn(r.Context(), app.SignInRequest{Email: page.Email,
		Password: f.Get("password"), RememberMe: page.RememberMe, Challenge: true, Meta: m})
	if s.toSecondStep(w, r, err, page.Next) {
		return nil
	}
	if err != nil {
		code := doorman.ErrorCode(err)
		if app.IsUnavailable(err) || (code != doorman.EUNAUTHORIZED && code != doorman.EINVALID && code != doorman.ETOOMANY) {
			return err
		}
		setRetryAfter(w, err)
		status, _, msg := errorStatus(err)
		page.Error = sentence(msg)
		return s.renderLogin(w, r, status, page, key)
	}
	w.principal = p
	s.setSessionCookie(w, token, p)
	s.offerBinding(w, r, p)
	if page.RememberMe && !doorman.Remembered(p.Session, p.Account.Settings) {
		s.setFlash(w, pages.FlashInfo, rememberRefused(p.Account.Settings))
	}
	s.redirect(w, r, afterLogin(page.Next))
	return nil
}

func (s *Server) renderLogin(w *request, r *http.Request, status int, page *pages.LoginPage, key string) error {
	page.Layout = s.layout(w, r, "Sign in")
	page.Places = true
	page.FormToken = loginFormToken(key)
	page.Passkeys = s.svc.WebAuthn != nil
	s.render(w, r, status, page)
	return nil
}

// rememberRefused says why "Remember me" had no effect.
func rememberRefused(set doorman.Settings) string {
	msg := "Remember me is turned off for your account"
	if _, ok := set.IdleTimeout.Duration(); ok {
		return msg + ", so this session ends after " + set.IdleTimeout.Text() + " without use."
	}
	return msg + "."
}

func afterLogin(next string) string {
	if next == "" {
		return pages.PathSessions
	}
	return next
}

// logoutSubmit is POST /logout, the header's "Sign out": the session ends,
// its cookie goes, and the sign-in page says so.
func (s *Server) logoutSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	if err := s.svc.SignOut(r.Context(), w.principal, s.meta(w, r)); err != nil {
		return err
	}
	s.clearCookie(w)
	s.setFlash(w, pages.FlashSuccess, "You signed out.")
	s.redirect(w, r, pages.PathLogin)
	return nil
}
