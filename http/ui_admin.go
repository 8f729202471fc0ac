package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// The administrators' Team pages: Team Sessions, one member's sessions,
// "Force Sign Out User", "Sign Out All Team Sessions", Session settings and
// the Audit log. Every one is wrapped in adminOnly: a member gets a 403 page
// naming who may open it.

// teamPageSize is how many rows a Team table shows at once.
const teamPageSize = 50

// teamSignOutListed bounds the people "Sign Out All Team Sessions?" names.
const teamSignOutListed = 10

var errUserGone = &doorman.Error{Code: doorman.ENOTFOUND,
	Message: "There is no such user in your account."}

// userGone turns a service's ENOTFOUND about a member into the page's words.
func userGone(err error) error {
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return errUserGone
	}
	return err
}

// pageNumber reads the "page" query parameter: 1 when absent or not a
// page number.
func pageNumber(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// adminHome sends /admin to the first Team page.
func (s *Server) adminHome(w *request, r *http.Request) error {
	s.redirect(w, r, pages.PathTeamSessions)
	return nil
}

// teamSessionsPage is GET /admin/sessions: the guide's "Team Sessions".
func (s *Server) teamSessionsPage(w *request, r *http.Request) error {
	p := w.principal
	q := r.URL.Query()
	email := doorman.NormalizeEmail(q.Get("user"))
	n := pageNumber(q)
	members, users, active, err := s.svc.TeamSessions(r.Context(), p,
		doorman.TeamFilter{Email: email, Limit: teamPageSize, Offset: (n - 1) * teamPageSize})
	if err != nil {
		return err
	}
	team, err := s.svc.TeamUsers(r.Context(), p)
	if err != nil {
		return err
	}
	page := &pages.TeamSessionsPage{Layout: s.layout(w, r, "Team Sessions"), Filter: email,
		TotalActive: pages.Thousands(active)}
	page.Users = userOptions(team, email, false)
	now := s.now()
	for _, m := range members {
		row := pages.NewTeamRow(m.User, m.Sessions, m.LastActiveAt, now)
		row.Flagged = m.Flagged
		row.TwoFactor = m.TwoFactor
		page.Rows = append(page.Rows, row)
	}
	page.Pager = pages.NewPager(n, teamPageSize, len(page.Rows), users, "users", pages.PathTeamSessions, q)
	s.render(w, r, http.StatusOK, page)
	return nil
}

// userOptions lists the account's users for a filter's <select>, marking
// selected; one not in the list (an old actor) is added so that the filter
// still shows what it filters by.
func userOptions(team []*doorman.User, selected string, system bool) []pages.Option {
	out := make([]pages.Option, 0, len(team)+2)
	found := selected == ""
	for _, u := range team {
		out = append(out, pages.Option{Value: u.Email, Label: u.Email, Selected: u.Email == selected})
		found = found || u.Email == selected
	}
	if system {
		out = append(out, pages.Option{Value: doorman.ActorSystem, Label: "System (operator commands)",
			Selected: selected == doorman.ActorSystem})
		found = found || selected == doorman.ActorSystem
	}
	if !found {
		out = append(out, pages.Option{Value: selected, Label: selected, Selected: true})
	}
	return out
}

// teamMember returns the member named in the path with their active
// sessions, the caller's own session first.
func (s *Server) teamMember(w *request, r *http.Request) (*doorman.User, []*doorman.Session, error) {
	u, list, err := s.svc.TeamUserSessions(r.Context(), w.principal, r.PathValue("id"))
	if err != nil {
		return nil, nil, userGone(err)
	}
	return u, ownSessionFirst(list, w.principal), nil
}

// teamUserPage is GET /admin/users/{id}/sessions: one member's sessions,
// with the same cards as their own page.
func (s *Server) teamUserPage(w *request, r *http.Request) error {
	p := w.principal
	u, list, ended, err := s.svc.TeamUserHistory(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return userGone(err)
	}
	list = ownSessionFirst(list, p)
	page := &pages.TeamUserPage{Layout: s.layout(w, r, u.Email+" · Team Sessions"), Member: pages.NewTeamUser(u)}
	page.Places = true
	now := s.now()
	for _, sess := range list {
		page.Sessions = append(page.Sessions, pages.NewSession(sess, sess.ID == p.Session.ID, p.Account.Settings, now))
	}
	for _, e := range ended {
		page.Ended = append(page.Ended, pages.NewEndedSession(e.Session, e.At, e.Reason, e.Note, now))
	}
	s.render(w, r, http.StatusOK, page)
	return nil
}

// forceSignOutPage is GET /admin/users/{id}/sign-out: the guide's "Force
// Sign Out User" confirmation.
func (s *Server) forceSignOutPage(w *request, r *http.Request) error {
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	u, list, err := s.teamMember(w, r)
	if err != nil {
		return err
	}
	s.renderForceSignOut(w, r, http.StatusOK, u, list, "", "")
	return nil
}

func (s *Server) renderForceSignOut(w *request, r *http.Request, status int, u *doorman.User, list []*doorman.Session, reason, msg string) {
	page := &pages.ForceSignOutPage{Layout: s.layout(w, r, "Force Sign Out User"), Member: pages.NewTeamUser(u),
		Active: len(list), Ending: len(list), Reason: reason, Error: msg}
	// Administrators who sign themselves out keep the session they use.
	if u.ID == w.principal.User.ID {
		page.Self = true
		page.Ending = max(len(list)-1, 0)
	}
	s.render(w, r, status, page)
}

// msgReasonRequired is what a confirmation says when its reason is empty.
const msgReasonRequired = "Enter a reason: it is recorded in the audit log. Nothing was signed out."

// forceSignOutSubmit is POST /admin/users/{id}/sign-out. Without a reason it
// shows the form again, saying so, and signs nothing out. The member is
// read once, by the Service; the form shown again reads it for itself.
func (s *Server) forceSignOutSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	again := func(reason, msg string) error {
		u, list, err := s.teamMember(w, r)
		if err != nil {
			return err
		}
		s.renderForceSignOut(w, r, http.StatusBadRequest, u, list, reason, msg)
		return nil
	}
	reason := r.PostForm.Get("reason")
	if strings.TrimSpace(reason) == "" {
		return again("", msgReasonRequired)
	}
	u, n, err := s.svc.ForceSignOut(r.Context(), w.principal, r.PathValue("id"), reason, s.meta(w, r))
	if s.reauthFirst(w, r, err, r.URL.Path) {
		return nil
	}
	switch {
	case doorman.ErrorCode(err) == doorman.EINVALID:
		_, _, msg := errorStatus(err)
		return again(reason, sentence(msg)+" Nothing was signed out.")
	case err != nil:
		return userGone(err)
	case n == 0:
		s.setFlash(w, pages.FlashInfo, u.Email+" had no active sessions to sign out.")
	case u.ID == w.principal.User.ID:
		s.setFlash(w, pages.FlashSuccess, "Signed out "+plural(n, "of your sessions", "of your sessions")+
			". The one you are using now stays active.")
	default:
		s.setFlash(w, pages.FlashSuccess, "Signed out "+u.Email+" from "+plural(n, "session", "sessions")+
			". They must sign in again.")
	}
	s.redirect(w, r, pages.PathTeamSessions)
	return nil
}

// signOutTeamPage is GET /admin/sessions/sign-out-all: "Sign Out All Team
// Sessions?", naming who it signs out.
func (s *Server) signOutTeamPage(w *request, r *http.Request) error {
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	return s.renderSignOutTeam(w, r, http.StatusOK, "", "")
}

func (s *Server) renderSignOutTeam(w *request, r *http.Request, status int, reason, msg string) error {
	p := w.principal
	members, users, active, err := s.svc.TeamSessions(r.Context(), p, doorman.TeamFilter{Limit: app.MaxTeamLimit})
	if err != nil {
		return err
	}
	page := &pages.SignOutTeamPage{Layout: s.layout(w, r, "Sign Out All Team Sessions?"), Sessions: max(active-1, 0),
		Reason: reason, Error: msg}
	people := 0
	for _, m := range members {
		n := m.Sessions
		if m.User.ID == p.User.ID {
			n-- // the current session stays
		}
		if n <= 0 {
			continue
		}
		people++
		if len(page.Users) < teamSignOutListed {
			page.Users = append(page.Users, pages.TeamCount{Email: m.User.Email, Sessions: n})
		}
	}
	page.More = people - len(page.Users) + max(users-len(members), 0)
	s.render(w, r, status, page)
	return nil
}

// signOutTeamSubmit is POST /admin/sessions/sign-out-all: every session of
// the account but the administrator's current one.
func (s *Server) signOutTeamSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	reason := r.PostForm.Get("reason")
	if strings.TrimSpace(reason) == "" {
		return s.renderSignOutTeam(w, r, http.StatusBadRequest, "", msgReasonRequired)
	}
	p := w.principal
	n, err := s.svc.SignOutTeam(r.Context(), p, reason, s.meta(w, r))
	if s.reauthFirst(w, r, err, r.URL.Path) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.EINVALID {
		_, _, msg := errorStatus(err)
		return s.renderSignOutTeam(w, r, http.StatusBadRequest, reason, sentence(msg)+" Nothing was signed out.")
	} else if err != nil {
		return err
	}
	if n == 0 {
		s.setFlash(w, pages.FlashInfo, "There were no other sessions to sign out.")
	} else {
		s.setFlash(w, pages.FlashSuccess, "Signed out "+plural(n, "session", "sessions")+" in "+p.Account.Name+
			". Your current session stays active.")
	}
	s.redirect(w, r, pages.PathTeamSessions)
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return pages.Thousands(n) + " " + many
}

// idleChoices are the guide's four timeouts, in its order and words.
var idleChoices = []struct {
	value doorman.IdleTimeout
	label string
}{
	{doorman.Idle1Day, "1 day"},
	{doorman.Idle7Days, "7 days"},
	{doorman.Idle30Days, "30 days"},
	{doorman.IdleNever, "Never (not recommended)"},
}

// expiresText is what "All sessions expire after:" says for a timeout when
// "Remember Me" is off.
func (s *Server) expiresText(t doorman.IdleTimeout) string {
	if _, ok := t.Duration(); ok {
		return t.Text() + " of inactivity"
	}
	if c := s.svc.Policy.AbsoluteCap; c > 0 {
		return plural(int(c/(24*time.Hour)), "day", "days") + " from sign-in"
	}
	return "never"
}

// settingsForm is what the Session settings form shows: the account's
// settings, or what was posted when it was refused.
type settingsForm struct {
	idle     string
	remember bool
	days     string
	members  bool
	endProof bool // end a session whose device proof fails
}

func (s *Server) renderSettings(w *request, r *http.Request, status int, f settingsForm, msg, field string) {
	page := &pages.SessionSettingsPage{Layout: s.layout(w, r, "Session Settings"), RememberMeAllowed: f.remember,
		RememberMeDays: f.days, MembersSeeSessions: f.members, EndSessionOnFailedProof: f.endProof, Error: msg, ErrorField: field,
		MinDays: doorman.MinRememberMeDays, MaxDays: doorman.MaxRememberMeDays}
	for _, c := range idleChoices {
		ch := pages.IdleChoice{Value: string(c.value), Label: c.label, Checked: string(c.value) == f.idle,
			Expires: s.expiresText(c.value)}
		if ch.Checked {
			page.Expires = ch.Expires
		}
		page.Idle = append(page.Idle, ch)
	}
	if page.Expires == "" {
		page.Expires = s.expiresText(doorman.IdleTimeout(f.idle))
	}
	s.render(w, r, status, page)
}

// sessionSettingsPage is GET /admin/settings/sessions: Session Timeout and
// Remember Me as the guide draws them, and who may see the Sessions page.
func (s *Server) sessionSettingsPage(w *request, r *http.Request) error {
	if s.needReauth(w, r, r.URL.Path) {
		return nil
	}
	set := w.principal.Account.Settings
	s.renderSettings(w, r, http.StatusOK, settingsForm{idle: string(set.IdleTimeout), remember: set.RememberMeAllowed,
		days: strconv.Itoa(set.RememberMeDays), members: set.MembersSeeSessions, endProof: set.EndSessionOnFailedProof}, "", "")
	return nil
}

// sessionSettingsSubmit is POST /admin/settings/sessions. Refused values
// show the form again with what was sent and why, and change nothing; the
// new settings apply to every session of the account on its next request.
func (s *Server) sessionSettingsSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	p := w.principal
	cur := p.Account.Settings
	v := r.PostForm
	f := settingsForm{idle: v.Get("idle_timeout"), remember: v.Get("remember_me_allowed") != "",
		days: strings.TrimSpace(v.Get("remember_me_days")), members: v.Get("members_see_sessions") != "",
		endProof: v.Get("end_session_on_failed_proof") != ""}
	set := doorman.Settings{IdleTimeout: doorman.IdleTimeout(f.idle), RememberMeAllowed: f.remember,
		RememberMeDays: cur.RememberMeDays, MembersSeeSessions: f.members, EndSessionOnFailedProof: f.endProof}
	if !set.IdleTimeout.Valid() {
		s.renderSettings(w, r, http.StatusBadRequest, f,
			"Choose when inactive sessions are signed out: after 1 day, 7 days, 30 days or never. Nothing was saved.", "idle_timeout")
		return nil
	}
	// The days field is left out when "Remember Me" is off (the page's
	// script disables it): the account keeps its number for later.
	if f.days != "" || f.remember {
		n, err := strconv.Atoi(f.days)
		if err != nil || n < doorman.MinRememberMeDays || n > doorman.MaxRememberMeDays {
			s.renderSettings(w, r, http.StatusBadRequest, f, "Remembered sessions must last a whole number of days from "+
				strconv.Itoa(doorman.MinRememberMeDays)+" to "+strconv.Itoa(doorman.MaxRememberMeDays)+". Nothing was saved.",
				"remember_me_days")
			return nil
		}
		set.RememberMeDays = n
	} else {
		f.days = strconv.Itoa(cur.RememberMeDays)
	}
	if set == cur {
		s.setFlash(w, pages.FlashInfo, "Nothing changed: these are the settings already in force.")
		s.redirect(w, r, pages.PathSessionSettings)
		return nil
	}
	if _, err := s.svc.UpdateSettings(r.Context(), p, p.Account.ID, set, s.meta(w, r)); err != nil {
		if s.reauthFirst(w, r, err, r.URL.Path) {
			return nil
		}
		if doorman.ErrorCode(err) != doorman.EINVALID {
			return err
		}
		_, _, msg := errorStatus(err)
		s.renderSettings(w, r, http.StatusBadRequest, f, sentence(msg)+" Nothing was saved.", "")
		return nil
	}
	s.setFlash(w, pages.FlashSuccess, "Session settings saved. They apply to every session in "+p.Account.Name+
		" from its next request.")
	s.redirect(w, r, pages.PathSessionSettings)
	return nil
}

// personal wraps the pages of a person's own sessions. When an
// administrator restricted them for members, a member sees a page that
// says so, as the guide's troubleshooting expects ("Check you have
// permission"); the Service refuses the same requests below it.
func personal(h handler) handler {
	return func(s *Server, w *request, r *http.Request) error {
		if p := w.principal; p != nil && !p.User.IsAdmin() && !p.Account.Settings.MembersSeeSessions {
			s.restrictedPage(w, r)
			return nil
		}
		return h(s, w, r)
	}
}

func (s *Server) restrictedPage(w *request, r *http.Request) {
	acct := w.principal.Account.Name
	page := &pages.RestrictedPage{Layout: s.layout(w, r, "Sessions page restricted"),
		Heading: "Your Sessions page is restricted",
		Message: "An administrator of " + acct + " restricted the Sessions page for members of this account. " +
			"To see where you are signed in, or to sign out a device, ask an administrator of " + acct + ".",
		Links: memberLinks(w.principal)}
	s.render(w, r, http.StatusForbidden, page)
}

// adminOnlyPage answers a member who opened one of the Team pages, which
// only the account's administrators may: what their role allows and where
// to go instead, rather than a bare "permission denied".
func (s *Server) adminOnlyPage(w *request, r *http.Request) {
	p := w.principal
	acct := p.Account.Name
	page := &pages.RestrictedPage{Layout: s.layout(w, r, "For administrators only"),
		Heading: "This page is for administrators",
		Message: "Only administrators of " + acct + " can open this page. You are signed in as " + p.User.Email +
			", a member: People, Team sessions, Session settings, API keys, the webhook and the audit log are " +
			"managed by the administrators. If something there needs to change, ask one of them.",
		Links: memberLinks(p)}
	s.render(w, r, http.StatusForbidden, page)
}

// memberLinks are the pages a member may always open, for the restricted
// pages to send them on.
func memberLinks(p *doorman.Principal) []pages.NavItem {
	var out []pages.NavItem
	if p.User.IsAdmin() || p.Account.Settings.MembersSeeSessions {
		out = append(out, pages.NavItem{Label: "Review where you are signed in", Href: pages.PathSessions})
	}
	return append(out,
		pages.NavItem{Label: "Change your password", Href: pages.PathPassword},
		pages.NavItem{Label: "Two-factor authentication", Href: pages.PathTwoFactor})
}
