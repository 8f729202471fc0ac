// Package app is Doorman's application layer: the Service, which applies
// every session rule once (sign-in, authentication, listing and signing out
// sessions, team administration, API keys, two-factor authentication,
// alerts, audit) above whichever doorman.Store is plugged in. It talks to
// the store and to the other adapters only through the root package's
// types and ports.
//
// Each concern of the Service is one file, which holds the entry of every
// use case of that concern, for people and operators alike, and names the
// store interfaces it uses:
//
//	service.go               the Service, Meta, audit events, store failures, purge batches, sealed secrets
//	service_auth.go          sign-in and the check of every request (SignIn, Authenticate); Account, User, Session, Audit stores
//	service_activity.go      activity written at most once a minute (Flush, RunFlusher, RecordPage); SessionStore
//	service_device.go        a session's device, place and address history (SessionHistory); SessionStore
//	service_risk.go          risk checks at sign-in and on changes; RiskStore
//	service_sessions.go      one's own sessions (ListSessions, SignOut, RevokeSession, SignOutOthers), operator sessions, Purge; SessionStore
//	service_protection.go    protecting the account (SignOutAll, ChangePassword, re-authentication); Session, User, Audit stores
//	service_twofactor.go     two-factor authentication and the sign-in's second step; TwoFactor, SignInChallenge stores
//	service_passwordreset.go forgot password (RequestPasswordReset, ResetPassword); PasswordResetStore
//	service_admin.go         the team's sessions and forced sign-outs (TeamSessions, ForceSignOut, SignOutTeam); Team, User, Session stores
//	service_team.go          the team's people (invitations, roles, disabling, removal, CreateUser); User, Invitation stores
//	service_settings.go      session settings (UpdateSettings); AccountStore
//	service_audit.go         the audit log (AuditLog, ExportAudit, PurgeAudit); AuditStore
//	service_apikeys.go       API keys and their usage; APIKeyStore
//	service_alerts.go        sign-in alerts and their delivery (RunAlerts, ReportAlert, PurgeAlerts); AlertStore
//	service_webhook.go       the account's webhook (SetWebhook, TestWebhook); WebhookStore
//	service_assertion.go     assertions for the apps behind Doorman (Assertion, JWKS); SigningKeyStore
//	throttle.go              sign-in limits; ThrottleStore
//	deadline*.go, outage.go  every store call bounded, and outages logged (WithDeadline, OutageLog)
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
	// WebAuthn checks passkeys (the passkey package, for the base URL's
	// host). Optional: without it no one can add or use a passkey.
	WebAuthn doorman.WebAuthn
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
	activity  tracker     // sessions' unwritten activity (service_activity.go)
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
	// Page is the title of the page or API route the request is for, which
	// Authenticate records as the session's Last Page; "" records none.
	Page string
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
