package doorman

import (
	"context"
	"time"
)

// Store persists Doorman's objects: it is the store of every concern at
// once, each a small interface in the file of its domain whose method
// comments are the contract (which codes each returns). A new concern is a
// new interface there and one line here. Two implementations exist
// (sqlite, postgres) and both pass storetest.Run, grouped by the same
// concerns. A store applies no session rule of its own: the Service
// computes every time and window and passes it in, so both stores and the
// tests agree to the microsecond.
//
// The rules below hold for every method of every concern.
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
	AccountStore         // account.go
	UserStore            // user.go
	InvitationStore      // invitation.go
	TeamStore            // team.go
	SessionStore         // session.go
	RiskStore            // risk.go
	APIKeyStore          // apikey.go
	AuditStore           // audit.go
	AuditNameStore       // auditnames.go: what the audit log's events name
	ThrottleStore        // limit.go
	AlertStore           // alert.go
	WebhookStore         // alert.go
	TwoFactorStore       // twofactor.go
	SignInChallengeStore // twofactor.go
	PasswordResetStore   // passwordreset.go
	SigningKeyStore      // signingkey.go
	FormTokenStore       // formtoken.go
	PasskeyStore         // passkey.go
	BindingStore         // binding.go

	// Ping returns nil when the store can answer queries.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
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

// ReuseWindow is how long after sending a check the Go middleware (package
// client) may answer requests of the same shape (the same credentials,
// client address, User-Agent, client hints and host) with Doorman's answer
// to it, without asking again: POST /auth/verify/batch gives each valid
// session's result a window of at most this (reuse_ms), shorter when the
// session ends sooner, and none for API keys and bound sessions.
//
// What keeps this exact is on the stores' side: every write that ends or
// alters a principal (the writes that settle on PostgreSQL) returns
// ReuseWindow after its commit (on PostgreSQL, after the node cache's lease
// too). A check answered from reuse after that return was sent less than
// ReuseWindow before it, so after the commit, and Doorman's answer to it
// already said the session had ended.
const ReuseWindow = 50 * time.Millisecond
