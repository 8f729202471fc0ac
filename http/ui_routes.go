package http

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// pageRoute is one page or form of the web interface. Pages are served
// beside the API by the same middleware, but answer in HTML: a missing or
// dead session sends the browser to the sign-in page rather than a 401, and
// errors are pages with the request id.
type pageRoute struct {
	Route      // Name is the page's title, shown as a session's "Last Page"
	auth  bool // requires a valid session cookie
	h     handler
}

// pageRoutes is every page. Each GET page that confirms an action shares
// its path with the POST that does it, so a form posted with a dead session
// returns, after sign-in, to the confirmation it came from. ServeMux picks
// the most specific pattern, so ".../sign-out-others" wins over ".../{id}".
var pageRoutes = []pageRoute{
	{Route{"GET", "/{$}", "Home"}, false, (*Server).home},
	{Route{"GET", "/settings", "Settings"}, false, (*Server).home},
	{Route{"GET", "/settings/security", "Security"}, false, (*Server).home},
	{Route{"GET", pages.PathLogin, "Sign in"}, false, (*Server).loginPage},
	{Route{"POST", pages.PathLogin, "Sign in"}, false, (*Server).loginSubmit},
	{Route{"POST", pages.PathLogout, "Sign out"}, true, (*Server).logoutSubmit},
	// Forgot password (ui_passwordreset.go).
	{Route{"GET", pages.PathForgotPassword, "Forgot password"}, false, (*Server).forgotPage},
	{Route{"POST", pages.PathForgotPassword, "Forgot password"}, false, (*Server).forgotSubmit},
	{Route{"GET", pages.PathPasswordReset + "{token}", "Reset password"}, false, (*Server).resetPage},
	{Route{"POST", pages.PathPasswordReset + "{token}", "Reset password"}, false, (*Server).resetSubmit},
	{Route{"GET", pages.PathSessions, "Sessions"}, true, personal((*Server).sessionsPage)},
	{Route{"GET", pages.PathSessions + "/{id}", "Session details"}, true, personal((*Server).sessionPage)},
	{Route{"GET", pages.PathSessions + "/{id}/sign-out", "Sign out session"}, true, personal((*Server).confirmSignOutPage)},
	{Route{"POST", pages.PathSessions + "/{id}/sign-out", "Sign out session"}, true, personal((*Server).signOutSubmit)},
	{Route{"GET", pages.PathSignOutOthers, "Sign out other sessions"}, true, personal((*Server).confirmSignOutOthersPage)},
	{Route{"POST", pages.PathSignOutOthers, "Sign out other sessions"}, true, personal((*Server).signOutOthersSubmit)},
	{Route{"GET", pages.PathSignOutAll, "Sign out all sessions"}, true, personal((*Server).confirmSignOutAllPage)},
	{Route{"POST", pages.PathSignOutAll, "Sign out all sessions"}, true, (*Server).signOutAllSubmit},
	{Route{"GET", pages.PathReauth, "Confirm password"}, true, (*Server).reauthPage},
	{Route{"POST", pages.PathReauth, "Confirm password"}, true, (*Server).reauthSubmit},
	{Route{"GET", pages.PathPassword, "Password"}, true, (*Server).passwordPage},
	{Route{"POST", pages.PathPassword, "Password"}, true, (*Server).passwordSubmit},
	// Two-factor authentication and the sign-in's second step (ui_twofactor.go).
	{Route{"GET", pages.PathTwoFactor, "Two-factor authentication"}, true, (*Server).twoFactorPage},
	{Route{"GET", pages.PathTwoFactorSetup, "Set up two-factor authentication"}, true, (*Server).twoFactorSetupPage},
	{Route{"POST", pages.PathTwoFactorSetup, "Set up two-factor authentication"}, true, (*Server).twoFactorSetupSubmit},
	{Route{"GET", pages.PathTwoFactorConfirm, "Two-factor authentication"}, true, (*Server).twoFactorHome},
	{Route{"POST", pages.PathTwoFactorConfirm, "Turn on two-factor authentication"}, true, (*Server).twoFactorConfirmSubmit},
	{Route{"GET", pages.PathRecoveryCodes, "Two-factor authentication"}, true, (*Server).twoFactorHome},
	{Route{"POST", pages.PathRecoveryCodes, "Regenerate recovery codes"}, true, (*Server).recoveryCodesSubmit},
	{Route{"GET", pages.PathTwoFactorDisable, "Two-factor authentication"}, true, (*Server).twoFactorHome},
	{Route{"POST", pages.PathTwoFactorDisable, "Turn off two-factor authentication"}, true, (*Server).twoFactorDisableSubmit},
	// Passkeys (ui_passkeys.go).
	{Route{"POST", pages.PathPasskeys + "/begin", "Add a passkey"}, true, (*Server).passkeyBeginSubmit},
	{Route{"POST", pages.PathPasskeys + "/finish", "Add a passkey"}, true, (*Server).passkeyFinishSubmit},
	{Route{"GET", pages.PathPasskeys + "/{id}/remove", "Two-factor authentication"}, true, (*Server).twoFactorHome},
	{Route{"POST", pages.PathPasskeys + "/{id}/remove", "Remove a passkey"}, true, (*Server).passkeyRemoveSubmit},
	{Route{"POST", pages.PathLoginPasskey + "/begin", "Sign in with a passkey"}, false, (*Server).loginPasskeyBeginSubmit},
	{Route{"POST", pages.PathLoginPasskey, "Sign in with a passkey"}, false, (*Server).loginPasskeySubmit},
	{Route{"POST", pages.PathLoginTwoFactor + "/passkey/begin", "Two-factor sign-in"}, false, (*Server).loginTwoFactorPasskeyBeginSubmit},
	{Route{"POST", pages.PathLoginTwoFactor + "/passkey", "Two-factor sign-in"}, false, (*Server).loginTwoFactorPasskeySubmit},
	{Route{"GET", pages.PathLoginTwoFactor, "Two-factor sign-in"}, false, (*Server).loginTwoFactorPage},
	{Route{"POST", pages.PathLoginTwoFactor, "Two-factor sign-in"}, false, (*Server).loginTwoFactorSubmit},
	// The administrators' Team pages (ui_admin.go).
	{Route{"GET", pages.PathAdmin, "Team"}, true, adminOnly((*Server).adminHome)},
	{Route{"GET", pages.PathTeamSessions, "Team Sessions"}, true, adminOnly((*Server).teamSessionsPage)},
	{Route{"GET", pages.PathSignOutTeam, "Sign out all team sessions"}, true, adminOnly((*Server).signOutTeamPage)},
	{Route{"POST", pages.PathSignOutTeam, "Sign out all team sessions"}, true, adminOnly((*Server).signOutTeamSubmit)},
	{Route{"GET", pages.PathAdminUsers + "{id}/sessions", "Team member sessions"}, true, adminOnly((*Server).teamUserPage)},
	{Route{"GET", pages.PathAdminUsers + "{id}/sign-out", "Force sign out user"}, true, adminOnly((*Server).forceSignOutPage)},
	{Route{"POST", pages.PathAdminUsers + "{id}/sign-out", "Force sign out user"}, true, adminOnly((*Server).forceSignOutSubmit)},
	// Team → People (ui_team.go).
	{Route{"GET", pages.PathTeam, "People"}, true, adminOnly((*Server).teamPage)},
	{Route{"GET", pages.PathInviteUser, "Invite a person"}, true, adminOnly((*Server).invitePage)},
	{Route{"POST", pages.PathInviteUser, "Invite a person"}, true, adminOnly((*Server).inviteSubmit)},
	{Route{"GET", pages.PathTeam + "/{id}", "Team member"}, true, adminOnly((*Server).personPage)},
	{Route{"GET", pages.PathTeam + "/{id}/{action}", "Team member"}, true, adminOnly((*Server).personPage)},
	{Route{"POST", pages.PathTeam + "/{id}/role", "Change role"}, true, adminOnly((*Server).roleSubmit)},
	{Route{"POST", pages.PathTeam + "/{id}/disable", "Disable user"}, true, adminOnly((*Server).disableSubmit)},
	{Route{"POST", pages.PathTeam + "/{id}/enable", "Enable user"}, true, adminOnly((*Server).enableSubmit)},
	{Route{"POST", pages.PathTeam + "/{id}/remove", "Remove user"}, true, adminOnly((*Server).removeSubmit)},
	{Route{"POST", pages.PathTeam + "/{id}/resend", "Resend invitation"}, true, adminOnly((*Server).resendSubmit)},
	{Route{"GET", pages.PathSessionSettings, "Session settings"}, true, adminOnly((*Server).sessionSettingsPage)},
	{Route{"POST", pages.PathSessionSettings, "Session settings"}, true, adminOnly((*Server).sessionSettingsSubmit)},
	{Route{"GET", pages.PathAudit, "Audit log"}, true, adminOnly((*Server).auditPage)},
	{Route{"GET", pages.PathAudit + "/{id}", "Audit event"}, true, adminOnly((*Server).auditEventPage)},
	// The API Sessions pages (ui_apikeys.go).
	{Route{"GET", pages.PathAPIKeys, "API keys"}, true, adminOnly((*Server).apiKeysPage)},
	{Route{"POST", pages.PathAPIKeys, "Create API key"}, true, adminOnly((*Server).createAPIKeySubmit)},
	{Route{"GET", pages.PathAPIKeys + "/{id}", "API key details"}, true, adminOnly((*Server).apiKeyPage)},
	{Route{"GET", pages.PathAPIKeys + "/{id}/revoke", "Revoke API key"}, true, adminOnly((*Server).revokeAPIKeyPage)},
	{Route{"POST", pages.PathAPIKeys + "/{id}/revoke", "Revoke API key"}, true, adminOnly((*Server).revokeAPIKeySubmit)},
	// Sign-in alerts: the "This wasn't me" link and Team → Webhook (ui_alerts.go, ui_webhook.go).
	// Invitation links (ui_team.go).
	{Route{"GET", pages.PathInvite + "{token}", "Invitation"}, false, (*Server).acceptPage},
	{Route{"POST", pages.PathInvite + "{token}", "Invitation"}, false, (*Server).acceptSubmit},
	{Route{"GET", pages.PathAlerts + "{token}", "Sign-in alert"}, false, (*Server).alertPage},
	{Route{"POST", pages.PathAlerts + "{token}", "Sign-in alert"}, false, (*Server).alertSubmit},
	{Route{"GET", pages.PathWebhook, "Webhook"}, true, adminOnly((*Server).webhookPage)},
	{Route{"POST", pages.PathWebhook, "Webhook"}, true, adminOnly((*Server).webhookSubmit)},
	{Route{"POST", pages.PathWebhook + "/test", "Send test event"}, true, adminOnly((*Server).webhookTestSubmit)},
	{Route{"GET", pages.PathWebhook + "/delete", "Delete webhook"}, true, adminOnly((*Server).webhookDeletePage)},
	{Route{"POST", pages.PathWebhook + "/delete", "Delete webhook"}, true, adminOnly((*Server).webhookDeleteSubmit)},
	{Route{"GET", pages.StaticPrefix + "{name}", "Static file"}, false, (*Server).static},
}

// PageRoutes returns the web interface's routes, in registration order.
// Routes lists the API's only: the OpenAPI document describes those.
func (s *Server) PageRoutes() []Route {
	out := make([]Route, len(pageRoutes))
	for i := range pageRoutes {
		out[i] = pageRoutes[i].Route
	}
	return out
}

func pagePatterns() []string {
	out := make([]string, len(pageRoutes))
	for i := range pageRoutes {
		out[i] = pageRoutes[i].Pattern()
	}
	return out
}

// pageCSP lets a page load the server's own styles, scripts and images and
// nothing else: no inline script or style, no framing, forms only to us.
// The script may talk to the server only (the passkey ceremonies).
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var (
	pageCSPValue    = []string{pageCSP}
	denyValue       = []string{"DENY"}
	sameOriginValue = []string{"same-origin"}
	acceptCHValue   = []string{acceptCH}
	htmlType        = []string{"text/html; charset=utf-8"}
	immutableCache  = []string{"public, max-age=31536000, immutable"}
	revalidate      = []string{"no-cache"}
)

// ui is the web interface's share of the Server.
type ui struct {
	renderer *pages.Renderer
	// cop refuses cross-origin form posts like the API's, with a page.
	cop *http.CrossOriginProtection
}

// mountPages registers the pages on the server's mux. NewServer calls it
// once the API routes are in.
func (s *Server) mountPages() {
	r, err := pages.New()
	if err != nil {
		panic("http: embedded templates: " + err.Error()) // a broken build, caught by every test
	}
	s.ui = &ui{renderer: r, cop: http.NewCrossOriginProtection()}
	if u := s.cfg.BaseURL; u != nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		s.ui.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host) // already checked by NewServer
	}
	s.ui.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := asRequest(w)
		setPageHeaders(rq)
		s.pageError(rq, r, errFormOrigin)
	}))
	for i := range pageRoutes {
		rt := &pageRoutes[i]
		var h http.Handler = &pageEndpoint{s: s, rt: rt}
		if !safeMethod(rt.Method) {
			h = s.ui.cop.Handler(h)
		}
		s.mux.Handle(rt.Pattern(), &marker{m: s.metrics.route(rt.Pattern()), next: h})
	}
}

// pageEndpoint runs one page: its headers, the session check when the page
// needs one, then its handler, whose error becomes an error page.
type pageEndpoint struct {
	s  *Server
	rt *pageRoute
}

func (e *pageEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rq := asRequest(w)
	setPageHeaders(rq)
	if e.rt.auth && !e.s.pageAuth(rq, r, e.rt) {
		return
	}
	if e.rt.auth && !safeMethod(e.rt.Method) && onceExempt[e.rt.Method+" "+e.rt.Path] == "" {
		e.s.serveOnce(rq, r, e.rt) // ui_once.go
		return
	}
	if err := e.rt.h(e.s, rq, r); err != nil {
		e.s.pageError(rq, r, err)
	}
}

// setPageHeaders marks the request as a page's and sets the headers every
// page sends on top of the middleware's.
func setPageHeaders(rq *request) {
	rq.page = true
	h := rq.Header()
	h["Content-Security-Policy"] = pageCSPValue
	h["Accept-Ch"] = acceptCHValue
	// For browsers that predate CSP's frame-ancestors, and so that a page's
	// links tell other sites nothing of its path. Pages that show a secret
	// in their path say no-referrer instead.
	h["X-Frame-Options"] = denyValue
	h["Referrer-Policy"] = sameOriginValue
}

// pageAuth finds the request's session from its cookie. Without a valid
// one it sends the browser to the sign-in page, saying why the session ended
// and coming back here afterwards; when the store cannot answer it shows the
// 503 page. It returns whether the handler may run.
func (s *Server) pageAuth(rq *request, r *http.Request, rt *pageRoute) bool {
	token := cookieValue(r.Header["Cookie"], s.cookieName)
	if token == "" {
		s.toLogin(rq, r, "")
		return false
	}
	m := s.meta(rq, r)
	if r.Method == http.MethodGet {
		m.Page = rt.Name
	}
	p, err := s.svc.Authenticate(r.Context(), token, m)
	if err != nil {
		if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED || app.IsUnavailable(err) {
			s.metrics.validation(outcomeUnavailable)
			s.pageError(rq, r, err)
			return false
		}
		s.metrics.validation(outcomeInvalid)
		if !safeMethod(r.Method) && s.replayEnded(rq, r, rt, token, err) {
			return false
		}
		if !keepsCookie(err) {
			s.clearCookie(rq)
		}
		s.toLogin(rq, r, signedOutReason(err))
		return false
	}
	s.metrics.validation(outcomeValid)
	rq.principal = p
	return true
}

// signedOutReason is what the sign-in page says about a session that ended:
// the service's message when it knows why ("Your session expired after 7
// days of inactivity"), nothing for a token it has never heard of.
func signedOutReason(err error) string {
	var e *doorman.Error
	if !errors.As(err, &e) || e.Reason == "" {
		return ""
	}
	return e.Message
}

// toLogin redirects to the sign-in page, which returns to this page
// afterwards. A reason travels in the flash cookie, not in the URL.
func (s *Server) toLogin(rq *request, r *http.Request, reason string) {
	if reason != "" {
		s.setFlash(rq, pages.FlashInfo, reason)
	}
	next := ""
	switch {
	case r.URL.Path == pages.PathLogout:
	case r.Method == http.MethodGet:
		next = r.URL.RequestURI()
	default:
		// The GET at the path of a form shows what the form confirms.
		next = r.URL.Path
	}
	s.redirect(rq, r, loginURL(s.safeNext(next)))
}

func loginURL(next string) string {
	if next == "" || next == pages.PathSessions {
		return pages.PathLogin
	}
	return pages.PathLogin + "?next=" + url.QueryEscape(next)
}

// safeNextPath returns v when it is a path on this server to return to
// after signing in, and "" otherwise: only a relative path from the root.
func safeNextPath(v string) string {
	if v == "" || len(v) > 1024 || v[0] != '/' || strings.HasPrefix(v, "//") {
		return ""
	}
	for i := 0; i < len(v); i++ {
		// Browsers read a backslash as a slash ("/\evil.example") and drop
		// tabs and newlines, so none of them may pass.
		if c := v[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if u.Path == pages.PathLogin || u.Path == pages.PathLogout || strings.HasPrefix(u.Path, pages.StaticPrefix) {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	return u.RequestURI()
}

func (s *Server) redirect(rq *request, r *http.Request, to string) {
	rq.Header()["Location"] = []string{to}
	rq.WriteHeader(http.StatusSeeOther)
}

// home sends / and the settings sections to the one settings page there is.
func (s *Server) home(w *request, r *http.Request) error {
	s.redirect(w, r, pages.PathSessions)
	return nil
}

// Form tokens. Every form of a signed-in page carries one on top of
// cross-origin protection. It is derived, not stored: an HMAC of a fixed
// label keyed with the session's token hash, which never leaves the server,
// so the token is worthless for anything but this session's forms.
const formTokenLabel = "doorman form token v1"

func formToken(p *doorman.Principal) string {
	m := hmac.New(sha256.New, p.Session.TokenHash)
	m.Write([]byte(formTokenLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// loginFormToken ties the sign-in form to the browser's device cookie
// (HttpOnly, so no other site can read it), which keeps another site from
// signing the browser in to an account of its own choosing.
func loginFormToken(deviceKey string) string {
	m := hmac.New(sha256.New, []byte(deviceKey))
	m.Write([]byte("doorman login form v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkForm parses the posted form and checks its token in constant time.
func (s *Server) checkForm(rq *request, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formParseError(err)
	}
	got := r.PostForm.Get("csrf")
	if got == "" || !hmac.Equal([]byte(got), []byte(formToken(rq.principal))) {
		return errFormToken
	}
	return nil
}

func formParseError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return doorman.Errorf(doorman.EINVALID, "the form could not be read")
}

// Errors of the pages.
var (
	errFormToken = &doorman.Error{Code: doorman.EFORBIDDEN,
		Message: "This form has expired or did not come from this page. Go back, reload the page and try again."}
	errFormOrigin = &doorman.Error{Code: doorman.EFORBIDDEN,
		Message: "This form was sent from another site, so nothing was changed."}
	errSessionGone = &doorman.Error{Code: doorman.ENOTFOUND,
		Message: "This session no longer exists: it was signed out or it expired."}
)

// layout fills what every page shares. It reads (and clears) the flash
// message, so call it only for a page that is shown.
func (s *Server) layout(rq *request, r *http.Request, title string) pages.Layout {
	l := pages.Layout{Title: title, RequestID: rq.id, Flash: s.takeFlash(rq, r), Credits: s.svc.PlaceCredits()}
	if p := rq.principal; p != nil {
		l.User = &pages.User{Name: p.User.Name, Email: p.User.Email, Account: p.Account.Name, Admin: p.User.IsAdmin()}
		l.Nav = navigation(p, r.URL.Path)
		l.CSRF = formToken(p)
		l.Once = s.svc.NewFormToken(p)
	}
	return l
}

// navigation is the settings menu, with the page at path marked. Sections
// appear as their pages are built.
func navigation(p *doorman.Principal, path string) []pages.NavSection {
	under := func(prefix string) bool { return path == prefix || strings.HasPrefix(path, prefix+"/") }
	nav := []pages.NavSection{
		{Title: "Security", Items: []pages.NavItem{
			{Label: "Sessions", Href: pages.PathSessions, Current: under(pages.PathSessions)},
			{Label: "Password", Href: pages.PathPassword, Current: under(pages.PathPassword)},
			{Label: "Two-factor authentication", Href: pages.PathTwoFactor, Current: under(pages.PathTwoFactor)},
		}},
	}
	if p.User.IsAdmin() {
		nav = append(nav, pages.NavSection{Title: "Team", Items: []pages.NavItem{
			{Label: "People", Href: pages.PathTeam, Current: under(pages.PathTeam)},
			{Label: "Sessions", Href: pages.PathTeamSessions,
				Current: under(pages.PathTeamSessions) || strings.HasPrefix(path, pages.PathAdminUsers)},
			{Label: "Session settings", Href: pages.PathSessionSettings, Current: under(pages.PathSessionSettings)},
			{Label: "API keys", Href: pages.PathAPIKeys, Current: under(pages.PathAPIKeys)},
			{Label: "Webhook", Href: pages.PathWebhook, Current: under(pages.PathWebhook)},
			{Label: "Audit log", Href: pages.PathAudit, Current: under(pages.PathAudit)},
		}})
	}
	return nav
}

// render writes a page with status. A template that fails is logged and
// answered with a plain 500 that still carries the request id.
func (s *Server) render(rq *request, r *http.Request, status int, p pages.Page) {
	var buf bytes.Buffer
	if err := s.ui.renderer.Render(&buf, p); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "render page",
			slog.String("request_id", rq.id), slog.String("path", logPath(r)), slog.Any("err", err))
		h := rq.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		rq.WriteHeader(http.StatusInternalServerError)
		rq.Write([]byte("Internal error. Request ID: " + rq.id + "\n"))
		return
	}
	h := rq.Header()
	h["Content-Type"] = htmlType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	rq.WriteHeader(status)
	rq.Write(buf.Bytes())
}
