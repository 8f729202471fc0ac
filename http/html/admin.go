package html

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// Paths of the administrators' Team pages.
const (
	PathAdmin           = "/admin"
	PathTeamSessions    = "/admin/sessions"
	PathSignOutTeam     = "/admin/sessions/sign-out-all"
	PathSessionSettings = "/admin/settings/sessions"
	PathAudit           = "/admin/audit"
	// PathAdminUsers is the prefix of one team member's pages.
	PathAdminUsers = "/admin/users/"
)

// TeamUserPath is the page of one team member's sessions.
func TeamUserPath(userID string) string { return PathAdminUsers + userID + "/sessions" }

// ForceSignOutPath is the "Force Sign Out User" confirmation of one team
// member (GET shows it, POST does it).
func ForceSignOutPath(userID string) string { return PathAdminUsers + userID + "/sign-out" }

// TeamUser is a team member as the Team pages name them.
type TeamUser struct {
	ID    string
	Email string
	Name  string
	Admin bool
}

// NewTeamUser describes u.
func NewTeamUser(u *doorman.User) TeamUser {
	return TeamUser{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.IsAdmin()}
}

// SessionsPath is the member's sessions page.
func (u TeamUser) SessionsPath() string { return TeamUserPath(u.ID) }

// SignOutPath is the member's "Force Sign Out User" confirmation.
func (u TeamUser) SignOutPath() string { return ForceSignOutPath(u.ID) }

// Option is one choice of a <select>.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// Pager says which slice of a long list a page shows, and links to the
// pages before and after it ("" when there is none).
type Pager struct {
	From, To, Total int
	Noun            string // "users", "events"
	Prev, Next      string
}

// NewPager describes page (from 1) of size rows out of total, linking to
// base with query q and its "page" parameter changed.
func NewPager(page, size, shown, total int, noun, base string, q url.Values) Pager {
	p := Pager{Total: total, Noun: noun}
	if shown > 0 {
		p.From = (page-1)*size + 1
		p.To = p.From + shown - 1
	}
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "page" {
				v[k] = vs
			}
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page*size < total {
		p.Next = link(page + 1)
	}
	return p
}

// Text is the pager's summary: "Showing 1–50 of 120 users".
func (p Pager) Text() string {
	if p.Total == 0 {
		return ""
	}
	return fmt.Sprintf("Showing %s–%s of %s %s", thousands(int64(p.From)), thousands(int64(p.To)),
		thousands(int64(p.Total)), p.Noun)
}

// Paged reports whether the list spans more than one page.
func (p Pager) Paged() bool { return p.Prev != "" || p.Next != "" }

// TeamRow is one line of the Team Sessions table.
type TeamRow struct {
	User     TeamUser
	Sessions string // "3", "1,234"
	// LastActive is nil for a member without active sessions.
	LastActive *Time
	ActiveNow  bool
	// Flagged marks a member with a suspicious session.
	Flagged bool
	// TwoFactor marks a member with two-factor authentication on.
	TwoFactor bool
}

// NewTeamRow describes one member's line at now.
func NewTeamRow(u *doorman.User, sessions int, lastActive *time.Time, now time.Time) TeamRow {
	r := TeamRow{User: NewTeamUser(u), Sessions: thousands(int64(sessions))}
	if lastActive != nil {
		t := NewTime(*lastActive, now)
		r.LastActive = &t
		r.ActiveNow = now.Sub(*lastActive) < doorman.ActiveNowWindow
	}
	return r
}

// TeamSessionsPage is Team → Sessions: every member with their number of
// sessions and last activity, as the guide's "Team Sessions" draws it.
type TeamSessionsPage struct {
	Layout
	// Filter is the email the table is filtered by, "" for all users.
	Filter      string
	Users       []Option
	Rows        []TeamRow
	TotalActive string
	Pager       Pager
}

func (*TeamSessionsPage) template() string { return "admin_sessions" }

// TeamUserPage is one member's sessions, seen by an administrator: the
// active ones, and those that ended lately with why.
type TeamUserPage struct {
	Layout
	Member   TeamUser
	Sessions []Session
	Ended    []EndedSession
}

// EndedSession is a session that has ended, in the team view.
type EndedSession struct {
	Label string // "Chrome on macOS"
	Place string
	IP    string
	Ended Time
	// Why is its end in words: "Idle timeout", "Signed out", "Signed out
	// by an administrator: Lost laptop".
	Why string
}

// NewEndedSession describes sess, which ended at for reason (the code of
// its 401), with note, the reason an administrator recorded.
func NewEndedSession(sess *doorman.Session, at time.Time, reason, note string, now time.Time) EndedSession {
	why := doorman.EndText(reason) // never empty
	if note != "" && note != reason {
		why += ": " + note
	}
	why = strings.ToUpper(why[:1]) + why[1:]
	return EndedSession{Label: sess.Device.Label(), Place: sess.Location.Label(), IP: orUnknown(sess.IP),
		Ended: NewEventTime(at, now), Why: why}
}

func (*TeamUserPage) template() string { return "admin_user_sessions" }

// ForceSignOutPage is the guide's "Force Sign Out User" confirmation.
type ForceSignOutPage struct {
	Layout
	Member TeamUser
	Active int
	// Ending is how many sessions it ends: Active, less the current
	// session when Self.
	Ending int
	// Self is set when administrators sign out their own user: their
	// current session stays.
	Self   bool
	Reason string
	// Error says why the last attempt changed nothing.
	Error string
}

func (*ForceSignOutPage) template() string { return "admin_force_sign_out" }

// TeamCount is one member's share of "Sign Out All Team Sessions".
type TeamCount struct {
	Email    string
	Sessions int
}

// SignOutTeamPage confirms "Sign Out All Team Sessions".
type SignOutTeamPage struct {
	Layout
	// Sessions is how many sessions it ends: every active one but the
	// administrator's current session.
	Sessions int
	Users    []TeamCount
	// More is how many members are not listed.
	More   int
	Reason string
	Error  string
}

func (*SignOutTeamPage) template() string { return "admin_sign_out_all" }

// IdleChoice is one choice of "Sign out inactive sessions after".
type IdleChoice struct {
	Value   string
	Label   string
	Checked bool
	// Expires is what "All sessions expire after:" says with this choice.
	Expires string
}

// SessionSettingsPage is Team → Session settings.
type SessionSettingsPage struct {
	Layout
	Idle              []IdleChoice
	RememberMeAllowed bool
	RememberMeDays    string
	// Expires is the "All sessions expire after:" text of the chosen timeout.
	Expires            string
	MembersSeeSessions bool
	// EndSessionOnFailedProof: a device-bound session whose proof fails ends.
	EndSessionOnFailedProof bool
	// Error, with the field it is about, says why nothing was saved.
	Error      string
	ErrorField string
	MinDays    int
	MaxDays    int
}

func (*SessionSettingsPage) template() string { return "admin_settings" }

// Thousands writes n with comma separators: "1,234".
func Thousands(n int) string { return thousands(int64(n)) }
