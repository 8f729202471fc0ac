package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/jws"
)

// Device Bound Session Credentials (binding.go). A browser that supports
// them registers a device key at sign-in (RegisterBinding) and from then on
// proves it holds the key to get each short-lived bound cookie
// (RefreshBinding); Authenticate refuses a bound session without a valid
// bound cookie, and refuses its token as a Bearer credential.

// Errors of device binding.
var (
	errBoundCookie = &doorman.Error{Code: doorman.EUNAUTHORIZED, Reason: doorman.ReasonDeviceProofRequired,
		Message: "This session is bound to a device, and this request did not prove it came from that device"}
	errBoundBearer = &doorman.Error{Code: doorman.EUNAUTHORIZED, Reason: doorman.ReasonDeviceProofRequired,
		Message: "This session is bound to a device: its token cannot be used as a Bearer token"}
	errBadProof  = &doorman.Error{Code: doorman.EINVALID, Message: "The device proof is not a valid DBSC proof"}
	errChallenge = &doorman.Error{Code: doorman.EFORBIDDEN,
		Message: "The registration challenge is unknown, used or expired"}
	errProofFailed = &doorman.Error{Code: doorman.EFORBIDDEN, Message: "The device proof failed"}
	errNotBindable = &doorman.Error{Code: doorman.EFORBIDDEN, Message: "This session cannot be bound to a device"}
)

// boundCookieTTL is how long a bound cookie lasts.
func (s *Service) boundCookieTTL() time.Duration {
	if s.BoundCookieTTL <= 0 {
		return doorman.DefaultBoundCookieTTL
	}
	return s.BoundCookieTTL
}

// checkBinding applies the binding rule to a valid session: a bound one
// needs a bound cookie valid at now, and never passes as a Bearer token.
func checkBinding(sess *doorman.Session, m Meta, now time.Time) error {
	if sess.Binding == nil {
		return nil
	}
	if m.Bearer {
		return errBoundBearer
	}
	if !doorman.CheckBoundCookie(sess, m.BoundCookie, now) {
		return errBoundCookie
	}
	return nil
}

// BoundCookie is a bound cookie to send: its value and how long it lasts.
type BoundCookie struct {
	Value string
	TTL   time.Duration
}

// newChallenge stores a new challenge for the session and returns it. The
// challenge starts with the session's id, so that a registration proof names
// its session by itself: "sess_….<random>".
func (s *Service) newChallenge(ctx context.Context, sessionID, purpose string, now time.Time) (string, error) {
	token, _ := doorman.NewToken()
	c := sessionID + "." + token
	err := s.Store.CreateBindingChallenge(ctx, &doorman.BindingChallenge{Hash: challengeHash(c), SessionID: sessionID,
		Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(doorman.BindingChallengeTTL)})
	if err != nil {
		return "", unavailable("new binding challenge", err)
	}
	return c, nil
}

func challengeHash(c string) []byte {
	h := sha256.Sum256([]byte(c))
	return h[:]
}

// OfferBinding returns the challenge of the registration offered to the
// browser of a session that has just signed in: only then, so that a thief
// holding the session cookie later can never bind the session to a key of
// its own first.
func (s *Service) OfferBinding(ctx context.Context, p *doorman.Principal) (string, error) {
	if p.Session == nil || p.Session.Binding != nil {
		return "", errNotBindable
	}
	return s.newChallenge(ctx, p.Session.ID, doorman.ChallengeRegister, s.now())
}

// RegisterBinding binds a session to the device key of a registration
// proof, which must answer the challenge OfferBinding gave, unused and
// unexpired, and be signed by the key its header carries. cookieToken is
// the session cookie the request came with ("" when none): when there is
// one it must be that session's. It returns the session, bound, with its
// first bound cookie; the binding is audited as session_bound. EINVALID for
// a proof that is not one, EFORBIDDEN for a challenge that is not (or no
// longer) good, or a session that is bound already, has ended, or is
// another's.
func (s *Service) RegisterBinding(ctx context.Context, proof, cookieToken string, m Meta) (*doorman.Principal, BoundCookie, error) {
	pr, err := jws.VerifyProof(proof, nil)
	if err != nil {
		return nil, BoundCookie{}, errBadProof
	}
	sid, _, _ := strings.Cut(pr.JTI, ".")
	if !doorman.IDWellFormed(doorman.PrefixSession, sid) {
		return nil, BoundCookie{}, errChallenge
	}
	now := s.now()
	c, err := s.Store.UseBindingChallenge(ctx, sid, challengeHash(pr.JTI), now)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, BoundCookie{}, errChallenge
	}
	if err != nil {
		return nil, BoundCookie{}, unavailable("register binding", err)
	}
	if c.Purpose != doorman.ChallengeRegister {
		return nil, BoundCookie{}, errChallenge
	}
	p, err := s.principalByID(ctx, sid, now)
	if err != nil {
		return nil, BoundCookie{}, err
	}
	if cookieToken != "" && !doorman.HashesEqual(doorman.HashToken(cookieToken), p.Session.TokenHash) {
		return nil, BoundCookie{}, errNotBindable
	}
	b := &doorman.Binding{Key: jws.MarshalPublicJWK(pr.Key), Secret: make([]byte, doorman.BindingSecretBytes), At: now}
	rand.Read(b.Secret)
	ev := s.event(p, doorman.ActionSessionBound, p.Session.ID, m, now)
	ev.Details = "key=" + jws.PublicKey{Key: pr.Key}.Thumbprint()
	if err := s.Store.BindSession(ctx, p.Session.ID, b, ev); err != nil {
		switch doorman.ErrorCode(err) {
		case doorman.ECONFLICT, doorman.ENOTFOUND:
			return nil, BoundCookie{}, errNotBindable
		}
		return nil, BoundCookie{}, unavailable("register binding", err)
	}
	p.Session.Binding = b
	s.Log.Info("session bound to a device key", "session_id", p.Session.ID, "user_id", p.User.ID)
	return p, s.boundCookie(p.Session, now), nil
}

// boundCookie returns a new bound cookie of the bound session at now.
func (s *Service) boundCookie(sess *doorman.Session, now time.Time) BoundCookie {
	ttl := s.boundCookieTTL()
	return BoundCookie{Value: doorman.BoundCookie(sess, now.Add(ttl)), TTL: ttl}
}

// principalByID reads a session by its id with its user and account, and
// applies the session rules at now: errNotBindable when there is no such
// session or it is no longer valid.
func (s *Service) principalByID(ctx context.Context, id string, now time.Time) (*doorman.Principal, error) {
	sess, err := s.Store.FindSessionByID(ctx, "", id)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, errNotBindable
	}
	if err != nil {
		return nil, unavailable("find session", err)
	}
	acct, err := s.Store.FindAccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, unavailable("find session", err)
	}
	u, err := s.Store.FindUserByID(ctx, sess.AccountID, sess.UserID)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, errNotBindable
	}
	if err != nil {
		return nil, unavailable("find session", err)
	}
	if err := doorman.CheckSession(sess, u, acct.Settings, now); err != nil {
		return nil, errNotBindable
	}
	return &doorman.Principal{Session: sess, User: u, Account: acct}, nil
}

// Refresh is the answer to a refresh of a bound session: exactly one of
// its fields is set.
type Refresh struct {
	// Cookie is the new bound cookie: the proof was good.
	Cookie *BoundCookie
	// Principal is the session the cookie is for.
	Principal *doorman.Principal
	// Challenge is what the browser must sign first: there was no proof,
	// or it answered a challenge that is used, expired or unknown.
	Challenge string
	// End means the binding is over: the session ended (signed out,
	// revoked, expired) or is not bound. The browser is to stop refreshing.
	End bool
}

// RefreshBinding answers a refresh of the bound session sessionID with
// proof, the Secure-Session-Response it came with ("" when none). A proof
// that verifies with the session's key but answers no current challenge of
// it (a stale one, or a replay) gets a new challenge; one that does not
// verify is refused (EFORBIDDEN), audited as device_proof_failed, marks the
// session high risk and ends it (the binding then ends too).
func (s *Service) RefreshBinding(ctx context.Context, sessionID, proof string, m Meta) (*Refresh, error) {
	if !doorman.IDWellFormed(doorman.PrefixSession, sessionID) {
		return &Refresh{End: true}, nil
	}
	now := s.now()
	p, err := s.principalByID(ctx, sessionID, now)
	if err == errNotBindable || (err == nil && p.Session.Binding == nil) {
		return &Refresh{End: true}, nil
	}
	if err != nil {
		return nil, err
	}
	if proof == "" {
		c, err := s.newChallenge(ctx, sessionID, doorman.ChallengeRefresh, now)
		if err != nil {
			return nil, err
		}
		return &Refresh{Challenge: c}, nil
	}
	pub, err := jws.ParsePublicJWK([]byte(p.Session.Binding.Key))
	if err != nil {
		return nil, err // stored by RegisterBinding: unreadable is a bug
	}
	pr, err := jws.VerifyProof(proof, pub)
	if err != nil {
		reason := "bad signature"
		if err != jws.ErrSignature {
			reason = "not a proof"
		}
		if err := s.failedProof(ctx, p, reason, m, now); err != nil {
			return nil, err
		}
		return nil, errProofFailed
	}
	c, err := s.Store.UseBindingChallenge(ctx, sessionID, challengeHash(pr.JTI), now)
	if err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
		return nil, unavailable("refresh binding", err)
	}
	if err != nil || c.Purpose != doorman.ChallengeRefresh {
		// A stale challenge (the browser cached an old one) or a replayed
		// proof: the key is right, so a new challenge, never a cookie.
		c, err := s.newChallenge(ctx, sessionID, doorman.ChallengeRefresh, now)
		if err != nil {
			return nil, err
		}
		return &Refresh{Challenge: c}, nil
	}
	bc := s.boundCookie(p.Session, now)
	return &Refresh{Cookie: &bc, Principal: p}, nil
}

// failedProof records a failed proof of the session's device key: the
// session becomes high risk (device_proof_failed), the failure is audited,
// and, unless the account's settings say otherwise
// (EndSessionOnFailedProof), the session ends: whoever holds its cookie
// without its key holds a stolen cookie, and the person signs in again.
func (s *Service) failedProof(ctx context.Context, p *doorman.Principal, reason string, m Meta, now time.Time) error {
	sess := p.Session
	reasons := slices.DeleteFunc(slices.Clone(sess.Risk.Reasons), func(c string) bool { return c == doorman.ReasonDeviceProofFailed })
	risk := doorman.RiskOf(append(reasons, doorman.ReasonDeviceProofFailed))
	if err := s.Store.TouchSession(ctx, sess.ID, doorman.Touch{At: sess.LastActiveAt, Risk: &risk}); err != nil &&
		doorman.ErrorCode(err) != doorman.ENOTFOUND {
		return unavailable("record failed device proof", err)
	}
	ev := s.event(p, doorman.ActionDeviceProofFailed, sess.ID, m, now)
	ev.Reason = reason
	if !p.Account.Settings.EndSessionOnFailedProof {
		// The account's admins look first: the session stays, high risk.
		ev.Details = "session_ended=false"
		if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
			return unavailable("record failed device proof", err)
		}
		s.Log.Warn("device proof failed; session kept (account setting)", "session_id", sess.ID, "user_id", p.User.ID, "ip", m.IP, "reason", reason)
		return nil
	}
	ev.Details = "session_ended=true"
	_, err := s.Store.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: sess.AccountID, SessionID: sess.ID},
		doorman.Revocation{At: now, By: doorman.ActorSystem, Reason: doorman.ReasonDeviceProofFailed}, ev)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND { // ended meanwhile: the failure is still worth a line
		ev.Details = "session_ended=false"
		err = s.Store.CreateAuditEvent(ctx, ev)
	}
	if err != nil {
		return unavailable("record failed device proof", err)
	}
	s.Log.Warn("device proof failed; session ended", "session_id", sess.ID, "user_id", p.User.ID, "ip", m.IP, "reason", reason)
	return nil
}
