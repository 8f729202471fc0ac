// Package app is Doorman's application layer: the Service, which applies
// every session rule once (sign-in, authentication, listing and signing out
// sessions, team administration, API keys, two-factor authentication,
// alerts, audit) above whichever doorman.Store is plugged in. It talks to
// the store and to the other adapters only through the root package's
// types and ports.
package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/doorman/doorman"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Service applies Doorman's rules: sign-in, authentication, listing and
// signing out sessions, settings, audit. Both stores sit under it, so the
// rules are written once. Set the exported fields before first use.
type Service struct {
	Store     doorman.Store
	Passwords doorman.PasswordHasher
	// Now is the clock; tests inject one. Times are truncated to microseconds
	// so that both stores keep them exactly.
	Now    func() time.Time
	Policy doorman.Policy
	// TouchInterval is how stale a session's LastActiveAt may grow before a
	// request writes it. Default and maximum 60 seconds: "last active" is
	// never staler than that, and a busy session costs one write a minute.
	TouchInterval time.Duration
	Log           *slog.Logger
	// Devices names a session's browser, system and device from its
	// User-Agent and Client Hints, at sign-in and when its User-Agent
	// changes. Optional: without it Device stays empty ("Unknown browser").
	Devices doorman.DeviceDetector
	// Places locates a session's address, at sign-in and when it changes.
	// Optional: without it Location stays empty ("Unknown location").
	Places doorman.Locator
	// SignInLimits throttle sign-in per email and per address, counted in
	// the Store; zero fields take their defaults (5 a minute per email, 20
	// per address).
	SignInLimits SignInLimits
	// Alerts sends sign-in alerts by email and webhook (service_alerts.go).
	Alerts doorman.AlertConfig
	// Secrets seals the secrets Doorman keeps readable (TOTP and webhook
	// secrets) before they are stored (the aesgcm package, with
	// --secret-key). Optional: without it they are stored as they are, and
	// a sealed one cannot be read.
	Secrets doorman.SecretBox
	// OTP checks two-factor codes (the totp package). Optional: without it
	// no one can turn two-factor authentication on, and a user who has it
	// cannot sign in.
	OTP doorman.OTP
	// SigningKeyPeriod is how long one key signs assertions before the
	// next takes over (service_assertion.go). Default 30 days. Every node
	// of a deployment must use the same: nodes agree on a key by period.
	SigningKeyPeriod time.Duration
	// BoundCookieTTL is how long a bound session's bound cookie lasts
	// (service_binding.go). Default 10 minutes: a copied cookie works at
	// most that long without the device key, and a bound browser signs one
	// proof that often.
	BoundCookieTTL time.Duration

	dummyOnce sync.Once
	dummyHash string
	activity  tracker
	keys      keyTracker  // API keys' unwritten usage (service_apikeys.go)
	alertKick alertKick   // wakes RunAlerts (service_alerts.go)
	endLog    logLimit    // failures to record a session's end (service_auth.go)
	signing   signingKeys // assertion keys in memory (service_assertion.go)
	bg        background  // reset requests at work (service_passwordreset.go)
}

// NewService returns a Service with the default policy and the real clock.
func NewService(store doorman.Store, passwords doorman.PasswordHasher) *Service {
	return &Service{
		Store:         store,
		Passwords:     passwords,
		Now:           time.Now,
		Policy:        doorman.Policy{AbsoluteCap: doorman.DefaultAbsoluteCap},
		TouchInterval: time.Minute,
		Log:           slog.Default(),
	}
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) touchInterval() time.Duration {
	if s.TouchInterval <= 0 || s.TouchInterval > time.Minute {
		return time.Minute
	}
	return s.TouchInterval
}

// Meta describes the request an action comes from: for the audit log, and
// for naming and placing a session.
type Meta struct {
	IP        string
	UserAgent string
	// Hints are the User-Agent Client Hints the browser sent, if any.
	Hints doorman.ClientHints
	// DeviceKey is the value of the long-lived device cookie that recognises
	// a browser across sign-ins ("" when the client has none, as API clients
	// often do). Only its hash is stored.
	DeviceKey string
	// BoundCookie is the bound cookie the request came with, "" when none
	// (service_binding.go).
	BoundCookie string
	// Bearer marks a token sent in an Authorization header, not a cookie.
	Bearer bool
	// Proof is the password (and two-factor code) sent with a sensitive
	// action, which re-authenticates a session whose last proof is older
	// than ReauthAfter (requireRecentAuth); empty otherwise.
	Proof Proof
}

// userAgent is the User-Agent as it is stored: cut to MaxUserAgent bytes on
// a rune boundary, odd bytes replaced, so that a long or strange header
// never fails a sign-in.
func (m Meta) userAgent() string { return doorman.CleanText(m.UserAgent, doorman.MaxUserAgent) }

func (s *Service) event(p *doorman.Principal, action, target string, m Meta, now time.Time) *doorman.AuditEvent {
	ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, now), At: now, Action: action, Target: target,
		IP: m.IP, UserAgent: m.userAgent()}
	if p == nil {
		ev.ActorID, ev.Actor = doorman.ActorSystem, doorman.ActorSystem
		return ev
	}
	if k := p.APIKey; k != nil {
		// The key is the actor, named by its visible prefix and name.
		ev.AccountID, ev.ActorID, ev.Actor = p.Account.ID, k.ID, "API key "+k.Prefix+" ("+k.Name+")"
		return ev
	}
	ev.AccountID, ev.ActorID, ev.Actor = p.Account.ID, p.User.ID, p.User.Email
	return ev
}

// unavailable wraps a store failure met while deciding whether a request may
// pass: the answer is 503, never 200 and never 401.
func unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *doorman.Error
	if errors.As(err, &e) {
		return err
	}
	if IsUnavailable(err) { // marked by WithDeadline already
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w", op, &wrappedUnavailable{err})
}

type wrappedUnavailable struct{ err error }

func (w *wrappedUnavailable) Error() string { return "store unavailable: " + w.err.Error() }
func (w *wrappedUnavailable) Unwrap() error { return w.err }

// IsUnavailable reports whether err means the store could not answer.
func IsUnavailable(err error) bool {
	var w *wrappedUnavailable
	return errors.As(err, &w) || doorman.ErrorCode(err) == doorman.EUNAVAILABLE
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

// UpdateSettings replaces an account's session settings; they apply to every
// existing session on its next request. A session that has ended, under the
// settings replaced or under the new ones, stays ended: the store records
// its end (by doorman.ActorExpiry) with the change, so loosening the
// settings later never brings it back. by is the admin making the change, or
// nil for an operator command. The audit event records old and new values,
// and its Count how many valid sessions the change ended. EFORBIDDEN for a
// member; another account is ENOTFOUND to an admin; EREAUTH without a
// recent password (requireRecentAuth).
func (s *Service) UpdateSettings(ctx context.Context, by *doorman.Principal, accountID string, set doorman.Settings, m Meta) (*doorman.Account, error) {
	if by != nil && !by.User.IsAdmin() {
		return nil, doorman.Errorf(doorman.EFORBIDDEN, "only an administrator of this account can change its settings")
	}
	if by != nil && by.Account.ID != accountID {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "account not found")
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	if err := s.requireRecentAuth(ctx, by, m.Proof, m); err != nil {
		return nil, err
	}
	acct, err := s.Store.FindAccountByID(ctx, accountID)
	if err != nil {
		return nil, unavailable("update settings", err)
	}
	now := s.now()
	ev := s.event(by, doorman.ActionSettingsUpdated, acct.Name, m, now)
	ev.AccountID = acct.ID
	ev.Details = fmt.Sprintf("idle_timeout=%s->%s remember_me_allowed=%t->%t remember_me_days=%d->%d members_see_sessions=%t->%t",
		acct.Settings.IdleTimeout, set.IdleTimeout, acct.Settings.RememberMeAllowed, set.RememberMeAllowed,
		acct.Settings.RememberMeDays, set.RememberMeDays, acct.Settings.MembersSeeSessions, set.MembersSeeSessions)
	n, err := s.Store.UpdateAccountSettings(ctx, acct.ID, set, now, ev)
	if err != nil {
		return nil, unavailable("update settings", err)
	}
	s.Log.Info("settings updated", "account_id", acct.ID, "sessions_ended", n)
	acct.Settings = set
	return acct, nil
}

// Purge deletes, in batches of batch, sessions revoked or past their absolute
// end more than retention ago. It returns how many it deleted.
func (s *Service) Purge(ctx context.Context, retention time.Duration, batch int) (int, error) {
	cutoff := s.now().Add(-retention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeSessions(ctx, cutoff, limit) })
}

// PurgeAudit deletes, in batches of batch, audit events older than
// retention, and returns how many it deleted. A retention of 0 or less keeps
// every event forever. Nothing else ever deletes an event.
func (s *Service) PurgeAudit(ctx context.Context, retention time.Duration, batch int) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	before := s.now().Add(-retention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeAuditEvents(ctx, before, limit) })
}

// APIKeyUsageRetention is how long API keys' hourly counts are kept: the
// pages show the last 24 hours; a week leaves room to look back at an
// incident.
const APIKeyUsageRetention = 7 * 24 * time.Hour

// PurgeAPIKeyUsage deletes, in batches of batch, API keys' hourly counts
// older than APIKeyUsageRetention, and returns how many it deleted.
func (s *Service) PurgeAPIKeyUsage(ctx context.Context, batch int) (int, error) {
	before := s.now().Add(-APIKeyUsageRetention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeAPIKeyUsage(ctx, before, limit) })
}

// purgeBatches calls purge with batch (500 when not positive) until it
// deletes fewer than that, or fails, or ctx ends, and returns the total:
// short batches never hold the store for long.
func purgeBatches(ctx context.Context, batch int, purge func(limit int) (int, error)) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	for {
		n, err := purge(batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// seal returns v as it is to be stored: sealed by Secrets when there is one.
func (s *Service) seal(v string) (string, error) {
	if s.Secrets == nil || v == "" {
		return v, nil
	}
	sealed, err := s.Secrets.Seal(v)
	if err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	return sealed, nil
}

// open returns the value of a stored secret: opened by Secrets when it was
// sealed. A sealed value without Secrets, or one Secrets cannot open (another
// key), is an error: the secret cannot be used.
func (s *Service) open(stored string) (string, error) {
	if !strings.HasPrefix(stored, doorman.SealedPrefix) {
		return stored, nil
	}
	if s.Secrets == nil {
		return "", errors.New("open secret: it is sealed, and no --secret-key is set")
	}
	v, err := s.Secrets.Open(stored)
	if err != nil {
		return "", fmt.Errorf("open secret: %w", err)
	}
	return v, nil
}
