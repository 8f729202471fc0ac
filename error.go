// Package doorman holds Doorman's domain: accounts, users, sessions, API
// keys, alerts and the audit log, the rules that are pure functions of them
// (validity, risk, policy), and the ports that adapters implement: the Store
// that persists them, and the device, place, OTP, mail and webhook ports.
//
// The package uses only the standard library. The Service that applies every
// rule above whichever store is plugged in is in package app; adapters live
// in their own packages (sqlite, postgres, http, argon2id, …) and talk in
// these types.
package doorman

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in the http package.
const (
	EINVALID      = "invalid"           // 400: the input is wrong; Message says how.
	EUNAUTHORIZED = "unauthorized"      // 401: no valid credentials.
	EFORBIDDEN    = "forbidden"         // 403: signed in, but not allowed.
	ENOTFOUND     = "not_found"         // 404: no such object in the caller's account.
	ECONFLICT     = "conflict"          // 409: a unique value is already taken.
	ETOOMANY      = "too_many_requests" // 429: slow down.
	EREAUTH       = "reauth_required"   // 403: a sensitive action; confirm the password first.
	ETOTP         = "totp_required"     // 401: the password is right; the two-factor code is missing.
	EINTERNAL     = "internal"          // 500: a bug or an unexpected failure; logged in full.
	EUNAVAILABLE  = "unavailable"       // 503: the store cannot answer, so nothing can be decided.
)

// Error is the one error type whose message users may see. Every other error
// is internal: logged in full, shown as "Internal error".
type Error struct {
	Code    string
	Message string
	// Reason refines EUNAUTHORIZED for people: why a session stopped being
	// valid (ReasonIdle, ReasonRevokedByUser, …). Empty otherwise.
	Reason string
	// RetryAfter says, with ETOOMANY, how long to wait before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("doorman: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message users may see for err: the *Error's own
// message, or "Internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error"
}

// RetryAfter returns how long err asks the caller to wait (ETOOMANY), or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
