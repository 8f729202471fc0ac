// Package http serves Doorman's JSON API, the forward-auth endpoint for
// reverse proxies, health checks and metrics over net/http. It talks to the
// domain only through *app.Service.
//
// The contract (paths, fields, status codes) is /api/v1/openapi.json, which
// a test keeps in step with the routes registered here.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doorman/doorman/app"
)

// DefaultMaxBodyBytes is Config.MaxBodyBytes's default.
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Server.
type Config struct {
	// BaseURL is the public URL people and proxies reach Doorman at. An
	// https:// URL makes the session cookie Secure and names it
	// __Host-doorman_session, so that browsers send it only over TLS and no
	// subdomain can set or shadow it; it also turns on Strict-Transport-Security.
	// An http:// URL (or nil) is for development only: the cookie is then
	// doorman_session and travels in clear text. Its origin is also trusted by
	// the cross-origin check, for proxies that rewrite the Host header.
	BaseURL *url.URL
	// TrustedProxies are the networks whose X-Forwarded-For (and
	// X-Request-Id) is believed. Default none: the client address is the
	// connection's, because anyone can send that header and would otherwise
	// choose the address that the session list and the audit log show.
	TrustedProxies []netip.Prefix
	// Logger receives internal errors (Error) and warnings, and the access
	// log (Info) when AccessLog is nil. Default slog.Default().
	Logger *slog.Logger
	// AccessLog, when set, receives the access log instead of Logger: one
	// line per request, formatted without allocating and written in
	// batches (see AccessLog). Its owner closes it after the server has
	// shut down. Leave it nil when the log level is above info.
	AccessLog *AccessLog
	// MaxBodyBytes caps every request body; larger bodies get 413. Default
	// 64 KiB: no request needs more, and the cap keeps one client from making
	// the server buffer or parse without bound.
	MaxBodyBytes int64
	// ActiveSessions, when set, is called at each scrape of /metrics for the
	// doorman_active_sessions gauge. Nil leaves the gauge out.
	ActiveSessions func(ctx context.Context) (int, error)
	// CookieDomain, when set, scopes the session and device cookies to
	// that domain and its subdomains (Domain=example.com), so that one
	// sign-in serves every app under it; over HTTPS they are then named
	// with the __Secure- prefix, since __Host- forbids a Domain. The base
	// URL's host must be inside it (CheckCookieDomain). Default empty: the
	// cookies belong to Doorman's host alone, which no other host can read,
	// set or shadow.
	CookieDomain string
	// AllowedRedirectHosts lists where an absolute next may send the
	// browser after sign-in (ParseRedirectHosts: "app.example.com",
	// "*.example.com"). Default none: next may only be a path on Doorman
	// itself, and any other target falls back to the default page.
	AllowedRedirectHosts []string
	// StoreFailures, when set, is read at each scrape of /metrics for the
	// doorman_store_failures_total counter (app.OutageLog.Failures). Nil
	// leaves the counter out.
	StoreFailures func() uint64
}

// Route is one endpoint the Server serves.
type Route struct {
	Method string // "GET", "POST", …
	Path   string // a ServeMux path, "/api/v1/sessions/{id}"
	// Name is what a session's "Last Page" shows after it used the route.
	Name string
}

// Pattern returns the route's ServeMux pattern, "GET /api/v1/whoami": the
// label of its metrics.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// handler serves one route. w.principal is set when the route needs a
// session. A returned error is answered through the one error table
// (errors.go); a handler returns nil once it has written its answer.
type handler func(s *Server, w *request, r *http.Request) error

type route struct {
	Route
	auth bool // requires a valid session
	h    handler
}

// routes is every endpoint. Registration (NewServer), the OpenAPI document
// test and the 405 answer all read this one list.
var routes = []route{
	{Route{"POST", "/api/v1/login", "Sign in"}, false, (*Server).login},
	{Route{"POST", "/api/v1/logout", "Sign out"}, true, (*Server).logout},
	{Route{"POST", "/api/v1/invitations/accept", "Accept invitation"}, false, (*Server).acceptInvitation},
	{Route{"GET", "/api/v1/whoami", "Who am I"}, true, (*Server).whoami},
	{Route{"GET", "/auth/verify", "Forward auth"}, true, (*Server).verify},
	{Route{"POST", pathVerifyBatch, "Forward auth, batched"}, false, (*Server).verifyBatch},
	{Route{"GET", pathForward, "Forward auth"}, true, (*Server).verify},
	{Route{"GET", "/api/v1/sessions", "List sessions"}, true, (*Server).listSessions},
	{Route{"GET", "/api/v1/sessions/{id}", "Session details"}, true, (*Server).getSession},
	{Route{"DELETE", "/api/v1/sessions/{id}", "Sign out session"}, true, (*Server).deleteSession},
	{Route{"POST", "/api/v1/sessions/sign-out-others", "Sign out other sessions"}, true, (*Server).signOutOthers},
	{Route{"POST", "/api/v1/sessions/sign-out-all", "Sign out all sessions"}, true, (*Server).signOutAll},
	{Route{"POST", "/api/v1/password", "Change password"}, true, (*Server).changePassword},
	{Route{"POST", "/api/v1/password/forgot", "Forgot password"}, false, (*Server).forgotPassword},
	{Route{"POST", "/api/v1/password/reset", "Reset password"}, false, (*Server).resetPassword},
	{Route{"GET", "/api/v1/two-factor", "Two-factor status"}, true, (*Server).twoFactorStatus},
	{Route{"POST", "/api/v1/two-factor/setup", "Begin two-factor setup"}, true, (*Server).twoFactorSetup},
	{Route{"POST", "/api/v1/two-factor/confirm", "Turn on two-factor authentication"}, true, (*Server).twoFactorConfirm},
	{Route{"POST", "/api/v1/two-factor/disable", "Turn off two-factor authentication"}, true, (*Server).twoFactorDisable},
	{Route{"POST", "/api/v1/two-factor/recovery-codes", "New recovery codes"}, true, (*Server).twoFactorRecoveryCodes},
	{Route{"GET", "/api/v1/settings/sessions", "Session settings"}, true, (*Server).getSettings},
	{Route{"PUT", "/api/v1/settings/sessions", "Update session settings"}, true, (*Server).putSettings},
	{Route{"GET", "/api/v1/team/sessions", "Team sessions"}, true, adminOnly((*Server).teamSessions)},
	{Route{"GET", "/api/v1/team/users", "Team users"}, true, adminOnly((*Server).teamUsersList)},
	{Route{"POST", "/api/v1/team/users", "Invite user"}, true, adminOnly((*Server).inviteUser)},
	{Route{"PATCH", "/api/v1/team/users/{user_id}", "Change user"}, true, adminOnly((*Server).patchTeamUser)},
	{Route{"DELETE", "/api/v1/team/users/{user_id}", "Remove user"}, true, adminOnly((*Server).deleteTeamUser)},
	{Route{"POST", "/api/v1/team/users/{user_id}/invitation", "Resend invitation"}, true, adminOnly((*Server).resendInvitation)},
	{Route{"GET", "/api/v1/team/users/{user_id}/sessions", "Team member sessions"}, true, adminOnly((*Server).teamUserSessions)},
	{Route{"POST", "/api/v1/team/users/{user_id}/sign-out", "Force sign out user"}, true, adminOnly((*Server).forceSignOut)},
	{Route{"POST", "/api/v1/team/sessions/sign-out-all", "Sign out all team sessions"}, true, adminOnly((*Server).signOutTeam)},
	{Route{"GET", "/api/v1/audit", "Audit log"}, true, adminOnly((*Server).auditLog)},
	{Route{"GET", "/api/v1/audit/export", "Export audit log"}, true, adminOnly((*Server).auditExport)},
	{Route{"GET", "/api/v1/api-keys", "API keys"}, true, adminOnly((*Server).listAPIKeys)},
	{Route{"POST", "/api/v1/api-keys", "Create API key"}, true, adminOnly((*Server).createAPIKey)},
	{Route{"GET", "/api/v1/api-keys/{id}", "API key details"}, true, adminOnly((*Server).getAPIKey)},
	{Route{"DELETE", "/api/v1/api-keys/{id}", "Revoke API key"}, true, adminOnly((*Server).deleteAPIKey)},
	{Route{"GET", "/api/v1/webhook", "Webhook"}, true, adminOnly((*Server).getWebhook)},
	{Route{"PUT", "/api/v1/webhook", "Update webhook"}, true, adminOnly((*Server).putWebhook)},
	{Route{"DELETE", "/api/v1/webhook", "Delete webhook"}, true, adminOnly((*Server).deleteWebhook)},
	{Route{"GET", "/api/v1/webhook/deliveries", "Webhook deliveries"}, true, adminOnly((*Server).webhookDeliveries)},
	{Route{"POST", "/api/v1/webhook/test", "Send test event"}, true, adminOnly((*Server).testWebhook)},
	{Route{"GET", "/api/v1/openapi.json", "API document"}, false, (*Server).openAPI},
	{Route{"GET", "/.well-known/jwks.json", "Assertion keys"}, false, (*Server).jwks},
	{Route{"GET", "/healthz", "Liveness"}, false, (*Server).healthz},
	{Route{"GET", "/readyz", "Readiness"}, false, (*Server).readyz},
	{Route{"GET", "/metrics", "Metrics"}, false, (*Server).metricsHandler},
}

// Server is Doorman's HTTP front: routes, middleware and error rendering.
type Server struct {
	svc     *app.Service
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	metrics *metrics

	registered   []Route
	issuer       string // the assertions' iss: the base URL without a trailing slash
	cookieName   string
	cookieDomain string // Domain of the session and device cookies; "" for host-only
	secure       bool
	maxBody      int64

	proxies []netip.Prefix
	// Constant response headers, whose value slices every response shares
	// to save an allocation each; net/http only reads them.
	headers []header

	pool sync.Pool // *request

	// exact holds the GET routes whose path is a constant, by path, so that
	// the hot checks (whoami, forward-auth) skip the ServeMux's matching:
	// for such a path and method the mux could only pick the same handler.
	exact map[string]exactRoute

	// verifyEndpoint is GET /auth/verify, which each check of a batch runs
	// through (verify_batch.go).
	verifyEndpoint *endpoint

	ui *ui // the web interface (ui_routes.go)
}

// NewServer returns a Server for svc. Handler serves it.
func NewServer(svc *app.Service, cfg Config) *Server {
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		cop: http.NewCrossOriginProtection(), maxBody: cfg.MaxBodyBytes}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.cookieName = "doorman_session"
	if u := cfg.BaseURL; u != nil {
		s.issuer = strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
	}
	if cfg.BaseURL != nil && cfg.BaseURL.Scheme == "https" {
		s.secure = true
		s.cookieName = "__Host-doorman_session"
	}
	if cfg.CookieDomain != "" {
		s.cookieDomain = strings.ToLower(cfg.CookieDomain)
		if s.secure {
			s.cookieName = "__Secure-doorman_session"
		}
	}
	if u := cfg.BaseURL; u != nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		if err := s.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			s.log.Warn("base URL is not a usable origin", "base_url", u.String(), "err", err)
		}
	}
	s.cop.SetDenyHandler(http.HandlerFunc(s.denyCrossOrigin))
	s.headers = securityHeaders(s.secure)
	s.proxies = normalizePrefixes(cfg.TrustedProxies)

	patterns := make([]string, 0, len(routes)+1)
	for i := range routes {
		patterns = append(patterns, routes[i].Pattern())
	}
	patterns = append(patterns, pagePatterns()...)
	patterns = append(patterns, bindingPatterns()...)
	patterns = append(patterns, patternUnmatched)
	s.metrics = newMetrics(patterns)

	for i := range routes {
		rt := &routes[i]
		ep := &endpoint{s: s, rt: rt}
		if rt.Pattern() == "GET /auth/verify" {
			s.verifyEndpoint = ep
		}
		var h http.Handler = ep
		if !safeMethod(rt.Method) {
			h = s.cop.Handler(h)
		}
		mk := &marker{m: s.metrics.route(rt.Pattern()), next: h}
		s.mux.Handle(rt.Pattern(), mk)
		s.registered = append(s.registered, rt.Route)
		if rt.Method == "GET" && constantPath(rt.Path) {
			if s.exact == nil {
				s.exact = make(map[string]exactRoute)
			}
			s.exact[rt.Path] = exactRoute{pattern: rt.Pattern(), h: mk}
		}
	}
	s.mountPages()
	s.mountBinding()
	s.mux.Handle(patternUnmatched, &marker{m: s.metrics.route(patternUnmatched), next: http.HandlerFunc(s.unmatched)})
	return s
}

// exactRoute is a route served without the ServeMux (Server.exact).
type exactRoute struct {
	pattern string
	h       http.Handler
}

// constantPath reports whether a route's path matches one path only: no
// wildcard, no trailing-slash subtree.
func constantPath(p string) bool {
	return !strings.ContainsAny(p, "{}") && !strings.HasSuffix(p, "/")
}

// patternUnmatched catches every request no route matches, to answer 404 or
// 405 in JSON rather than net/http's plain text.
const patternUnmatched = "/"

// Handler returns the server's http.Handler: the middleware around the routes.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Routes returns the routes the server registered, in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.registered...) }

func safeMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "OPTIONS" }

// unmatched answers requests that no route pattern matched: 405 with Allow
// when the path exists under another method, 404 otherwise; in JSON, or as
// a page for a browser that asks for HTML outside the API.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	rq := asRequest(w)
	var allow []string
	add := func(rt Route) {
		match := matchPath(rt.Path, r.URL.Path)
		if exact, ok := strings.CutSuffix(rt.Path, "{$}"); ok {
			match = r.URL.Path == exact
		}
		if match && !slices.Contains(allow, rt.Method) {
			allow = append(allow, rt.Method)
			if rt.Method == "GET" {
				allow = append(allow, "HEAD")
			}
		}
	}
	for i := range routes {
		add(routes[i].Route)
	}
	for i := range pageRoutes {
		add(pageRoutes[i].Route)
	}
	err := errNoRoute
	if len(allow) > 0 {
		slices.Sort(allow)
		rq.Header().Set("Allow", strings.Join(allow, ", "))
		err = errMethod
	}
	if wantsPage(r) {
		setPageHeaders(rq)
		s.pageError(rq, r, err)
		return
	}
	s.writeError(rq, r, err)
}

// matchPath reports whether path matches the ServeMux path pattern, where a
// "{name}" segment matches any one non-empty segment.
func matchPath(pattern, path string) bool {
	for {
		pseg, prest, pmore := strings.Cut(strings.TrimPrefix(pattern, "/"), "/")
		seg, rest, more := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if strings.HasPrefix(pseg, "{") && strings.HasSuffix(pseg, "}") {
			if seg == "" {
				return false
			}
		} else if pseg != seg {
			return false
		}
		if pmore != more {
			return false
		}
		if !pmore {
			return true
		}
		pattern, path = "/"+prest, "/"+rest
	}
}

func (s *Server) now() time.Time { return s.svc.Now().UTC() }
