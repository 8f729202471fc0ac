package app

import (
	"context"
	"fmt"
	"github.com/doorman/doorman"
	"strings"
	"sync"
	"time"
)

// SignInRequest is what a person or a host application sends to sign in.
type SignInRequest struct {
	Email      string
	Password   string
	RememberMe bool
	// TOTPCode is the two-factor code (or a recovery code) of a user with
	// two-factor authentication; ignored for other users.
	TOTPCode string
	// Challenge asks, for a user with two-factor authentication who gave
	// no code, for a sign-in challenge (a *ChallengeRequired error) rather
	// than ETOTP: the sign-in page's second step.
	Challenge bool
	Meta
}

// maxAccountsPerEmail bounds the password checks of one sign-in when an
// email exists in several accounts.
const maxAccountsPerEmail = 5

var errBadCredentials = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "Invalid email or password"}

// SignIn checks the credentials and starts a new session with a new token.
// It returns the token, which is never stored, and the new session's
// principal. Unknown emails and wrong passwords get the same EUNAUTHORIZED
// and cost the same password check; both are audited. A user with
// two-factor authentication also needs req.TOTPCode (or a recovery code):
// without one the answer is ETOTP, with a wrong one EUNAUTHORIZED.
func (s *Service) SignIn(ctx context.Context, req SignInRequest) (string, *doorman.Principal, error) {
	email := doorman.NormalizeEmail(req.Email)
	if email == "" {
		return "", nil, doorman.Errorf(doorman.EINVALID, "email is required")
	}
	if err := doorman.ValidateText("email", email); err != nil {
		return "", nil, err
	}
	if req.Password == "" {
		return "", nil, doorman.Errorf(doorman.EINVALID, "password is required")
	}
	if len(email) > 254 || len(req.Password) > doorman.MaxPasswordLength {
		return "", nil, errBadCredentials
	}
	// Every attempt counts, right or wrong, before any password check.
	if wait, err := s.takeAttempt(ctx, email, req.IP); err != nil {
		return "", nil, err
	} else if wait > 0 {
		return "", nil, s.throttled(ctx, email, req.Meta, wait)
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{Email: email, Limit: maxAccountsPerEmail})
	if err != nil {
		return "", nil, unavailable("sign in", err)
	}
	var user *doorman.User
	for _, u := range users {
		ok, err := s.Passwords.Verify(u.PasswordHash, req.Password)
		if err != nil {
			s.Log.Error("password hash unreadable", "user_id", u.ID, "err", err)
			continue
		}
		if ok {
			user = u
			break
		}
	}
	now := s.now()
	if len(users) == 0 {
		s.burnPasswordCheck(req.Password)
	}
	if user == nil || user.Disabled {
		ev := s.event(nil, doorman.ActionSignInFailed, email, req.Meta, now)
		ev.ActorID, ev.Actor = "", email
		ev.Reason = "bad credentials"
		if len(users) > 0 {
			ev.AccountID = users[0].AccountID
		}
		if user != nil {
			ev.AccountID, ev.Reason = user.AccountID, "user disabled"
		}
		if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
			return "", nil, unavailable("sign in", err)
		}
		s.Log.Info("sign-in failed", "email", email, "ip", req.IP, "reason", ev.Reason)
		return "", nil, errBadCredentials
	}
	twoFactor, err := s.signInSecondFactor(ctx, user, email, req)
	if err != nil {
		return "", nil, err
	}
	return s.startSession(ctx, user, req.RememberMe, twoFactor, req.Meta)
}

// startSession starts a session of user, whose credentials were checked.
func (s *Service) startSession(ctx context.Context, user *doorman.User, rememberMe, twoFactor bool, m Meta) (string, *doorman.Principal, error) {
	req := SignInRequest{RememberMe: rememberMe, Meta: m}
	now := s.now()
	acct, err := s.Store.FindAccountByID(ctx, user.AccountID)
	if err != nil {
		return "", nil, unavailable("sign in", err)
	}
	remember := req.RememberMe && acct.Settings.RememberMeAllowed
	token, hash := doorman.NewToken()
	ua := req.Meta.userAgent()
	sess := &doorman.Session{
		ID: doorman.NewID(doorman.PrefixSession, now), TokenHash: hash, UserID: user.ID, AccountID: acct.ID,
		CreatedAt: now, LastActiveAt: now, AuthenticatedAt: now, ExpiresAt: s.Policy.InitialExpiry(now, remember, acct.Settings),
		RememberMe: remember, TwoFactor: twoFactor, IP: req.IP, UserAgent: ua,
		Device: s.detect(ua, req.Hints), Location: s.locate(req.IP),
		// Without a device key only this sign-in is known; with one the
		// store counts the device's sign-ins.
		Activity: doorman.Activity{Logins: 1},
	}
	if req.DeviceKey != "" {
		sess.DeviceKeyHash = doorman.HashDeviceKey(req.DeviceKey)
	}
	sess.Risk = s.signInRisk(ctx, sess)
	p := &doorman.Principal{Session: sess, User: user, Account: acct}
	ev := s.event(p, doorman.ActionSignIn, sess.ID, req.Meta, now)
	var details []string
	if sess.Risk.Flagged() {
		details = append(details, sess.Risk.AuditDetails())
	}
	if twoFactor {
		details = append(details, "two_factor=true")
	}
	ev.Details = strings.Join(details, " ")
	if err := s.Store.CreateSession(ctx, sess, ev); err != nil {
		return "", nil, unavailable("sign in", err)
	}
	s.alertSignIn(ctx, p)
	if s.Devices != nil && ua != "" {
		s.activity.detected(sess.ID, now, hintMask(req.Hints))
	}
	s.Log.Info("signed in", "user_id", user.ID, "session_id", sess.ID, "ip", req.IP, "remember_me", remember,
		"new_device", sess.NewDevice)
	return token, p, nil
}

// ReasonThrottled is the reason of a sign_in_failed event for an attempt
// refused by the sign-in limits, before any password check.
const ReasonThrottled = "throttled"

// throttled audits a refused attempt and returns its ETOOMANY. Known and
// unknown emails get the same answer; the event goes to the email's account
// when there is one, so its admins see the attack.
func (s *Service) throttled(ctx context.Context, email string, m Meta, wait time.Duration) error {
	now := s.now()
	ev := s.event(nil, doorman.ActionSignInFailed, email, m, now)
	ev.ActorID, ev.Actor, ev.Reason = "", email, ReasonThrottled
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{Email: email, Limit: 1})
	if err != nil {
		return unavailable("sign in", err)
	}
	if len(users) > 0 {
		ev.AccountID = users[0].AccountID
	}
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		return unavailable("sign in", err)
	}
	s.Log.Warn("sign-in throttled", "email", email, "ip", m.IP)
	return tooMany("sign-in", wait)
}

// tooMany is the ETOOMANY of an attempt refused by the limits: "Too many
// sign-in attempts. Try again in 12 seconds."
func tooMany(what string, wait time.Duration) error {
	n := RetrySeconds(wait)
	unit := "seconds"
	if n == 1 {
		unit = "second"
	}
	return &doorman.Error{Code: doorman.ETOOMANY, RetryAfter: time.Duration(n) * time.Second,
		Message: fmt.Sprintf("Too many %s attempts. Try again in %d %s.", what, n, unit)}
}

// burnPasswordCheck spends the time of one password check so that an unknown
// email answers as slowly as a wrong password.
func (s *Service) burnPasswordCheck(password string) {
	s.dummyOnce.Do(func() {
		s.dummyHash, _ = s.Passwords.Hash("doorman timing equaliser")
	})
	if s.dummyHash != "" {
		_, _ = s.Passwords.Verify(s.dummyHash, password)
	}
}

var errNoSession = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "Not signed in"}

// Authenticate returns the principal of a session token, applying every
// session rule at this instant. It returns EUNAUTHORIZED (with a Reason)
// when the token is missing, unknown, revoked or expired, and an error for
// which IsUnavailable is true when the store cannot answer. It records the
// request as activity, writing to the store at most once per TouchInterval.
//
// A request from a new address is located, and one with a new User-Agent
// (cut to MaxUserAgent) named anew; the change is written at once unless
// another change was written in the last TouchInterval, in which case it
// rides with the next touch (shown meanwhile by this node). A request with
// no User-Agent keeps the session's. Unchanged requests cost neither a
// lookup nor a parse.
func (s *Service) Authenticate(ctx context.Context, token string, m Meta) (*doorman.Principal, error) {
	if !doorman.TokenWellFormed(token) {
		return nil, errNoSession
	}
	hash := doorman.HashToken(token)
	now := s.now()
	p, err := s.findSession(ctx, hash)
	if err != nil {
		return nil, err
	}
	if err := doorman.CheckSession(p.Session, p.User, p.Account.Settings, now); err != nil {
		// A node-local cache may hold a LastActiveAt that another node has
		// since moved: a refusal other than a revocation is only final
		// once the row read from the database says so too.
		if p.Session.RevokedAt != nil {
			return nil, err
		}
		if p, err = s.findSession(doorman.WithoutCache(ctx), hash); err != nil {
			return nil, err
		}
		if err := doorman.CheckSession(p.Session, p.User, p.Account.Settings, now); err != nil {
			s.recordEnd(ctx, p, now)
			return nil, err
		}
	}
	if err := checkBinding(p.Session, m, now); err != nil {
		return nil, err
	}
	sess := p.Session
	ch := s.changes(sess, m)
	if ch.loc != nil || ch.dev != nil {
		ch.risk = s.changeRisk(ctx, sess, m, ch, now)
	}
	page := pageTitle(m.Page)
	if t, due := s.activity.record(sess, now, m.IP, ch, s.touchInterval(), page); due {
		if err := s.Store.TouchSession(ctx, sess.ID, t); err != nil {
			// The session was read and is valid; only its activity is late.
			s.activity.restore(sess.ID, t)
			s.logStoreFailure("touch session failed", err, "session_id", sess.ID)
		} else {
			applyTouch(sess, t)
		}
		s.activity.overlay(sess)
		s.activity.page(sess.ID, page, now)
	}
	if sess.LastActiveAt.Before(now) {
		sess.LastActiveAt = now
	}
	return p, nil
}

// findSession reads the session of a token hash: errNoSession when there is
// none, an unavailable error when the store cannot say.
func (s *Service) findSession(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	p, err := s.Store.FindSessionByTokenHash(ctx, hash)
	if err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return nil, errNoSession
		}
		return nil, unavailable("authenticate", err)
	}
	if !doorman.HashesEqual(p.Session.TokenHash, hash) {
		return nil, errNoSession
	}
	return p, nil
}

// recordEnd records, best effort, the end that the rules give p's session
// at now (doorman.Ended), if it has one and is not revoked yet: from then on
// the end is a fact, and loosening the account's settings later does not
// bring the session back. A failure changes nothing for the caller, whose
// answer is 401 either way; it is logged at most once per endLogEvery.
func (s *Service) recordEnd(ctx context.Context, p *doorman.Principal, now time.Time) {
	sess := p.Session
	if sess.RevokedAt != nil {
		return
	}
	at, reason, ended := doorman.Ended(sess, p.Account.Settings, now)
	if !ended {
		return
	}
	_, err := s.Store.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: sess.AccountID, SessionID: sess.ID},
		doorman.Revocation{At: at, By: doorman.ActorExpiry, Reason: reason}, nil)
	if err == nil || doorman.ErrorCode(err) == doorman.ENOTFOUND { // ENOTFOUND: revoked meanwhile
		return
	}
	if skipped, ok := s.endLog.due(now); ok {
		s.Log.Warn("record session end failed", "session_id", sess.ID, "err", err, "failures_not_logged", skipped)
	}
}

// endLogEvery is how often a failure to record a session's end is logged at
// most: while the store refuses writes, every request of an ended session
// fails the same way.
const endLogEvery = time.Minute

// logLimit lets a repeated failure be logged once per endLogEvery.
type logLimit struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// due reports whether a failure at now is to be logged, with how many were
// not logged since the last one.
func (l *logLimit) due(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < endLogEvery {
		l.skipped++
		return 0, false
	}
	n := l.skipped
	l.last, l.skipped = now, 0
	return n, true
}

// ReuseFor is how long a host's Go middleware may answer requests of the
// same shape with Authenticate's answer for p, counted from when it sent
// the check: doorman.ReuseWindow, less when the session ends sooner (its
// deadline as of now), and none for an API key (each of its requests is
// counted) or a bound session (each request proves its key anew).
func (s *Service) ReuseFor(p *doorman.Principal) time.Duration {
	sess := p.Session
	if p.APIKey != nil || sess == nil || sess.Binding != nil {
		return 0
	}
	d := doorman.ReuseWindow
	if end, _ := doorman.Deadline(sess, p.Account.Settings); !end.IsZero() {
		d = min(d, end.Sub(s.now()))
	}
	return max(d, 0)
}
