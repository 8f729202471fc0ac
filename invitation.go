package doorman

import (
	"context"
	"time"
)

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

// InvitationStore keeps the invitations that bring a user into a team.
// Each method that takes an ev writes it (when not nil) in the same
// transaction as its change.
type InvitationStore interface {
	// InviteUser stores u (Invited set, with a password hash no one knows)
	// and its invitation inv (UserID and AccountID those of u). Returns
	// ECONFLICT if the id or token hash is taken or the email has a user
	// in the account (a removed one too), ENOTFOUND if the account does not
	// exist.
	InviteUser(ctx context.Context, u *User, inv *Invitation, ev *AuditEvent) error
	// RenewInvitation replaces the invitation of inv.UserID by inv: the
	// old link stops working. Returns ENOTFOUND unless an invited user with
	// that id exists in inv.AccountID, ECONFLICT if the token hash is taken.
	RenewInvitation(ctx context.Context, inv *Invitation, ev *AuditEvent) error
	// FindInvitation returns the invitation whose token hash is hash,
	// expired or not, with its user's Email. Returns ENOTFOUND if none (a
	// used, replaced or revoked invitation is none).
	FindInvitation(ctx context.Context, hash []byte) (*Invitation, error)
	// AcceptInvitation uses the invitation whose token hash is hash, if it
	// expires after at: its user stops being invited and takes name and
	// passwordHash; the invitation is gone. It returns the user as now
	// stored. Of two concurrent uses one wins. Returns ENOTFOUND unless an
	// invited user, not disabled, holds such an invitation.
	AcceptInvitation(ctx context.Context, hash []byte, name, passwordHash string, at time.Time, ev *AuditEvent) (*User, error)
}
