package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// Team → People (GET /admin/team) lists everyone in the account; a
// person's page (GET /admin/team/{id}) changes their role, disables,
// enables or removes them and resends their invitation, each a form that
// posts to /admin/team/{id}/{action} after the password was confirmed in
// the last 15 minutes, as every sensitive admin action does. The GET at an
// action's path shows the person's page, so that a form posted after the
// session needed its password again comes back to it.

// teamPage is GET /admin/team.
func (s *Server) teamPage(w *request, r *http.Request) error {
	p := w.principal
	people, err := s.svc.TeamPeople(r.Context(), p)
	if err != nil {
		return err
	}
	page := &pages.TeamPage{Layout: s.layout(w, r, "People"), Total: pages.Thousands(len(people))}
	now := s.now()
	for _, tp := range people {
		page.People = append(page.People, pages.NewPerson(tp.User, tp.Sessions, tp.LastActiveAt, tp.TwoFactor, tp.User.ID == p.User.ID, now))
	}
	s.render(w, r, http.StatusOK, page)
	return nil
}

// teamPerson finds the person of the path, not removed, in the admin's
// account, with their sessions and two-factor state.
func (s *Server) teamPerson(w *request, r *http.Request) (pages.Person, error) {
	p := w.principal
	people, err := s.svc.TeamPeople(r.Context(), p)
	if err != nil {
		return pages.Person{}, err
	}
	id := r.PathValue("id")
	for _, tp := range people {
		if tp.User.ID == id {
			return pages.NewPerson(tp.User, tp.Sessions, tp.LastActiveAt, tp.TwoFactor, tp.User.ID == p.User.ID, s.now()), nil
		}
	}
	return pages.Person{}, errUserGone
}

// personActions are the forms of a person's page, by the last element of
// their path.
var personActions = map[string]bool{"role": true, "disable": true, "enable": true, "remove": true, "resend": true}

// personPage is GET /admin/team/{id} (and the GET of each action's path).
func (s *Server) personPage(w *request, r *http.Request) error {
	if a := r.PathValue("action"); a != "" && !personActions[a] {
		return doorman.Errorf(doorman.ENOTFOUND, "There is no such page.")
	}
	person, err := s.teamPerson(w, r)
	if err != nil {
		return err
	}
	roles := []pages.Option{{Value: "member", Label: "Member", Selected: person.Role == "Member"},
		{Value: "admin", Label: "Admin", Selected: person.Role == "Admin"}}
	s.render(w, r, http.StatusOK, &pages.PersonPage{Layout: s.layout(w, r, person.User.Email+" · People"), Person: person, Roles: roles})
	return nil
}

// personAction runs the form of one action on the person of the path:
// the form token and the password's freshness first, then do. A client
// mistake (no reason, the last admin) comes back to the person's page
// with the message; success goes to the list.
func (s *Server) personAction(w *request, r *http.Request, do func(id string) (string, error)) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	id := r.PathValue("id")
	done, err := do(id)
	switch code := doorman.ErrorCode(err); {
	case err == nil:
		s.setFlash(w, pages.FlashSuccess, done)
		s.redirect(w, r, pages.PathTeam)
	case code == doorman.EINVALID || code == doorman.ECONFLICT:
		_, _, msg := errorStatus(err)
		s.setFlash(w, pages.FlashError, sentence(msg)+" Nothing was changed.")
		s.redirect(w, r, pages.TeamPersonPath(id))
	default:
		return userGone(err)
	}
	return nil
}

// roleSubmit is POST /admin/team/{id}/role.
func (s *Server) roleSubmit(w *request, r *http.Request) error {
	return s.personAction(w, r, func(id string) (string, error) {
		role := doorman.Role(r.PostForm.Get("role"))
		u, err := s.svc.UpdateTeamUser(r.Context(), w.principal, id, app.UserChange{Role: &role, Reason: r.PostForm.Get("reason")}, s.meta(w, r))
		if err != nil {
			return "", err
		}
		if u.IsAdmin() {
			return u.Email + " is an admin.", nil
		}
		return u.Email + " is a member.", nil
	})
}

// disableSubmit is POST /admin/team/{id}/disable: every session of the
// person ends at once.
func (s *Server) disableSubmit(w *request, r *http.Request) error {
	return s.setDisabled(w, r, true, " is disabled: every session of theirs ended and they cannot sign in.")
}

// enableSubmit is POST /admin/team/{id}/enable.
func (s *Server) enableSubmit(w *request, r *http.Request) error {
	return s.setDisabled(w, r, false, " is enabled and can sign in again.")
}

// setDisabled disables or enables the person of the path, with the form's
// reason, and says so with done after their email.
func (s *Server) setDisabled(w *request, r *http.Request, disabled bool, done string) error {
	return s.personAction(w, r, func(id string) (string, error) {
		u, err := s.svc.UpdateTeamUser(r.Context(), w.principal, id, app.UserChange{Disabled: &disabled, Reason: r.PostForm.Get("reason")}, s.meta(w, r))
		if err != nil {
			return "", err
		}
		return u.Email + done, nil
	})
}

// removeSubmit is POST /admin/team/{id}/remove; for an invited person it
// revokes the invitation.
func (s *Server) removeSubmit(w *request, r *http.Request) error {
	return s.personAction(w, r, func(id string) (string, error) {
		person, err := s.teamPerson(w, r)
		if err != nil {
			return "", err
		}
		if err := s.svc.RemoveTeamUser(r.Context(), w.principal, id, r.PostForm.Get("reason"), s.meta(w, r)); err != nil {
			return "", err
		}
		if person.Invited() {
			return "The invitation of " + person.User.Email + " is revoked.", nil
		}
		return person.User.Email + " is removed from the team.", nil
	})
}

// resendSubmit is POST /admin/team/{id}/resend: a new link, shown once.
func (s *Server) resendSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	inv, err := s.svc.ResendInvitation(r.Context(), w.principal, r.PathValue("id"), s.meta(w, r))
	if doorman.ErrorCode(err) == doorman.ECONFLICT {
		_, _, msg := errorStatus(err)
		s.setFlash(w, pages.FlashError, sentence(msg))
		s.redirect(w, r, pages.TeamPersonPath(r.PathValue("id")))
		return nil
	}
	if err != nil {
		return userGone(err)
	}
	s.renderInvited(w, r, inv)
	return nil
}

func roleOptions(selected doorman.Role) []pages.Option {
	return []pages.Option{{Value: "member", Label: "Member", Selected: selected != doorman.RoleAdmin},
		{Value: "admin", Label: "Admin", Selected: selected == doorman.RoleAdmin}}
}

// invitePage is GET /admin/team/invite.
func (s *Server) invitePage(w *request, r *http.Request) error {
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	s.render(w, r, http.StatusOK, &pages.InviteUserPage{Layout: s.layout(w, r, "Invite a person"), Roles: roleOptions("")})
	return nil
}

// inviteSubmit is POST /admin/team/invite: the invitation, and the page
// that shows its link this once.
func (s *Server) inviteSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	f := r.PostForm
	role := doorman.Role(f.Get("role"))
	inv, err := s.svc.InviteUser(r.Context(), w.principal, app.InviteRequest{Email: f.Get("email"), Name: f.Get("name"), Role: role}, s.meta(w, r))
	if code := doorman.ErrorCode(err); code == doorman.EINVALID || code == doorman.ECONFLICT {
		status, _, msg := errorStatus(err)
		s.render(w, r, status, &pages.InviteUserPage{Layout: s.layout(w, r, "Invite a person"), Email: f.Get("email"),
			Name: f.Get("name"), Roles: roleOptions(role), Error: sentence(msg)})
		return nil
	}
	if err != nil {
		return err
	}
	s.renderInvited(w, r, inv)
	return nil
}

// renderInvited shows an invitation's link: a secret, which no cache keeps
// and no Referer carries on.
func (s *Server) renderInvited(w *request, r *http.Request, inv *app.Invite) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header()["Referrer-Policy"] = noReferrer
	l := s.layout(w, r, "Invitation")
	l.NoReferrer = true
	s.render(w, r, http.StatusOK, &pages.InviteUserPage{Layout: l, Link: s.absoluteURL(r, inv.URL), Emailed: inv.Emailed, Invited: inv.User.Email})
}

// inviteFormToken ties the invitation form to its link, as alertFormToken
// ties an alert's: an HMAC keyed with the token's hash.
func inviteFormToken(token string) string {
	m := hmac.New(sha256.New, doorman.HashToken(token))
	m.Write([]byte("doorman invitation form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// acceptPage is GET /invite/{token}: the form that sets a name and a
// password, or why the link cannot be used. It changes nothing: mail
// scanners open links.
func (s *Server) acceptPage(w *request, r *http.Request) error {
	w.Header()["Referrer-Policy"] = noReferrer
	token := r.PathValue("token")
	inv, acct, err := s.svc.Invitation(r.Context(), token)
	if doorman.ErrorCode(err) == doorman.EINVALID {
		s.renderInviteGone(w, r, err)
		return nil
	}
	if err != nil {
		return err
	}
	s.renderAccept(w, r, http.StatusOK, token, inv, acct, "", "")
	return nil
}

func (s *Server) renderAccept(w *request, r *http.Request, status int, token string, inv *doorman.Invitation, acct *doorman.Account, name, msg string) {
	l := s.layout(w, r, "Join "+acct.Name)
	l.NoReferrer = true
	s.render(w, r, status, &pages.AcceptInvitePage{Layout: l, Email: inv.Email, Account: acct.Name, Name: name,
		Action: pages.PathInvite + token, FormToken: inviteFormToken(token), Error: msg, MinLength: doorman.MinPasswordLength})
}

func (s *Server) renderInviteGone(w *request, r *http.Request, err error) {
	l := s.layout(w, r, "Invitation link not valid")
	l.NoReferrer = true
	_, _, msg := errorStatus(err)
	s.render(w, r, http.StatusBadRequest, &pages.AcceptInvitePage{Layout: l, Gone: true, Message: msg})
}

// acceptSubmit is POST /invite/{token}: sets the password and name, signs
// in (the session cookie, as on sign-in) and goes to the sessions page.
func (s *Server) acceptSubmit(w *request, r *http.Request) error {
	w.Header()["Referrer-Policy"] = noReferrer
	token := r.PathValue("token")
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	if got := r.PostForm.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(inviteFormToken(token))) {
		return errFormToken
	}
	inv, acct, err := s.svc.Invitation(r.Context(), token)
	if doorman.ErrorCode(err) == doorman.EINVALID {
		s.renderInviteGone(w, r, err)
		return nil
	}
	if err != nil {
		return err
	}
	m := s.meta(w, r)
	m.DeviceKey = s.deviceKey(w, r)
	name := r.PostForm.Get("name")
	sessToken, p, err := s.svc.AcceptInvitation(r.Context(), app.AcceptRequest{Token: token, Name: name,
		Password: r.PostForm.Get("password"), Meta: m})
	if doorman.ErrorCode(err) == doorman.EINVALID {
		if _, _, again := s.svc.Invitation(r.Context(), token); again != nil {
			s.renderInviteGone(w, r, err) // used meanwhile
			return nil
		}
		_, _, msg := errorStatus(err)
		s.renderAccept(w, r, http.StatusBadRequest, token, inv, acct, name, sentence(msg))
		return nil
	}
	if err != nil {
		return err
	}
	w.principal = p
	s.setSessionCookie(w, sessToken, p)
	s.setFlash(w, pages.FlashSuccess, "Welcome to "+acct.Name+". You are signed in.")
	s.redirect(w, r, pages.PathSessions)
	return nil
}

// isInvitePath reports whether path is an invitation link, whose token
// logs must not show.
func isInvitePath(path string) bool { return strings.HasPrefix(path, pages.PathInvite) }
