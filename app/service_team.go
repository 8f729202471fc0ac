package app

import (
	"context"
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// PathInvite starts an invitation link: LinkBase + PathInvite + token.
const PathInvite = "/invite/"

// TeamPerson is one row of the Team page: a user of the account with their
// status and active sessions.
type TeamPerson struct {
	User         *doorman.User
	Sessions     int        // active sessions now
	LastActiveAt *time.Time // latest activity of an active session; nil when none
	TwoFactor    bool
}

// TeamPeople returns every user of the admin's account but the removed, by
// email, with their active sessions and two-factor state. EFORBIDDEN for
// members.
func (s *Service) TeamPeople(ctx context.Context, p *doorman.Principal) ([]TeamPerson, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	return s.people(ctx, p.Account)
}

// OperatorPeople is TeamPeople for the command line: the users of the
// account named accountName. ENOTFOUND for an unknown account.
func (s *Service) OperatorPeople(ctx context.Context, accountName string) (*doorman.Account, []TeamPerson, error) {
	acct, err := s.operatorAccount(ctx, accountName)
	if err != nil {
		return nil, nil, err
	}
	list, err := s.people(ctx, acct)
	return acct, list, err
}

func (s *Service) people(ctx context.Context, acct *doorman.Account) ([]TeamPerson, error) {
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{AccountID: acct.ID})
	if err != nil {
		return nil, unavailable("team users", err)
	}
	now := s.now()
	members, _, _, err := s.Store.FindTeamMembers(ctx, acct.ID, doorman.Window(acct.Settings, now), doorman.TeamFilter{})
	if err != nil {
		return nil, unavailable("team users", err)
	}
	if err := s.markTwoFactor(ctx, acct.ID, members); err != nil {
		return nil, err
	}
	byID := make(map[string]doorman.TeamMember, len(members))
	for _, m := range members {
		byID[m.User.ID] = m
	}
	out := make([]TeamPerson, 0, len(users))
	for _, u := range users {
		if u.RemovedAt != nil {
			continue
		}
		m := byID[u.ID]
		out = append(out, TeamPerson{User: u, Sessions: m.Sessions, LastActiveAt: m.LastActiveAt, TwoFactor: m.TwoFactor})
	}
	return out, nil
}

// InviteRequest is who an admin or operator invites.
type InviteRequest struct {
	Email string
	Name  string // optional: the person sets theirs when accepting
	Role  doorman.Role
}

// Invite is an invitation just made: the invited user, the link (shown this
// once; only its hash is stored) and whether it went out by email.
type Invite struct {
	User    *doorman.User
	URL     string
	Emailed bool
}

// InviteUser invites a person to the admin's account: a user with status
// invited and a single-use link valid for doorman.InvitationTTL, emailed
// when a Mailer is configured. Audited as user_invited. ECONFLICT when the
// email has a user in the account (a removed one too); EINVALID for a bad
// email, role or name; EFORBIDDEN for members.
func (s *Service) InviteUser(ctx context.Context, p *doorman.Principal, req InviteRequest, m Meta) (*Invite, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	if err := doorman.ValidateTexts("email", req.Email, "name", req.Name); err != nil {
		return nil, err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, err
	}
	return s.invite(ctx, p, p.Account, req, m)
}

// OperatorInviteUser is InviteUser from the command line, into the account
// named accountName, audited as the system actor.
func (s *Service) OperatorInviteUser(ctx context.Context, accountName string, req InviteRequest) (*Invite, error) {
	acct, err := s.operatorAccount(ctx, accountName)
	if err != nil {
		return nil, err
	}
	return s.invite(ctx, nil, acct, req, Meta{})
}

func (s *Service) invite(ctx context.Context, by *doorman.Principal, acct *doorman.Account, req InviteRequest, m Meta) (*Invite, error) {
	if err := doorman.ValidateTexts("email", req.Email, "name", req.Name); err != nil {
		return nil, err
	}
	if req.Role == "" {
		req.Role = doorman.RoleMember
	}
	// The invited person has no password until they accept; this one,
	// random and thrown away, keeps the row as valid as any other and
	// matches no password anyone types.
	placeholder, _ := doorman.NewToken()
	hash, err := s.Passwords.Hash(placeholder)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, now), AccountID: acct.ID, Email: doorman.NormalizeEmail(req.Email),
		Name: strings.TrimSpace(req.Name), Role: req.Role, PasswordHash: hash, Invited: true, CreatedAt: now}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	token, inv := newInvitation(u, now)
	ev := s.event(by, doorman.ActionUserInvited, u.Email, m, now)
	ev.AccountID, ev.Details = acct.ID, "user_id="+u.ID+" role="+string(u.Role)
	if err := s.Store.InviteUser(ctx, u, inv, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ECONFLICT {
			return nil, doorman.Errorf(doorman.ECONFLICT, "%s already has a user in this account", u.Email)
		}
		return nil, unavailable("invite user", err)
	}
	s.Log.Info("user invited", "user_id", u.ID, "account_id", acct.ID)
	return s.sendInvitation(ctx, acct, u, token, inv), nil
}

// newInvitation returns a fresh token (256 bits from crypto/rand) and the
// invitation of u that stores only its hash.
func newInvitation(u *doorman.User, now time.Time) (string, *doorman.Invitation) {
	token, hash := doorman.NewToken()
	return token, &doorman.Invitation{UserID: u.ID, AccountID: u.AccountID, Email: u.Email, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(doorman.InvitationTTL)}
}

// InviteURL is the link of an invitation token: absolute when the service
// knows its public URL (Alerts.LinkBase), else a path on it.
func (s *Service) InviteURL(token string) string {
	return s.Alerts.LinkBase + PathInvite + token
}

// inviteSendTimeout bounds the email of an invitation, sent while the admin
// waits: the link is in the answer too, so a slow server costs only the
// email.
const inviteSendTimeout = 10 * time.Second

// sendInvitation emails the invitation when a Mailer is configured and
// returns what the admin is shown. The token is never logged.
func (s *Service) sendInvitation(ctx context.Context, acct *doorman.Account, u *doorman.User, token string, inv *doorman.Invitation) *Invite {
	out := &Invite{User: u, URL: s.InviteURL(token)}
	if s.Alerts.Mailer == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inviteSendTimeout)
	defer cancel()
	if err := s.Alerts.Mailer.Send(ctx, invitationEmail(acct, u, out.URL, inv.ExpiresAt)); err != nil {
		s.Log.Warn("invitation email failed; the admin has the link to hand over", "user_id", u.ID, "err", err)
		return out
	}
	out.Emailed = true
	return out
}

// invitationEmail writes the invitation: who invites to which account, the
// link and how long it lasts, as plain text and as HTML.
func invitationEmail(acct *doorman.Account, u *doorman.User, link string, expires time.Time) doorman.Email {
	until := expires.UTC().Format("Monday, 2 January 2006 at 15:04 UTC")
	subject := "You are invited to " + acct.Name + " on Doorman"
	var t strings.Builder
	fmt.Fprintf(&t, "You are invited to join %s on Doorman as %s.\n\n", acct.Name, roleWord(u.Role))
	fmt.Fprintf(&t, "Open this link to choose your name and password and sign in:\n\n%s\n\n", link)
	fmt.Fprintf(&t, "The link works once, until %s.\n", until)
	t.WriteString("If you did not expect this invitation, you can ignore this email.\n")
	e := html.EscapeString
	h := "<!doctype html><html><body style=\"font-family: system-ui, sans-serif\">" +
		"<p>You are invited to join <strong>" + e(acct.Name) + "</strong> on Doorman as " + e(roleWord(u.Role)) + ".</p>" +
		"<p><a href=\"" + e(link) + "\">Accept the invitation</a></p>" +
		"<p>Or copy this link into your browser: " + e(link) + "</p>" +
		"<p>The link works once, until " + e(until) + ".</p>" +
		"<p>If you did not expect this invitation, you can ignore this email.</p></body></html>"
	return doorman.Email{To: u.Email, Subject: subject, Text: t.String(), HTML: h}
}

func roleWord(r doorman.Role) string {
	if r == doorman.RoleAdmin {
		return "an administrator"
	}
	return "a member"
}

// ResendInvitation makes a new link for an invited user of the admin's
// account; the old link stops working. ENOTFOUND unless the account has an
// invited user with that id; EFORBIDDEN for members.
func (s *Service) ResendInvitation(ctx context.Context, p *doorman.Principal, userID string, m Meta) (*Invite, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	u, err := s.teamUser(ctx, p, userID)
	if err != nil {
		return nil, err
	}
	if !u.Invited || u.RemovedAt != nil {
		return nil, doorman.Errorf(doorman.ECONFLICT, "%s has no pending invitation", u.Email)
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, err
	}
	now := s.now()
	token, inv := newInvitation(u, now)
	ev := s.event(p, doorman.ActionInvitationResent, u.Email, m, now)
	ev.Details = "user_id=" + u.ID
	if err := s.Store.RenewInvitation(ctx, inv, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return nil, doorman.Errorf(doorman.ECONFLICT, "%s has no pending invitation", u.Email)
		}
		return nil, unavailable("resend invitation", err)
	}
	return s.sendInvitation(ctx, p.Account, u, token, inv), nil
}

// errInvitation answers every link that cannot be used, whatever the cause,
// so that the answer says nothing of which invitations exist.
var errInvitation = &doorman.Error{Code: doorman.EINVALID,
	Message: "This invitation link cannot be used: it was used already, replaced by a newer one, revoked, or is older than 7 days. Ask an administrator of your team for a new one."}

// Invitation returns the invitation of a link's token, with its account,
// for the page that accepts it. EINVALID (errInvitation) unless it can be
// accepted now.
func (s *Service) Invitation(ctx context.Context, token string) (*doorman.Invitation, *doorman.Account, error) {
	if !doorman.TokenWellFormed(token) {
		return nil, nil, errInvitation
	}
	inv, err := s.Store.FindInvitation(ctx, doorman.HashToken(token))
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, nil, errInvitation
	}
	if err != nil {
		return nil, nil, unavailable("invitation", err)
	}
	if !s.now().Before(inv.ExpiresAt) {
		return nil, nil, errInvitation
	}
	acct, err := s.Store.FindAccountByID(ctx, inv.AccountID)
	if err != nil {
		return nil, nil, unavailable("invitation", err)
	}
	return inv, acct, nil
}

// AcceptRequest is what the holder of an invitation sends.
type AcceptRequest struct {
	Token    string
	Name     string // optional; empty keeps the name the admin gave
	Password string
	Meta
}

// AcceptInvitation sets the invited user's name and password (the
// account's password rules) and starts a session, as SignIn does: it
// returns the new session's token and principal. The link works once.
// EINVALID for a link that cannot be used (errInvitation) or a password
// the rules refuse.
func (s *Service) AcceptInvitation(ctx context.Context, req AcceptRequest) (string, *doorman.Principal, error) {
	if err := doorman.ValidatePassword(req.Password); err != nil {
		return "", nil, err
	}
	name := strings.TrimSpace(req.Name)
	if err := doorman.ValidateText("name", name); err != nil {
		return "", nil, err
	}
	if len(name) > 200 {
		return "", nil, doorman.Errorf(doorman.EINVALID, "name is longer than 200 characters")
	}
	inv, _, err := s.Invitation(ctx, req.Token)
	if err != nil {
		return "", nil, err
	}
	u, err := s.Store.FindUserByID(ctx, inv.AccountID, inv.UserID)
	if err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return "", nil, errInvitation
		}
		return "", nil, unavailable("accept invitation", err)
	}
	if name == "" {
		name = u.Name
	}
	hash, err := s.Passwords.Hash(req.Password)
	if err != nil {
		return "", nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	ev := s.event(nil, doorman.ActionInvitationAccepted, u.Email, req.Meta, now)
	ev.AccountID, ev.ActorID, ev.Actor, ev.Details = u.AccountID, u.ID, u.Email, "user_id="+u.ID
	user, err := s.Store.AcceptInvitation(ctx, doorman.HashToken(req.Token), name, hash, now, ev)
	if err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return "", nil, errInvitation
		}
		return "", nil, unavailable("accept invitation", err)
	}
	s.Log.Info("invitation accepted", "user_id", user.ID)
	return s.startSession(ctx, user, false, false, req.Meta)
}

// UserChange is an admin's change of a user; nil fields stay. Reason is
// required to disable, or to make an admin a member.
type UserChange struct {
	Role     *doorman.Role
	Disabled *bool
	Name     *string
	Reason   string
}

// UpdateTeamUser changes a user of the admin's account: role, disabled,
// name. Disabling or demoting needs a reason (EINVALID without, changing
// nothing); disabling ends every session of the user at once, and nothing
// else (the account's API keys stay). ECONFLICT when the change would leave
// the account without an active admin; ENOTFOUND for a user of another
// account or a removed one; EFORBIDDEN for members.
func (s *Service) UpdateTeamUser(ctx context.Context, p *doorman.Principal, userID string, c UserChange, m Meta) (*doorman.User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	u, err := s.teamUser(ctx, p, userID)
	if err != nil {
		return nil, err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, err
	}
	return s.changeUser(ctx, p, p.Account, u, c, m)
}

// OperatorUpdateUser is UpdateTeamUser from the command line, for the user
// with email in the account named accountName, audited as the system
// actor.
func (s *Service) OperatorUpdateUser(ctx context.Context, accountName, email string, c UserChange) (*doorman.User, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	acct, u, err := s.operatorUser(ctx, accountName, email)
	if err != nil {
		return nil, err
	}
	return s.changeUser(ctx, nil, acct, u, c, Meta{})
}

func (c *UserChange) validate() error {
	if c.Role == nil && c.Disabled == nil && c.Name == nil {
		return doorman.Errorf(doorman.EINVALID, "nothing to change: give role, disabled or name")
	}
	if c.Role != nil && !c.Role.Valid() {
		return doorman.Errorf(doorman.EINVALID, "role must be admin or member")
	}
	if c.Name != nil {
		n := strings.TrimSpace(*c.Name)
		if err := doorman.ValidateText("name", n); err != nil {
			return err
		}
		if len(n) > 200 {
			return doorman.Errorf(doorman.EINVALID, "name is longer than 200 characters")
		}
		c.Name = &n
	}
	if c.Reason != "" {
		r, err := ValidateReason(c.Reason)
		if err != nil {
			return err
		}
		c.Reason = r
	}
	return nil
}

// needsReason returns EINVALID ("reason is required") when c disables or
// demotes u without a reason. Disabling asks for one even when u is
// disabled already, since it ends whatever sessions are left.
func (c *UserChange) needsReason(u *doorman.User) error {
	disables := c.Disabled != nil && *c.Disabled
	demotes := c.Role != nil && *c.Role != doorman.RoleAdmin && u.IsAdmin()
	if (disables || demotes) && c.Reason == "" {
		_, err := ValidateReason("")
		return err
	}
	return nil
}

// changeUser applies c to u, a user of acct, as by (nil: an operator).
func (s *Service) changeUser(ctx context.Context, by *doorman.Principal, acct *doorman.Account, u *doorman.User, c UserChange, m Meta) (*doorman.User, error) {
	if err := c.needsReason(u); err != nil {
		return nil, err
	}
	if u.RemovedAt != nil {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	if u.Invited && c.Disabled != nil && *c.Disabled {
		return nil, doorman.Errorf(doorman.ECONFLICT, "%s has not accepted the invitation: revoke it instead", u.Email)
	}
	upd := doorman.UserUpdate{Role: c.Role, Disabled: c.Disabled, Name: c.Name}
	var details []string
	action := doorman.ActionUserRenamed
	if c.Name != nil && *c.Name != u.Name {
		details = append(details, fmt.Sprintf("name=%q->%q", u.Name, *c.Name))
	}
	if c.Role != nil && *c.Role != u.Role {
		action = doorman.ActionUserRoleChanged
		details = append(details, "role="+string(u.Role)+"->"+string(*c.Role))
	}
	disabling := c.Disabled != nil && *c.Disabled && !u.Disabled
	if c.Disabled != nil && *c.Disabled != u.Disabled {
		action = doorman.ActionUserEnabled
		if disabling {
			action = doorman.ActionUserDisabled
		}
		details = append(details, fmt.Sprintf("disabled=%t->%t", u.Disabled, *c.Disabled))
	}
	now := s.now()
	upd.At = now
	ev := s.event(by, action, u.Email, m, now)
	ev.AccountID, ev.Reason = acct.ID, c.Reason
	ev.Details = strings.Join(append([]string{"user_id=" + u.ID}, details...), " ")
	out, err := s.Store.UpdateUser(ctx, acct.ID, u.ID, upd, ev)
	if err != nil {
		return nil, s.userChangeError(err, u)
	}
	if c.Disabled != nil && *c.Disabled {
		// Also when the user was disabled already: a retry after a failed
		// revocation ends what is left.
		if _, err := s.endUserSessions(ctx, by, acct, u, c.Reason, now); err != nil {
			return nil, err
		}
	}
	s.Log.Info("user changed", "user_id", u.ID, "action", action, "by", actorID(by))
	return out, nil
}

// userChangeError turns the store's answer to a change of u into what the
// admin reads.
func (s *Service) userChangeError(err error, u *doorman.User) error {
	switch doorman.ErrorCode(err) {
	case doorman.ECONFLICT:
		return doorman.Errorf(doorman.ECONFLICT, "%s is the last active administrator: make another person an administrator first", u.Email)
	case doorman.ENOTFOUND:
		return doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	return unavailable("update user", err)
}

// endUserSessions revokes every session of u through RevokeSessions, the
// exact revocation path: once it returns no node admits them.
func (s *Service) endUserSessions(ctx context.Context, by *doorman.Principal, acct *doorman.Account, u *doorman.User, reason string, now time.Time) (int, error) {
	n, err := s.Store.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: acct.ID, UserID: u.ID},
		doorman.Revocation{At: now, By: actorID(by), Reason: reason}, nil)
	if err != nil {
		return 0, unavailable("end user sessions", err)
	}
	return n, nil
}

func actorID(by *doorman.Principal) string {
	if by == nil || by.User == nil {
		return doorman.ActorSystem
	}
	return by.User.ID
}

// RemoveTeamUser removes a user of the admin's account, with the reason
// (required): every session of theirs ends at once. An invited user's row
// is deleted (revoking the invitation; the email is free again); any other
// user is kept as removed, email reserved, so that the audit log still
// names them. ECONFLICT for the last active admin; ENOTFOUND for a user of
// another account; EFORBIDDEN for members.
func (s *Service) RemoveTeamUser(ctx context.Context, p *doorman.Principal, userID, reason string, m Meta) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	reason, err := ValidateReason(reason)
	if err != nil {
		return err
	}
	u, err := s.teamUser(ctx, p, userID)
	if err != nil {
		return err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return err
	}
	return s.removeUser(ctx, p, p.Account, u, reason, m)
}

// OperatorRemoveUser is RemoveTeamUser from the command line.
func (s *Service) OperatorRemoveUser(ctx context.Context, accountName, email, reason string) error {
	reason, err := ValidateReason(reason)
	if err != nil {
		return err
	}
	acct, u, err := s.operatorUser(ctx, accountName, email)
	if err != nil {
		return err
	}
	return s.removeUser(ctx, nil, acct, u, reason, Meta{})
}

func (s *Service) removeUser(ctx context.Context, by *doorman.Principal, acct *doorman.Account, u *doorman.User, reason string, m Meta) error {
	if u.RemovedAt != nil {
		return doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	now := s.now()
	action := doorman.ActionUserRemoved
	if u.Invited {
		action = doorman.ActionInvitationRevoked
	}
	ev := s.event(by, action, u.Email, m, now)
	ev.AccountID, ev.Reason = acct.ID, reason
	ev.Details = "user_id=" + u.ID + " name=" + fmt.Sprintf("%q", u.Name) + " role=" + string(u.Role)
	if _, err := s.Store.UpdateUser(ctx, acct.ID, u.ID, doorman.UserUpdate{Remove: true, At: now}, ev); err != nil {
		return s.userChangeError(err, u)
	}
	if !u.Invited {
		if _, err := s.endUserSessions(ctx, by, acct, u, reason, now); err != nil {
			return err
		}
	}
	s.Log.Info("user removed", "user_id", u.ID, "by", actorID(by))
	return nil
}

// OperatorSetPassword sets the password of the user with email in the
// account named accountName, from the command line (the account's
// password rules apply), and ends every session of theirs: whoever held
// the old password is out. Audited as password_changed by the system
// actor. It returns how many sessions it ended. ENOTFOUND for an unknown
// account or user; ECONFLICT for an invited user, who sets a password by
// accepting the invitation.
func (s *Service) OperatorSetPassword(ctx context.Context, accountName, email, password string) (*doorman.User, int, error) {
	if err := doorman.ValidatePassword(password); err != nil {
		return nil, 0, err
	}
	acct, u, err := s.operatorUser(ctx, accountName, email)
	if err != nil {
		return nil, 0, err
	}
	if u.Invited {
		return nil, 0, doorman.Errorf(doorman.ECONFLICT, "%s has not accepted the invitation yet: resend it instead", u.Email)
	}
	hash, err := s.Passwords.Hash(password)
	if err != nil {
		return nil, 0, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	const reason = "password set by an operator"
	ev := s.event(nil, doorman.ActionPasswordChanged, u.Email, Meta{}, now)
	ev.AccountID, ev.Reason, ev.Details = acct.ID, reason, "user_id="+u.ID
	if err := s.Store.UpdateUserPassword(ctx, acct.ID, u.ID, hash, ev); err != nil {
		return nil, 0, unavailable("set password", err)
	}
	n, err := s.endUserSessions(ctx, nil, acct, u, reason, now)
	if err != nil {
		return nil, 0, err
	}
	return u, n, nil
}

// operatorAccount finds the account named name for a command.
func (s *Service) operatorAccount(ctx context.Context, name string) (*doorman.Account, error) {
	name = strings.TrimSpace(name)
	if err := doorman.ValidateText("account name", name); err != nil {
		return nil, err
	}
	acct, err := s.Store.FindAccountByName(ctx, name)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "no account is named %q", name)
	}
	if err != nil {
		return nil, unavailable("find account", err)
	}
	return acct, nil
}

// operatorUser finds the user, not removed, with email in the account
// named accountName, for a command.
func (s *Service) operatorUser(ctx context.Context, accountName, email string) (*doorman.Account, *doorman.User, error) {
	acct, err := s.operatorAccount(ctx, accountName)
	if err != nil {
		return nil, nil, err
	}
	email = doorman.NormalizeEmail(email)
	if err := doorman.ValidateText("email", email); err != nil {
		return nil, nil, err
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{AccountID: acct.ID, Email: email, Limit: 1})
	if err != nil {
		return nil, nil, unavailable("find user", err)
	}
	if len(users) == 0 || users[0].RemovedAt != nil {
		return nil, nil, doorman.Errorf(doorman.ENOTFOUND, "no user has email %s in account %s", email, acct.Name)
	}
	return acct, users[0], nil
}

// CreateUser creates a user, and its account when no account has that name,
// as an operator would from the command line. The password is hashed here.
func (s *Service) CreateUser(ctx context.Context, accountName, email, name string, role doorman.Role, password string) (*doorman.User, error) {
	if err := doorman.ValidateTexts("account name", accountName, "email", email, "name", name); err != nil {
		return nil, err
	}
	email = doorman.NormalizeEmail(email)
	if err := doorman.ValidatePassword(password); err != nil {
		return nil, err
	}
	now := s.now()
	acct, err := s.Store.FindAccountByName(ctx, strings.TrimSpace(accountName))
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		acct = &doorman.Account{ID: doorman.NewID(doorman.PrefixAccount, now), Name: strings.TrimSpace(accountName), Settings: doorman.DefaultSettings(), CreatedAt: now}
		if err := acct.Validate(); err != nil {
			return nil, err
		}
		if err := s.Store.CreateAccount(ctx, acct); err != nil {
			if doorman.ErrorCode(err) != doorman.ECONFLICT { // another process created it meanwhile
				return nil, err
			}
			if acct, err = s.Store.FindAccountByName(ctx, acct.Name); err != nil {
				return nil, err
			}
		}
	} else if err != nil {
		return nil, err
	}
	hash, err := s.Passwords.Hash(password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &doorman.User{ID: doorman.NewID(doorman.PrefixUser, now), AccountID: acct.ID, Email: email, Name: strings.TrimSpace(name),
		Role: role, PasswordHash: hash, CreatedAt: now}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	ev := s.event(nil, doorman.ActionUserCreated, email, Meta{}, now)
	ev.AccountID = acct.ID
	ev.Details = "role=" + string(role)
	if err := s.Store.CreateUser(ctx, u, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ECONFLICT {
			return nil, doorman.Errorf(doorman.ECONFLICT, "a user with email %s already exists in account %s", email, acct.Name)
		}
		return nil, err
	}
	return u, nil
}
