package http

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// pathForward is GET /auth/forward, the forward-auth check of Caddy
// forward_auth and Traefik ForwardAuth. Signed in, it answers as
// /auth/verify does. Signed out, a browser's page navigation is sent to the
// sign-in page and, after it, back to the page it asked for; anything else
// (an API call, a form post, a script's fetch) gets 401, which a redirect to
// an HTML form would only confuse. Those proxies pass the answer on to the
// browser, so the redirect is the whole of the sign-in flow; nginx cannot,
// and keeps /auth/verify with its error_page.
const pathForward = "/auth/forward"

// forwardToSignIn answers a signed-out /auth/forward request with 302 to
// the sign-in page when it is a trusted proxy's check of a browser's page
// navigation, and reports whether it did. A store that could not decide is
// never taken for "signed out".
func (s *Server) forwardToSignIn(rq *request, r *http.Request, err error) bool {
	if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED || app.IsUnavailable(err) || !rq.trusted {
		return false
	}
	method := r.Method
	if m := r.Header.Get("X-Forwarded-Method"); m != "" {
		// Both proxies ask with GET whatever the browser's method was, and
		// say which it was here.
		method = strings.ToUpper(m)
	}
	if method != http.MethodGet && method != http.MethodHead || !acceptsHTML(r.Header.Values("Accept")) {
		return false
	}
	orig := forwardedURL(r)
	if orig == "" {
		return false
	}
	to := pages.PathLogin + "?next=" + url.QueryEscape(orig)
	if b := s.cfg.BaseURL; b != nil && b.Host != "" {
		// The browser is on the app's host: only an absolute URL brings it
		// to Doorman's.
		to = strings.TrimSuffix(b.Scheme+"://"+b.Host+b.EscapedPath(), "/") + to
	}
	rq.Header()["Location"] = []string{to}
	rq.WriteHeader(http.StatusFound)
	return true
}

// forwardedURL rebuilds the URL the browser asked the proxy for from
// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri, "" when they are
// missing or malformed. The caller believes them only from a trusted proxy.
func forwardedURL(r *http.Request) string {
	proto := strings.ToLower(r.Header.Get("X-Forwarded-Proto"))
	host := strings.ToLower(r.Header.Get("X-Forwarded-Host"))
	uri := r.Header.Get("X-Forwarded-Uri")
	if proto != "http" && proto != "https" || uri == "" {
		return ""
	}
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		return ""
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	if !forwardedHostValid(host) {
		return ""
	}
	return proto + "://" + host + uri
}

// forwardedHostValid reports whether h is a host name with an optional port.
func forwardedHostValid(h string) bool {
	name, port, found := strings.Cut(h, ":")
	return validHostName(name) && (!found || validPort(port))
}

// acceptsHTML reports whether an Accept header lists text/html (or
// application/xhtml+xml) without refusing it with q=0, as browsers do when
// they navigate to a page. fetch() and API clients do not.
func acceptsHTML(lines []string) bool {
	for _, line := range lines {
		for _, part := range strings.Split(line, ",") {
			media, params, _ := strings.Cut(part, ";")
			media = strings.ToLower(strings.TrimSpace(media))
			if media != "text/html" && media != "application/xhtml+xml" {
				continue
			}
			refused := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") && strings.Trim(strings.TrimSpace(v), "0.") == "" {
					refused = true
				}
			}
			if !refused {
				return true
			}
		}
	}
	return false
}
