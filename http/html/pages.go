package html

import "github.com/doorman/doorman"

// Paths of the pages, for links and forms. The http package registers its
// routes under the same paths; its tests follow every link.
const (
	PathLogin         = "/login"
	PathLogout        = "/logout"
	PathSessions      = "/settings/security/sessions"
	PathSignOutOthers = "/settings/security/sessions/sign-out-others"
)

// SessionPath is the path of one session's details page.
func SessionPath(id string) string { return PathSessions + "/" + id }

// SignOutPath is the path of the confirmation that signs out one session
// (GET shows it, POST does it).
func SignOutPath(id string) string { return SessionPath(id) + "/sign-out" }

// Layout is what every page shares: the title, the signed-in person and the
// settings navigation, the form token and a message left by the last action.
type Layout struct {
	Title string
	// User is nil on pages seen signed out (sign-in, some error pages):
	// they have no navigation.
	User *User
	Nav  []NavSection
	// CSRF is the signed-in session's form token, sent back by every form.
	CSRF  string
	Flash *Flash
	// Once is the page's one-time token, sent back by every form that
	// changes something (template "once"): a resubmission does nothing again.
	Once string
	// RequestID identifies the request in the logs; error pages show it.
	RequestID string
	// Places is set on pages that show where sessions are (and on the
	// sign-in page), which credit the sources of the places as their
	// licences ask (DB-IP Lite's: "IP Geolocation by DB-IP").
	Places bool
	// Credits are those sources: empty while no geolocation database is
	// installed, and then no page names one.
	Credits []doorman.Credit
	// NoReferrer keeps the browser from sending this page's address on:
	// pages whose address is a secret (alert links).
	NoReferrer bool
}

func (l *Layout) layout() *Layout { return l }

// User is the signed-in person as the header shows them.
type User struct {
	Name    string
	Email   string
	Account string
	Admin   bool
}

// NavSection is one group of the settings navigation ("Security").
type NavSection struct {
	Title string
	Items []NavItem
}

// NavItem is one link of the navigation; Current marks the page shown.
type NavItem struct {
	Label   string
	Href    string
	Current bool
}

// Flash kinds.
const (
	FlashSuccess = "success"
	FlashInfo    = "info"
	FlashError   = "error"
)

// Flash is a one-time message about what the last action did.
type Flash struct {
	Kind string // FlashSuccess, FlashInfo or FlashError
	Text string
}

// LoginPage is the sign-in form.
type LoginPage struct {
	Layout
	Email      string
	RememberMe bool
	// Next is where to go after signing in, a validated local path ("" for
	// the sessions page).
	Next string
	// FormToken ties the form to the browser's device cookie, so that
	// another site cannot sign the browser in to an account of its choice.
	FormToken string
	// Error says why the last attempt failed.
	Error string
	// Passkeys offers "Sign in with a passkey" (the server has them on).
	Passkeys bool
}

func (*LoginPage) template() string { return "login" }

// SessionsPage is Settings → Security → Sessions.
type SessionsPage struct {
	Layout
	Current Session
	Others  []Session
}

func (*SessionsPage) template() string { return "sessions" }

// SessionPage is one session's details.
type SessionPage struct {
	Layout
	Session Session
	// History lists the addresses the session was used from, newest first;
	// nil when the service cannot tell.
	History []IPUse
	// RememberDays is how long a remembered session lasts from its
	// sign-in under the account's settings, "30 days".
	RememberDays string
}

func (*SessionPage) template() string { return "session" }

// SignOutAllPath is the page that signs out every session, this one
// included, one of the suspicious-session box's actions.
func (*SessionPage) SignOutAllPath() string { return PathSignOutAll }

// PasswordPath is the Change Password page, another of the box's actions.
func (*SessionPage) PasswordPath() string { return PathPassword }

// AuditPath is the audit log, the box's last action for admins.
func (*SessionPage) AuditPath() string { return PathAudit }

// ConfirmSignOutPage asks before signing out one session.
type ConfirmSignOutPage struct {
	Layout
	Session Session
	// Cancel is where Cancel leads: back to the page the person came from.
	Cancel string
}

func (*ConfirmSignOutPage) template() string { return "confirm_sign_out" }

// ConfirmSignOutOthersPage asks before signing out every other session.
type ConfirmSignOutOthersPage struct {
	Layout
	Others []Session
}

func (*ConfirmSignOutOthersPage) template() string { return "confirm_sign_out_others" }

// ErrorPage says what went wrong and what to do next.
type ErrorPage struct {
	Layout
	Status  int
	Heading string
	Message string
	// Next is the way on: a link and its label.
	NextHref  string
	NextLabel string
}

func (*ErrorPage) template() string { return "error" }

// RestrictedPage tells a signed-in person that a page is not theirs to
// open, why (their role, or a setting of their account), and where to go
// instead. It answers 403.
type RestrictedPage struct {
	Layout
	Heading string
	Message string
	// Links are the pages the person may open instead.
	Links []NavItem
}

func (*RestrictedPage) template() string { return "restricted" }

// ConfirmOne is the confirmation form for one session, on its own page or
// in a <dialog> of the page that links to it.
type ConfirmOne struct {
	Session Session
	CSRF    string
	Once    string
	Cancel  string
	// Dialog is set when the form sits in a page's <template>, for app.js
	// to open as a dialog: its heading is then not the page's h1.
	Dialog bool
}

// ConfirmOthers is the confirmation form for signing out every other session.
type ConfirmOthers struct {
	Others []Session
	CSRF   string
	Once   string
	Dialog bool
}

// ConfirmOne is the dialog form for signing out s.
func (p *SessionsPage) ConfirmOne(s Session) ConfirmOne {
	return ConfirmOne{Session: s, CSRF: p.CSRF, Once: p.Once, Cancel: PathSessions, Dialog: true}
}

// ConfirmOthers is the dialog form for signing out the other sessions.
func (p *SessionsPage) ConfirmOthers() ConfirmOthers {
	return ConfirmOthers{Others: p.Others, CSRF: p.CSRF, Once: p.Once, Dialog: true}
}

// ConfirmOne is the dialog form for signing out the session shown.
func (p *SessionPage) ConfirmOne() ConfirmOne {
	return ConfirmOne{Session: p.Session, CSRF: p.CSRF, Once: p.Once, Cancel: p.Session.Path(), Dialog: true}
}

// ConfirmOne is the page's form.
func (p *ConfirmSignOutPage) ConfirmOne() ConfirmOne {
	return ConfirmOne{Session: p.Session, CSRF: p.CSRF, Once: p.Once, Cancel: p.Cancel}
}

// ConfirmOthers is the page's form.
func (p *ConfirmSignOutOthersPage) ConfirmOthers() ConfirmOthers {
	return ConfirmOthers{Others: p.Others, CSRF: p.CSRF, Once: p.Once}
}
