package doorman

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do in their account.
type Role string

// The two roles.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember }

// User is a person who signs in to one account.
type User struct {
	ID        string
	AccountID string
	Email     string // unique within the account, stored lower-case
	Name      string
	Role      Role
	// PasswordHash is a PHC string from the PasswordHasher; never shown.
	PasswordHash string
	// Disabled users cannot sign in and their sessions are refused. A
	// removed user is disabled too, so that every check that reads Disabled
	// refuses them without knowing of removal.
	Disabled bool
	// Invited marks a user who has not yet accepted their invitation: they
	// have no password of their own and cannot sign in.
	Invited bool
	// RemovedAt is when an admin removed the user; nil for a current user.
	// A removed user's row stays, so that the audit log's references to it
	// still name a person.
	RemovedAt *time.Time
	CreatedAt time.Time
}

// UserStatus is what the Team page and API show of a user.
type UserStatus string

// The statuses of a user. Removed users are not listed.
const (
	UserActive   UserStatus = "active"
	UserInvited  UserStatus = "invited"
	UserDisabled UserStatus = "disabled"
	UserRemoved  UserStatus = "removed"
)

// Status returns the user's status: removed, invited, disabled or active,
// the first that holds.
func (u *User) Status() UserStatus {
	switch {
	case u.RemovedAt != nil:
		return UserRemoved
	case u.Invited:
		return UserInvited
	case u.Disabled:
		return UserDisabled
	}
	return UserActive
}

// IsActiveAdmin reports whether u is an admin who can act as one now: not
// invited, disabled or removed. An account keeps at least one.
func (u *User) IsActiveAdmin() bool { return u.IsAdmin() && u.Status() == UserActive }

// IsAdmin reports whether u administers their account.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin }

// NormalizeEmail trims and lower-cases an address, the form in which emails
// are stored and looked up. Text that is not valid UTF-8 is only trimmed:
// lower-casing would turn its bad bytes into U+FFFD and hide them from
// ValidateText, which refuses them.
func NormalizeEmail(email string) string {
	email = strings.TrimSpace(email)
	if !utf8.ValidString(email) {
		return email
	}
	return strings.ToLower(email)
}

// ValidateEmail returns EINVALID unless email is a plain address.
func ValidateEmail(email string) error {
	if email == "" {
		return Errorf(EINVALID, "email is required")
	}
	if len(email) > 254 {
		return Errorf(EINVALID, "email is longer than 254 characters")
	}
	if err := ValidateText("email", email); err != nil {
		return err
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return Errorf(EINVALID, "email %q is not a valid address", email)
	}
	return nil
}

// Validate returns EINVALID when the user cannot be stored.
func (u *User) Validate() error {
	if err := ValidateEmail(u.Email); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return Errorf(EINVALID, "role must be admin or member")
	}
	if len(u.Name) > 200 {
		return Errorf(EINVALID, "name is longer than 200 characters")
	}
	if err := ValidateText("name", u.Name); err != nil {
		return err
	}
	if u.PasswordHash == "" {
		return Errorf(EINVALID, "password is required")
	}
	return nil
}

// UserFilter selects users. Zero fields match everything; AccountID is empty
// only for the sign-in lookup, which finds an email in any account.
type UserFilter struct {
	AccountID string
	ID        string
	Email     string
	Limit     int // 0 means no limit
	Offset    int
}

// PasswordHasher hashes and checks passwords. The argon2id package provides
// the default.
type PasswordHasher interface {
	// Hash returns a self-describing hash of password.
	Hash(password string) (string, error)
	// Verify reports whether password matches hash. It returns an error only
	// when hash is malformed.
	Verify(hash, password string) (bool, error)
}

// Password length bounds: at least 12 characters (OWASP ASVS 2.1.1); the
// upper bound keeps hashing cost bounded.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// ValidatePassword returns EINVALID for a password that is too short or too long.
func ValidatePassword(pw string) error {
	if len(pw) < MinPasswordLength {
		return Errorf(EINVALID, "password must be at least %d characters", MinPasswordLength)
	}
	if len(pw) > MaxPasswordLength {
		return Errorf(EINVALID, "password must be at most %d characters", MaxPasswordLength)
	}
	return nil
}
