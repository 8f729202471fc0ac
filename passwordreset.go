package doorman

import (
	"context"
	"crypto/sha256"
	"time"
)

// Forgot password: a person who cannot sign in asks for a link by email
// ("Forgot password?"); the link's single-use token sets a new password,
// which ends every session of the user. Only the token's SHA-256 is stored.
// The email leaves through the sign-in alerts' outbox (an Alert of kind
// EventPasswordResetRequested with one email Delivery carrying the link),
// so that sending never happens while the requester waits.

// PrefixPasswordReset is the prefix of a reset's id.
const PrefixPasswordReset = "pwr_"

// PasswordResetTTL is how long a reset link works: long enough to read the
// mail, short enough that an old mailbox is no way in (OWASP ASVS 2.5.6
// asks for a short-lived, single-use recovery token).
const PasswordResetTTL = 30 * time.Minute

// PasswordResetWindow is the period the reset request limits count over.
const PasswordResetWindow = time.Hour

// Limits of reset requests within PasswordResetWindow. A request over
// either limit is answered as any other, but sends nothing: the answer
// never says whether an email has a user, nor whether it was throttled.
const (
	// ResetRequestsPerEmail bounds the mails one address receives: a
	// stranger cannot flood someone's mailbox with reset links.
	ResetRequestsPerEmail = 3
	// ResetRequestsPerIP bounds how many addresses one client may probe or
	// mail, as the sign-in limit per address does for passwords.
	ResetRequestsPerIP = 20
)

// EventPasswordResetRequested is the kind of the alert whose email carries
// a reset link. It has no webhook delivery: the link is for the person.
const EventPasswordResetRequested = "user.password_reset_requested"

// Audit actions of password resets.
const (
	// ActionPasswordResetRequested: a reset link was made and queued for
	// the user's email. Throttled requests and unknown emails write nothing.
	ActionPasswordResetRequested = "password_reset_requested"
	// ActionPasswordReset: a reset link set a new password; every session
	// of the user ended. The actor is the user.
	ActionPasswordReset = "password_reset"
)

func init() {
	auditActions[ActionPasswordResetRequested] = true
	auditActions[ActionPasswordReset] = true
}

// ReasonPasswordReset is the revoke reason of the sessions a password reset
// ends.
const ReasonPasswordReset = "password reset"

// PasswordReset is one reset link: the hash of its single-use token, for
// whom, and until when it works.
type PasswordReset struct {
	ID        string
	AccountID string
	UserID    string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time // set when used, or when another link of the user was
}

// PasswordResetRequest is one "Forgot password?" request, known email or
// not, as the request limits count it.
type PasswordResetRequest struct {
	At time.Time
	// EmailHash is the SHA-256 of the normalized email (HashEmail): the
	// addresses strangers type are not kept.
	EmailHash []byte
	IP        string
}

// HashEmail returns the SHA-256 of a normalized email, as
// PasswordResetRequest keeps it.
func HashEmail(email string) []byte {
	h := sha256.Sum256([]byte(NormalizeEmail(email)))
	return h[:]
}

// PasswordResetStore keeps reset links and the requests that are counted
// against the limits.
type PasswordResetStore interface {
	// NotePasswordResetRequest records q, deletes the requests made before
	// since, and returns how many requests made at or after since, q
	// included, had q's EmailHash and how many had q's IP ("" IPs count
	// together), in one transaction.
	NotePasswordResetRequest(ctx context.Context, q PasswordResetRequest, since time.Time) (byEmail, byIP int, err error)
	// CreatePasswordReset stores r (its ID and TokenHash set), the alert a
	// with its deliveries ds (the email that carries the link; a is nil for
	// a link an operator hands over) and ev (if not nil), in one
	// transaction, and deletes every reset that expired before
	// r.CreatedAt. Returns ECONFLICT if an id or the token hash is taken,
	// ENOTFOUND unless r's user exists in r's account.
	CreatePasswordReset(ctx context.Context, r *PasswordReset, a *Alert, ds []*Delivery, ev *AuditEvent) error
	// FindPasswordResetByTokenHash returns the reset whose token hash is
	// hash, used or expired or not. Returns ENOTFOUND if none.
	FindPasswordResetByTokenHash(ctx context.Context, hash []byte) (*PasswordReset, error)
	// UsePasswordReset, in one transaction: marks the reset used at r.At;
	// replaces its user's password hash by hash; marks every other unused
	// reset of the user used; revokes every session of the user not yet
	// revoked, with r; sets ev.Count to how many and writes ev. It returns
	// that count. Of two concurrent uses of one reset exactly one succeeds.
	// Returns ENOTFOUND, and writes nothing, unless a reset with that id
	// exists in the account, unused and expiring after r.At.
	UsePasswordReset(ctx context.Context, accountID, id, hash string, r Revocation, ev *AuditEvent) (int, error)
}
