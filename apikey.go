package doorman

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// PrefixAPIKeyID starts the public id of an API key.
const PrefixAPIKeyID = "key_"

// APIKeyPrefix starts every API key's secret: "dk_<8-character id>_<secret>".
// The visible part before the secret (the key's Prefix) lets a leaked key be
// found by grep and looked up; only the SHA-256 of the whole key is stored.
const APIKeyPrefix = "dk_"

const (
	apiKeyShortLen  = 8
	apiKeySecretLen = 43 // base64url of 256 random bits
	// apiKeyLen is the length of a whole key: "dk_" + id + "_" + secret.
	apiKeyLen = len(APIKeyPrefix) + apiKeyShortLen + 1 + apiKeySecretLen
)

// MaxAPIKeyName bounds an API key's name.
const MaxAPIKeyName = 100

// APIKey is a credential for scripts and services: it authenticates API
// requests of its account, as an administrator would, or for reading only.
// It is not a user: it has no sessions of its own.
type APIKey struct {
	ID        string // public id, "key_…"
	AccountID string
	Name      string
	// Prefix is the visible start of the key, "dk_" and its 8-character
	// short id; unique, and safe to show and log.
	Prefix   string
	Hash     []byte // SHA-256 of the whole key; the key itself is never stored
	ReadOnly bool   // only safe methods (GET, HEAD)

	CreatedAt      time.Time
	CreatedBy      string // actor id of the admin who created it
	CreatedByEmail string // their email, as it was then

	RevokedAt *time.Time
	RevokedBy string // actor id

	// LastUsedAt is nil until the key is first used. The store's value may
	// lag by up to a minute; the Service adds what its node has not written.
	LastUsedAt    *time.Time
	LastIP        string
	LastUserAgent string
	LastDevice    Device // named from LastUserAgent by the Service; not stored

	// Requests24h is how many requests the key made in the rolling window
	// (see UsageWindowStart), computed by the Service; not stored.
	Requests24h int64
}

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// NewAPIKey returns a fresh key "dk_<id>_<secret>" from crypto/rand, its
// visible prefix "dk_<id>" and its hash, which is all that is stored.
func NewAPIKey() (key, prefix string, hash []byte) {
	var id [apiKeyShortLen]byte
	var rnd [apiKeyShortLen]byte
	rand.Read(rnd[:])
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford base32, lower case
	for i, b := range rnd {
		id[i] = alphabet[b&31]
	}
	var secret [TokenBytes]byte
	rand.Read(secret[:])
	prefix = APIKeyPrefix + string(id[:])
	key = prefix + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	return key, prefix, HashAPIKey(key)
}

// HashAPIKey returns the SHA-256 of a whole API key.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// IsAPIKey reports whether a credential is meant as an API key (it starts
// with "dk_"), so that it is checked as one and never as a session token.
func IsAPIKey(s string) bool { return strings.HasPrefix(s, APIKeyPrefix) }

// APIKeyWellFormed reports whether s has the shape of an API key, so that
// garbage never reaches the store.
func APIKeyWellFormed(s string) bool {
	if len(s) != apiKeyLen || !IsAPIKey(s) || s[len(APIKeyPrefix)+apiKeyShortLen] != '_' {
		return false
	}
	for i := len(APIKeyPrefix); i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// APIKeyPrefixOf returns the visible prefix "dk_<id>" of a well-formed key,
// safe to log; "" for anything else.
func APIKeyPrefixOf(s string) string {
	if !APIKeyWellFormed(s) {
		return ""
	}
	return s[:len(APIKeyPrefix)+apiKeyShortLen]
}

// APIKeyFilter selects an account's API keys.
type APIKeyFilter struct {
	AccountID      string // required
	ID             string // "" = every key
	IncludeRevoked bool
}

// UsageHour is how many requests one key made in one hour.
type UsageHour struct {
	KeyID    string
	Hour     time.Time // start of the hour, UTC
	Requests int64
}

// APIKeyUsage is what one flush writes for one key: requests per hour, and
// its latest use (where from and with which client).
type APIKeyUsage struct {
	KeyID     string
	Hours     []UsageHour // added to the stored counts (KeyID may be left empty)
	At        time.Time   // latest use; LastUsedAt never moves backwards
	IP        string      // address of that use; "" keeps the stored one
	UserAgent string      // client of that use; "" keeps the stored one
}

// UsageWindowHours is the length of the requests window in hours.
const UsageWindowHours = 24

// UsageWindowStart returns the start of the hourly buckets that "Requests/24h"
// sums at now: the current, partial hour and the 23 full hours before it.
// Counts are exact to the hour: a request leaves the window when its whole
// hour is more than 23 hours before the current one.
func UsageWindowStart(now time.Time) time.Time {
	return now.UTC().Truncate(time.Hour).Add(-(UsageWindowHours - 1) * time.Hour)
}

// SessionID returns the id of the principal's session, "" for an API key.
func (p *Principal) SessionID() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.ID
}

// APIKeyStore keeps API keys and their hourly usage. FindAPIKeyByHash runs
// on every request made with a key and may be served from an exact cache
// (see Store). Each method that takes an ev writes it in the same
// transaction as its change.
type APIKeyStore interface {
	// CreateAPIKey stores k (its ID, Prefix and Hash set) and writes ev (if
	// not nil).
	// Returns ECONFLICT if the id, prefix or hash is taken, ENOTFOUND if the
	// account does not exist.
	CreateAPIKey(ctx context.Context, k *APIKey, ev *AuditEvent) error
	// FindAPIKeyByHash returns the key whose hash is hash, revoked or not,
	// as a Principal with APIKey and Account set (Session and User nil), in
	// one query. Returns ENOTFOUND if none.
	FindAPIKeyByHash(ctx context.Context, hash []byte) (*Principal, error)
	// FindAPIKeys returns the keys of f.AccountID that f selects, newest
	// first (then by id, descending). Another account's keys never match.
	FindAPIKeys(ctx context.Context, f APIKeyFilter) ([]*APIKey, error)
	// RevokeAPIKey sets the key's RevokedAt and RevokedBy from r and writes
	// ev (if not nil). Returns ENOTFOUND unless the account has a key with
	// that id not yet revoked.
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
	// account, for hours before before, oldest first, and returns how many
	// it deleted.
	PurgeAPIKeyUsage(ctx context.Context, before time.Time, limit int) (int, error)
}
