package http

import (
	"net/http"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// userJSON is the user object of the API.
type userJSON struct {
	ID        string       `json:"id"`
	Email     string       `json:"email"`
	Name      string       `json:"name"`
	Role      doorman.Role `json:"role"`
	AccountID string       `json:"account_id"`
}

func (v *userJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"email":`...)
	b = appendString(b, v.Email)
	b = append(b, `,"name":`...)
	b = appendString(b, v.Name)
	b = append(b, `,"role":`...)
	b = appendString(b, string(v.Role))
	b = append(b, `,"account_id":`...)
	b = appendString(b, v.AccountID)
	return append(b, '}')
}

func newUserJSON(u *doorman.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, AccountID: u.AccountID}
}

type loginRequest struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	RememberMe bool   `json:"remember_me"`
	// TOTPCode is the two-factor code, or a recovery code, of a user with
	// two-factor authentication: without one the answer is 401
	// totp_required.
	TOTPCode string `json:"totp_code"`
}

type loginResponse struct {
	Token   string      `json:"token"`
	Session sessionJSON `json:"session"`
	User    userJSON    `json:"user"`
}

func (v *loginResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"token":`...)
	b = appendString(b, v.Token)
	b = append(b, `,"session":`...)
	b = v.Session.appendJSON(b)
	b = append(b, `,"user":`...)
	b = v.User.appendJSON(b)
	return append(b, '}')
}

// login is POST /api/v1/login: a new session with a new token, in the body
// and in the cookie. Unknown emails and wrong passwords get the same 401.
func (s *Server) login(w *request, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	m := s.meta(w, r)
	m.DeviceKey = s.deviceKey(w, r)
	token, p, err := s.svc.SignIn(r.Context(), app.SignInRequest{Email: req.Email, Password: req.Password,
		RememberMe: req.RememberMe, TOTPCode: req.TOTPCode, Meta: m})
	if err != nil {
		return err
	}
	s.writeSignedIn(w, token, p)
	return nil
}

// writeSignedIn answers a new session as POST /api/v1/login does: the
// cookie, and the token, session and user in the body.
func (s *Server) writeSignedIn(w *request, token string, p *doorman.Principal) {
	w.principal = p
	s.setSessionCookie(w, token, p)
	writeJSON(w, http.StatusOK, &loginResponse{Token: token,
		Session: newSessionJSON(p.Session, true, p.Account.Settings, s.now()), User: newUserJSON(p.User)})
}

// logout is POST /api/v1/logout: the current session ends and the cookie
// goes.
func (s *Server) logout(w *request, r *http.Request) error {
	if err := s.svc.SignOut(r.Context(), w.principal, s.meta(w, r)); err != nil {
		return err
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type whoamiResponse struct {
	Session sessionJSON `json:"session"`
	User    userJSON    `json:"user"`
}

func (v *whoamiResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"session":`...)
	b = v.Session.appendJSON(b)
	b = append(b, `,"user":`...)
	b = v.User.appendJSON(b)
	return append(b, '}')
}

// whoami is GET /api/v1/whoami, the session check host applications call
// on every request.
func (s *Server) whoami(w *request, r *http.Request) error {
	p := w.principal
	if p.APIKey != nil {
		s.keyWhoami(w)
		return nil
	}
	v := whoamiResponse{Session: newSessionJSON(p.Session, true, p.Account.Settings, s.now()), User: newUserJSON(p.User)}
	// Appended directly rather than through writeJSON's interface, so that
	// the answer stays on the stack.
	bp := bufPool.Get().(*[]byte)
	writeBody(w, http.StatusOK, bp, v.appendJSON((*bp)[:0]))
	return nil
}
