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
	if t, due := s.activity.record(sess, now, m.IP, ch, s.touchInterval()); due {
		if err := s.Store.TouchSession(ctx, sess.ID, t); err != nil {
			// The session was read and is valid; only its activity is late.
			s.activity.restore(sess.ID, t)
			s.logStoreFailure("touch session failed", err, "session_id", sess.ID)
		} else {
			applyTouch(sess, t)
		}
	}
	s.activity.overlay(sess)
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

// Flush writes every session's pending activity and every API key's
// pending usage; a graceful shutdown calls it.
func (s *Service) Flush(ctx context.Context) error { return s.flush(ctx, time.Time{}) }

// FlushDue writes the pending activity of sessions whose stored LastActiveAt
// is a TouchInterval old, so that quiet sessions do not stay stale, and the
// API keys' pending usage when the last such write is a TouchInterval old
// (one transaction for all keys). A background loop calls it; it keeps the
// one-write-a-minute bound.
func (s *Service) FlushDue(ctx context.Context) error {
	return s.flush(ctx, s.now().Add(-s.touchInterval()))
}

func (s *Service) flush(ctx context.Context, writtenBefore time.Time) error {
	if !writtenBefore.IsZero() {
		s.activity.forget(writtenBefore.Add(-forgetAfter))
	}
	var firstErr error
	if writtenBefore.IsZero() || s.keys.due(s.now(), s.touchInterval()) {
		firstErr = s.flushKeys(ctx)
	}
	for id, t := range s.activity.take(writtenBefore) {
		if err := s.Store.TouchSession(ctx, id, t); err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
			s.activity.restore(id, t)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// RunFlusher calls FlushDue every interval until ctx ends.
func (s *Service) RunFlusher(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.FlushDue(ctx); err != nil && ctx.Err() == nil {
				s.logStoreFailure("flush activity failed", err)
			}
		}
	}
}

// tracker keeps, per session, the activity this node has seen but not yet
// written, and what it knows of the session between writes.
type tracker struct {
	mu    sync.Mutex
	m     map[string]*pending
	known map[string]*known
}

type pending struct {
	written time.Time // the LastActiveAt the store holds, as last read
	// touch accumulates the next write. Its IP always comes with the
	// Location of that IP, so that a write never pairs an address with
	// another's place.
	touch doorman.Touch
}

// known is what this node remembers of a session across writes, so that
// neither a change nor Client Hints cost more than they must.
type known struct {
	seen    time.Time // the session's latest request here
	changed time.Time // when a change last forced a write
	hints   uint8     // hintMask of the hints the Device was last detected with
}

// forgetAfter is how long known outlives a session's last request here.
// Forgetting costs at most one more detection and one more forced write.
const forgetAfter = time.Hour

// record adds one request at now from ip, with ch, the changes it brings.
// It removes and returns the accumulated touch, to be written, when the
// stored LastActiveAt is interval old, or when the request changes the
// session's stored address or User-Agent and no change was written in the
// last interval: changes are written at once, yet a client that flips
// between two addresses (IPv4 and IPv6) costs at most one more write per
// interval.
func (t *tracker) record(sess *doorman.Session, now time.Time, ip string, ch change, interval time.Duration) (doorman.Touch, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*pending)
	}
	p := t.m[sess.ID]
	if p == nil {
		p = &pending{written: sess.LastActiveAt}
		t.m[sess.ID] = p
	} else if sess.LastActiveAt.After(p.written) {
		p.written = sess.LastActiveAt // written meanwhile, here or by another node
	}
	k := t.knownLocked(sess.ID)
	k.seen = now
	tc := &p.touch
	if now.After(tc.At) {
		tc.At = now
	}
	tc.Actions++
	changed := false
	switch {
	case ip == "":
	case ch.loc != nil:
		tc.IP, tc.Location = ip, ch.loc
		changed = ip != sess.IP
	case ip == tc.IP:
		// Pending already, with its place.
	case ip == sess.IP:
		l := sess.Location
		tc.IP, tc.Location = ip, &l
	default:
		// A request from another address got here between this one's look
		// and now, and left its own (located) address pending: both are as
		// recent, keep that one.
	}
	if ch.ua != "" {
		tc.UserAgent, tc.Device = ch.ua, ch.dev
		changed = changed || ch.ua != sess.UserAgent
	} else if ch.dev != nil {
		tc.Device = ch.dev
		changed = true
	}
	if ch.detected {
		k.hints = ch.hints
	}
	if ch.risk != nil {
		tc.Risk = ch.risk
	}
	force := changed && now.Sub(k.changed) >= interval
	if force {
		k.changed = now
	}
	if !force && now.Sub(p.written) < interval {
		return doorman.Touch{}, false
	}
	delete(t.m, sess.ID)
	return p.touch, true
}

func (t *tracker) knownLocked(id string) *known {
	if t.known == nil {
		t.known = make(map[string]*known)
	}
	k := t.known[id]
	if k == nil {
		k = &known{}
		t.known[id] = k
	}
	return k
}

// detected notes that a session's Device was just detected with the hints
// of mask, as at sign-in.
func (t *tracker) detected(id string, now time.Time, mask uint8) {
	t.mu.Lock()
	k := t.knownLocked(id)
	k.seen, k.hints = now, mask
	t.mu.Unlock()
}

// view is a session as this node knows it: stored values overlaid with
// pending ones, and the hints its Device was detected with.
type view struct {
	ip    string
	ua    string
	dev   doorman.Device
	hints uint8
}

func (t *tracker) view(sess *doorman.Session) view {
	v := view{ip: sess.IP, ua: sess.UserAgent, dev: sess.Device}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.m[sess.ID]; p != nil {
		if p.touch.IP != "" {
			v.ip = p.touch.IP
		}
		if p.touch.UserAgent != "" {
			v.ua = p.touch.UserAgent
		}
		if p.touch.Device != nil {
			v.dev = *p.touch.Device
		}
	}
	if k := t.known[sess.ID]; k != nil {
		v.hints = k.hints
	}
	return v
}

// forget drops what is known of sessions with no request here since before.
func (t *tracker) forget(before time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, k := range t.known {
		if k.seen.Before(before) {
			delete(t.known, id)
		}
	}
}

// restore puts back a touch whose write failed, merged with what came since.
func (t *tracker) restore(id string, tc doorman.Touch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*pending)
	}
	p := t.m[id]
	if p == nil {
		t.m[id] = &pending{touch: tc}
		return
	}
	p.touch.Actions += tc.Actions
	if tc.At.After(p.touch.At) {
		p.touch.At = tc.At
	}
	if p.touch.IP == "" {
		p.touch.IP, p.touch.Location = tc.IP, tc.Location
	}
	if p.touch.LastPage == "" {
		p.touch.LastPage = tc.LastPage
	}
	if p.touch.UserAgent == "" && p.touch.Device == nil {
		p.touch.UserAgent, p.touch.Device = tc.UserAgent, tc.Device
	}
	if p.touch.Risk == nil {
		p.touch.Risk = tc.Risk
	}
}

// take removes and returns the touches of sessions last written before
// writtenBefore (all of them when it is zero).
func (t *tracker) take(writtenBefore time.Time) map[string]doorman.Touch {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]doorman.Touch)
	for id, p := range t.m {
		if writtenBefore.IsZero() || !p.written.After(writtenBefore) {
			out[id] = p.touch
			delete(t.m, id)
		}
	}
	return out
}

// overlay adds this node's unwritten activity to a session read from the store.
func (t *tracker) overlay(sess *doorman.Session) {
	t.mu.Lock()
	if p := t.m[sess.ID]; p != nil {
		applyTouch(sess, p.touch)
	}
	t.mu.Unlock()
}

// applyTouch changes sess as writing t changes it in the store.
func applyTouch(sess *doorman.Session, t doorman.Touch) {
	sess.Activity.Actions += t.Actions
	if t.Risk != nil {
		sess.Risk = *t.Risk
	}
	if t.At.After(sess.LastActiveAt) {
		sess.LastActiveAt = t.At
	}
	if t.IP != "" {
		sess.IP = t.IP
	}
	if t.Location != nil {
		sess.Location = *t.Location
	}
	if t.LastPage != "" {
		sess.Activity.LastPage = t.LastPage
	}
	if t.UserAgent != "" {
		sess.UserAgent = t.UserAgent
	}
	if t.Device != nil {
		sess.Device = *t.Device
	}
}

// pageTitle trims a page title or route name to what the store keeps.
func pageTitle(s string) string {
	return doorman.CleanText(strings.TrimSpace(s), 100)
}

// RecordPage notes the title of the page (or API route name) a session's
// request served, shown as "Last Page". It costs no store write.
func (s *Service) RecordPage(sessionID, title string) {
	title = pageTitle(title)
	if title == "" {
		return
	}
	t := &s.activity
	t.mu.Lock()
	if p := t.m[sessionID]; p != nil {
		p.touch.LastPage = title
	} else {
		if t.m == nil {
			t.m = make(map[string]*pending)
		}
		// The session was just written; keep the page for its next write.
		t.m[sessionID] = &pending{written: s.now(), touch: doorman.Touch{LastPage: title}}
	}
	t.mu.Unlock()
}
