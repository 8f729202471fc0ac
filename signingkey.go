package doorman

import (
	"context"
	"time"
)

// SigningKey is a key that signs the assertions Doorman gives the apps
// behind it (X-Doorman-Assertion). Keys rotate: the key of a period signs
// during that period alone, and every node of a deployment signs with the
// same one because the store keeps one key per period.
type SigningKey struct {
	ID string // key id (kid): the RFC 7638 thumbprint of the public key
	// Period numbers the span of time the key signs for; the Service
	// derives it from the clock and the rotation length.
	Period int64
	// Private is the private key as the Service stores it: sealed by the
	// SecretBox when one is set, so that a copy of the database alone
	// cannot sign assertions.
	Private   string
	CreatedAt time.Time
}

// SigningKeyStore keeps the assertion signing keys, one per period, shared
// by every node.
type SigningKeyStore interface {
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
