package http

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// adminOnly wraps the handler of an administrator's endpoint or page. A
// member gets 403 before the handler reads anything, whatever the request
// holds; the Service enforces the same rule below it.
func adminOnly(h handler) handler {
	return func(s *Server, w *request, r *http.Request) error {
		if p := w.principal; p == nil || !p.User.IsAdmin() {
			if w.page && p != nil {
				// A member who followed a link (or signed in on the way)
				// to a Team page is told why it is not theirs, and where to go.
				s.adminOnlyPage(w, r)
				return nil
			}
			return errAdminOnly
		}
		return h(s, w, r)
	}
}

// errAdminOnly answers an API call of a member.
var errAdminOnly = &doorman.Error{Code: doorman.EFORBIDDEN, Message: "only administrators of this account can use this endpoint"}

// paging reads the limit and offset query parameters of an API list:
// limit 0 when absent, for the service's default.
func paging(q url.Values, maxLimit int) (limit, offset int, err error) {
	if v := q.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > maxLimit {
			return 0, 0, doorman.Errorf(doorman.EINVALID, "limit must be a whole number from 1 to %d", maxLimit)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 {
			return 0, 0, doorman.Errorf(doorman.EINVALID, "offset must be a whole number, 0 or more")
		}
		offset = n
	}
	return limit, offset, nil
}

// teamMemberJSON is one line of GET /api/v1/team/sessions.
type teamMemberJSON struct {
	UserID   string       `json:"user_id"`
	Email    string       `json:"email"`
	Name     string       `json:"name"`
	Role     doorman.Role `json:"role"`
	Sessions int          `json:"sessions"`
	// LastActiveAt is null for a member without active sessions.
	LastActiveAt *time.Time `json:"last_active_at"`
	// Flagged marks a member with an active session the risk checks flag.
	Flagged bool `json:"flagged"`
	// TwoFactor is whether the member has two-factor authentication on.
	TwoFactor bool `json:"two_factor"`
}

type teamSessionsResponse struct {
	Users       []teamMemberJSON `json:"users"`
	TotalActive int              `json:"total_active"`
	TotalUsers  int              `json:"total_users"`
	Limit       int              `json:"limit"`
	Offset      int              `json:"offset"`
}

// teamSessions is GET /api/v1/team/sessions?user=EMAIL: every member of the
// account with how many active sessions they have and when they were last
// active, a page at a time.
func (s *Server) teamSessions(w *request, r *http.Request) error {
	q := r.URL.Query()
	limit, offset, err := paging(q, app.MaxTeamLimit)
	if err != nil {
		return err
	}
	members, users, active, err := s.svc.TeamSessions(r.Context(), w.principal,
		doorman.TeamFilter{Email: q.Get("user"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := teamSessionsResponse{Users: make([]teamMemberJSON, 0, len(members)), TotalActive: active,
		TotalUsers: users, Limit: limit, Offset: offset}
	if out.Limit == 0 {
		out.Limit = app.DefaultTeamLimit
	}
	for _, m := range members {
		v := teamMemberJSON{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Role: m.User.Role,
			Sessions: m.Sessions, Flagged: m.Flagged, TwoFactor: m.TwoFactor}
		if m.LastActiveAt != nil {
			t := m.LastActiveAt.UTC()
			v.LastActiveAt = &t
		}
		out.Users = append(out.Users, v)
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

type teamUserSessionsResponse struct {
	User     userJSON      `json:"user"`
	Sessions []sessionJSON `json:"sessions"`
}

// teamUserSessions is GET /api/v1/team/users/{user_id}/sessions: one
// member's active sessions, as their own list shows them; current is true
// only for the caller's own session. Another account's user is 404.
func (s *Server) teamUserSessions(w *request, r *http.Request) error {
	p := w.principal
	u, list, err := s.svc.TeamUserSessions(r.Context(), p, r.PathValue("user_id"))
	if err != nil {
		return err
	}
	now := s.now()
	out := teamUserSessionsResponse{User: newUserJSON(u), Sessions: make([]sessionJSON, 0, len(list))}
	for _, sess := range ownSessionFirst(list, p) {
		out.Sessions = append(out.Sessions, newSessionJSON(sess, sess.ID == p.SessionID(), p.Account.Settings, now))
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

// ownSessionFirst puts the caller's current session, when listed, first and
// in its freshest state (the request's own), keeping the others' order.
func ownSessionFirst(list []*doorman.Session, p *doorman.Principal) []*doorman.Session {
	out := make([]*doorman.Session, 0, len(list))
	for _, sess := range list {
		if sess.ID == p.SessionID() {
			out = append([]*doorman.Session{p.Session}, out...)
			continue
		}
		out = append(out, sess)
	}
	return out
}

// reasonRequest is the body of the forced sign-outs.
type reasonRequest struct {
	Reason string `json:"reason"`
	// Password re-authenticates a session signed in over 15 minutes ago.
	Password string `json:"password"`
	// TOTPCode goes with Password for a user with two-factor authentication.
	TOTPCode string `json:"totp_code"`
}

// forceSignOut is POST /api/v1/team/users/{user_id}/sign-out: every session
// of that member ends at its next request, audited with the reason, which
// is required.
func (s *Server) forceSignOut(w *request, r *http.Request) error {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	_, n, err := s.svc.ForceSignOut(r.Context(), w.principal, r.PathValue("user_id"), req.Reason,
		s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signedOutResponse{SignedOut: n})
	return nil
}

// signOutTeam is POST /api/v1/team/sessions/sign-out-all: every session of
// the account but the caller's current one.
func (s *Server) signOutTeam(w *request, r *http.Request) error {
	var req reasonRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n, err := s.svc.SignOutTeam(r.Context(), w.principal, req.Reason,
		s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, signedOutResponse{SignedOut: n})
	return nil
}
