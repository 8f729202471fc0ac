package http

import (
	"net/http"

	"github.com/doorman/doorman"
)

// settingsJSON is an account's session settings as the API shows them.
type settingsJSON struct {
	IdleTimeout       doorman.IdleTimeout `json:"idle_timeout"`
	RememberMeAllowed bool                `json:"remember_me_allowed"`
	RememberMeDays    int                 `json:"remember_me_days"`
	// MembersSeeSessions lets members open their Sessions page and API.
	MembersSeeSessions bool `json:"members_see_sessions"`
	// EndSessionOnFailedProof ends a device-bound session whose device
	// proof fails.
	EndSessionOnFailedProof bool `json:"end_session_on_failed_proof"`
}

func newSettingsJSON(set doorman.Settings) settingsJSON {
	return settingsJSON{IdleTimeout: set.IdleTimeout, RememberMeAllowed: set.RememberMeAllowed,
		RememberMeDays: set.RememberMeDays, MembersSeeSessions: set.MembersSeeSessions,
		EndSessionOnFailedProof: set.EndSessionOnFailedProof}
}

// settingsUpdate is the body of PUT: the contract's three fields are
// required, since PUT replaces the settings. members_see_sessions and
// end_session_on_failed_proof came later: clients written before them leave
// them out, which keeps their values.
type settingsUpdate struct {
	IdleTimeout        *string `json:"idle_timeout"`
	RememberMeAllowed  *bool   `json:"remember_me_allowed"`
	RememberMeDays     *int    `json:"remember_me_days"`
	MembersSeeSessions *bool   `json:"members_see_sessions"`
	// EndSessionOnFailedProof, when sent, replaces the setting.
	EndSessionOnFailedProof *bool `json:"end_session_on_failed_proof"`
	// Password re-authenticates a session signed in over 15 minutes ago.
	Password string `json:"password"`
	// TOTPCode goes with Password for a user with two-factor authentication.
	TOTPCode string `json:"totp_code"`
}

// getSettings is GET /api/v1/settings/sessions; every member may read them.
func (s *Server) getSettings(w *request, r *http.Request) error {
	writeJSON(w, http.StatusOK, newSettingsJSON(w.principal.Account.Settings))
	return nil
}

// putSettings is PUT /api/v1/settings/sessions, for admins. The new
// settings apply to every existing session on its next request.
func (s *Server) putSettings(w *request, r *http.Request) error {
	p := w.principal
	// Answer a member 403 whatever the body says; the Service enforces the
	// same rule.
	if !p.User.IsAdmin() {
		return doorman.Errorf(doorman.EFORBIDDEN, "only an administrator can change session settings")
	}
	var req settingsUpdate
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	switch {
	case req.IdleTimeout == nil:
		return doorman.Errorf(doorman.EINVALID, "idle_timeout is required")
	case req.RememberMeAllowed == nil:
		return doorman.Errorf(doorman.EINVALID, "remember_me_allowed is required")
	case req.RememberMeDays == nil:
		return doorman.Errorf(doorman.EINVALID, "remember_me_days is required")
	}
	set := doorman.Settings{IdleTimeout: doorman.IdleTimeout(*req.IdleTimeout),
		RememberMeAllowed: *req.RememberMeAllowed, RememberMeDays: *req.RememberMeDays,
		MembersSeeSessions:      p.Account.Settings.MembersSeeSessions,
		EndSessionOnFailedProof: p.Account.Settings.EndSessionOnFailedProof}
	if req.MembersSeeSessions != nil {
		set.MembersSeeSessions = *req.MembersSeeSessions
	}
	if req.EndSessionOnFailedProof != nil {
		set.EndSessionOnFailedProof = *req.EndSessionOnFailedProof
	}
	acct, err := s.svc.UpdateSettings(r.Context(), p, p.Account.ID, set, s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newSettingsJSON(acct.Settings))
	return nil
}
