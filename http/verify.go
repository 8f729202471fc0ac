package http

import (
	"net/http"
	"strings"
)

// verify is GET /auth/verify, the forward-auth check of nginx auth_request,
// Caddy forward_auth and Traefik ForwardAuth: 200 with the user in headers
// and no body when the request's session is valid, 401 when it is not, 503
// when the store cannot say. Being a GET, it is outside the cross-origin
// check; it changes nothing but the session's activity.
func (s *Server) verify(w *request, r *http.Request) error {
	p := w.principal
	if page := s.forwardedPage(w, r); page != "" {
		s.svc.RecordPage(p.Session.ID, page)
	}
	h := w.Header()
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
