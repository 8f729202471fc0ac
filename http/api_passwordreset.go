package http

import (
	"net/http"
)

// Forgot password, for API clients; the pages are in ui_passwordreset.go.

type forgotRequest struct {
	Email string `json:"email"`
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// emptyObject is the body `{}`.
type emptyObject struct{}

func (emptyObject) appendJSON(b []byte) []byte { return append(b, "{}"...) }

// forgotPassword is POST /api/v1/password/forgot: 202 {} for every well-
// formed email, known or not, throttled or not, at once; the link, if any,
// is mailed in the background (Service.RequestPasswordReset).
func (s *Server) forgotPassword(w *request, r *http.Request) error {
	var req forgotRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.svc.RequestPasswordReset(req.Email, s.meta(w, r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, emptyObject{})
	return nil
}

// resetPassword is POST /api/v1/password/reset: the link's token and the new
// password; 200 {} once every session of the user has ended, 400 invalid for
// a link unknown, used or expired, or a password the rules refuse.
func (s *Server) resetPassword(w *request, r *http.Request) error {
	var req resetRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := s.svc.ResetPassword(r.Context(), req.Token, req.Password, s.meta(w, r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, emptyObject{})
	return nil
}
