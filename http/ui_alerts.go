package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/doorman/doorman"
	pages "github.com/doorman/doorman/http/html"
)

// The "This wasn't me" link of a sign-in alert email: GET /alerts/{token}
// shows what signed in and a button; only the button's POST acts, since
// mail scanners and link previews open every link in a message. The person
// need not be signed in (they may be locked out). The token is a secret:
// the access log and error logs never see it (logPath), and the pages ask
// browsers not to pass their address on (Referrer-Policy: no-referrer).

var noReferrer = []string{"no-referrer"}

// alertFormToken ties the button's form to the link: an HMAC keyed with the
// token's hash. A cross-site page cannot post the form without the token
// (which would already be enough to act), and http.CrossOriginProtection
// refuses cross-origin posts before this is checked; the form token keeps
// the pages' one rule that every form carries one.
func alertFormToken(token string) string {
	m := hmac.New(sha256.New, doorman.HashToken(token))
	m.Write([]byte("doorman alert form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) alertLayout(w *request, r *http.Request, title string) pages.Layout {
	l := s.layout(w, r, title)
	l.NoReferrer = true
	return l
}

// alertPage is GET /alerts/{token}: the sign-in and the button, or "This
// link was already used or has expired". It changes nothing.
func (s *Server) alertPage(w *request, r *http.Request) error {
	w.Header()["Referrer-Policy"] = noReferrer
	token := r.PathValue("token")
	_, ev, err := s.svc.AlertLink(r.Context(), token)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		s.render(w, r, http.StatusNotFound, &pages.AlertPage{Layout: s.alertLayout(w, r, "Link expired"), State: "gone",
			PasswordHref: pages.PathSessions})
		return nil
	}
	if err != nil {
		return err
	}
	sess := ev.Session
	p := &pages.AlertPage{Layout: s.alertLayout(w, r, "Was this you?"), State: "confirm",
		Action: pages.PathAlerts + token, FormToken: alertFormToken(token),
		Device: sess.Label, Place: sess.Location.Label, IP: sess.IP, Email: ev.User.Email,
		Time: sess.CreatedAt.UTC().Format("Monday, 2 January 2006 at 15:04 UTC"), TimeISO: sess.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	if p.IP == "" {
		p.IP = "Unknown"
	}
	_, p.Reasons = sess.RiskWords()
	p.Risk = pages.RiskLevel(sess.Risk.Level)
	s.render(w, r, http.StatusOK, p)
	return nil
}

// alertSubmit is POST /alerts/{token}: signs the session out (once) and
// asks for a password change.
func (s *Server) alertSubmit(w *request, r *http.Request) error {
	w.Header()["Referrer-Policy"] = noReferrer
	token := r.PathValue("token")
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	if got := r.PostForm.Get("csrf"); got == "" || !hmac.Equal([]byte(got), []byte(alertFormToken(token))) {
		return errFormToken
	}
	ev, err := s.svc.ReportAlert(r.Context(), token, s.meta(w, r))
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		s.render(w, r, http.StatusNotFound, &pages.AlertPage{Layout: s.alertLayout(w, r, "Link expired"), State: "gone",
			PasswordHref: pages.PathSessions})
		return nil
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.AlertPage{Layout: s.alertLayout(w, r, "Session signed out"), State: "done",
		Device: ev.Session.Label, Place: ev.Session.Location.Label, Email: ev.User.Email,
		PasswordHref: pages.PathPassword})
	return nil
}

// logPath is the request's path as logs may show it: the token of an alert
// link, a password reset link or an invitation link is replaced, since
// whoever reads the logs could otherwise use it.
func logPath(r *http.Request) string {
	p := r.URL.Path
	if strings.HasPrefix(p, pages.PathAlerts) {
		return pages.PathAlerts + "[redacted]"
	}
	if strings.HasPrefix(p, pages.PathPasswordReset) {
		return pages.PathPasswordReset + "[redacted]"
	}
	if isInvitePath(p) {
		return pages.PathInvite + "[redacted]"
	}
	return p
}
