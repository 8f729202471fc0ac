package doorman

import "context"

// AuditNameStore reads what the audit log's pages need beyond the list of
// events: one event by id, and the objects a page of events names, so that
// each target reads as a person, a device or a key rather than an id. The
// lookups are batched, one query for a whole page of events, and scoped to
// one account: another account's objects never match. Ids and emails that
// match nothing are left out of the answer, never an error. The Store
// includes it.
type AuditNameStore interface {
	// FindAuditEventByID returns the event of the account with that id.
	// Returns ENOTFOUND unless one exists in that account.
	FindAuditEventByID(ctx context.Context, accountID, id string) (*AuditEvent, error)
	// FindSessionsByIDs returns the account's sessions among ids, revoked
	// or not, in no particular order, each once.
	FindSessionsByIDs(ctx context.Context, accountID string, ids []string) ([]*Session, error)
	// FindAPIKeysByIDs returns the account's API keys among ids, revoked
	// or not, in no particular order, each once.
	FindAPIKeysByIDs(ctx context.Context, accountID string, ids []string) ([]*APIKey, error)
	// FindUsersByEmails returns the account's users among emails (compared
	// as stored: callers pass NormalizeEmail'd emails), removed and invited
	// ones too, in no particular order, each once.
	FindUsersByEmails(ctx context.Context, accountID string, emails []string) ([]*User, error)
}
