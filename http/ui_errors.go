package http

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	pages "github.com/doorman/doorman/http/html"
)

// pageError answers a page request with an error page. Status and the
// message people may see come from the one error table (errors.go), as for
// the API; internal errors are logged in full under the request id, which
// the page shows, and appear only as "something went wrong".
func (s *Server) pageError(rq *request, r *http.Request, err error) {
	status, _, msg := errorStatus(err)
	s.logFailure(rq, r, status, err)
	if rq.status != 0 {
		return // the answer has begun; the log line is all that is left
	}
	setRetryAfter(rq, err)
	if errors.Is(err, errNoRoute) {
		msg = "There is no page at this address."
	}
	s.writeErrorPage(rq, r, status, msg)
}

// writeErrorPage renders the error page for status. msg is shown for the
// statuses whose message is meant for people (400, 403, 404); the others
// have fixed words.
func (s *Server) writeErrorPage(rq *request, r *http.Request, status int, msg string) {
	p := &pages.ErrorPage{Layout: s.layout(rq, r, ""), Status: status, Message: sentence(msg),
		NextHref: pages.PathSessions, NextLabel: "Back to Sessions"}
	switch status {
	case http.StatusBadRequest:
		p.Heading = "That request could not be handled"
	case http.StatusForbidden:
		p.Heading = "You don't have permission to do that"
	case http.StatusNotFound:
		p.Heading = "Not found"
	case http.StatusMethodNotAllowed:
		p.Heading = "Not found"
		p.Message = "There is no page at this address for that kind of request."
	case http.StatusRequestEntityTooLarge:
		p.Heading = "Too much data"
		p.Message = "The form sent more data than Doorman accepts."
	case http.StatusTooManyRequests:
		p.Heading = "Too many requests"
		p.Message = "Wait a moment, then try again."
	case http.StatusServiceUnavailable:
		p.Heading = "Doorman is unavailable"
		p.Message = "Doorman cannot reach its database right now, so nothing can be shown or changed. Try again in a moment."
		rq.Header()["Retry-After"] = retryAfter
		p.NextHref, p.NextLabel = r.URL.RequestURI(), "Try again"
		if r.Method != http.MethodGet {
			p.NextHref, p.NextLabel = "", ""
		}
	default:
		p.Heading = "Something went wrong"
		p.Message = "Doorman met an unexpected error. Try again; if it keeps happening, give your administrator the request ID below."
	}
	if rq.principal == nil && status != http.StatusServiceUnavailable {
		p.NextHref, p.NextLabel = pages.PathLogin, "Go to sign in"
	}
	p.Title = p.Heading
	s.render(rq, r, status, p)
}

// pagePanic answers a page whose handler panicked; the middleware has
// logged the panic with its stack.
func (s *Server) pagePanic(rq *request, r *http.Request) {
	s.writeErrorPage(rq, r, http.StatusInternalServerError, "")
}

// wantsPage reports whether a request no route matched comes from a person
// browsing (who should see a page) rather than from an API client.
func wantsPage(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/auth/") &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// sentence starts msg with a capital and ends it with a full stop: the
// service writes its messages for both JSON and pages ("session not found").
func sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}
