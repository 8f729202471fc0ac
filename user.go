package doorman

import (
	"context"
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

// UserUpdate is a change of a user by an admin or operator. Nil fields stay
// as they are.
type UserUpdate struct {
	Role     *Role
	Disabled *bool
	Name     *string
	// Remove removes the user: an invited user's row is deleted (there is
	// nothing of theirs to keep and the email is free again); any other
	// user is marked removed at At and disabled, its email kept reserved so
	// that the audit log's entries still name one person.
	Remove bool
	// At is when the change happens (RemovedAt of a removal).
	At time.Time
}

// TakesAdmin reports whether applying upd to u leaves u no longer an
// active admin although u is one now: what the last-admin rule forbids for
// the account's last active admin.
func (upd UserUpdate) TakesAdmin(u *User) bool {
	if !u.IsActiveAdmin() {
		return false
	}
	return upd.Remove || (upd.Disabled != nil && *upd.Disabled) || (upd.Role != nil && *upd.Role != RoleAdmin)
}

// UserStore keeps the users of accounts. Each method that takes an ev
// writes it in the same transaction as its change.
type UserStore interface {
	// CreateUser stores u and writes ev (if not nil). Returns ECONFLICT if
	// the ID is taken or the email exists in the account, ENOTFOUND if the
	// account does not exist.
	CreateUser(ctx context.Context, u *User, ev *AuditEvent) error
	// FindUserByID returns ENOTFOUND unless a user with that id exists in
	// the account.
	FindUserByID(ctx context.Context, accountID, id string) (*User, error)
	// FindUsers returns the matching users ordered by email (then by id),
	// and how many match without Limit and Offset.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// UpdateUserPassword replaces the user's password hash and writes ev.
	// Returns ENOTFOUND unless a user with that id exists in the account.
	UpdateUserPassword(ctx context.Context, accountID, userID, hash string, ev *AuditEvent) error
	// UpdateUser applies upd to the user, writes ev (if not nil), and
	// returns the user
	// as now stored (nil after an invited user's removal, which deletes
	// it). Returns ENOTFOUND unless a user with that id, not removed,
	// exists in the account; ECONFLICT when the change would leave the
	// account with no active admin (UserUpdate.TakesAdmin of its last one),
	// decided atomically: of two admins demoting each other at once, one
	// fails. It ends no session: the Service revokes them with
	// RevokeSessions.
	UpdateUser(ctx context.Context, accountID, userID string, upd UserUpdate, ev *AuditEvent) (*User, error)
}
