package doorman

import (
	"context"
	"time"
)

// Passkeys (WebAuthn): a person registers a passkey on the Two-factor
// authentication page and then signs in with it alone (a discoverable
// credential: the browser offers the account, no email is typed), or uses
// it in place of a TOTP code at the sign-in's second step. Only the
// credential's public key is stored; the private key never leaves the
// authenticator. Every ceremony's challenge is kept in the store, not in a
// node's memory, so that a ceremony begun on one node finishes on another;
// each is used once and short-lived.

// Prefixes of passkey ids.
const (
	PrefixPasskey  = "pk_"
	PrefixCeremony = "wac_"
)

// MaxPasskeyName bounds a passkey's name, in bytes.
const MaxPasskeyName = 100

// MaxPasskeysPerUser bounds how many passkeys one person may register.
const MaxPasskeysPerUser = 20

// CeremonyTTL is how long a WebAuthn ceremony may take, from the options
// sent to the browser to the signed answer: a person finds a security key
// or their phone in that time, and an old challenge is worth nothing.
const CeremonyTTL = 5 * time.Minute

// Audit actions of passkeys.
const (
	// ActionPasskeyAdded: the user registered a passkey (Target its name).
	ActionPasskeyAdded = "passkey_added"
	// ActionPasskeyRemoved: the user removed a passkey.
	ActionPasskeyRemoved = "passkey_removed"
	// ActionPasskeyUsed: a passkey signed a sign-in (alone or as its second
	// factor). The sign_in event of the session follows it.
	ActionPasskeyUsed = "passkey_used"
)

func init() {
	auditActions[ActionPasskeyAdded] = true
	auditActions[ActionPasskeyRemoved] = true
	auditActions[ActionPasskeyUsed] = true
}

// Passkey is a WebAuthn credential registered by a user.
type Passkey struct {
	ID        string
	AccountID string
	UserID    string
	Name      string // given by the person, "iPhone", "YubiKey 5"
	// CredentialID is the authenticator's id of the credential, unique
	// across users: a sign-in finds the passkey by it.
	CredentialID []byte
	// PublicKey is the credential's public key (COSE_Key).
	PublicKey []byte
	// SignCount is the authenticator's signature counter as last seen: a
	// counter that does not move forward betrays a cloned authenticator
	// (authenticators that keep none always send 0).
	SignCount uint32
	// Credential is the WebAuthn adapter's record of the rest of the
	// credential (flags, transports, attestation, AAGUID), opaque here.
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time // nil until first used to sign in
}

// PasskeyUse is what a verified assertion changes on its passkey.
type PasskeyUse struct {
	SignCount  uint32
	Credential []byte
	At         time.Time
}

// Kinds of WebAuthn ceremony.
const (
	CeremonyRegister     = "register"      // a signed-in person adds a passkey
	CeremonySignIn       = "sign_in"       // anyone signs in with a discoverable passkey
	CeremonySecondFactor = "second_factor" // a sign-in's second step, for its user's passkeys
)

// PasskeyCeremony is one WebAuthn ceremony in progress: the state the
// WebAuthn adapter needs to check the browser's answer (its challenge
// among it), found by the hash of a random token given to the page, used
// once, until ExpiresAt.
type PasskeyCeremony struct {
	ID        string
	TokenHash []byte
	Kind      string
	// AccountID and UserID are whom the ceremony is for: the signed-in
	// person (register), the pending sign-in's user (second_factor); empty
	// for a discoverable sign-in, where the passkey names the user.
	AccountID string
	UserID    string
	// SessionID is the session that began a registration; ChallengeID the
	// pending sign-in (SignInChallenge) of a second factor. Empty otherwise.
	SessionID   string
	ChallengeID string
	State       []byte // the adapter's session data, challenge included
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// WebAuthn does the WebAuthn ceremonies' checks for the Service: the
// passkey package provides it (with github.com/go-webauthn/webauthn), for
// the relying party of the server's base URL. Options are the JSON the
// page gives navigator.credentials; responses the JSON of the credential
// the browser returns; state is kept in a PasskeyCeremony between both.
type WebAuthn interface {
	// BeginRegistration returns the creation options for a discoverable
	// credential of user, excluding the credentials they have, and the
	// ceremony's state.
	BeginRegistration(user PasskeyUser, have []*Passkey) (options, state []byte, err error)
	// FinishRegistration checks response against state and returns the
	// new passkey with CredentialID, PublicKey, SignCount and Credential
	// set. Returns EINVALID for a response that does not verify.
	FinishRegistration(user PasskeyUser, have []*Passkey, state, response []byte) (*Passkey, error)
	// BeginLogin returns the request options and state of an assertion:
	// of one of allow, or of any discoverable credential when allow is
	// empty. User verification is required.
	BeginLogin(allow []*Passkey) (options, state []byte, err error)
	// AssertionCredential reads from response which credential signed it
	// and the user handle it names (empty when the authenticator sent
	// none), without checking anything. Returns EINVALID for a response
	// that cannot be read.
	AssertionCredential(response []byte) (credentialID, userHandle []byte, err error)
	// FinishLogin checks response against state: signed by pk, one of
	// user's passkeys (have), by the user verified. It returns the new
	// counter and record of pk. Returns EINVALID for a response that does
	// not verify, or whose counter went backwards.
	FinishLogin(user PasskeyUser, have []*Passkey, pk *Passkey, state, response []byte) (*PasskeyUse, error)
}

// PasskeyUser is the person a credential is made for, as the
// authenticator shows it.
type PasskeyUser struct {
	// Handle is the WebAuthn user handle: the user's id, which names no
	// one outside Doorman.
	Handle      []byte
	Name        string // email
	DisplayName string
}

// PasskeyStore keeps passkeys and the ceremonies in progress. The Store
// includes it.
type PasskeyStore interface {
	// CreatePasskey stores pk (its ID set) and writes ev (if not nil) in
	// one transaction, unless the user has MaxPasskeysPerUser already.
	// Returns ECONFLICT if the id or credential id is taken or the user has
	// that many, ENOTFOUND unless pk's user exists in pk's account.
	CreatePasskey(ctx context.Context, pk *Passkey, ev *AuditEvent) error
	// FindPasskeys returns the user's passkeys, oldest first (then by id).
	// Another account's passkeys never match; an unknown user has none.
	FindPasskeys(ctx context.Context, accountID, userID string) ([]*Passkey, error)
	// FindPasskeyByCredentialID returns the passkey of that credential id,
	// whichever its account. Returns ENOTFOUND if none.
	FindPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a verified use of the passkey: its SignCount and
	// Credential become u's, LastUsedAt moves forward to u.At (never
	// back); ev (if not nil) is written, in one transaction. Returns
	// ENOTFOUND unless the account has a passkey with that id.
	UsePasskey(ctx context.Context, accountID, id string, u PasskeyUse, ev *AuditEvent) error
	// DeletePasskey deletes the user's passkey and writes ev (if not nil)
	// in one transaction. Returns ENOTFOUND unless the user of the account
	// has a passkey with that id.
	DeletePasskey(ctx context.Context, accountID, userID, id string, ev *AuditEvent) error

	// CreatePasskeyCeremony stores c (its ID and TokenHash set) and deletes
	// every ceremony that expired before c.CreatedAt. Returns ECONFLICT if
	// the id or token hash is taken, ENOTFOUND when c names a user who does
	// not exist in c's account.
	CreatePasskeyCeremony(ctx context.Context, c *PasskeyCeremony) error
	// TakePasskeyCeremony deletes the ceremony whose token hash is hash
	// and returns it, if it expires after now: a ceremony is used once, and
	// of two concurrent takes one gets it. Returns ENOTFOUND if none (an
	// expired one is deleted too).
	TakePasskeyCeremony(ctx context.Context, hash []byte, now time.Time) (*PasskeyCeremony, error)
}
