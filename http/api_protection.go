package http

import (
	"net/http"

	"github.com/doorman/doorman/app"
)

// signOutAll is POST /api/v1/sessions/sign-out-all: every session of the
// user ends, this one included, and the cookie goes.
func (s *Server) signOutAll(w *request, r *http.Request) error {
	var req passwordOnly
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	n, err := s.svc.SignOutAll(r.Context(), w.principal, s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	s.clearCookie(w)
	writeJSON(w, http.StatusOK, signedOutResponse{SignedOut: n})
	return nil
}

// passwordOnly is the optional body of a sensitive action that needs
// nothing else.
type passwordOnly struct {
	// Password re-authenticates a session signed in over 15 minutes ago.
	Password string `json:"password"`
	// TOTPCode goes with Password for a user with two-factor authentication.
	TOTPCode string `json:"totp_code"`
}

// proofMeta is the request's Meta with the re-authentication its body
// carries, for a sensitive action: the Service answers 403 reauth_required
// unless the session proved its password in the last 15 minutes or the
// body proves it now.
func (s *Server) proofMeta(w *request, r *http.Request, password, code string) app.Meta {
	m := s.meta(w, r)
	m.Proof = app.Proof{Password: password, Code: code}
	return m
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// SignOutOthers defaults to true, as the page's box does.
	SignOutOthers *bool `json:"sign_out_others"`
}

type passwordResponse struct {
	// Token replaces the caller's: the session was rotated.
	Token     string      `json:"token"`
	Session   sessionJSON `json:"session"`
	SignedOut int         `json:"signed_out"`
}

// changePassword is POST /api/v1/password. The current session gets a new
// token, in the answer and in the cookie; the old one stops working.
func (s *Server) changePassword(w *request, r *http.Request) error {
	var req passwordRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	others := req.SignOutOthers == nil || *req.SignOutOthers
	m := s.meta(w, r)
	token, p, n, err := s.svc.ChangePassword(r.Context(), w.principal, app.ChangePasswordRequest{
		CurrentPassword: req.CurrentPassword, NewPassword: req.NewPassword, SignOutOthers: others, Meta: m})
	if err != nil {
		return err
	}
	w.principal = p
	s.setSessionCookie(w, token, p)
	writeJSON(w, http.StatusOK, &passwordResponse{Token: token,
		Session: newSessionJSON(p.Session, true, p.Account.Settings, s.now()), SignedOut: n})
	return nil
}
