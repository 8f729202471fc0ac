package doorman

import (
	"context"
	"time"
)

// One-time form tokens: every form of a signed-in page that changes
// something carries, beside its per-session form token, a token made for
// that page alone. The first submission of the form claims it in the Store,
// does the action and records its answer; a resubmission (a double click,
// Back and send again, a retry of a request whose answer was lost) finds the
// claim and is answered as the first was, doing nothing again. The claims
// are in the Store, not in a node, so that every node sharing it knows them,
// and a claim is taken atomically: of simultaneous submissions of one token,
// on any number of nodes, exactly one does the action.
//
// Only a hash of the token is stored (what the service derives from the
// token and the form's action), scoped to the session. What the first
// answer said is kept sealed under a key derived from the token itself,
// which the Store never sees: a copy of the database alone cannot read it.

// FormTokenTTL is how long a page's one-time token works, counted from the
// page's rendering: a page left open for a working day still sends its
// forms; an older one is asked to be reloaded. A claim is kept as long, so
// that no resubmission the token still allows can find it forgotten.
const FormTokenTTL = 24 * time.Hour

// FormReplayWindow is how long the page that a first submission showed
// (an API key's secret, recovery codes, an invitation link) is kept to show
// again to a resubmission of the same form in the same session: long enough
// for a double click or a retry, short enough that the secret is not kept.
const FormReplayWindow = 5 * time.Minute

// FormToken is the claim of one form's one-time token by a session.
type FormToken struct {
	SessionID string
	// Hash identifies the token and the form it was sent with (a SHA-256).
	Hash      []byte
	ClaimedAt time.Time
	// ExpiresAt is when the token stops working (its page's rendering plus
	// FormTokenTTL): the claim may be purged after it.
	ExpiresAt time.Time
	// DoneAt is set when the first submission recorded its answer; nil
	// while it is at work.
	DoneAt *time.Time
	// Outcome is the first answer in brief (where it led), sealed; kept
	// until ExpiresAt.
	Outcome []byte
	// Page is the first answer in full, sealed; kept until PageExpiresAt
	// only (nil when there was none, or after).
	Page          []byte
	PageExpiresAt *time.Time
}

// FormTokenStore records the claims of one-time form tokens. The Store
// includes it.
type FormTokenStore interface {
	// ClaimFormToken records t (SessionID, Hash, ClaimedAt and ExpiresAt
	// set; DoneAt, Outcome and Page are ignored) as claimed and not done,
	// unless the session has a claim of that hash already. Of concurrent
	// claims of one hash in one session, by any number of nodes, exactly
	// one succeeds. Returns ECONFLICT if the session has a claim of that
	// hash (done or not), ENOTFOUND if the session does not exist, EINVALID
	// for an empty hash.
	ClaimFormToken(ctx context.Context, t *FormToken) error
	// FinishFormToken records the answer of the session's claim of t.Hash,
	// not yet done: DoneAt, Outcome, Page and PageExpiresAt from t. Returns
	// ENOTFOUND unless the session has such a claim not yet done.
	FinishFormToken(ctx context.Context, t *FormToken) error
	// ReleaseFormToken deletes the session's claim of hash, not yet done,
	// so that the form may be sent again (the first submission changed
	// nothing). Returns ENOTFOUND unless the session has such a claim not
	// yet done.
	ReleaseFormToken(ctx context.Context, sessionID string, hash []byte) error
	// FindFormToken returns the session's claim of hash, done or not,
	// expired or not. Returns ENOTFOUND if none.
	FindFormToken(ctx context.Context, sessionID string, hash []byte) (*FormToken, error)
	// PurgeFormTokens deletes at most limit claims that expired before
	// before (ExpiresAt before it), oldest first, clears the Page of every
	// claim whose PageExpiresAt is before before, and returns how many
	// claims it deleted. A session's claims also go with the session.
	PurgeFormTokens(ctx context.Context, before time.Time, limit int) (int, error)
}
