package http

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

// sessionsPage is GET /settings/security/sessions: the current session
// first, then the others by last activity, as the user guide draws it.
func (s *Server) sessionsPage(w *request, r *http.Request) error {
	p := w.principal
	list, err := s.svc.ListSessions(r.Context(), p)
	if err != nil {
		return err
	}
	page := &pages.SessionsPage{Layout: s.layout(w, r, "Sessions")}
	page.Places = true
	now := s.now()
	for _, sess := range list {
		v := pages.NewSession(sess, sess.ID == p.Session.ID, p.Account.Settings, now)
		if v.Current {
			page.Current = v
		} else {
			page.Others = append(page.Others, v)
		}
	}
	s.render(w, r, http.StatusOK, page)
	return nil
}

// session returns the session named in the path, or errSessionGone.
func (s *Server) session(w *request, r *http.Request) (pages.Session, error) {
	p := w.principal
	sess, err := s.svc.GetSession(r.Context(), p, r.PathValue("id"))
	if err != nil {
		var e *doorman.Error
		if errors.As(err, &e) && e.Code == doorman.ENOTFOUND && e.Reason != "" {
			return pages.Session{}, err // one of the person's own sessions, ended: it says why
		}
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return pages.Session{}, errSessionGone
		}
		return pages.Session{}, err
	}
	return pages.NewSession(sess, sess.ID == p.Session.ID, p.Account.Settings, s.now()), nil
}

// sessionPage is GET /settings/security/sessions/{id}: everything known
// about one session.
func (s *Server) sessionPage(w *request, r *http.Request) error {
	v, err := s.session(w, r)
	if err != nil {
		return err
	}
	history, err := s.svc.SessionHistory(r.Context(), w.principal, v.ID)
	if err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return errSessionGone
		}
		return err
	}
	page := &pages.SessionPage{Layout: s.layout(w, r, v.Label+" · Session Details"), Session: v}
	page.Places = true
	if v.RememberMe {
		page.RememberDays = plural(w.principal.Account.Settings.RememberMeDays, "day", "days")
	}
	now := s.now()
	for _, u := range history {
		page.History = append(page.History, pages.NewIPUse(u, now))
	}
	s.render(w, r, http.StatusOK, page)
	return nil
}

// confirmSignOutPage is GET /settings/security/sessions/{id}/sign-out: the
// "Sign Out Session?" confirmation, for browsers without scripts and for
// the way back after signing in again.
func (s *Server) confirmSignOutPage(w *request, r *http.Request) error {
	v, err := s.session(w, r)
	if err != nil {
		return err
	}
	page := &pages.ConfirmSignOutPage{Layout: s.layout(w, r, "Sign Out Session?"), Session: v, Cancel: pages.PathSessions}
	if r.URL.Query().Get("from") == "details" {
		page.Cancel = v.Path()
	}
	page.Places = true
	s.render(w, r, http.StatusOK, page)
	return nil
}

// msgSessionSignedOut answers the sign-out of one of the person's own
// sessions that had ended already: the goal is met.
const msgSessionSignedOut = "This session is signed out."

// signOutSubmit is POST /settings/security/sessions/{id}/sign-out. Another
// session fails its next request; signing out this one ends on the sign-in
// page. One of the person's own sessions that ended already is not an
// error: the goal is met. Any other id is not found.
func (s *Server) signOutSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	p := w.principal
	v, err := s.session(w, r)
	if e := (*doorman.Error)(nil); errors.As(err, &e) && e.Code == doorman.ENOTFOUND && e.Reason != "" {
		s.setFlash(w, pages.FlashSuccess, msgSessionSignedOut)
		s.redirect(w, r, pages.PathSessions)
		return nil
	} else if err != nil {
		return err
	}
	if v.Current {
		if err := s.svc.SignOut(r.Context(), p, s.meta(w, r)); err != nil {
			return err
		}
		s.clearCookie(w)
		s.setFlash(w, pages.FlashSuccess, "You signed out.")
		s.redirect(w, r, pages.PathLogin)
		return nil
	}
	switch err := s.svc.RevokeSession(r.Context(), p, v.ID, s.meta(w, r)); {
	case doorman.ErrorCode(err) == doorman.ENOTFOUND:
		s.setFlash(w, pages.FlashSuccess, msgSessionSignedOut) // it ended meanwhile
	case err != nil:
		return err
	default:
		s.setFlash(w, pages.FlashSuccess, "Signed out "+v.Summary()+".")
	}
	s.redirect(w, r, pages.PathSessions)
	return nil
}

// others returns the signed-in user's sessions but the current one.
func (s *Server) others(w *request, r *http.Request) ([]pages.Session, error) {
	p := w.principal
	list, err := s.svc.ListSessions(r.Context(), p)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []pages.Session
	for _, sess := range list {
		if sess.ID != p.Session.ID {
			out = append(out, pages.NewSession(sess, false, p.Account.Settings, now))
		}
	}
	return out, nil
}

// confirmSignOutOthersPage is GET /settings/security/sessions/sign-out-others:
// "Sign Out All Other Sessions?", listing every session it will end.
func (s *Server) confirmSignOutOthersPage(w *request, r *http.Request) error {
	others, err := s.others(w, r)
	if err != nil {
		return err
	}
	page := &pages.ConfirmSignOutOthersPage{Layout: s.layout(w, r, "Sign Out All Other Sessions?"), Others: others}
	page.Places = true
	s.render(w, r, http.StatusOK, page)
	return nil
}

// signOutOthersSubmit is POST /settings/security/sessions/sign-out-others.
func (s *Server) signOutOthersSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	n, err := s.svc.SignOutOthers(r.Context(), w.principal, s.meta(w, r))
	if err != nil {
		return err
	}
	switch n {
	case 0:
		s.setFlash(w, pages.FlashInfo, "There were no other sessions to sign out.")
	case 1:
		s.setFlash(w, pages.FlashSuccess, "Signed out 1 other session.")
	default:
		s.setFlash(w, pages.FlashSuccess, "Signed out "+strconv.Itoa(n)+" other sessions.")
	}
	s.redirect(w, r, pages.PathSessions)
	return nil
}
