package http

import (
	"net/http"
	"strings"
)

// verify is GET /auth/verify, the forward-auth check of nginx auth_request
// (and GET /auth/forward's answer when signed in): 200 with the user in
// headers and no body when the request's session is valid, 401 when it is
// not, 503 when the store cannot say. The headers include an assertion of
// the same facts, signed (X-Doorman-Assertion), for the app to check
// against /.well-known/jwks.json; its audience is the app's host when a
// trusted proxy names it in X-Forwarded-Host. Being a GET, it is outside
// the cross-origin check; it changes nothing but the session's activity.
func (s *Server) verify(w *request, r *http.Request) error {
	p := w.principal
	aud := ""
	if w.trusted {
		if host := strings.ToLower(r.Header.Get("X-Forwarded-Host")); forwardedHostValid(host) {
			aud = host
		}
	}
	assertion, err := s.svc.Assertion(r.Context(), p, s.issuer, aud)
	if err != nil {
		return err
	}
	if page := s.forwardedPage(w, r); page != "" {
		s.svc.RecordPage(p.Session.ID, page)
	}
	h := w.Header()
	h["X-Doorman-Assertion"] = []string{assertion}
	h["X-Doorman-User-Id"] = []string{p.User.ID}
	h["X-Doorman-User-Email"] = []string{p.User.Email}
	h["X-Doorman-Session-Id"] = []string{p.Session.ID}
	h["X-Doorman-User-Role"] = []string{string(p.User.Role)}
	h["X-Doorman-Account-Id"] = []string{p.Account.ID}
	w.WriteHeader(http.StatusOK)
	return nil
}

// forwardedPage is the path of the host application's page that a trusted
// proxy is checking (X-Forwarded-Uri from Traefik and Caddy, X-Original-Uri
// as nginx configurations name it), shown as the session's last page. The
// query is dropped: it may carry secrets.
func (s *Server) forwardedPage(rq *request, r *http.Request) string {
	if !rq.trusted {
		return ""
	}
	uri := r.Header.Get("X-Forwarded-Uri")
	if uri == "" {
		uri = r.Header.Get("X-Original-Uri")
	}
	uri, _, _ = strings.Cut(uri, "?")
	uri, _, _ = strings.Cut(uri, "#")
	if !strings.HasPrefix(uri, "/") {
		return ""
	}
	return uri
}

// jwks is GET /.well-known/jwks.json: the public keys that sign
// X-Doorman-Assertion. Apps may cache it for a few minutes: a new key is
// published ten minutes before it signs.
func (s *Server) jwks(w *request, r *http.Request) error {
	b, err := s.svc.JWKS(r.Context())
	if err != nil {
		return err
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Cache-Control"] = []string{"public, max-age=300"}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}
