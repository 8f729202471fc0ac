package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// teamUserJSON is one user of GET /api/v1/team/users, and the "user" of
// the answers that change one.
type teamUserJSON struct {
	UserID    string             `json:"user_id"`
	Email     string             `json:"email"`
	Name      string             `json:"name"`
	Role      doorman.Role       `json:"role"`
	Status    doorman.UserStatus `json:"status"` // active | invited | disabled
	TwoFactor bool               `json:"two_factor"`
	CreatedAt time.Time          `json:"created_at"`
	// LastActiveAt is null for a user without active sessions.
	LastActiveAt   *time.Time `json:"last_active_at"`
	ActiveSessions int        `json:"active_sessions"`
}

func newTeamUserJSON(p app.TeamPerson) teamUserJSON {
	u := p.User
	v := teamUserJSON{UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Status: u.Status(), TwoFactor: p.TwoFactor,
		CreatedAt: u.CreatedAt.UTC(), ActiveSessions: p.Sessions}
	if p.LastActiveAt != nil {
		t := p.LastActiveAt.UTC()
		v.LastActiveAt = &t
	}
	return v
}

type teamUsersResponse struct {
	Users []teamUserJSON `json:"users"`
}

// teamUsersList is GET /api/v1/team/users: every user of the account (but
// the removed), by email, with status, two-factor state and active
// sessions.
func (s *Server) teamUsersList(w *request, r *http.Request) error {
	people, err := s.svc.TeamPeople(r.Context(), w.principal)
	if err != nil {
		return err
	}
	out := teamUsersResponse{Users: make([]teamUserJSON, 0, len(people))}
	for _, p := range people {
		out.Users = append(out.Users, newTeamUserJSON(p))
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

type inviteRequest struct {
	Email string       `json:"email"`
	Role  doorman.Role `json:"role"`
	Name  string       `json:"name"`
	// Password re-authenticates a session signed in over 15 minutes ago.
	Password string `json:"password"`
	// TOTPCode goes with Password for a user with two-factor authentication.
	TOTPCode string `json:"totp_code"`
}

type inviteResponse struct {
	User      teamUserJSON `json:"user"`
	InviteURL string       `json:"invite_url"`
	// EmailSent says whether the invitation went out by email; when it did
	// not (no SMTP, or the server refused it) the admin hands the link over.
	EmailSent bool `json:"email_sent"`
}

// inviteUser is POST /api/v1/team/users: an invited user and the link that
// lets them in, emailed when SMTP is set. The link is in the answer this
// once; only its hash is stored.
func (s *Server) inviteUser(w *request, r *http.Request) error {
	var req inviteRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	inv, err := s.svc.InviteUser(r.Context(), w.principal, app.InviteRequest{Email: req.Email, Role: req.Role, Name: req.Name},
		s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	s.writeInvite(w, r, http.StatusCreated, inv)
	return nil
}

// resendInvitation is POST /api/v1/team/users/{user_id}/invitation: a new
// link for an invited user; the old one stops working.
func (s *Server) resendInvitation(w *request, r *http.Request) error {
	var req passwordOnly
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	inv, err := s.svc.ResendInvitation(r.Context(), w.principal, r.PathValue("user_id"), s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	s.writeInvite(w, r, http.StatusOK, inv)
	return nil
}

func (s *Server) writeInvite(w *request, r *http.Request, status int, inv *app.Invite) {
	// The answer holds a secret: no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, &inviteResponse{User: newTeamUserJSON(app.TeamPerson{User: inv.User}),
		InviteURL: s.absoluteURL(r, inv.URL), EmailSent: inv.Emailed})
}

// absoluteURL makes a link the service built without knowing its public
// URL (a path) absolute: from BaseURL, else from the request's host.
func (s *Server) absoluteURL(r *http.Request, link string) string {
	if !strings.HasPrefix(link, "/") {
		return link
	}
	if u := s.cfg.BaseURL; u != nil && u.Host != "" {
		return strings.TrimRight(u.String(), "/") + link
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + link
}

type userPatchRequest struct {
	Role     *doorman.Role `json:"role"`
	Disabled *bool         `json:"disabled"`
	Name     *string       `json:"name"`
	Reason   string        `json:"reason"`
	Password string        `json:"password"`
	TOTPCode string        `json:"totp_code"`
}

type userResponse struct {
	User teamUserJSON `json:"user"`
}

// patchTeamUser is PATCH /api/v1/team/users/{user_id}: role, disabled,
// name. A reason is required to disable or demote; disabling ends every
// session of the user; the last active admin stays (409).
func (s *Server) patchTeamUser(w *request, r *http.Request) error {
	var req userPatchRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := s.svc.UpdateTeamUser(r.Context(), w.principal, r.PathValue("user_id"),
		app.UserChange{Role: req.Role, Disabled: req.Disabled, Name: req.Name, Reason: req.Reason}, s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &userResponse{User: s.teamUserOf(r, w.principal, u)})
	return nil
}

// teamUserOf returns the team row of u, with its sessions when they can be
// read; the change is done either way.
func (s *Server) teamUserOf(r *http.Request, p *doorman.Principal, u *doorman.User) teamUserJSON {
	if people, err := s.svc.TeamPeople(r.Context(), p); err == nil {
		for _, tp := range people {
			if tp.User.ID == u.ID {
				return newTeamUserJSON(tp)
			}
		}
	}
	return newTeamUserJSON(app.TeamPerson{User: u})
}

// deleteTeamUser is DELETE /api/v1/team/users/{user_id}: every session of
// the user ends, a reason is required, and the last active admin stays
// (409). An invited user's invitation is revoked.
func (s *Server) deleteTeamUser(w *request, r *http.Request) error {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.svc.RemoveTeamUser(r.Context(), w.principal, r.PathValue("user_id"), req.Reason, s.proofMeta(w, r, req.Password, req.TOTPCode)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type acceptRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// acceptInvitation is POST /api/v1/invitations/accept: the holder of an
// invitation sets a password (and name) and is signed in, answered as
// POST /api/v1/login is.
func (s *Server) acceptInvitation(w *request, r *http.Request) error {
	var req acceptRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m := s.meta(w, r)
	m.DeviceKey = s.deviceKey(w, r)
	token, p, err := s.svc.AcceptInvitation(r.Context(), app.AcceptRequest{Token: req.Token, Name: req.Name, Password: req.Password, Meta: m})
	if err != nil {
		return err
	}
	s.writeSignedIn(w, token, p)
	return nil
}
