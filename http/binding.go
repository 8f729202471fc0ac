package http

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// Device Bound Session Credentials (W3C DBSC; app/service_binding.go). Over
// HTTPS only, the answer to a successful sign-in form offers the browser a
// registration (Secure-Session-Registration). A browser that supports DBSC
// posts a proof signed with a new device key to pathBindRegister and gets
// the session configuration and a short-lived bound cookie; before that
// cookie expires it asks pathBindRefresh for another, answering a
// challenge with the same key. Browsers without DBSC never call either and
// keep working as before. Neither endpoint is part of the JSON API: the
// browser alone speaks to them.

const (
	pathBindRegister = "/dbsc/register"
	pathBindRefresh  = "/dbsc/refresh"
)

// Names of the DBSC headers.
const (
	headerRegistration = "Secure-Session-Registration"
	headerResponse     = "Secure-Session-Response"
	headerChallenge    = "Secure-Session-Challenge"
	headerSessionID    = "Sec-Secure-Session-Id"
)

var bindingRoutes = []Route{
	{"POST", pathBindRegister, "Bind session to device"},
	{"POST", pathBindRefresh, "Refresh device binding"},
}

func bindingPatterns() []string {
	out := make([]string, len(bindingRoutes))
	for i, rt := range bindingRoutes {
		out[i] = rt.Pattern()
	}
	return out
}

// mountBinding registers the DBSC endpoints. They carry no session cookie
// check and no cross-origin check of their own: what they accept is a
// signature by the device key, which no other site can make.
func (s *Server) mountBinding() {
	handlers := []func(*request, *http.Request) error{s.bindRegister, s.bindRefresh}
	for i, rt := range bindingRoutes {
		h := handlers[i]
		s.mux.Handle(rt.Pattern(), &marker{m: s.metrics.route(rt.Pattern()), next: http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) {
				rq := asRequest(w)
				if err := h(rq, r); err != nil {
					s.writeError(rq, r, err)
				}
			})})
	}
}

// keepsCookie reports whether a refusal leaves the session cookie in place:
// a bound session whose bound cookie expired is still valid, and its
// browser gets a new bound cookie by a refresh. Behind a forward-auth proxy
// the Set-Cookie of a refusal reaches the browser too.
func keepsCookie(err error) bool {
	var e *doorman.Error
	return errors.As(err, &e) && e.Reason == doorman.ReasonDeviceProofRequired
}

// boundCookieName is the bound cookie's name, prefixed as the session
// cookie's is.
func (s *Server) boundCookieName() string {
	switch {
	case s.secure && s.cookieDomain != "":
		return "__Secure-doorman_bound"
	case s.secure:
		return "__Host-doorman_bound"
	}
	return "doorman_bound"
}

// boundCookieAttributes are the bound cookie's attributes but its lifetime:
// the Set-Cookie line and the session configuration's credentials say the
// same.
func (s *Server) boundCookieAttributes() string {
	a := "Path=/; Secure; HttpOnly; SameSite=Lax"
	if s.cookieDomain != "" {
		a = "Domain=" + s.cookieDomain + "; " + a
	}
	return a
}

// boundCookieSkew is at most how much earlier than the server the browser
// drops a bound cookie, so that it refreshes before sending one the server
// would refuse as expired (the answer takes time to arrive).
const boundCookieSkew = 30 * time.Second

// setBoundCookie sends the bound cookie c.
func (s *Server) setBoundCookie(rq *request, c app.BoundCookie) {
	age := c.TTL - min(c.TTL/10, boundCookieSkew)
	if age < time.Second {
		age = time.Second
	}
	rq.Header().Add("Set-Cookie", s.boundCookieName()+"="+c.Value+"; "+s.boundCookieAttributes()+
		"; Max-Age="+strconv.Itoa(int(age/time.Second)))
}

// offerBinding adds to the answer of a successful sign-in the offer to bind
// the new session to a device key. Only over HTTPS, as DBSC requires; a
// failure to make the offer is logged and the sign-in goes on unbound.
func (s *Server) offerBinding(rq *request, r *http.Request, p *doorman.Principal) {
	if !s.secure {
		return
	}
	c, err := s.svc.OfferBinding(r.Context(), p)
	if err != nil {
		s.log.Warn("device binding not offered", "request_id", rq.id, "session_id", p.Session.ID, "err", err)
		return
	}
	rq.Header().Set(headerRegistration, `(ES256);path="`+pathBindRegister+`";challenge="`+c+`"`)
}

// sessionConfig is the DBSC session configuration (session instructions).
type sessionConfig struct {
	SessionIdentifier string              `json:"session_identifier"`
	RefreshURL        string              `json:"refresh_url"`
	Scope             sessionScope        `json:"scope"`
	Credentials       []sessionCredential `json:"credentials"`
}

type sessionScope struct {
	Origin      string `json:"origin"`
	IncludeSite bool   `json:"include_site"`
}

type sessionCredential struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Attributes string `json:"attributes"`
}

// writeSessionConfig answers a registration or refresh with the bound
// cookie and the session configuration.
func (s *Server) writeSessionConfig(rq *request, sess *doorman.Session, c app.BoundCookie) {
	s.setBoundCookie(rq, c)
	cfg := sessionConfig{SessionIdentifier: sess.ID, RefreshURL: pathBindRefresh,
		Credentials: []sessionCredential{{Type: "cookie", Name: s.boundCookieName(), Attributes: s.boundCookieAttributes()}}}
	if u := s.cfg.BaseURL; u != nil {
		cfg.Scope.Origin = u.Scheme + "://" + u.Host
		// The whole site only when Doorman's host is the cookies' domain:
		// DBSC allows include_site only for a site's root host.
		cfg.Scope.IncludeSite = s.cookieDomain != "" && s.cookieDomain == u.Hostname()
	}
	writeJSON(rq, http.StatusOK, &cfg)
}

// bindRegister is POST /dbsc/register: the browser's registration proof.
func (s *Server) bindRegister(w *request, r *http.Request) error {
	if !s.secure {
		return errNoRoute
	}
	token := cookieValue(r.Header["Cookie"], s.cookieName)
	p, c, err := s.svc.RegisterBinding(r.Context(), r.Header.Get(headerResponse), token, s.meta(w, r))
	if err != nil {
		return err
	}
	w.principal = p
	s.writeSessionConfig(w, p.Session, c)
	return nil
}

// bindRefresh is POST /dbsc/refresh: a bound browser asks for a new bound
// cookie. Without a proof, or with one of a stale challenge, it gets 403
// with a challenge to sign; with a good proof the cookie; for a session
// that ended, {"continue": false}, which ends the binding in the browser.
func (s *Server) bindRefresh(w *request, r *http.Request) error {
	if !s.secure {
		return errNoRoute
	}
	sid := r.Header.Get(headerSessionID)
	res, err := s.svc.RefreshBinding(r.Context(), sid, r.Header.Get(headerResponse), s.meta(w, r))
	if err != nil {
		return err
	}
	switch {
	case res.End:
		writeJSON(w, http.StatusOK, struct {
			Continue bool `json:"continue"`
		}{false})
	case res.Challenge != "":
		w.Header().Set(headerChallenge, `"`+res.Challenge+`";id="`+sid+`"`)
		writeJSON(w, http.StatusForbidden, struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{"challenge", "Sign the challenge with the session's device key"})
	default:
		w.principal = res.Principal
		s.writeSessionConfig(w, res.Principal.Session, *res.Cookie)
	}
	return nil
}
