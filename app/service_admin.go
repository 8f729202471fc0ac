package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// The team view's page sizes.
const (
	DefaultTeamLimit = 50
	MaxTeamLimit     = 500
)

// errMembersRestricted answers a member's Sessions page and API when an
// admin turned Settings.MembersSeeSessions off.
var errMembersRestricted = &doorman.Error{Code: doorman.EFORBIDDEN,
	Message: "An administrator restricted the Sessions page for members of this account"}

// canSeeSessions returns EFORBIDDEN for a member of an account whose admins
// restricted the Sessions page; admins always may.
func canSeeSessions(p *doorman.Principal) error {
	if p.User.IsAdmin() || p.Account.Settings.MembersSeeSessions {
		return nil
	}
	return errMembersRestricted
}

// requireAdmin returns EFORBIDDEN unless p administers its account. Every
// admin method asks it first, before reading anything.
func requireAdmin(p *doorman.Principal) error {
	if p == nil || p.User == nil || !p.User.IsAdmin() {
		return doorman.Errorf(doorman.EFORBIDDEN, "only an administrator of this account can do this")
	}
	return nil
}

// TeamSessions returns the account's users (also those with no active
// session, sorted by last activity desc, then email), how many users match,
// and the account's total active sessions. EFORBIDDEN for members.
func (s *Service) TeamSessions(ctx context.Context, p *doorman.Principal, f doorman.TeamFilter) (members []doorman.TeamMember, users int, totalActive int, err error) {
	if err := requireAdmin(p); err != nil {
		return nil, 0, 0, err
	}
	f.Email = doorman.NormalizeEmail(f.Email)
	if err := doorman.ValidateText("user", f.Email); err != nil {
		return nil, 0, 0, err
	}
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultTeamLimit
	case f.Limit > MaxTeamLimit:
		f.Limit = MaxTeamLimit
	}
	f.Offset = max(f.Offset, 0)
	now := s.now()
	w := doorman.Window(p.Account.Settings, now)
	members, users, totalActive, err = s.Store.FindTeamMembers(ctx, p.Account.ID, w, f)
	if err != nil {
		return nil, 0, 0, unavailable("team sessions", err)
	}
	if err := s.markFlagged(ctx, p.Account.ID, members, w, now); err != nil {
		return nil, 0, 0, err
	}
	if err := s.markTwoFactor(ctx, p.Account.ID, members); err != nil {
		return nil, 0, 0, err
	}
	return members, users, totalActive, nil
}

// TeamUsers returns every user of the admin's account, by email (for
// "Filter by user"). EFORBIDDEN for members.
func (s *Service) TeamUsers(ctx context.Context, p *doorman.Principal) ([]*doorman.User, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{AccountID: p.Account.ID})
	if err != nil {
		return nil, unavailable("team users", err)
	}
	// Removed users stay in the store for the audit log only.
	return slices.DeleteFunc(users, func(u *doorman.User) bool { return u.RemovedAt != nil }), nil
}

// TeamUserSessions returns a user of the admin's account and their active
// sessions, most recently active first (TeamUserHistory without the ended
// ones).
func (s *Service) TeamUserSessions(ctx context.Context, p *doorman.Principal, userID string) (*doorman.User, []*doorman.Session, error) {
	u, active, _, err := s.TeamUserHistory(ctx, p, userID)
	return u, active, err
}

// teamUser finds a user of p's account; a user of another account, or none,
// is ENOTFOUND, so that ids cannot be probed.
func (s *Service) teamUser(ctx context.Context, p *doorman.Principal, userID string) (*doorman.User, error) {
	if !doorman.IDWellFormed(doorman.PrefixUser, userID) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	u, err := s.Store.FindUserByID(ctx, p.Account.ID, userID)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, unavailable("find user", err)
	}
	return u, nil
}

// ValidateReason returns EINVALID when a reason for a forced sign-out is
// missing or too long.
func ValidateReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", doorman.Errorf(doorman.EINVALID, "reason is required")
	}
	if err := doorman.ValidateText("reason", reason); err != nil {
		return "", err
	}
	if len(reason) > 500 {
		return "", doorman.Errorf(doorman.EINVALID, "reason is longer than 500 characters")
	}
	return reason, nil
}

// ForceSignOut signs out every session of a user of the admin's account,
// with the reason (EINVALID "reason is required", changing nothing, without
// one), and returns the user, read once here (callers need not read it
// first), and how many active sessions it ended. When admins force
// themselves out, their current session stays. It writes one audit event,
// ActionUserSessionsRevoked, whose target is the user's email. Each
// signed-out session's next request answers ReasonRevokedByAdmin ("An
// administrator signed you out"). ENOTFOUND for a user of another account;
// EFORBIDDEN for members; EREAUTH without a recent password
// (requireRecentAuth), asked once the request is otherwise valid.
func (s *Service) ForceSignOut(ctx context.Context, p *doorman.Principal, userID, reason string, m Meta) (*doorman.User, int, error) {
	if err := requireAdmin(p); err != nil {
		return nil, 0, err
	}
	reason, err := ValidateReason(reason)
	if err != nil {
		return nil, 0, err
	}
	u, err := s.teamUser(ctx, p, userID)
	if err != nil {
		return nil, 0, err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, 0, err
	}
	now := s.now()
	f := doorman.RevokeFilter{AccountID: p.Account.ID, UserID: u.ID, CountActive: doorman.Window(p.Account.Settings, now)}
	if u.ID == p.User.ID {
		f.ExceptSessionID = p.SessionID()
	}
	ev := s.event(p, doorman.ActionUserSessionsRevoked, u.Email, m, now)
	ev.Reason = reason
	ev.Details = "user_id=" + u.ID
	n, err := s.Store.RevokeSessions(ctx, f, doorman.Revocation{At: now, By: p.User.ID, Reason: reason}, ev)
	if err != nil {
		return nil, 0, unavailable("force sign out", err)
	}
	s.Log.Info("forced sign-out", "admin_id", p.User.ID, "user_id", u.ID, "count", n, "ip", m.IP)
	return u, n, nil
}

// OperatorForceSignOut signs out every session of every user with that
// email, in each account the email exists in, from the command line:
// audited as the system actor with the reason, one ActionUserSessionsRevoked
// event per account. It returns the users found and, by user id, how many
// valid sessions each lost. A missing reason is EINVALID and changes
// nothing; an unknown email is ENOTFOUND.
func (s *Service) OperatorForceSignOut(ctx context.Context, email, reason string) ([]*doorman.User, map[string]int, error) {
	reason, err := ValidateReason(reason)
	if err != nil {
		return nil, nil, err
	}
	if err := doorman.ValidateText("email", email); err != nil {
		return nil, nil, err
	}
	email = doorman.NormalizeEmail(email)
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{Email: email})
	if err != nil {
		return nil, nil, err
	}
	if len(users) == 0 {
		return nil, nil, doorman.Errorf(doorman.ENOTFOUND, "no user has email %s", email)
	}
	counts := make(map[string]int, len(users))
	for _, u := range users {
		acct, err := s.Store.FindAccountByID(ctx, u.AccountID)
		if err != nil {
			return users, counts, err
		}
		now := s.now()
		ev := s.event(nil, doorman.ActionUserSessionsRevoked, u.Email, Meta{}, now)
		ev.AccountID, ev.Reason, ev.Details = acct.ID, reason, "user_id="+u.ID
		n, err := s.Store.RevokeSessions(ctx,
			doorman.RevokeFilter{AccountID: acct.ID, UserID: u.ID, CountActive: doorman.Window(acct.Settings, now)},
			doorman.Revocation{At: now, By: doorman.ActorSystem, Reason: reason}, ev)
		if err != nil {
			return users, counts, err
		}
		counts[u.ID] = n
	}
	return users, counts, nil
}

// SignOutTeam signs out every session of the admin's account except the
// admin's current one, with the reason (required, as for ForceSignOut), and
// returns how many active sessions it ended. It writes one audit event,
// ActionTeamSessionsRevoked, whose target is the account's name. EFORBIDDEN
// for members; EREAUTH without a recent password (requireRecentAuth),
// asked once the request is otherwise valid.
func (s *Service) SignOutTeam(ctx context.Context, p *doorman.Principal, reason string, m Meta) (int, error) {
	if err := requireAdmin(p); err != nil {
		return 0, err
	}
	reason, err := ValidateReason(reason)
	if err != nil {
		return 0, err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return 0, err
	}
	now := s.now()
	ev := s.event(p, doorman.ActionTeamSessionsRevoked, p.Account.Name, m, now)
	ev.Reason = reason
	n, err := s.Store.RevokeSessions(ctx,
		doorman.RevokeFilter{AccountID: p.Account.ID, All: true, ExceptSessionID: p.SessionID(),
			CountActive: doorman.Window(p.Account.Settings, now)},
		doorman.Revocation{At: now, By: p.User.ID, Reason: reason}, ev)
	if err != nil {
		return 0, unavailable("sign out team", err)
	}
	s.Log.Info("team signed out", "admin_id", p.User.ID, "account_id", p.Account.ID, "count", n, "ip", m.IP)
	return n, nil
}

// EndedSession is one of a member's sessions that has ended, as the team
// view shows it: when and why.
type EndedSession struct {
	Session *doorman.Session
	At      time.Time // when it ended
	// Reason is the code a request of the session gets with its 401
	// (doorman.ReasonIdle, ReasonExpired, ReasonSignedOut, …).
	Reason string
	// Note is the reason an administrator or operator recorded when the
	// end was theirs; "" otherwise.
	Note string
}

// maxEnded is how many of a member's ended sessions the team view lists.
const maxEnded = 10

// TeamUserHistory returns a user of the admin's account, their active
// sessions, most recently active first, and up to maxEnded of their
// sessions that have ended and are still kept (the purge deletes them after
// --retention), the latest end first, each with why: its rules (idle
// timeout, lifetime), a sign-out, or a revocation with its recorded reason.
// One read of the user and one of their sessions. Admins only; a user of
// another account, or none, is ENOTFOUND.
func (s *Service) TeamUserHistory(ctx context.Context, p *doorman.Principal, userID string) (*doorman.User, []*doorman.Session, []EndedSession, error) {
	if err := requireAdmin(p); err != nil {
		return nil, nil, nil, err
	}
	u, err := s.teamUser(ctx, p, userID)
	if err != nil {
		return nil, nil, nil, err
	}
	all, _, err := s.Store.FindSessions(ctx, doorman.SessionFilter{AccountID: p.Account.ID, UserID: u.ID})
	if err != nil {
		return nil, nil, nil, unavailable("team user sessions", err)
	}
	now, set := s.now(), p.Account.Settings
	var active []*doorman.Session
	var ended []EndedSession
	for _, sess := range all {
		s.activity.overlay(sess) // the idle end counts from the latest activity this node knows
		var e *doorman.Error
		if !errors.As(doorman.CheckSession(sess, nil, set, now), &e) {
			active = append(active, sess)
			continue
		}
		end := EndedSession{Session: sess, Reason: e.Reason}
		if sess.RevokedAt != nil {
			end.At = *sess.RevokedAt
		}
		// Not revoked, or revoked (a forced or team sign-out takes every
		// session not yet revoked) after its rules had ended it: it ended
		// by those rules, then.
		if at, reason, ok := doorman.Ended(sess, set, now); ok && sess.RevokedBy != doorman.ActorExpiry &&
			(sess.RevokedAt == nil || at.Before(*sess.RevokedAt)) {
			end.At, end.Reason = at, reason
		}
		if end.Reason == doorman.ReasonRevokedByAdmin {
			end.Note = sess.RevokeReason
		}
		ended = append(ended, end)
	}
	readRisk(now, active...)
	slices.SortStableFunc(ended, func(a, b EndedSession) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(b.Session.ID, a.Session.ID)
	})
	if len(ended) > maxEnded {
		ended = ended[:maxEnded]
	}
	return u, active, ended, nil
}
