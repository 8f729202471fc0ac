package doorman

import (
	"context"
	"strings"
	"time"
)

// IdleTimeout is how long a session that is not remembered may go unused
// before it ends. It is one of the four values the Session Settings page offers.
type IdleTimeout string

// The idle timeouts an account may choose. IdleNever is "not recommended":
// sessions then end only at their absolute cap.
const (
	Idle1Day   IdleTimeout = "1d"
	Idle7Days  IdleTimeout = "7d"
	Idle30Days IdleTimeout = "30d"
	IdleNever  IdleTimeout = "never"
)

// Duration returns the timeout as a duration, and false for IdleNever or an
// unknown value.
func (t IdleTimeout) Duration() (time.Duration, bool) {
	switch t {
	case Idle1Day:
		return 24 * time.Hour, true
	case Idle7Days:
		return 7 * 24 * time.Hour, true
	case Idle30Days:
		return 30 * 24 * time.Hour, true
	}
	return 0, false
}

// Valid reports whether t is one of the four allowed values.
func (t IdleTimeout) Valid() bool {
	switch t {
	case Idle1Day, Idle7Days, Idle30Days, IdleNever:
		return true
	}
	return false
}

// Text is the timeout in words, as the user guide writes it ("7 days").
func (t IdleTimeout) Text() string {
	switch t {
	case Idle1Day:
		return "1 day"
	case Idle7Days:
		return "7 days"
	case Idle30Days:
		return "30 days"
	case IdleNever:
		return "never"
	}
	return string(t)
}

// Bounds of Settings.RememberMeDays.
const (
	MinRememberMeDays = 1
	MaxRememberMeDays = 365
)

// Settings are an account's session rules. A change applies to every
// existing session of the account on its next request.
type Settings struct {
	// IdleTimeout ends sessions that are not remembered after this long
	// unused. Default Idle7Days.
	IdleTimeout IdleTimeout
	// RememberMeAllowed offers "Remember me" at sign-in. Default true;
	// high-security accounts turn it off so that every session is subject to
	// the idle timeout.
	RememberMeAllowed bool
	// RememberMeDays is how long a remembered session lasts from sign-in,
	// 1–365. Default 30.
	RememberMeDays int
	// MembersSeeSessions lets members open their Sessions page and API.
	// Default true: people should be able to find and end sessions they do
	// not recognise; an admin may turn it off when the team's sessions are
	// managed for them ("Check you have permission (admins can restrict)").
	// Signing out the current session stays allowed either way.
	MembersSeeSessions bool
	// EndSessionOnFailedProof ends a device-bound session whose device
	// proof fails (a refresh signed by another key: its cookie is being
	// used without its key). Default true: such a session is a stolen
	// cookie at work. Off, the session is only marked high risk and the
	// failure audited, for an admin to look at first.
	EndSessionOnFailedProof bool
}

// DefaultSettings are the settings of a new account.
func DefaultSettings() Settings {
	return Settings{IdleTimeout: Idle7Days, RememberMeAllowed: true, RememberMeDays: 30, MembersSeeSessions: true,
		EndSessionOnFailedProof: true}
}

// Validate returns EINVALID naming the first wrong field.
func (s Settings) Validate() error {
	if !s.IdleTimeout.Valid() {
		return Errorf(EINVALID, "idle_timeout must be one of 1d, 7d, 30d, never")
	}
	if s.RememberMeDays < MinRememberMeDays || s.RememberMeDays > MaxRememberMeDays {
		return Errorf(EINVALID, "remember_me_days must be between %d and %d", MinRememberMeDays, MaxRememberMeDays)
	}
	return nil
}

// Account is a team: an isolated tenant with its users, sessions, settings
// and audit log.
type Account struct {
	ID        string
	Name      string
	Settings  Settings
	CreatedAt time.Time
}

// Validate returns EINVALID when the account cannot be stored.
func (a *Account) Validate() error {
	if strings.TrimSpace(a.Name) == "" {
		return Errorf(EINVALID, "account name is required")
	}
	if len(a.Name) > 200 {
		return Errorf(EINVALID, "account name is longer than 200 characters")
	}
	if err := ValidateText("account name", a.Name); err != nil {
		return err
	}
	return a.Settings.Validate()
}

// AccountStore keeps accounts and their session settings.
type AccountStore interface {
	// CreateAccount stores a, whose ID is set. Returns ECONFLICT if the ID or
	// name is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// FindAccountByID returns ENOTFOUND if no account has that id.
	FindAccountByID(ctx context.Context, id string) (*Account, error)
	// FindAccountByName returns ENOTFOUND if no account has that name.
	FindAccountByName(ctx context.Context, name string) (*Account, error)
	// UpdateAccountSettings replaces the account's settings by s and, in
	// the same transaction, records the end of every session of the account
	// not yet revoked that SettingsEnd says the change ends at now, from the
	// settings stored when the transaction reads them (concurrent changes
	// are serialised) to s: each is revoked at that end's time, by
	// ActorExpiry, with its reason (ReasonIdle or ReasonExpired), so that no
	// later change of the settings brings it back. It sets ev.Count (ev may
	// be nil) to how many of them the change itself ended (those valid
	// under the old settings), writes ev, and returns that count. Returns
	// ENOTFOUND, changing nothing, if no account has that id; on any error
	// nothing is written.
	UpdateAccountSettings(ctx context.Context, id string, s Settings, now time.Time, ev *AuditEvent) (int, error)
}
