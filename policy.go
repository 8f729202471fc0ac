package doorman

import (
	"fmt"
	"time"
)

// Why a session stopped being valid. The sign-in page turns these into the
// user guide's troubleshooting answers.
const (
	ReasonRevokedByUser  = "revoked_by_user"  // "You were signed out from another device"
	ReasonRevokedByAdmin = "revoked_by_admin" // "An administrator signed you out"
	ReasonSignedOut      = "signed_out"       // the session signed itself out
	ReasonIdle           = "idle"             // unused longer than the idle timeout
	ReasonExpired        = "expired"          // past its absolute end
	ReasonUserDisabled   = "user_disabled"
)

// ActorExpiry is the RevokedBy of a session that ended by its account's
// rules rather than by a person: its idle timeout (RevokeReason ReasonIdle)
// or its lifetime, the absolute end or the remember-me days (ReasonExpired).
// The end is recorded once it is known so that it stays a fact: loosening
// the settings later never brings the session back. It is not ActorSystem,
// whose revocations carry an operator's free-text reason.
const ActorExpiry = "expiry"

// Policy holds the server-wide session rules that are not account settings.
type Policy struct {
	// AbsoluteCap bounds the life of a session that is not remembered, from
	// sign-in, so that an idle timeout of "never" does not mean forever.
	// Default 30 days; 0 means no cap.
	AbsoluteCap time.Duration
}

// DefaultAbsoluteCap is Policy.AbsoluteCap's default.
const DefaultAbsoluteCap = 30 * 24 * time.Hour

const day = 24 * time.Hour

// InitialExpiry is the absolute end fixed at sign-in of a session created
// at created, remembered or not, under the account settings set.
func (p Policy) InitialExpiry(created time.Time, remember bool, set Settings) *time.Time {
	if remember {
		t := created.Add(time.Duration(set.RememberMeDays) * day)
		return &t
	}
	if p.AbsoluteCap <= 0 {
		return nil
	}
	t := created.Add(p.AbsoluteCap)
	return &t
}

// Remembered reports whether s counts as remembered under set: remember-me
// sessions fall back to the idle timeout once an account disallows them.
func Remembered(s *Session, set Settings) bool { return s.RememberMe && set.RememberMeAllowed }

// Deadline returns when s ends under set if it is not used again (the zero
// time: never), and the reason it will end then. Revocation is not
// considered. It returns a value, not a pointer: it runs on every
// validation and must not allocate.
func Deadline(s *Session, set Settings) (time.Time, string) {
	var end time.Time
	if s.ExpiresAt != nil {
		end = *s.ExpiresAt
	}
	reason := ReasonExpired
	if Remembered(s, set) {
		// Settings may shorten a remembered session's life, never lengthen it.
		t := s.CreatedAt.Add(time.Duration(set.RememberMeDays) * day)
		if end.IsZero() || t.Before(end) {
			end = t
		}
		return end, reason
	}
	if idle, ok := set.IdleTimeout.Duration(); ok {
		t := s.LastActiveAt.Add(idle)
		if end.IsZero() || t.Before(end) {
			return t, ReasonIdle
		}
	}
	return end, reason
}

// Ended reports whether s, revocation aside, has ended at now under set,
// and if so when (its Deadline, not after now) and why: ReasonIdle or
// ReasonExpired.
func Ended(s *Session, set Settings, now time.Time) (at time.Time, reason string, ok bool) {
	end, reason := Deadline(s, set)
	if end.IsZero() || now.Before(end) {
		return time.Time{}, "", false
	}
	return end, reason, true
}

// SettingsEnd says whether a change of an account's settings from old to
// set, at now, ends s for good, and when and why. A session already ended
// under old ended then, for its reason, whatever set says: the change must
// not bring it back. One that old keeps and set does not is ended by the
// change, at now (byChange). A session valid under both does not end (ok
// false). Revocation is not considered.
func SettingsEnd(s *Session, old, set Settings, now time.Time) (at time.Time, reason string, byChange, ok bool) {
	if at, reason, ok := Ended(s, old, now); ok {
		return at, reason, false, true
	}
	if _, reason, ok := Ended(s, set, now); ok {
		return now, reason, true, true
	}
	return time.Time{}, "", false, false
}

// CheckSession returns nil if s is valid at now under set, or EUNAUTHORIZED
// whose Reason and Message say why not.
func CheckSession(s *Session, u *User, set Settings, now time.Time) error {
	if s.RevokedAt != nil && s.RevokedBy == ActorExpiry {
		return recordedEndError(s, set, now)
	}
	if s.RevokedAt != nil {
		return revokedError(s)
	}
	if u != nil && u.Disabled {
		return &Error{Code: EUNAUTHORIZED, Reason: ReasonUserDisabled, Message: "Your account is disabled"}
	}
	_, reason, ended := Ended(s, set, now)
	if !ended {
		return nil
	}
	if reason == ReasonIdle {
		return idleError(set)
	}
	return errExpired
}

var errExpired = &Error{Code: EUNAUTHORIZED, Reason: ReasonExpired, Message: "Your session expired; please sign in again"}

func idleError(set Settings) error {
	return &Error{Code: EUNAUTHORIZED, Reason: ReasonIdle,
		Message: fmt.Sprintf("Your session expired after %s of inactivity", set.IdleTimeout.Text())}
}

// recordedEndError is the error of a session whose end by its rules was
// recorded (RevokedBy ActorExpiry). An idle end names the timeout only
// when the settings of now would end it for idleness too: the timeout that
// ended it may have been loosened since.
func recordedEndError(s *Session, set Settings, now time.Time) error {
	if s.RevokeReason != ReasonIdle {
		return errExpired
	}
	if _, reason, ok := Ended(s, set, now); ok && reason == ReasonIdle {
		return idleError(set)
	}
	return &Error{Code: EUNAUTHORIZED, Reason: ReasonIdle, Message: "Your session expired after a period of inactivity"}
}

// EndText is why a session ended, in words, from the Reason of the error
// CheckSession gives it: "idle timeout", "session lifetime" (its absolute
// end or its remember-me days), "signed out", … The pages and the API
// show it as "Ended: idle timeout".
func EndText(reason string) string {
	switch reason {
	case ReasonIdle:
		return "idle timeout"
	case ReasonExpired:
		return "session lifetime"
	case ReasonSignedOut:
		return "signed out"
	case ReasonRevokedByUser:
		return "signed out from another session"
	case ReasonRevokedByAdmin:
		return "signed out by an administrator"
	case ReasonUserDisabled:
		return "account disabled"
	}
	return "ended"
}

func revokedError(s *Session) error {
	switch {
	case s.RevokeReason == ReasonSignedOut:
		return &Error{Code: EUNAUTHORIZED, Reason: ReasonSignedOut, Message: "You signed out"}
	case s.RevokedBy == s.UserID:
		return &Error{Code: EUNAUTHORIZED, Reason: ReasonRevokedByUser, Message: "You were signed out from another device"}
	}
	return &Error{Code: EUNAUTHORIZED, Reason: ReasonRevokedByAdmin, Message: "An administrator signed you out"}
}

// Window returns the ActiveWindow for set at now, for listing only valid
// sessions in the store. It agrees with CheckSession.
func Window(set Settings, now time.Time) *ActiveWindow {
	w := &ActiveWindow{Now: now, RememberAllowed: set.RememberMeAllowed}
	if set.RememberMeAllowed {
		w.RememberSince = now.Add(-time.Duration(set.RememberMeDays) * day)
	}
	if idle, ok := set.IdleTimeout.Duration(); ok {
		w.IdleSince = now.Add(-idle)
	}
	return w
}
