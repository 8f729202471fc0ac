package doorman

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Device binding (Device Bound Session Credentials, W3C DBSC). At sign-in
// a browser that supports it makes a key pair that never leaves the device
// and registers its public key with the session. From then on the session
// cookie alone is worth nothing: every request also needs a short-lived
// bound cookie, which the browser obtains by signing a single-use
// challenge with the private key. A stolen session cookie stops working
// when the bound cookie copied with it expires.

// Binding is a session's device key: set once, at registration, never
// replaced.
type Binding struct {
	// Key is the device's public key as a JSON Web Key (RFC 7517), as the
	// browser sent it.
	Key string
	// Secret keys the MAC of the session's bound cookies (BoundCookie):
	// 32 random bytes, so that any node sharing the store can issue and
	// check them, while knowing it gives nothing without the session token,
	// which is stored only as its hash.
	Secret []byte
	// At is when the key was registered.
	At time.Time
}

// BindingSecretBytes is the size of Binding.Secret.
const BindingSecretBytes = 32

// Purposes of a binding challenge.
const (
	ChallengeRegister = "register" // the challenge of the registration offered at sign-in
	ChallengeRefresh  = "refresh"  // a challenge a refresh is to sign with the session's key
)

// BindingChallengeTTL is how long a challenge can be answered: a browser
// answers at once, so a few minutes cover a slow device key (a TPM takes
// up to a second) and nothing more.
const BindingChallengeTTL = 5 * time.Minute

// DefaultBoundCookieTTL is how long a bound cookie lasts by default: how
// long a copied cookie keeps working without the device key, and how often
// a bound browser proves it holds the key.
const DefaultBoundCookieTTL = 10 * time.Minute

// BindingChallenge is one challenge a proof must sign. Only the SHA-256 of
// the challenge is stored.
type BindingChallenge struct {
	Hash      []byte
	SessionID string
	Purpose   string // ChallengeRegister or ChallengeRefresh
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Audit actions of device binding.
const (
	// ActionSessionBound: a browser registered its device key for the
	// session at sign-in; from then on the session needs proofs of it.
	ActionSessionBound = "session_bound"
	// ActionDeviceProofFailed: a proof of the device key failed: signed by
	// another key, or not a proof at all. Reason says which; Details whether
	// the session was ended.
	ActionDeviceProofFailed = "device_proof_failed"
)

// ReasonDeviceProofRequired is the Reason of the EUNAUTHORIZED that refuses
// a request of a bound session without a valid bound cookie: the session
// itself is still valid, so the browser keeps its session cookie and gets a
// new bound cookie by a refresh.
const ReasonDeviceProofRequired = "device_proof_required"

// ReasonDeviceProofFailed is the high risk reason of a session whose device
// proof failed, and the revoke reason when that ends it.
const ReasonDeviceProofFailed = "device_proof_failed"

func init() {
	auditActions[ActionSessionBound] = true
	auditActions[ActionDeviceProofFailed] = true
}

// BindingStore keeps device bindings and their challenges. The Store
// includes it.
type BindingStore interface {
	// CreateBindingChallenge stores c and deletes every challenge that
	// expired before c.CreatedAt. Returns ECONFLICT if the hash is taken,
	// ENOTFOUND unless a session with c.SessionID exists, EINVALID for a
	// challenge without hash, session or purpose.
	CreateBindingChallenge(ctx context.Context, c *BindingChallenge) error
	// UseBindingChallenge deletes and returns the challenge whose hash is
	// hash, if it was made for sessionID and expires after at: a challenge
	// is used once, and of concurrent uses exactly one succeeds, on any node.
	// Returns ENOTFOUND otherwise (unknown, used, expired or another
	// session's), deleting nothing of another session's.
	UseBindingChallenge(ctx context.Context, sessionID string, hash []byte, at time.Time) (*BindingChallenge, error)
	// BindSession stores b as the device binding of the session and writes
	// ev (if not nil), in one transaction, and returns only once no node
	// sharing the store can still be served the session unbound. Returns
	// ENOTFOUND unless a session with that id, not revoked, exists;
	// ECONFLICT, changing nothing, if it is bound already (a binding is
	// never replaced); EINVALID for a binding without key or secret.
	BindSession(ctx context.Context, sessionID string, b *Binding, ev *AuditEvent) error
}

// boundCookieLabel separates the bound cookie's MAC from any other use of
// the secret.
const boundCookieLabel = "doorman bound cookie v1"

// BoundCookie returns the value of a bound cookie of the session that
// expires at exp: the expiry in Unix seconds, a dot, and the base64url
// HMAC-SHA256 of the session id and expiry under the binding's secret. Any
// node can check it (CheckBoundCookie) without a write.
func BoundCookie(s *Session, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + base64.RawURLEncoding.EncodeToString(boundMAC(s, e))
}

func boundMAC(s *Session, exp string) []byte {
	m := hmac.New(sha256.New, s.Binding.Secret)
	m.Write([]byte(boundCookieLabel))
	m.Write([]byte{0})
	m.Write([]byte(s.ID))
	m.Write([]byte{0})
	m.Write([]byte(exp))
	return m.Sum(nil)
}

// CheckBoundCookie reports whether v is a bound cookie of the bound
// session s, not expired at now. The MAC is compared in constant time.
func CheckBoundCookie(s *Session, v string, now time.Time) bool {
	if s.Binding == nil || len(v) > 64 {
		return false
	}
	e, mac, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || strconv.FormatInt(exp, 10) != e || now.Unix() >= exp {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil {
		return false
	}
	return hmac.Equal(got, boundMAC(s, e))
}
