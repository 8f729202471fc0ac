package app

import (
	"context"
	"fmt"
	"github.com/doorman/doorman"
	"time"
)

// ReasonRotated is the revoke reason of a session replaced by a new one
// (new token) after a privilege change such as a password change.
const ReasonRotated = "rotated"

// SignOutAll signs out every session of the user, the current one
// included, and returns how many valid sessions it signed out. It is the
// guide's answer to suspicious activity: whoever else holds a session loses
// it, and the user signs in again. Allowed even when the Sessions page is
// restricted: it reveals nothing and only ends the user's own sessions.
// EREAUTH without a recent password (requireRecentAuth).
func (s *Service) SignOutAll(ctx context.Context, p *doorman.Principal, m Meta) (int, error) {
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return 0, err
	}
	now := s.now()
	ev := s.event(p, doorman.ActionAllSessionsRevoked, p.User.Email, m, now)
	n, err := s.Store.RevokeSessions(ctx,
		doorman.RevokeFilter{AccountID: p.Account.ID, UserID: p.User.ID, CountActive: doorman.Window(p.Account.Settings, now)},
		doorman.Revocation{At: now, By: p.User.ID}, ev)
	if err != nil {
		return 0, unavailable("sign out all", err)
	}
	s.Log.Info("signed out all sessions", "user_id", p.User.ID, "count", n)
	return n, nil
}

// ChangePasswordRequest is a signed-in person's change of password.
type ChangePasswordRequest struct {
	CurrentPassword string
	NewPassword     string
	// SignOutOthers ends every other session of the user (the default on
	// the page: a password changed because it leaked should not leave the
	// intruder signed in).
	SignOutOthers bool
	Meta
}

// ChangePassword checks the current password, stores the hash of the new
// one and, as a privilege change, rotates the current session: a new
// session with a new token replaces it (the old one is revoked), so a token
// stolen before the change stops working. With SignOutOthers every other
// session ends too. It returns the new token and principal, and how many
// other sessions it signed out. A wrong current password is EUNAUTHORIZED
// and audited as a failed re-authentication; nothing changes.
func (s *Service) ChangePassword(ctx context.Context, p *doorman.Principal, req ChangePasswordRequest) (string, *doorman.Principal, int, error) {
	if p.Session == nil || p.User == nil {
		return "", nil, 0, doorman.Errorf(doorman.EFORBIDDEN, "only a person can change their password")
	}
	if req.CurrentPassword == "" {
		return "", nil, 0, doorman.Errorf(doorman.EINVALID, "current password is required")
	}
	if err := s.checkPassword(ctx, p, req.CurrentPassword, req.Meta); err != nil {
		if doorman.ErrorCode(err) == doorman.EUNAUTHORIZED {
			err = doorman.Errorf(doorman.EUNAUTHORIZED, "the current password is wrong")
		}
		return "", nil, 0, err
	}
	if err := doorman.ValidatePassword(req.NewPassword); err != nil {
		return "", nil, 0, doorman.Errorf(doorman.EINVALID, "new %s", doorman.ErrorMessage(err))
	}
	if req.NewPassword == req.CurrentPassword {
		return "", nil, 0, doorman.Errorf(doorman.EINVALID, "the new password must differ from the current one")
	}
	hash, err := s.Passwords.Hash(req.NewPassword)
	if err != nil {
		return "", nil, 0, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	ev := s.event(p, doorman.ActionPasswordChanged, p.User.Email, req.Meta, now)
	ev.Details = fmt.Sprintf("sign_out_others=%t", req.SignOutOthers)
	if err := s.Store.UpdateUserPassword(ctx, p.Account.ID, p.User.ID, hash, ev); err != nil {
		return "", nil, 0, unavailable("change password", err)
	}
	user := *p.User
	user.PasswordHash = hash
	n := 0
	if req.SignOutOthers {
		ev := s.event(p, doorman.ActionOtherSessionsRevoke, p.User.Email, req.Meta, now)
		ev.Reason = "password changed"
		n, err = s.Store.RevokeSessions(ctx,
			doorman.RevokeFilter{AccountID: p.Account.ID, UserID: p.User.ID, ExceptSessionID: p.Session.ID,
				CountActive: doorman.Window(p.Account.Settings, now)},
			doorman.Revocation{At: now, By: p.User.ID, Reason: "password changed"}, ev)
		if err != nil {
			return "", nil, 0, unavailable("change password", err)
		}
	}
	token, np, err := s.rotate(ctx, &doorman.Principal{Session: p.Session, User: &user, Account: p.Account}, req.Meta, now,
		func(ns *doorman.Session) { ns.AuthenticatedAt = now }) // the password was just proven
	if err != nil {
		return "", nil, 0, err
	}
	s.Log.Info("password changed", "user_id", p.User.ID, "session_id", np.Session.ID, "signed_out_others", n)
	s.alertAccountChange(ctx, np, doorman.EventPasswordChanged)
	return token, np, n, nil
}

// checkPassword verifies the signed-in user's password, auditing a wrong
// one as ActionReauthFailed.
func (s *Service) checkPassword(ctx context.Context, p *doorman.Principal, password string, m Meta) error {
	if err := s.reauthGate(ctx, p, m); err != nil {
		return err
	}
	ok := false
	if len(password) <= doorman.MaxPasswordLength {
		var err error
		ok, err = s.Passwords.Verify(p.User.PasswordHash, password)
		if err != nil {
			return fmt.Errorf("verify password of %s: %w", p.User.ID, err)
		}
	}
	if ok {
		return nil
	}
	if err := s.reauthFailed(ctx, p, m); err != nil {
		return err
	}
	ev := s.event(p, doorman.ActionReauthFailed, p.User.Email, m, s.now())
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		return unavailable("check password", err)
	}
	return doorman.Errorf(doorman.EUNAUTHORIZED, "the password is wrong")
}

// reauthGate refuses a re-authentication (a password or a two-factor code
// asked again of a signed-in person) while the sign-in limits of the
// person's email or address say wait: a stolen session must not become a
// way to guess the password or the code without limit. Only failures count
// (reauthFailed), so that confirming one's password never locks anyone out.
func (s *Service) reauthGate(ctx context.Context, p *doorman.Principal, m Meta) error {
	wait, err := s.attemptWait(ctx, p.User.Email, m.IP)
	if err != nil || wait <= 0 {
		return err
	}
	ev := s.event(p, doorman.ActionReauthFailed, p.User.Email, m, s.now())
	ev.Reason = ReasonThrottled
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		return unavailable("check password", err)
	}
	s.Log.Warn("re-authentication throttled", "user_id", p.User.ID, "ip", m.IP)
	return tooMany("password", wait)
}

// reauthFailed counts a wrong password or code against the sign-in limits
// of the person's email and address. A failure the store cannot count is
// unavailable, not a free guess.
func (s *Service) reauthFailed(ctx context.Context, p *doorman.Principal, m Meta) error {
	_, err := s.takeAttempt(ctx, p.User.Email, m.IP)
	return err
}

// rotate replaces p's session by a new one with a new token, the same
// sign-in otherwise (created, expiry, device, remember me, last password
// proof), changed by edit (if not nil), and revokes the old one. The new
// session is written first: a failure to write it leaves the old one
// working and returns no token. A failure to revoke the old one returns
// the new token and principal with the error: the new session exists.
func (s *Service) rotate(ctx context.Context, p *doorman.Principal, m Meta, now time.Time, edit func(*doorman.Session)) (string, *doorman.Principal, error) {
	old := p.Session
	token, hash := doorman.NewToken()
	ns := *old
	ns.ID, ns.TokenHash = doorman.NewID(doorman.PrefixSession, now), hash
	ns.LastActiveAt, ns.RevokedAt, ns.RevokedBy, ns.RevokeReason = now, nil, "", ""
	ns.IP = m.IP
	if ua := m.userAgent(); ua != "" {
		ns.UserAgent = ua
	}
	// Not a sign-in: the device's count of logins stays as it is.
	ns.DeviceKeyHash = nil
	if edit != nil {
		edit(&ns)
	}
	np := &doorman.Principal{Session: &ns, User: p.User, Account: p.Account}
	ev := s.event(np, doorman.ActionSessionRotated, ns.ID, m, now)
	ev.Details = "replaces=" + old.ID
	if err := s.Store.CreateSession(ctx, &ns, ev); err != nil {
		return "", nil, unavailable("rotate session", err)
	}
	_, err := s.Store.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: p.Account.ID, UserID: p.User.ID, SessionID: old.ID},
		doorman.Revocation{At: now, By: p.User.ID, Reason: ReasonRotated}, nil)
	if err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
		return token, np, unavailable("rotate session", err)
	}
	return token, np, nil
}

// ReauthAfter is how long a password proof lasts for sensitive actions
// (requireRecentAuth lists them): older than this, they ask for the
// password again (OWASP ASVS 3.7.1), so a session left open or stolen
// cannot lock its owner out or widen its own access.
const ReauthAfter = 15 * time.Minute

// errReauth asks for the password before a sensitive action.
var errReauth = &doorman.Error{Code: doorman.EREAUTH, Message: "Confirm your password to continue: this action needs a sign-in from the last 15 minutes"}

// NeedsReauth reports whether p must confirm its password before a
// sensitive action: its last proof is ReauthAfter old or older. API keys
// and operators have no password and never need to. Pages ask it to show
// the password form before the form of a sensitive action; the action
// itself is refused by requireRecentAuth.
func (s *Service) NeedsReauth(p *doorman.Principal) bool {
	if p == nil || p.Session == nil {
		return false
	}
	at := p.Session.AuthenticatedAt
	if at.IsZero() {
		at = p.Session.CreatedAt
	}
	return s.now().Sub(at) >= ReauthAfter
}

// Proof is what a person sends with a sensitive action to prove again
// that they hold the account: the password and, with two-factor
// authentication, a code (or a recovery code).
type Proof struct {
	Password string
	Code     string
}

// requireRecentAuth is the rule "sensitive actions need a recent password"
// (OWASP ASVS 3.7.1), written once: every sensitive operation of the
// Service (signing out all sessions, forced and team sign-outs, settings,
// creating API keys, the webhook, two-factor setup and recovery codes)
// calls it before it changes anything. It returns nil when p proved its
// password in the last ReauthAfter; else, with a proof, re-authenticates
// with it; else EREAUTH. A wrong password or code is EREAUTH too, saying
// so, and audited.
func (s *Service) requireRecentAuth(ctx context.Context, p *doorman.Principal, proof Proof, m Meta) error {
	if !s.NeedsReauth(p) {
		return nil
	}
	if proof.Password == "" {
		return errReauth
	}
	if err := s.ReauthenticateCode(ctx, p, proof.Password, proof.Code, m); err != nil {
		switch doorman.ErrorCode(err) {
		case doorman.EUNAUTHORIZED:
			return &doorman.Error{Code: doorman.EREAUTH, Message: "The " + reauthWrong(err) + " is wrong; confirm your password to continue"}
		case doorman.ETOTP:
			return &doorman.Error{Code: doorman.EREAUTH, Message: "Confirm your password and two-factor code to continue"}
		}
		return err
	}
	return nil
}

// RequireRecentAuth applies the rule of requireRecentAuth on its own, with
// password as the proof: nil, EREAUTH, or a re-authentication.
func (s *Service) RequireRecentAuth(ctx context.Context, p *doorman.Principal, password string, m Meta) error {
	return s.requireRecentAuth(ctx, p, Proof{Password: password}, m)
}

// Reauthenticate checks the signed-in user's password again and, when it
// is right, records the proof on the session (AuthenticatedAt), audited as
// reauthenticated. A wrong password is EUNAUTHORIZED, audited as
// reauth_failed; the session goes on. A user with two-factor
// authentication needs ReauthenticateCode.
func (s *Service) Reauthenticate(ctx context.Context, p *doorman.Principal, password string, m Meta) error {
	return s.ReauthenticateCode(ctx, p, password, "", m)
}

// ReauthenticateCode is Reauthenticate with the two-factor code (or a
// recovery code) of a user with two-factor authentication: without one it
// is ETOTP, with a wrong one EUNAUTHORIZED (audited as reauth_failed).
func (s *Service) ReauthenticateCode(ctx context.Context, p *doorman.Principal, password, code string, m Meta) error {
	if p == nil || p.Session == nil || p.User == nil {
		return doorman.Errorf(doorman.EFORBIDDEN, "only a person can confirm a password")
	}
	if password == "" {
		return doorman.Errorf(doorman.EINVALID, "password is required")
	}
	if err := s.checkPassword(ctx, p, password, m); err != nil {
		return err
	}
	if err := s.reauthSecondFactor(ctx, p, code, m); err != nil {
		return err
	}
	now := s.now()
	ev := s.event(p, doorman.ActionReauthenticated, p.Session.ID, m, now)
	if err := s.Store.ReauthenticateSession(ctx, p.Account.ID, p.Session.ID, now, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return errNoSession
		}
		return unavailable("reauthenticate", err)
	}
	p.Session.AuthenticatedAt = now
	return nil
}
