package app

import (
	"context"
	"errors"
	"github.com/doorman/doorman"
	"time"
)

// ListSessions returns the signed-in user's valid sessions: the current one
// first, then by last activity. EFORBIDDEN for a member when the account's
// admins restricted the Sessions page (Settings.MembersSeeSessions).
func (s *Service) ListSessions(ctx context.Context, p *doorman.Principal) ([]*doorman.Session, error) {
	if err := canSeeSessions(p); err != nil {
		return nil, err
	}
	now := s.now()
	list, _, err := s.Store.FindSessions(ctx, doorman.SessionFilter{
		AccountID: p.Account.ID, UserID: p.User.ID, Active: doorman.Window(p.Account.Settings, now),
	})
	if err != nil {
		return nil, unavailable("list sessions", err)
	}
	out := make([]*doorman.Session, 0, len(list)+1)
	out = append(out, p.Session)
	for _, sess := range list {
		if sess.ID != p.Session.ID {
			s.activity.overlay(sess)
			out = append(out, sess)
		}
	}
	readRisk(now, out...)
	return out, nil
}

// errSessionNotFound answers a session id that names no session the caller
// may see, or that could name none (not well formed), alike.
var errSessionNotFound = &doorman.Error{Code: doorman.ENOTFOUND, Message: "session not found"}

// GetSession returns one of the signed-in user's valid sessions. Another
// user's session, or one that has ended, is ENOTFOUND; for one of the
// user's own that has ended, the error says why ("This session no longer
// exists. Ended: idle timeout.") and its Reason is the code a request of
// that session gets with its 401 (ReasonIdle, ReasonExpired, …). EFORBIDDEN
// for a member when the Sessions page is restricted.
func (s *Service) GetSession(ctx context.Context, p *doorman.Principal, id string) (*doorman.Session, error) {
	if err := canSeeSessions(p); err != nil {
		return nil, err
	}
	if id == p.Session.ID {
		readRisk(s.now(), p.Session)
		return p.Session, nil
	}
	if !doorman.IDWellFormed(doorman.PrefixSession, id) {
		return nil, errSessionNotFound
	}
	sess, err := s.Store.FindSessionByID(ctx, p.Account.ID, id)
	if err != nil {
		return nil, unavailable("get session", err)
	}
	if sess.UserID != p.User.ID {
		return nil, errSessionNotFound
	}
	if err := doorman.CheckSession(sess, nil, p.Account.Settings, s.now()); err != nil {
		return nil, sessionEnded(err)
	}
	s.activity.overlay(sess)
	readRisk(s.now(), sess)
	return sess, nil
}

// sessionEnded is the ENOTFOUND of one of the caller's own sessions that
// ended, from CheckSession's error: it says why, in words and as a code.
func sessionEnded(err error) error {
	var e *doorman.Error
	if !errors.As(err, &e) {
		return err
	}
	return &doorman.Error{Code: doorman.ENOTFOUND, Reason: e.Reason,
		Message: "This session no longer exists. Ended: " + doorman.EndText(e.Reason) + "."}
}

// SignOut revokes the current session.
func (s *Service) SignOut(ctx context.Context, p *doorman.Principal, m Meta) error {
	now := s.now()
	ev := s.event(p, doorman.ActionSignOut, p.Session.ID, m, now)
	_, err := s.Store.RevokeSessions(ctx,
		doorman.RevokeFilter{AccountID: p.Account.ID, UserID: p.User.ID, SessionID: p.Session.ID},
		doorman.Revocation{At: now, By: p.User.ID, Reason: doorman.ReasonSignedOut}, ev)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil // already signed out: the goal is met
	}
	return unavailable("sign out", err)
}

// RevokeSession signs out one of the signed-in user's own sessions; it takes
// effect on that session's next request. Signing out the current session is
// SignOut, always allowed; any other is EFORBIDDEN for a member when the
// Sessions page is restricted.
func (s *Service) RevokeSession(ctx context.Context, p *doorman.Principal, id string, m Meta) error {
	if id == p.Session.ID {
		return s.SignOut(ctx, p, m)
	}
	if err := canSeeSessions(p); err != nil {
		return err
	}
	if !doorman.IDWellFormed(doorman.PrefixSession, id) {
		return errSessionNotFound
	}
	now := s.now()
	ev := s.event(p, doorman.ActionSessionRevoked, id, m, now)
	_, err := s.Store.RevokeSessions(ctx,
		doorman.RevokeFilter{AccountID: p.Account.ID, UserID: p.User.ID, SessionID: id},
		doorman.Revocation{At: now, By: p.User.ID}, ev)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return errSessionNotFound
	}
	return unavailable("revoke session", err)
}

// SignOutOthers signs out every session of the user but the current one and
// returns how many valid sessions it signed out. EFORBIDDEN for a member
// when the Sessions page is restricted.
func (s *Service) SignOutOthers(ctx context.Context, p *doorman.Principal, m Meta) (int, error) {
	if err := canSeeSessions(p); err != nil {
		return 0, err
	}
	now := s.now()
	ev := s.event(p, doorman.ActionOtherSessionsRevoke, p.User.Email, m, now)
	n, err := s.Store.RevokeSessions(ctx,
		doorman.RevokeFilter{AccountID: p.Account.ID, UserID: p.User.ID, ExceptSessionID: p.Session.ID,
			CountActive: doorman.Window(p.Account.Settings, now)},
		doorman.Revocation{At: now, By: p.User.ID}, ev)
	return n, unavailable("sign out others", err)
}

// OperatorSessions returns the valid sessions of every user with that email,
// for the command line.
func (s *Service) OperatorSessions(ctx context.Context, email string) ([]*doorman.User, map[string][]*doorman.Session, error) {
	if err := doorman.ValidateText("email", email); err != nil {
		return nil, nil, err
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{Email: doorman.NormalizeEmail(email)})
	if err != nil {
		return nil, nil, err
	}
	if len(users) == 0 {
		return nil, nil, doorman.Errorf(doorman.ENOTFOUND, "no user has email %s", doorman.NormalizeEmail(email))
	}
	now := s.now()
	out := make(map[string][]*doorman.Session, len(users))
	for _, u := range users {
		acct, err := s.Store.FindAccountByID(ctx, u.AccountID)
		if err != nil {
			return nil, nil, err
		}
		list, _, err := s.Store.FindSessions(ctx, doorman.SessionFilter{AccountID: acct.ID, UserID: u.ID, Active: doorman.Window(acct.Settings, now)})
		if err != nil {
			return nil, nil, err
		}
		out[u.ID] = list
	}
	return users, out, nil
}

// OperatorRevokeSession signs out one session by id from the command line,
// audited as the system actor with the reason given.
func (s *Service) OperatorRevokeSession(ctx context.Context, id, reason string) error {
	reason, err := ValidateReason(reason)
	if err != nil {
		return err
	}
	if !doorman.IDWellFormed(doorman.PrefixSession, id) {
		return doorman.Errorf(doorman.ENOTFOUND, "no session has id %q", id)
	}
	sess, err := s.Store.FindSessionByID(ctx, "", id)
	if err != nil {
		return err
	}
	now := s.now()
	ev := s.event(nil, doorman.ActionSessionRevoked, id, Meta{}, now)
	ev.AccountID, ev.Reason = sess.AccountID, reason
	_, err = s.Store.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: sess.AccountID, SessionID: id},
		doorman.Revocation{At: now, By: doorman.ActorSystem, Reason: reason}, ev)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return doorman.Errorf(doorman.ENOTFOUND, "session %s is already signed out", id)
	}
	return err
}

// CountLiveSessions counts sessions that are neither revoked nor past their
// absolute end, across all accounts, for the active-sessions gauge. Idle
// expiry depends on each account's settings and is not applied here.
func (s *Service) CountLiveSessions(ctx context.Context) (int, error) {
	_, n, err := s.Store.FindSessions(ctx, doorman.SessionFilter{Active: &doorman.ActiveWindow{Now: s.now()}, Limit: 1})
	return n, err
}

// Purge deletes, in batches of batch, sessions revoked or past their absolute
// end more than retention ago. It returns how many it deleted.
func (s *Service) Purge(ctx context.Context, retention time.Duration, batch int) (int, error) {
	cutoff := s.now().Add(-retention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeSessions(ctx, cutoff, limit) })
}
