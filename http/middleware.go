package http

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// request is the state the middleware keeps for one request. It wraps the
// ResponseWriter to see the status and size written, and carries the client
// address and principal to handlers without allocating a context. Requests
// are pooled: nothing may keep one after its handler returns.
type request struct {
	http.ResponseWriter
	status int   // first final status written; 0 until then
	bytes  int64 // body bytes written

	id        string     // request id, also the X-Request-Id response header
	peer      netip.Addr // the connection's address
	ip        netip.Addr // the client's address (peer, or X-Forwarded-For from a trusted proxy)
	ipText    string     // ip as text, computed on first use
	trusted   bool       // peer is a trusted proxy
	route     *routeMetrics
	principal *doorman.Principal // set on routes that require a session
	page      bool               // a page of the web interface: errors answer in HTML
	again     *onceNote          // what a resubmission of the form is told (ui_once.go)
	abort     any                // a panic to re-raise once the request is logged
}

func (rq *request) WriteHeader(code int) {
	if rq.status == 0 && code >= 200 {
		rq.status = code
	}
	rq.ResponseWriter.WriteHeader(code)
}

func (rq *request) Write(b []byte) (int, error) {
	if rq.status == 0 {
		rq.status = http.StatusOK
	}
	n, err := rq.ResponseWriter.Write(b)
	rq.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rq *request) Unwrap() http.ResponseWriter { return rq.ResponseWriter }

// clientIP returns the client's address as text, "" when unknown.
func (rq *request) clientIP() string {
	if rq.ipText == "" && rq.ip.IsValid() {
		rq.ipText = rq.ip.String()
	}
	return rq.ipText
}

// asRequest returns the *request that serve put under w. Handlers only run
// below serve, so the fallback exists for safety, not use.
func asRequest(w http.ResponseWriter) *request {
	if rq, ok := w.(*request); ok {
		return rq
	}
	return &request{ResponseWriter: w}
}

// serve is the middleware around every route, written as one function
// rather than a chain of closures because it runs on every request: request
// id, client address, security headers, body cap, panic recovery, metrics
// and the access log.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq, _ := s.pool.Get().(*request)
	if rq == nil {
		rq = new(request)
	}
	*rq = request{ResponseWriter: w}
	rq.peer = peerAddr(r.RemoteAddr)
	rq.ip = rq.peer
	rq.trusted = s.trustedAddr(rq.peer)
	if rq.trusted {
		if v := r.Header["X-Request-Id"]; len(v) == 1 && validRequestID(v[0]) {
			rq.id = v[0]
		}
	}
	if rq.id == "" {
		rq.id = newRequestID()
	}
	if rq.trusted {
		rq.ip = s.forwardedFor(r, rq)
	}

	h := w.Header()
	for _, kv := range s.headers {
		h[kv.key] = kv.value
	}
	h["X-Request-Id"] = []string{rq.id}
	if r.Body != nil && r.Body != http.NoBody {
		// The server's own writer, so that it closes the connection after
		// an oversized body rather than reading the rest of it.
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}

	s.serveRecover(rq, r)

	status := rq.status
	if status == 0 {
		status = http.StatusOK // net/http writes 200 for a handler that wrote nothing
	}
	d := time.Since(start)
	m := rq.route
	if m == nil { // the mux answered by itself (a redirect to the clean path)
		m = s.metrics.route(patternUnmatched)
	}
	m.observe(status, d)
	if a := s.cfg.AccessLog; a != nil {
		e := accessEntry{time: start.Add(d), method: r.Method, path: logPath(r), status: status, duration: d,
			bytes: rq.bytes, requestID: rq.id, ip: rq.ip, ipText: rq.ipText}
		if rq.route != nil {
			e.route = rq.route.pattern
		}
		if p := rq.principal; p != nil {
			e.userID = p.User.ID
		}
		a.log(&e)
	} else if s.log.Enabled(r.Context(), slog.LevelInfo) {
		s.accessLog(r, rq, status, d)
	}
	if p := rq.abort; p != nil {
		panic(p)
	}
	*rq = request{}
	s.pool.Put(rq)
}

// serveRecover runs the routes, turning a panic into a 500 answer and a log
// line with the stack.
func (s *Server) serveRecover(rq *request, r *http.Request) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { // a deliberate abort: not a bug
			rq.abort = v
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
			slog.String("request_id", rq.id), slog.String("method", r.Method),
			slog.String("path", logPath(r)), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
		if rq.status != 0 {
			// Part of an answer is out: cut the connection rather than let
			// the client take it for the whole.
			rq.status = http.StatusInternalServerError
			rq.abort = http.ErrAbortHandler
			return
		}
		if rq.page {
			s.pagePanic(rq, r)
			return
		}
		s.writeErrorResponse(rq, http.StatusInternalServerError, doorman.EINTERNAL, msgInternal, "")
	}()
	if r.Method == "GET" {
		if e, ok := s.exact[r.URL.Path]; ok {
			r.Pattern = e.pattern
			e.h.ServeHTTP(rq, r)
			return
		}
	}
	s.mux.ServeHTTP(rq, r)
}

// accessLog writes one line per request through the Logger, for a server
// configured without an AccessLog. It never logs headers, cookies, the
// query string or bodies: they may carry tokens and passwords.
func (s *Server) accessLog(r *http.Request, rq *request, status int, d time.Duration) {
	path, cut := capPath(logPath(r))
	route := ""
	if rq.route != nil {
		route = rq.route.pattern
	}
	attrs := [...]slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", path+cut),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int64("bytes", rq.bytes),
		slog.String("request_id", rq.id),
		slog.String("ip", rq.clientIP()),
		slog.String("user_id", ""),
	}
	n := len(attrs) - 1
	if p := rq.principal; p != nil {
		attrs[n] = slog.String("user_id", p.User.ID)
		n++
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
}

// marker notes which route a request matched, for its metrics and log line.
type marker struct {
	m    *routeMetrics
	next http.Handler
}

func (mk *marker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rq, ok := w.(*request); ok {
		rq.route = mk.m
	}
	mk.next.ServeHTTP(w, r)
}

// endpoint runs one route: authentication when the route needs a session,
// then its handler, whose error goes through the error table.
type endpoint struct {
	s  *Server
	rt *route
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := asRequest(w)
	if e.rt.auth && !e.s.authenticate(rq, r, e.rt) {
		return
	}
	if err := e.rt.h(e.s, rq, r); err != nil {
		e.s.writeError(rq, r, err)
	}
}

// authenticate finds the request's session, or its API key when the
// Bearer credential starts with "dk_" (never from the cookie). It writes the
// error answer and returns false when there is none: 401, or 503 when the
// store cannot say; and 403 for a key on a route keys may not use, or a
// read-only key on an unsafe method.
func (s *Server) authenticate(rq *request, r *http.Request, rt *route) bool {
	token, fromCookie := s.credential(r)
	var p *doorman.Principal
	var err error
	if !fromCookie && doorman.IsAPIKey(token) {
		p, err = s.svc.AuthenticateAPIKey(r.Context(), token, s.meta(rq, r))
	} else {
		m := s.meta(rq, r)
		m.Bearer = !fromCookie
		m.Page = rt.Name
		p, err = s.svc.Authenticate(r.Context(), token, m)
	}
	if err != nil {
		switch {
		case app.IsUnavailable(err):
			s.metrics.validation(outcomeUnavailable)
		case doorman.ErrorCode(err) == doorman.EUNAUTHORIZED:
			s.metrics.validation(outcomeInvalid)
			if fromCookie && !keepsCookie(err) {
				s.clearCookie(rq) // a dead cookie only costs the browser a round trip
			}
		default:
			s.metrics.validation(outcomeUnavailable)
		}
		if rt.Path == pathForward && s.forwardToSignIn(rq, r, err) {
			return false
		}
		s.writeError(rq, r, err)
		return false
	}
	s.metrics.validation(outcomeValid)
	rq.principal = p
	if p.APIKey != nil {
		if err := keyAllowed(p.APIKey, rt); err != nil {
			s.writeError(rq, r, err)
			return false
		}
	}
	return true
}

// credential returns the request's session token: the Bearer token of the
// Authorization header when there is one, else the session cookie.
func (s *Server) credential(r *http.Request) (token string, fromCookie bool) {
	for _, a := range r.Header["Authorization"] {
		if len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
			return strings.TrimSpace(a[7:]), false
		}
	}
	token = cookieValue(r.Header["Cookie"], s.cookieName)
	return token, token != ""
}

// cookieValue finds one cookie in Cookie header lines without parsing the
// others, as r.Cookie would.
func cookieValue(lines []string, name string) string {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				v := part[len(name)+1:]
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v
			}
		}
	}
	return ""
}

// meta describes the request for the audit log and the session's activity.
func (s *Server) meta(rq *request, r *http.Request) app.Meta {
	return app.Meta{IP: rq.clientIP(), UserAgent: r.UserAgent(), Hints: clientHints(r),
		BoundCookie: cookieValue(r.Header["Cookie"], s.boundCookieName())}
}

// setSessionCookie sends the new session's token. A remembered session's
// cookie lasts until the session's end; any other is a browser-session
// cookie, gone when the browser closes.
func (s *Server) setSessionCookie(rq *request, token string, p *doorman.Principal) {
	c := &http.Cookie{Name: s.cookieName, Value: token, Path: "/", Domain: s.cookieDomain, HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if doorman.Remembered(p.Session, p.Account.Settings) {
		if end, _ := doorman.Deadline(p.Session, p.Account.Settings); !end.IsZero() {
			if left := end.Sub(s.now()); left > 0 {
				c.MaxAge = int(left / time.Second)
				c.Expires = end.UTC()
			}
		}
	}
	http.SetCookie(rq, c)
}

// clearCookie tells the browser to drop the session cookie.
func (s *Server) clearCookie(rq *request) {
	http.SetCookie(rq, &http.Cookie{Name: s.cookieName, Value: "", Path: "/", Domain: s.cookieDomain,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// denyCrossOrigin answers unsafe requests that http.CrossOriginProtection
// refused.
func (s *Server) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.writeError(asRequest(w), r, errCrossOrigin)
}

// newRequestID returns 128 random bits in hex. The runtime's ChaCha8
// generator is unpredictable enough for an identifier that is no secret,
// and costs no system call.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// validRequestID accepts a proxy's request id only when it is short and
// plain, so that it cannot forge log lines or bloat them.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// header is one constant response header.
type header struct {
	key   string
	value []string
}

// securityHeaders are set on every response. The CSP suits JSON (nothing
// may load, nothing may frame it); HTML pages replace it with their own and
// add the headers that only matter to a document (setPageHeaders). A JSON
// answer has no links to leak a Referer through, and its CSP's
// frame-ancestors already forbids framing, so it goes without
// Referrer-Policy and X-Frame-Options: two fewer headers on every
// validation.
func securityHeaders(secure bool) []header {
	hs := []header{
		{"Cache-Control", []string{"no-store"}},
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	}
	if secure {
		hs = append(hs, header{"Strict-Transport-Security", []string{"max-age=63072000"}})
	}
	return hs
}
