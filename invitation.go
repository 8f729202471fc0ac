package doorman

import "time"

// InvitationTTL is how long an invitation link works: long enough for a
// person back from a week away, short enough that a forgotten email in an
// inbox does not stay a way in.
const InvitationTTL = 7 * 24 * time.Hour

// Invitation is the single-use link an invited user sets their password
// with. Only the SHA-256 of its token is stored; the token itself is in the
// link alone.
type Invitation struct {
	UserID    string
	AccountID string
	Email     string // the invited user's, filled in by FindInvitation
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
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
