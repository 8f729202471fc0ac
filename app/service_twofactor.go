package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/doorman/doorman"
	"slices"
	"strings"
	"time"
)

// TwoFactorIssuer names Doorman in authenticator apps.
const TwoFactorIssuer = "Doorman"

// ReasonBadTwoFactor is the reason of a sign_in_failed or reauth_failed
// event for a wrong two-factor code or recovery code.
const ReasonBadTwoFactor = "bad two-factor code"

// maxCodeLength bounds what is looked at as a code.
const maxCodeLength = 64

var (
	errTOTPRequired = &doorman.Error{Code: doorman.ETOTP, Message: "Two-factor code required"}
	// errSignInBadCode answers a sign-in with a right password and a wrong
	// code as a wrong password is answered.
	errSignInBadCode = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "Invalid email, password or two-factor code"}
	errBadCode       = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "Invalid two-factor code"}
	errReauthBadCode = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "the two-factor code is wrong"}
	errNoOTP         = &doorman.Error{Code: doorman.EFORBIDDEN, Message: "two-factor authentication is not available on this server"}
	// errChallengeGone sends the sign-in page back to its first step.
	errChallengeGone = &doorman.Error{Code: doorman.EUNAUTHORIZED, Reason: ReasonChallengeGone,
		Message: "The sign-in expired or was already used. Please sign in again."}
)

// ReasonChallengeGone is the Reason of the EUNAUTHORIZED answer to a
// sign-in challenge that expired, was used or had too many wrong codes.
const ReasonChallengeGone = "challenge_gone"

// ChallengeRequired is SignIn's answer, when the request asked for it
// (SignInRequest.Challenge), for a user with two-factor authentication who
// gave no code: the password was right, and CompleteSignIn with Token and a
// code finishes the sign-in before ExpiresAt.
type ChallengeRequired struct {
	Token     string // never stored; only its hash is
	ExpiresAt time.Time
}

func (c *ChallengeRequired) Error() string { return "doorman: " + errTOTPRequired.Message }

// person returns EFORBIDDEN unless p is a signed-in person.
func person(p *doorman.Principal) error {
	if p == nil || p.Session == nil || p.User == nil {
		return doorman.Errorf(doorman.EFORBIDDEN, "only a signed-in person has two-factor authentication")
	}
	return nil
}

// TwoFactorStatus returns p's two-factor state without its secrets.
func (s *Service) TwoFactorStatus(ctx context.Context, p *doorman.Principal) (*doorman.TwoFactor, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("two-factor status", err)
	}
	tf.Secret, tf.PendingSecret = "", ""
	return tf, nil
}

// BeginTwoFactorSetup starts turning two-factor authentication on for p: a
// new secret, kept pending until ConfirmTwoFactorSetup, returned with its
// otpauth:// URI and QR code for the authenticator app. It needs a recent
// password proof (password, when given, re-authenticates; else EREAUTH).
// ECONFLICT when two-factor authentication is on already.
func (s *Service) BeginTwoFactorSetup(ctx context.Context, p *doorman.Principal, password string, m Meta) (*doorman.OTPKey, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	if s.OTP == nil {
		return nil, errNoOTP
	}
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("begin two-factor setup", err)
	}
	if tf.Enabled() {
		return nil, doorman.Errorf(doorman.ECONFLICT, "Two-factor authentication is already on")
	}
	if err := s.requireRecentAuth(ctx, p, Proof{Password: password}, m); err != nil {
		return nil, err
	}
	key, err := s.OTP.Generate(TwoFactorIssuer, p.User.Email)
	if err != nil {
		return nil, err
	}
	stored, err := s.seal(key.Secret)
	if err != nil {
		return nil, err
	}
	if err := s.Store.SetPendingTwoFactor(ctx, p.Account.ID, p.User.ID, stored); err != nil {
		return nil, unavailable("begin two-factor setup", err)
	}
	return key, nil
}

// TwoFactorSetupKey returns the key of p's setup in progress, to show it
// again (a wrong code was typed). ENOTFOUND when no setup is in progress;
// EREAUTH unless p proved its password in the last ReauthAfter, as for
// beginning it, so that another session of the user cannot read it.
func (s *Service) TwoFactorSetupKey(ctx context.Context, p *doorman.Principal) (*doorman.OTPKey, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	if s.OTP == nil {
		return nil, errNoOTP
	}
	if err := s.requireRecentAuth(ctx, p, Proof{}, Meta{}); err != nil {
		return nil, err
	}
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("two-factor setup", err)
	}
	if tf.Enabled() || tf.PendingSecret == "" {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "no two-factor setup in progress")
	}
	secret, err := s.open(tf.PendingSecret)
	if err != nil {
		return nil, err
	}
	return s.OTP.Key(TwoFactorIssuer, p.User.Email, secret)
}

// TwoFactorOn is what turning two-factor authentication on gives back.
type TwoFactorOn struct {
	// RecoveryCodes are shown once: only their hashes are kept.
	RecoveryCodes []string
	// Token and Principal are the caller's session from now on: turning
	// two-factor authentication on is a privilege change, so the session
	// was rotated and the old token stops working. In the rare case the
	// rotation could not be written, Token is "" and Principal the old
	// session, which goes on (the codes are not lost for it).
	Token     string
	Principal *doorman.Principal
}

// ConfirmTwoFactorSetup turns two-factor authentication on when code is a
// valid code of the pending secret, and returns the new recovery codes
// and, as after any privilege change, a new token for the caller's session
// (rotated: a new session replaces it, marked as having passed a second
// factor; its last password proof stays as it was). Audited as
// two_factor_enabled and session_rotated. EINVALID for a missing or wrong
// code or no setup in progress; EREAUTH unless p proved its password in the
// last ReauthAfter, as for beginning.
func (s *Service) ConfirmTwoFactorSetup(ctx context.Context, p *doorman.Principal, code string, m Meta) (*TwoFactorOn, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	if s.OTP == nil {
		return nil, errNoOTP
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, doorman.Errorf(doorman.EINVALID, "Enter the 6-digit code from your authenticator app")
	}
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("confirm two-factor setup", err)
	}
	if tf.Enabled() {
		return nil, doorman.Errorf(doorman.ECONFLICT, "Two-factor authentication is already on")
	}
	if tf.PendingSecret == "" {
		return nil, doorman.Errorf(doorman.EINVALID, "Start the two-factor setup first")
	}
	now := s.now()
	secret, err := s.open(tf.PendingSecret)
	if err != nil {
		return nil, err
	}
	step, ok := s.OTP.Validate(secret, code, now)
	if !ok {
		return nil, doorman.Errorf(doorman.EINVALID, "That code is not right: type the 6-digit code your authenticator app shows now")
	}
	codes, hashes := doorman.NewRecoveryCodes()
	ev := s.event(p, doorman.ActionTwoFactorEnabled, p.User.Email, m, now)
	if err := s.Store.EnableTwoFactor(ctx, p.Account.ID, p.User.ID, tf.PendingSecret, step, now, hashes, ev); err != nil {
		return nil, unavailable("confirm two-factor setup", err)
	}
	s.Log.Info("two-factor authentication on", "user_id", p.User.ID)
	on := &TwoFactorOn{RecoveryCodes: codes, Principal: p}
	// Two-factor authentication is on and the codes exist only here: a
	// failed rotation is logged, never turned into an error that would
	// lose them. Its code was just proven by this session.
	token, np, err := s.rotate(ctx, p, m, now, func(ns *doorman.Session) { ns.TwoFactor = true })
	if np != nil {
		on.Token, on.Principal = token, np
	}
	if err != nil {
		s.Log.Error("rotate session after turning two-factor authentication on", "user_id", p.User.ID,
			"session_id", p.Session.ID, "err", err)
	}
	return on, nil
}

// DisableTwoFactor turns two-factor authentication off. It always asks
// for the password and a current code or a recovery code, however recent
// the sign-in: this removes a protection. Audited as two_factor_disabled;
// a wrong password or code is EUNAUTHORIZED, audited as reauth_failed.
func (s *Service) DisableTwoFactor(ctx context.Context, p *doorman.Principal, password, code string, m Meta) error {
	if err := person(p); err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	switch {
	case password == "":
		return doorman.Errorf(doorman.EINVALID, "password is required")
	case code == "":
		return doorman.Errorf(doorman.EINVALID, "a two-factor code or a recovery code is required")
	}
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return unavailable("disable two-factor", err)
	}
	if !tf.Enabled() {
		return doorman.Errorf(doorman.ECONFLICT, "Two-factor authentication is off")
	}
	if err := s.checkPassword(ctx, p, password, m); err != nil {
		return err
	}
	if err := s.reauthCode(ctx, p, tf, code, m); err != nil {
		return err
	}
	ev := s.event(p, doorman.ActionTwoFactorDisabled, p.User.Email, m, s.now())
	if err := s.Store.DisableTwoFactor(ctx, p.Account.ID, p.User.ID, ev); err != nil {
		return unavailable("disable two-factor", err)
	}
	s.Log.Info("two-factor authentication off", "user_id", p.User.ID)
	s.alertAccountChange(ctx, p, doorman.EventTwoFactorDisabled)
	return nil
}

// RegenerateRecoveryCodes replaces every recovery code of p, used or not,
// by new ones, returned once. It needs a recent proof (password and code,
// when given, re-authenticate; else EREAUTH). Audited as
// recovery_codes_regenerated. ECONFLICT when two-factor authentication is off.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *doorman.Principal, password, code string, m Meta) ([]string, error) {
	if err := person(p); err != nil {
		return nil, err
	}
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return nil, unavailable("regenerate recovery codes", err)
	}
	if !tf.Enabled() {
		return nil, doorman.Errorf(doorman.ECONFLICT, "Two-factor authentication is off")
	}
	if err := s.requireRecentAuth(ctx, p, Proof{Password: password, Code: code}, m); err != nil {
		return nil, err
	}
	now := s.now()
	codes, hashes := doorman.NewRecoveryCodes()
	ev := s.event(p, doorman.ActionRecoveryCodesRenewed, p.User.Email, m, now)
	if err := s.Store.ReplaceRecoveryCodes(ctx, p.Account.ID, p.User.ID, hashes, now, ev); err != nil {
		return nil, unavailable("regenerate recovery codes", err)
	}
	return codes, nil
}

// checkSecondFactor reports whether code is a valid second factor of
// user, and uses it up: a TOTP code's step is recorded (a code is accepted
// once), a recovery code is marked used (audited as recovery_code_used).
// A code that looks like a recovery code is checked as one.
func (s *Service) checkSecondFactor(ctx context.Context, user *doorman.User, tf *doorman.TwoFactor, code string, m Meta) (bool, error) {
	if s.OTP == nil {
		return false, errNoOTP
	}
	if code == "" || len(code) > maxCodeLength {
		return false, nil
	}
	now := s.now()
	if doorman.LooksLikeRecoveryCode(code) {
		ev := s.event(&doorman.Principal{User: user, Account: &doorman.Account{ID: user.AccountID}}, doorman.ActionRecoveryCodeUsed, user.Email, m, now)
		ev.Details = fmt.Sprintf("remaining=%d", max(tf.RecoveryCodesLeft-1, 0))
		err := s.Store.UseRecoveryCode(ctx, user.AccountID, user.ID, doorman.HashRecoveryCode(code), now, ev)
		switch doorman.ErrorCode(err) {
		case "":
			s.Log.Info("recovery code used", "user_id", user.ID)
			return true, nil
		case doorman.ENOTFOUND:
			return false, nil
		}
		return false, unavailable("check two-factor code", err)
	}
	secret, err := s.open(tf.Secret)
	if err != nil {
		return false, err
	}
	step, ok := s.OTP.Validate(secret, code, now)
	if !ok {
		return false, nil
	}
	err = s.Store.AcceptTOTPStep(ctx, user.AccountID, user.ID, step)
	switch doorman.ErrorCode(err) {
	case "":
		return true, nil
	case doorman.ECONFLICT, doorman.ENOTFOUND: // a replayed code, or 2FA turned off meanwhile
		return false, nil
	}
	return false, unavailable("check two-factor code", err)
}

// signInSecondFactor asks a user with two-factor authentication, whose
// password was right, for the second factor, and reports whether the
// sign-in passed one.
func (s *Service) signInSecondFactor(ctx context.Context, user *doorman.User, email string, req SignInRequest) (bool, error) {
	tf, err := s.Store.FindTwoFactor(ctx, user.AccountID, user.ID)
	if err != nil {
		return false, unavailable("sign in", err)
	}
	if !tf.Enabled() {
		return false, nil
	}
	code := strings.TrimSpace(req.TOTPCode)
	if code == "" {
		if req.Challenge {
			return false, s.startChallenge(ctx, user, req.RememberMe)
		}
		return false, errTOTPRequired
	}
	ok, err := s.checkSecondFactor(ctx, user, tf, code, req.Meta)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, s.signInBadCode(ctx, user, email, req.Meta, errSignInBadCode)
	}
	return true, nil
}

// signInBadCode audits a wrong second factor at sign-in and returns ret.
func (s *Service) signInBadCode(ctx context.Context, user *doorman.User, email string, m Meta, ret error) error {
	ev := s.event(nil, doorman.ActionSignInFailed, email, m, s.now())
	ev.ActorID, ev.Actor, ev.AccountID, ev.Reason = "", email, user.AccountID, ReasonBadTwoFactor
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		return unavailable("sign in", err)
	}
	s.Log.Info("sign-in failed", "email", email, "ip", m.IP, "reason", ev.Reason)
	return ret
}

func (s *Service) startChallenge(ctx context.Context, user *doorman.User, remember bool) error {
	now := s.now()
	token, hash := doorman.NewToken()
	c := &doorman.SignInChallenge{ID: doorman.NewID(doorman.PrefixChallenge, now), TokenHash: hash, AccountID: user.AccountID, UserID: user.ID,
		RememberMe: remember, CreatedAt: now, ExpiresAt: now.Add(doorman.ChallengeTTL)}
	if err := s.Store.CreateSignInChallenge(ctx, c); err != nil {
		return unavailable("sign in", err)
	}
	return &ChallengeRequired{Token: token, ExpiresAt: c.ExpiresAt}
}

// CompleteSignIn finishes a sign-in that SignIn answered with
// ChallengeRequired: with a valid code (or recovery code) of the user it
// starts the session, as SignIn does, and the challenge is used up. A wrong
// code is EUNAUTHORIZED "Invalid two-factor code", audited and counted by
// the sign-in limits; after ChallengeMaxAttempts wrong codes, after
// ChallengeTTL, or once used, the challenge is gone (EUNAUTHORIZED with
// Reason ReasonChallengeGone) and the person signs in again.
func (s *Service) CompleteSignIn(ctx context.Context, challengeToken, code string, m Meta) (string, *doorman.Principal, error) {
	if !doorman.TokenWellFormed(challengeToken) {
		return "", nil, errChallengeGone
	}
	hash := doorman.HashToken(challengeToken)
	c, err := s.Store.FindSignInChallenge(ctx, hash)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return "", nil, errChallengeGone
	}
	if err != nil {
		return "", nil, unavailable("sign in", err)
	}
	if !doorman.HashesEqual(c.TokenHash, hash) {
		return "", nil, errChallengeGone
	}
	now := s.now()
	if !now.Before(c.ExpiresAt) || c.Attempts >= doorman.ChallengeMaxAttempts {
		s.dropChallenge(ctx, c.ID)
		return "", nil, errChallengeGone
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return "", nil, doorman.Errorf(doorman.EINVALID, "Enter the 6-digit code from your authenticator app, or a recovery code")
	}
	user, err := s.Store.FindUserByID(ctx, c.AccountID, c.UserID)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		s.dropChallenge(ctx, c.ID)
		return "", nil, errChallengeGone
	}
	if err != nil {
		return "", nil, unavailable("sign in", err)
	}
	// The password step took its attempt from the limits: a right code
	// costs none, a wrong one costs one, and none is tried while they
	// say wait.
	if wait, err := s.attemptWait(ctx, user.Email, m.IP); err != nil {
		return "", nil, err
	} else if wait > 0 {
		return "", nil, s.throttled(ctx, user.Email, m, wait)
	}
	tf, err := s.Store.FindTwoFactor(ctx, c.AccountID, c.UserID)
	if err != nil {
		return "", nil, unavailable("sign in", err)
	}
	if user.Disabled || !tf.Enabled() {
		s.dropChallenge(ctx, c.ID)
		return "", nil, errChallengeGone
	}
	ok, err := s.checkSecondFactor(ctx, user, tf, code, m)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		if _, err := s.takeAttempt(ctx, user.Email, m.IP); err != nil {
			return "", nil, err
		}
		n, err := s.Store.FailSignInChallenge(ctx, c.ID)
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return "", nil, errChallengeGone
		}
		if err != nil {
			return "", nil, unavailable("sign in", err)
		}
		ret := error(errBadCode)
		if n >= doorman.ChallengeMaxAttempts {
			s.dropChallenge(ctx, c.ID)
			ret = &doorman.Error{Code: doorman.EUNAUTHORIZED, Reason: ReasonChallengeGone,
				Message: "Too many wrong codes. Please sign in again."}
		}
		return "", nil, s.signInBadCode(ctx, user, user.Email, m, ret)
	}
	if err := s.Store.DeleteSignInChallenge(ctx, c.ID); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND { // another request used it first
			return "", nil, errChallengeGone
		}
		return "", nil, unavailable("sign in", err)
	}
	return s.startSession(ctx, user, c.RememberMe, true, m)
}

func (s *Service) dropChallenge(ctx context.Context, id string) {
	if err := s.Store.DeleteSignInChallenge(ctx, id); err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
		s.logStoreFailure("delete sign-in challenge failed", err, "challenge_id", id)
	}
}

// reauthSecondFactor asks a user with two-factor authentication for the
// code as well when they confirm their password.
func (s *Service) reauthSecondFactor(ctx context.Context, p *doorman.Principal, code string, m Meta) error {
	tf, err := s.Store.FindTwoFactor(ctx, p.Account.ID, p.User.ID)
	if err != nil {
		return unavailable("reauthenticate", err)
	}
	if !tf.Enabled() {
		return nil
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return errTOTPRequired
	}
	return s.reauthCode(ctx, p, tf, code, m)
}

// reauthCode checks a signed-in user's second factor, auditing a wrong
// one as reauth_failed.
func (s *Service) reauthCode(ctx context.Context, p *doorman.Principal, tf *doorman.TwoFactor, code string, m Meta) error {
	if err := s.reauthGate(ctx, p, m); err != nil {
		return err
	}
	ok, err := s.checkSecondFactor(ctx, p.User, tf, code, m)
	if err != nil || ok {
		return err
	}
	if err := s.reauthFailed(ctx, p, m); err != nil {
		return err
	}
	ev := s.event(p, doorman.ActionReauthFailed, p.User.Email, m, s.now())
	ev.Reason = ReasonBadTwoFactor
	if err := s.Store.CreateAuditEvent(ctx, ev); err != nil {
		return unavailable("check two-factor code", err)
	}
	return errReauthBadCode
}

// reauthWrong names what a failed re-authentication got wrong.
func reauthWrong(err error) string {
	if errors.Is(err, errReauthBadCode) {
		return "two-factor code"
	}
	return "password"
}

// markTwoFactor sets TwoFactor on the members with two-factor
// authentication on, in one query for the page.
func (s *Service) markTwoFactor(ctx context.Context, accountID string, members []doorman.TeamMember) error {
	if len(members) == 0 {
		return nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.User.ID
	}
	on, err := s.Store.FindTwoFactorUsers(ctx, accountID, ids)
	if err != nil {
		return unavailable("team sessions", err)
	}
	for i := range members {
		members[i].TwoFactor = slices.Contains(on, members[i].User.ID)
	}
	return nil
}

// OperatorResetTwoFactor turns two-factor authentication off for the user
// with email in the account named accountName, from the command line, for
// a person who lost both their authenticator and their recovery codes: they
// sign in with their password again and may set it up anew. Audited as
// two_factor_disabled by the system actor with the reason given. The
// user's sessions stay. ENOTFOUND for an unknown account or user, ECONFLICT
// when two-factor authentication is off, EINVALID without a reason.
func (s *Service) OperatorResetTwoFactor(ctx context.Context, accountName, email, reason string) (*doorman.User, error) {
	reason, err := ValidateReason(reason)
	if err != nil {
		return nil, err
	}
	if err := doorman.ValidateTexts("account name", accountName, "email", email); err != nil {
		return nil, err
	}
	acct, err := s.Store.FindAccountByName(ctx, accountName)
	if err != nil {
		return nil, err
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{AccountID: acct.ID, Email: doorman.NormalizeEmail(email), Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "no user has email %s in account %s", doorman.NormalizeEmail(email), acct.Name)
	}
	u := users[0]
	tf, err := s.Store.FindTwoFactor(ctx, acct.ID, u.ID)
	if err != nil {
		return nil, err
	}
	if !tf.Enabled() {
		return nil, doorman.Errorf(doorman.ECONFLICT, "%s does not have two-factor authentication on", u.Email)
	}
	ev := s.event(nil, doorman.ActionTwoFactorDisabled, u.Email, Meta{}, s.now())
	ev.AccountID, ev.Reason, ev.Details = acct.ID, reason, "user_id="+u.ID
	if err := s.Store.DisableTwoFactor(ctx, acct.ID, u.ID, ev); err != nil {
		return nil, err
	}
	s.Log.Info("two-factor authentication reset by an operator", "user_id", u.ID)
	return u, nil
}
