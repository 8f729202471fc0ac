package doorman

import (
	"context"
	"time"
)

// Store persists Doorman's objects. Two implementations exist (sqlite,
// postgres) and both pass storetest.Run, the one contract. A store applies no
// session rule of its own: the Service computes every time and window and
// passes it in, so both stores and the tests agree to the microsecond.
//
// Every method that writes an *AuditEvent does so in the same transaction as
// the change it records: both land or neither does. Errors other than
// *Error mean the store could not answer.
//
// FindSessionByTokenHash and FindAPIKeyByHash may be served from a cache of
// the node's, which must be exact: a write that ends or changes a session,
// user, account or API key (RevokeSessions, UpdateAccountSettings,
// UpdateUserPassword, RevokeAPIKey, UseAlert and any such write) returns
// only once no node sharing the store, nor any other process on it, can
// still be served the principal as it was before. (A revocation by
// ActorExpiry only records an end the rules had decided already, which
// every node applies by itself; it need not wait.)
//
// Text a method is given to store or to look up must be ValidText: a NUL
// byte or invalid UTF-8 is EINVALID (MsgInvalidText), never an outage, and
// the method writes nothing. PostgreSQL refuses such bytes itself; SQLite
// would keep them, so its store checks first. The Service refuses them
// earlier still, naming the field.
type Store interface {
	AuditNameStore // what the audit log's events name (auditnames.go)
	// Ping returns nil when the store can answer queries.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error

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

	// CreateUser stores u and writes ev (if not nil). Returns ECONFLICT if the
	// ID is taken or the email exists in the account, ENOTFOUND if the account
	// does not exist.
	CreateUser(ctx context.Context, u *User, ev *AuditEvent) error
	// FindUserByID returns ENOTFOUND unless a user with that id exists in the account.
	FindUserByID(ctx context.Context, accountID, id string) (*User, error)
	// UpdateUserPassword replaces the user's password hash and writes ev in
	// one transaction. Returns ENOTFOUND unless a user with that id exists
	// in the account.
	UpdateUserPassword(ctx context.Context, accountID, userID, hash string, ev *AuditEvent) error
	// FindUsers returns the matching users ordered by email, and how many
	// match without Limit and Offset.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int, error)

	// The life of a user in a team (invitation.go). Each of these writes
	// ev (if not nil) in the same transaction as its change.

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
	// UpdateUser applies upd to the user and returns the user as now
	// stored (nil after an invited user's removal, which deletes it).
	// Returns ENOTFOUND unless a user with that id, not removed, exists in
	// the account; ECONFLICT when the change would leave the account with
	// no active admin (UserUpdate.TakesAdmin of its last one), decided
	// atomically: of two admins demoting each other at once, one fails.
	// It ends no session: the Service revokes them with RevokeSessions.
	UpdateUser(ctx context.Context, accountID, userID string, upd UserUpdate, ev *AuditEvent) (*User, error)

	// CreateSession stores s, the first row of its address history (when
	// s.IP is set: s.IP and s.Location, first and last seen at CreatedAt) and
	// ev. When s.DeviceKeyHash is set it also records the sign-in on the
	// user's device of that key hash, created if the user has none (first
	// seen at CreatedAt, 1 login) or else counting one more login (last seen
	// moved forward to CreatedAt); it then sets s.NewDevice (true only when
	// the device was created now) and s.Activity.Logins (the device's logins
	// after this one). All in one transaction. Returns ECONFLICT if the id or
	// the token hash is taken, ENOTFOUND if the user does not exist.
	CreateSession(ctx context.Context, s *Session, ev *AuditEvent) error
	// FindSessionByTokenHash returns the session whose token hash is hash,
	// revoked or not, with its user and account, in one query: it runs on
	// every request. Returns ENOTFOUND if none.
	FindSessionByTokenHash(ctx context.Context, hash []byte) (*Principal, error)
	// FindSessionByID returns ENOTFOUND unless a session with that id exists
	// in the account (any account when accountID is "").
	FindSessionByID(ctx context.Context, accountID, id string) (*Session, error)
	// FindSessions returns the matching sessions, most recently active first,
	// and how many match without Limit and Offset.
	FindSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error)
	// TouchSession records activity, and changes of address, location,
	// User-Agent and device, as Touch describes. LastActiveAt never moves
	// backwards, nor does an address's last seen time. Returns ENOTFOUND if
	// no session has that id.
	TouchSession(ctx context.Context, id string, t Touch) error
	// ReauthenticateSession moves the session's AuthenticatedAt forward to
	// at (never back) and writes ev (if not nil), in one transaction.
	// Returns ENOTFOUND unless a session with that id, not revoked, exists
	// in the account.
	ReauthenticateSession(ctx context.Context, accountID, id string, at time.Time, ev *AuditEvent) error
	// FindSessionIPs returns the addresses the session used, most recently
	// seen first (then by address). Returns ENOTFOUND unless a session with
	// that id exists in the account (any account when accountID is "").
	FindSessionIPs(ctx context.Context, accountID, sessionID string) ([]*SessionIP, error)
	// FindUserHistory returns the risk checks' history of the user in the
	// account (RiskHistory): how many of the user's sessions were created
	// before before, their browser and OS families, the key hashes of the
	// user's devices first seen before it, and the addresses (with places)
	// those sessions used first seen before it. Another account's rows never
	// count; an unknown user has an empty history.
	FindUserHistory(ctx context.Context, accountID, userID string, before time.Time) (*RiskHistory, error)
	// FindFlaggedUsers returns which of userIDs, users of the account, have
	// a session active in w with a stored risk level of medium or high, or
	// created before oldBefore (old_session, judged at read time). Another
	// account's sessions never count; the result is ordered by user id.
	FindFlaggedUsers(ctx context.Context, accountID string, userIDs []string, w *ActiveWindow, oldBefore time.Time) ([]string, error)
	// RevokeSessions revokes every matching session that is not yet revoked,
	// sets ev.Count to how many (only those valid in f.CountActive when it
	// is set), writes ev (if not nil, also when the count is 0), and returns
	// the count. When f.SessionID is set and nothing was revoked it returns
	// ENOTFOUND and writes nothing. Returns EINVALID if f selects neither a
	// session, a user nor All, or All without AccountID.
	RevokeSessions(ctx context.Context, f RevokeFilter, r Revocation, ev *AuditEvent) (int, error)
	// PurgeSessions deletes at most limit sessions revoked before cutoff or
	// whose ExpiresAt is before cutoff, with their address history, and
	// returns how many it deleted. Devices stay: they count the user's
	// sign-ins across sessions.
	PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error)

	// FindTeamMembers serves the team view in one query. It returns the
	// users of the account that f selects (every user when f.Email is "",
	// else the one with that email), each with how many of their sessions
	// are active in w and the latest LastActiveAt among those (nil when
	// none), ordered by that latest activity, newest first, users without an
	// active session last, then by email and id; how many users f selects
	// without Limit and Offset (Limit 0: no limit); and how many sessions of
	// the whole account are active in w, whatever f selects. Another
	// account's users and sessions never count; an unknown account has none.
	FindTeamMembers(ctx context.Context, accountID string, w *ActiveWindow, f TeamFilter) (members []TeamMember, users int, active int, err error)

	// CreateAPIKey stores k (its ID, Prefix and Hash set) and writes ev (if
	// not nil) in one transaction. Returns ECONFLICT if the id, prefix or
	// hash is taken, ENOTFOUND if the account does not exist.
	CreateAPIKey(ctx context.Context, k *APIKey, ev *AuditEvent) error
	// FindAPIKeyByHash returns the key whose hash is hash, revoked or not,
	// as a Principal with APIKey and Account set (Session and User nil), in
	// one query: it runs on every request made with a key. Returns ENOTFOUND
	// if none.
	FindAPIKeyByHash(ctx context.Context, hash []byte) (*Principal, error)
	// FindAPIKeys returns the keys of f.AccountID that f selects, newest
	// first (then by id, descending). Another account's keys never match.
	FindAPIKeys(ctx context.Context, f APIKeyFilter) ([]*APIKey, error)
	// RevokeAPIKey sets the key's RevokedAt and RevokedBy from r and writes
	// ev (if not nil) in one transaction. Returns ENOTFOUND unless the
	// account has a key with that id not yet revoked.
	RevokeAPIKey(ctx context.Context, accountID, id string, r Revocation, ev *AuditEvent) error
	// RecordAPIKeyUsage writes, in one transaction, each usage: its hourly
	// counts are added to the stored ones (hours truncated to the hour),
	// LastUsedAt moves forward to At (never backwards) and, when At is not
	// before the stored LastUsedAt, LastIP and LastUserAgent take the
	// usage's non-empty values; then it writes events. A usage of an
	// unknown key is dropped.
	RecordAPIKeyUsage(ctx context.Context, usage []APIKeyUsage, events []*AuditEvent) error
	// FindAPIKeyUsage returns the hourly counts, for hours at or after
	// since, of the account's keys (only keyID's when it is not ""), by key
	// id then hour. Another account's keys never count.
	FindAPIKeyUsage(ctx context.Context, accountID, keyID string, since time.Time) ([]UsageHour, error)
	// PurgeAPIKeyUsage deletes at most limit hourly counts, of every
	// account, for hours before before, and returns how many it deleted.
	PurgeAPIKeyUsage(ctx context.Context, before time.Time, limit int) (int, error)

	// CreateAuditEvent appends ev.
	CreateAuditEvent(ctx context.Context, ev *AuditEvent) error
	// FindAuditEvents returns matching events newest first (of two at the
	// same instant, the later written first), and how many match without
	// Limit and Offset. An empty AccountID matches every account's events.
	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, int, error)
	// PurgeAuditEvents deletes at most limit events older than before (At
	// before it), oldest first, and returns how many it deleted. It is the
	// only way an event goes: the database refuses every change of an event
	// and every deletion of one at or after its retention cutoff, which this
	// method raises to before (never lowers) in the same transaction.
	PurgeAuditEvents(ctx context.Context, before time.Time, limit int) (int, error)

	// Attempt limits (limit.go): the sign-in limits, kept in the store so
	// that every node sharing it, and a restarted one, counts the same
	// attempts.

	// TakeLimits takes one attempt at now from every bucket of ls, or from
	// none when any of them must wait (Limit.Wait), in one transaction: of
	// callers racing on any number of nodes, never more pass than the
	// buckets hold. It returns 0 when the attempt was taken, else the
	// longest wait. A bucket never used, or purged, is full. Returns
	// EINVALID unless ls passes ValidateLimits.
	TakeLimits(ctx context.Context, ls []Limit, now time.Time) (time.Duration, error)
	// FindLimitWait returns how long an attempt at now must wait under ls:
	// the longest wait of its buckets, 0 when it may go now. It takes
	// nothing. Returns EINVALID unless ls passes ValidateLimits.
	FindLimitWait(ctx context.Context, ls []Limit, now time.Time) (time.Duration, error)
	// PurgeLimits deletes at most limit buckets full again at or before
	// before (a deleted bucket reads as full, as it was), oldest first, and
	// returns how many it deleted.
	PurgeLimits(ctx context.Context, before time.Time, limit int) (int, error)

	// Sign-in alerts (alert.go).

	// CreateAlert stores a, its deliveries ds (their AlertID and AccountID
	// set) and ev (if not nil) in one transaction. Returns ECONFLICT if an
	// id or the token hash is taken, ENOTFOUND if the account does not
	// exist.
	CreateAlert(ctx context.Context, a *Alert, ds []*Delivery, ev *AuditEvent) error
	// FindAlertByTokenHash returns the alert whose token hash is hash, used
	// or expired or not. Returns ENOTFOUND if none.
	FindAlertByTokenHash(ctx context.Context, hash []byte) (*Alert, error)
	// UseAlert marks the alert used at r.At, revokes its session with r
	// (when not yet revoked; ev.Count is 1 if it was, else 0) and writes ev,
	// in one transaction. Returns ENOTFOUND unless an alert with that id
	// exists in the account, unused and expiring after r.At.
	UseAlert(ctx context.Context, accountID, id string, r Revocation, ev *AuditEvent) error
	// ClaimDeliveries leases to the caller until leaseUntil at most limit
	// pending deliveries due at now (NextAttemptAt not after now) whose
	// lease, if any, ended, oldest due first, and returns them with their
	// alert's Kind and Payload and, for webhooks, the account's Secret when
	// its webhook is enabled; a webhook delivery's Target becomes the
	// enabled webhook's URL of now. Two callers never claim one delivery at
	// once.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// RecordDeliveryAttempt counts one attempt of a pending delivery and
	// records its outcome: delivered (DeliveredAt set), to try again at
	// a.Next, or failed when a.Next is nil; the lease ends and, once the
	// delivery ends, its LinkToken is cleared. It writes ev (if not nil) in
	// the same transaction. Returns ENOTFOUND unless a pending delivery has
	// that id and, when a.Lease is set, is still claimed until a.Lease (a
	// node whose lease ran out and was taken over records nothing).
	RecordDeliveryAttempt(ctx context.Context, id string, a DeliveryAttempt, ev *AuditEvent) error
	// FindDeliveries returns the deliveries of f.AccountID that f selects,
	// newest first (then by id, descending), with their alert's Kind; never
	// their LinkToken. Another account's deliveries never match.
	FindDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// FindWebhook returns the account's webhook. Returns ENOTFOUND if it has
	// none.
	FindWebhook(ctx context.Context, accountID string) (*Webhook, error)
	// PutWebhook creates or replaces the account's webhook (keeping its
	// CreatedAt when it exists) and writes ev (if not nil) in one
	// transaction. Returns ENOTFOUND if the account does not exist.
	PutWebhook(ctx context.Context, w *Webhook, ev *AuditEvent) error
	// DeleteWebhook deletes the account's webhook and writes ev (if not nil)
	// in one transaction; its deliveries stay. Returns ENOTFOUND if the
	// account has none.
	DeleteWebhook(ctx context.Context, accountID string, ev *AuditEvent) error
	// PurgeAlerts deletes at most limit alerts created before before that
	// have no pending delivery, with their deliveries, oldest first, and
	// returns how many alerts it deleted. Their audit events stay.
	PurgeAlerts(ctx context.Context, before time.Time, limit int) (int, error)

	// Two-factor authentication

	// FindTwoFactor returns the two-factor state of the user, with how many
	// unused recovery codes are left. Returns ENOTFOUND unless a user with
	// that id exists in the account.
	FindTwoFactor(ctx context.Context, accountID, userID string) (*TwoFactor, error)
	// FindTwoFactorUsers returns which of userIDs, users of the account,
	// have two-factor authentication on, ordered by user id. Another
	// account's users never match.
	FindTwoFactorUsers(ctx context.Context, accountID string, userIDs []string) ([]string, error)
	// SetPendingTwoFactor stores secret as the user's pending (unconfirmed)
	// secret, replacing any earlier one. Returns ENOTFOUND unless a user
	// with that id exists in the account, ECONFLICT if the user has
	// two-factor authentication on already.
	SetPendingTwoFactor(ctx context.Context, accountID, userID, secret string) error
	// EnableTwoFactor turns two-factor authentication on, in one
	// transaction: the pending secret, which must be secret, becomes the
	// user's secret, enabled at at, with step as the last accepted step; the
	// user's recovery codes are replaced by the codes of these SHA-256
	// hashes; ev is written. Returns ENOTFOUND unless a user with that id
	// exists in the account, ECONFLICT unless its pending secret is secret
	// and two-factor authentication is off.
	EnableTwoFactor(ctx context.Context, accountID, userID, secret string, step int64, at time.Time, hashes [][]byte, ev *AuditEvent) error
	// DisableTwoFactor clears the user's secret, pending secret and last
	// step, deletes their recovery codes and writes ev, in one transaction.
	// Returns ENOTFOUND unless a user with that id and two-factor
	// authentication on exists in the account.
	DisableTwoFactor(ctx context.Context, accountID, userID string, ev *AuditEvent) error
	// ReplaceRecoveryCodes replaces every recovery code of the user (used
	// or not) by the codes of these SHA-256 hashes, created at at, and
	// writes ev, in one transaction. Returns ENOTFOUND unless a user with
	// that id and two-factor authentication on exists in the account.
	ReplaceRecoveryCodes(ctx context.Context, accountID, userID string, hashes [][]byte, at time.Time, ev *AuditEvent) error
	// AcceptTOTPStep records step as the user's last accepted time step,
	// atomically and only if it is after the stored one. Returns ECONFLICT
	// if the step is not after it (the code was used already), ENOTFOUND
	// unless a user with that id and two-factor authentication on exists in
	// the account.
	AcceptTOTPStep(ctx context.Context, accountID, userID string, step int64) error
	// UseRecoveryCode marks the user's unused recovery code of that SHA-256
	// hash used at at and writes ev, in one transaction; of two concurrent
	// uses one wins. Returns ENOTFOUND unless a user with that id and
	// two-factor authentication on exists in the account with an unused
	// code of that hash.
	UseRecoveryCode(ctx context.Context, accountID, userID string, hash []byte, at time.Time, ev *AuditEvent) error
	// CreateSignInChallenge stores c (its ID and TokenHash set) and deletes
	// every challenge that expired before c.CreatedAt. Returns ECONFLICT if
	// the id or token hash is taken, ENOTFOUND unless c's user exists in
	// c's account.
	CreateSignInChallenge(ctx context.Context, c *SignInChallenge) error
	// FindSignInChallenge returns the challenge whose token hash is hash,
	// expired or not. Returns ENOTFOUND if none.
	FindSignInChallenge(ctx context.Context, hash []byte) (*SignInChallenge, error)
	// FailSignInChallenge adds one wrong attempt to the challenge and
	// returns its attempts now. Returns ENOTFOUND if no challenge has that id.
	FailSignInChallenge(ctx context.Context, id string) (int, error)
	// DeleteSignInChallenge deletes the challenge: it is used once. Returns
	// ENOTFOUND if no challenge has that id (another request used it).
	DeleteSignInChallenge(ctx context.Context, id string) error

	// Password reset links (passwordreset.go).
	PasswordResets

	// Assertion signing keys

	// CreateSigningKey stores k unless a key of k.Period is stored already,
	// and returns the key of that period: k, or the one stored before it.
	// Of concurrent calls for one period (nodes starting together) exactly
	// one stores its key and all return that one. Returns EINVALID for a
	// key without ID or Private.
	CreateSigningKey(ctx context.Context, k *SigningKey) (*SigningKey, error)
	// FindSigningKeys returns the keys of period minPeriod and later,
	// latest period first.
	FindSigningKeys(ctx context.Context, minPeriod int64) ([]*SigningKey, error)
}

// uncachedKey marks a context whose reads must come from the database.
type uncachedKey struct{}

// WithoutCache returns a context under which a store reads
// FindSessionByTokenHash and FindAPIKeyByHash from the database itself, not
// from a node-local cache. The Service uses it before refusing a cached
// principal on a rule that another node's activity may have changed (the
// idle timeout counts from a LastActiveAt that node may have moved).
func WithoutCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncachedKey{}, true)
}

// Uncached reports whether ctx came from WithoutCache.
func Uncached(ctx context.Context) bool {
	v, _ := ctx.Value(uncachedKey{}).(bool)
	return v
}
