package html

import (
	"time"

	"github.com/doorman/doorman"
)

// Paths of Team → People and of the invitation links.
const (
	// PathTeam is the list of everyone in the account.
	PathTeam = "/admin/team"
	// PathInviteUser is the form that invites a person.
	PathInviteUser = "/admin/team/invite"
	// PathInvite starts an invitation link: PathInvite + token.
	PathInvite = "/invite/"
)

// TeamPersonPath is the page that manages one person of the team.
func TeamPersonPath(userID string) string { return PathTeam + "/" + userID }

// Person is one user as Team → People shows them.
type Person struct {
	User   TeamUser
	Role   string // "Admin", "Member"
	Status string // "Active", "Invited", "Disabled"
	// StatusKey is the status's code: "active", "invited", "disabled".
	StatusKey string
	TwoFactor bool
	Sessions  string // "3", "1,234"
	// SessionCount is Sessions as a number, for the confirmations.
	SessionCount int
	// LastActive is nil for a person without active sessions.
	LastActive *Time
	ActiveNow  bool
	// Self marks the administrator looking at the page.
	Self bool
}

// NewPerson describes u with their active sessions at now.
func NewPerson(u *doorman.User, sessions int, lastActive *time.Time, twoFactor, self bool, now time.Time) Person {
	p := Person{User: NewTeamUser(u), Role: "Member", StatusKey: string(u.Status()), TwoFactor: twoFactor,
		Sessions: thousands(int64(sessions)), SessionCount: sessions, Self: self}
	if u.IsAdmin() {
		p.Role = "Admin"
	}
	switch u.Status() {
	case doorman.UserInvited:
		p.Status = "Invited"
	case doorman.UserDisabled:
		p.Status = "Disabled"
	case doorman.UserRemoved:
		p.Status = "Removed"
	default:
		p.Status = "Active"
	}
	if lastActive != nil {
		t := NewTime(*lastActive, now)
		p.LastActive = &t
		p.ActiveNow = now.Sub(*lastActive) < doorman.ActiveNowWindow
	}
	return p
}

// Path is the person's page.
func (p Person) Path() string { return TeamPersonPath(p.User.ID) }

// ActionPath is the form of one of the person's actions: "role",
// "disable", "enable", "remove", "resend".
func (p Person) ActionPath(action string) string { return TeamPersonPath(p.User.ID) + "/" + action }

// Invited reports whether the person has not yet accepted.
func (p Person) Invited() bool { return p.StatusKey == string(doorman.UserInvited) }

// Disabled reports whether the person is disabled.
func (p Person) Disabled() bool { return p.StatusKey == string(doorman.UserDisabled) }

// TeamPage is Team → People: everyone in the account with role, status,
// two-factor state, last activity and sessions.
type TeamPage struct {
	Layout
	People []Person
	Total  string // "12"
}

func (*TeamPage) template() string { return "admin_team" }

// PersonPage manages one person: role, disable or enable, remove, resend
// the invitation, their sessions.
type PersonPage struct {
	Layout
	Person Person
	Roles  []Option
}

func (*PersonPage) template() string { return "admin_person" }

// InviteUserPage is the form that invites a person, and, once sent, the
// link to hand over.
type InviteUserPage struct {
	Layout
	Email string
	Name  string
	Roles []Option
	Error string
	// Link is set once the invitation exists: shown this once.
	Link    string
	Emailed bool
	Invited string // the invited email
}

func (*InviteUserPage) template() string { return "admin_invite" }

// AcceptInvitePage is what an invitation link opens: the form that sets a
// name and password, or why the link cannot be used.
type AcceptInvitePage struct {
	Layout
	// Gone is set when the link cannot be used; Message says why.
	Gone    bool
	Message string
	Email   string
	Account string
	Name    string
	Action  string
	// FormToken ties the form to the link, as the alert pages do.
	FormToken string
	Error     string
	MinLength int
}

func (*AcceptInvitePage) template() string { return "invite" }
