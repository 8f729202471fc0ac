package app

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/doorman/doorman"
)

// Passkeys (WebAuthn). The Service keeps every ceremony's state in the
// store (doorman.PasskeyCeremony), so that the node that finishes a
// ceremony need not be the one that began it; the WebAuthn adapter
// (Service.WebAuthn, the passkey package) does the cryptography.

var (
	errNoWebAuthn = &doorman.Error{Code: doorman.EFORBIDDEN, Message: "passkeys are not available on this server"}
	// errPasskeyGone answers a ceremony that expired, was used, or is not
	// this one's: the page starts again.
	errPasskeyGone = &doorman.Error{Code: doorman.EUNAUTHORIZED, Reason: ReasonCeremonyGone,
		Message: "The passkey request expired or was already used. Please try again."}
	// errBadPasskey answers every passkey sign-in that fails: an unknown
	// passkey, a wrong signature and a disabled user look alike.
	errBadPasskey = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "That passkey could not sign you in"}
)

// ReasonCeremonyGone is the Reason of the EUNAUTHORIZED answer to a
// WebAuthn ceremony that expired, was used already or belongs to another
// session or sign-in.
const ReasonCeremonyGone = "ceremony_gone"

// Reasons of sign_in_failed events of passkeys.
const (
	ReasonUnknownPasskey = "unknown passkey"
	ReasonBadPasskey     = "passkey not verified"
)

// PasskeyCeremony is a WebAuthn ceremony begun: the options the page
// hands to navigator.credentials (JSON), and the token that finishes it,
// never stored (only its hash is).
type PasskeyCeremony struct {
	Token   string
	Options []byte
}

func passkeyUser(u *doorman.User) doorman.PasskeyUser {
	name := u.Name
	if name == "" {
		name = u.Email
	}
	return doorman.PasskeyUser{Handle: []byte(u.ID), Name: u.Email, DisplayName: name}
}

// Passkeys returns p's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, p *doorman.Principal) ([]*doorman.Passkey, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	list, err := s.Store.FindPasskeys(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("passkeys", err)
	}
	return list, nil
}

// newCeremony stores a ceremony of kind with the adapter's state and
// returns it with its options.
func (s *Service) newCeremony(ctx context.Context, c *doorman.PasskeyCeremony, options []byte) (*PasskeyCeremony, error) {
	now := s.now()
	token, hash := doorman.NewToken()
	c.ID, c.TokenHash, c.CreatedAt, c.ExpiresAt = doorman.NewID(doorman.PrefixCeremony, now), hash, now, now.Add(doorman.CeremonyTTL)
	if err := s.Store.CreatePasskeyCeremony(ctx, c); err != nil {
		return nil, unavailable("passkey", err)
	}
	return &PasskeyCeremony{Token: token, Options: options}, nil
}

// takeCeremony uses up the ceremony of token, which must be of kind.
func (s *Service) takeCeremony(ctx context.Context, token, kind string) (*doorman.PasskeyCeremony, error) {
	if !doorman.TokenWellFormed(token) {
		return nil, errPasskeyGone
	}
	c, err := s.Store.TakePasskeyCeremony(ctx, doorman.HashToken(token), s.now())
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, errPasskeyGone
	}
	if err != nil {
		return nil, unavailable("passkey", err)
	}
	if c.Kind != kind {
		return nil, errPasskeyGone
	}
	return c, nil
}

// BeginPasskeyRegistration starts adding a passkey to p: the options for
// navigator.credentials.create. A passkey signs in alone, so adding one
// needs a recent password proof (m.Proof re-authenticates; else EREAUTH).
// ECONFLICT when p has MaxPasskeysPerUser passkeys.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *doorman.Principal, m Meta) (*PasskeyCeremony, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	if s.WebAuthn == nil {
		return nil, errNoWebAuthn
	}
	have, err := s.Store.FindPasskeys(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("add passkey", err)
	}
	if len(have) >= doorman.MaxPasskeysPerUser {
		return nil, doorman.Errorf(doorman.ECONFLICT, "You have %d passkeys, the most one person may have: remove one first", len(have))
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, err
	}
	options, state, err := s.WebAuthn.BeginRegistration(passkeyUser(p.User), have)
	if err != nil {
		return nil, err
	}
	return s.newCeremony(ctx, &doorman.PasskeyCeremony{Kind: doorman.CeremonyRegister, AccountID: p.Account.ID,
		UserID: p.User.ID, SessionID: p.Session.ID, State: state}, options)
}

// ValidatePasskeyName trims a passkey's name and checks it: 1 to
// MaxPasskeyName bytes of ValidText.
func ValidatePasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", doorman.Errorf(doorman.EINVALID, "Give the passkey a name, such as the device it is on")
	case len(name) > doorman.MaxPasskeyName || !utf8.ValidString(name):
		return "", doorman.Errorf(doorman.EINVALID, "A passkey's name is at most %d characters", doorman.MaxPasskeyName)
	}
	if err := doorman.ValidateText("name", name); err != nil {
		return "", err
	}
	return name, nil
}

// FinishPasskeyRegistration verifies the browser's answer to the ceremony
// of token, which the same session began, and stores the passkey as name.
// Audited as passkey_added. EINVALID for a bad name or an answer that does
// not verify; EUNAUTHORIZED (ReasonCeremonyGone) for a ceremony expired,
// used or begun by another session.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *doorman.Principal, token, name string, response []byte, m Meta) (*doorman.Passkey, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	if s.WebAuthn == nil {
		return nil, errNoWebAuthn
	}
	name, err := ValidatePasskeyName(name)
	if err != nil {
		return nil, err
	}
	c, err := s.takeCeremony(ctx, token, doorman.CeremonyRegister)
	if err != nil {
		return nil, err
	}
	if c.SessionID != p.Session.ID || c.UserID != p.User.ID || c.AccountID != p.Account.ID {
		return nil, errPasskeyGone
	}
	have, err := s.Store.FindPasskeys(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("add passkey", err)
	}
	pk, err := s.WebAuthn.FinishRegistration(passkeyUser(p.User), have, c.State, response)
	if err != nil {
		return nil, err
	}
	now := s.now()
	pk.ID, pk.AccountID, pk.UserID, pk.Name, pk.CreatedAt = doorman.NewID(doorman.PrefixPasskey, now), p.Account.ID, p.User.ID, name, now
	ev := s.event(p, doorman.ActionPasskeyAdded, name, m, now)
	ev.Details = "passkey_id=" + pk.ID
	if err := s.Store.CreatePasskey(ctx, pk, ev); err != nil {
		return nil, unavailable("add passkey", err)
	}
	s.Log.Info("passkey added", "user_id", p.User.ID, "passkey_id", pk.ID)
	return pk, nil
}

// RemovePasskey removes one of p's passkeys. It needs a recent password
// proof (m.Proof re-authenticates; else EREAUTH): a stolen session must
// not take its owner's way in away. Audited as passkey_removed. ENOTFOUND
// unless p has a passkey with that id.
func (s *Service) RemovePasskey(ctx context.Context, p *doorman.Principal, id string, m Meta) error {
	if err := person(p); err != nil {
		return err
	}
	if err := doorman.ValidateText("passkey id", id); err != nil {
		return err
	}
	have, err := s.Store.FindPasskeys(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return unavailable("remove passkey", err)
	}
	var pk *doorman.Passkey
	for _, h := range have {
		if h.ID == id {
			pk = h
		}
	}
	if pk == nil {
		return doorman.Errorf(doorman.ENOTFOUND, "no such passkey")
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return err
	}
	ev := s.event(p, doorman.ActionPasskeyRemoved, pk.Name, m, s.now())
	ev.Details = "passkey_id=" + pk.ID
	if err := s.Store.DeletePasskey(ctx, p.Account.ID, p.User.ID, id, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return err
		}
		return unavailable("remove passkey", err)
	}
	s.Log.Info("passkey removed", "user_id", p.User.ID, "passkey_id", pk.ID)
	return nil
}

// BeginPasskeySignIn starts a sign-in with a discoverable passkey: the
// browser offers the person the passkeys it holds for this site.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (*PasskeyCeremony, error) {
	if s.WebAuthn == nil {
		return nil, errNoWebAuthn
	}
	options, state, err := s.WebAuthn.BeginLogin(nil)
	if err != nil {
		return nil, err
	}
	return s.newCeremony(ctx, &doorman.PasskeyCeremony{Kind: doorman.CeremonySignIn, State: state}, options)
}

// PasskeySignIn finishes the sign-in ceremony of token with the browser's
// assertion and starts a session as SignIn does (limits, risk checks,
// audit, alerts), marked as having passed a second factor: a passkey is
// something held, unlocked by the person (user verification is required).
// Audited as passkey_used then sign_in. Every failure is the same
// EUNAUTHORIZED, audited as sign_in_failed and counted by the sign-in
// limits (of the passkey's user and of the address).
func (s *Service) PasskeySignIn(ctx context.Context, token string, response []byte, rememberMe bool, m Meta) (string, *doorman.Principal, error) {
	if s.WebAuthn == nil {
		return "", nil, errNoWebAuthn
	}
	c, err := s.takeCeremony(ctx, token, doorman.CeremonySignIn)
	if err != nil {
		return "", nil, err
	}
	user, err := s.verifyAssertion(ctx, c, "", response, m)
	if err != nil {
		return "", nil, err
	}
	return s.startSession(ctx, user, rememberMe, true, m)
}

// verifyAssertion checks an assertion answering c. When userID is set
// only that user's passkeys count (a second factor). It takes one attempt
// from the sign-in limits first, and audits a failure.
func (s *Service) verifyAssertion(ctx context.Context, c *doorman.PasskeyCeremony, userID string, response []byte, m Meta) (*doorman.User, error) {
	credID, _, err := s.WebAuthn.AssertionCredential(response)
	if err != nil {
		return nil, err
	}
	pk, err := s.Store.FindPasskeyByCredentialID(ctx, credID)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND || (err == nil && userID != "" && pk.UserID != userID) {
		return nil, s.passkeyFailed(ctx, nil, "", m, ReasonUnknownPasskey)
	}
	if err != nil {
		return nil, unavailable("sign in", err)
	}
	user, err := s.Store.FindUserByID(ctx, pk.AccountID, pk.UserID)
	if err != nil {
		return nil, unavailable("sign in", err)
	}
	if wait, err := s.takeAttempt(ctx, user.Email, m.IP); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, s.throttled(ctx, user.Email, m, wait)
	}
	if user.Disabled || user.Invited {
		return nil, s.passkeyFailed(ctx, user, user.AccountID, m, "user disabled")
	}
	have, err := s.Store.FindPasskeys(ctx, pk.AccountID, pk.UserID)
	if err != nil {
		return nil, unavailable("sign in", err)
	}
	use, err := s.WebAuthn.FinishLogin(passkeyUser(user), have, pk, c.State, response)
	if doorman.ErrorCode(err) == doorman.EINVALID {
		s.Log.Info("passkey not verified", "user_id", user.ID, "passkey_id", pk.ID, "err", err)
		return nil, s.passkeyFailed(ctx, user, user.AccountID, m, ReasonBadPasskey)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	use.At = now
	ev := s.event(&doorman.Principal{User: user, Account: &doorman.Account{ID: user.AccountID}}, doorman.ActionPasskeyUsed, pk.Name, m, now)
	ev.Details = "passkey_id=" + pk.ID
	if err := s.Store.UsePasskey(ctx, pk.AccountID, pk.ID, *use, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND { // removed meanwhile
			return nil, s.passkeyFailed(ctx, user, user.AccountID, m, ReasonUnknownPasskey)
		}
		return nil, unavailable("sign in", err)
	}
	return user, nil
}

// passkeyFailed audits a failed passkey sign-in and returns errBadPasskey.
// An unknown passkey counts against the address's limit.
func (s *Service) passkeyFailed(ctx context.Context, user *doorman.User, accountID string, m Meta, reason string) error {
	actor := ""
	if user != nil {
		actor = user.Email
	} else if m.IP != "" {
		if _, err := s.Store.TakeLimits(ctx, s.SignInLimits.limits("", m.IP)[1:], s.now()); err != nil {
			return unavailable("sign-in limits", err)
		}
	}
	ev := s.event(nil, doorman.ActionSignInFailed, actor, m, s.now())
	ev.ActorID, ev.Actor, ev.AccountID, ev.Reason = "", actor, accountID, reason
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		return unavailable("sign in", err)
	}
	s.Log.Info("passkey sign-in failed", "email", actor, "ip", m.IP, "reason", reason)
	return errBadPasskey
}

// pendingSignIn returns the sign-in challenge of challengeToken, still
// valid, and its user; errChallengeGone otherwise.
func (s *Service) pendingSignIn(ctx context.Context, challengeToken string) (*doorman.SignInChallenge, *doorman.User, error) {
	if !doorman.TokenWellFormed(challengeToken) {
		return nil, nil, errChallengeGone
	}
	hash := doorman.HashToken(challengeToken)
	c, err := s.Store.FindSignInChallenge(ctx, hash)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, nil, errChallengeGone
	}
	if err != nil {
		return nil, nil, unavailable("sign in", err)
	}
	if !doorman.HashesEqual(c.TokenHash, hash) || !s.now().Before(c.ExpiresAt) || c.Attempts >= doorman.ChallengeMaxAttempts {
		return nil, nil, errChallengeGone
	}
	user, err := s.Store.FindUserByID(ctx, c.AccountID, c.UserID)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, nil, errChallengeGone
	}
	if err != nil {
		return nil, nil, unavailable("sign in", err)
	}
	if user.Disabled {
		return nil, nil, errChallengeGone
	}
	return c, user, nil
}

// PendingSignInHasPasskeys reports whether the user of the pending
// sign-in of challengeToken (its second step) has a passkey, which may
// stand in for the code. False when there is no such sign-in.
func (s *Service) PendingSignInHasPasskeys(ctx context.Context, challengeToken string) (bool, error) {
	if s.WebAuthn == nil {
		return false, nil
	}
	_, user, err := s.pendingSignIn(ctx, challengeToken)
	if err != nil {
		if IsUnavailable(err) {
			return false, err
		}
		return false, nil
	}
	have, err := s.Store.FindPasskeys(ctx, user.AccountID, user.ID)
	if err != nil {
		return false, unavailable("sign in", err)
	}
	return len(have) > 0, nil
}

// BeginPasskeySecondFactor starts, at the second step of the sign-in of
// challengeToken, an assertion by one of its user's passkeys, in place of
// a code. ENOTFOUND when the user has none.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, challengeToken string) (*PasskeyCeremony, error) {
	if s.WebAuthn == nil {
		return nil, errNoWebAuthn
	}
	ch, user, err := s.pendingSignIn(ctx, challengeToken)
	if err != nil {
		return nil, err
	}
	have, err := s.Store.FindPasskeys(ctx, user.AccountID, user.ID)
	if err != nil {
		return nil, unavailable("sign in", err)
	}
	if len(have) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "You have no passkey: type the code from your authenticator app")
	}
	options, state, err := s.WebAuthn.BeginLogin(have)
	if err != nil {
		return nil, err
	}
	return s.newCeremony(ctx, &doorman.PasskeyCeremony{Kind: doorman.CeremonySecondFactor, AccountID: user.AccountID,
		UserID: user.ID, ChallengeID: ch.ID, State: state}, options)
}

// CompleteSignInPasskey finishes the sign-in of challengeToken, whose
// password was right, with an assertion by one of its user's passkeys
// (the ceremony of ceremonyToken) in place of a code, and starts the
// session as CompleteSignIn does. A passkey that does not verify is
// EUNAUTHORIZED, audited and counted by the sign-in limits.
func (s *Service) CompleteSignInPasskey(ctx context.Context, challengeToken, ceremonyToken string, response []byte, m Meta) (string, *doorman.Principal, error) {
	if s.WebAuthn == nil {
		return "", nil, errNoWebAuthn
	}
	ch, user, err := s.pendingSignIn(ctx, challengeToken)
	if err != nil {
		return "", nil, err
	}
	c, err := s.takeCeremony(ctx, ceremonyToken, doorman.CeremonySecondFactor)
	if err != nil {
		return "", nil, err
	}
	if c.ChallengeID != ch.ID || c.UserID != user.ID {
		return "", nil, errPasskeyGone
	}
	if _, err := s.verifyAssertion(ctx, c, user.ID, response, m); err != nil {
		return "", nil, err
	}
	if err := s.Store.DeleteSignInChallenge(ctx, ch.ID); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND { // another request used it first
			return "", nil, errChallengeGone
		}
		return "", nil, unavailable("sign in", err)
	}
	return s.startSession(ctx, user, ch.RememberMe, true, m)
}
