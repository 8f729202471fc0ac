package doorman

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"
)

// OTP generates and checks time-based one-time passwords (RFC 6238). The
// totp package provides it; the root package only sees this port.
type OTP interface {
	// Generate returns a new random secret for account at issuer, the
	// otpauth:// URI that authenticator apps read, and a QR code of that
	// URI as a PNG.
	Generate(issuer, account string) (*OTPKey, error)
	// Key returns the otpauth:// URI and QR code of an existing secret.
	Key(issuer, account, secret string) (*OTPKey, error)
	// Validate reports whether code is valid for secret at t, and the time
	// step it matched, so that a code already used can be refused.
	Validate(secret, code string, t time.Time) (step int64, ok bool)
}

// OTPKey is a new TOTP secret as an authenticator app takes it.
type OTPKey struct {
	Secret string // base32, as typed by hand
	URI    string // otpauth://totp/…
	QRPNG  []byte // QR code of URI
}

// TwoFactor is a user's two-factor (TOTP) state.
type TwoFactor struct {
	UserID string
	// Secret is the confirmed TOTP secret, "" while 2FA is off. It must be
	// kept as it is to check codes; it is never shown again after setup.
	Secret string
	// PendingSecret is the secret of a setup not yet confirmed with a code.
	PendingSecret string
	EnabledAt     *time.Time // nil: 2FA is off
	// LastStep is the time step of the last code accepted: a code of that
	// step or an earlier one is refused (replay protection).
	LastStep int64
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int
}

// Enabled reports whether the user signs in with a second factor.
func (t *TwoFactor) Enabled() bool { return t != nil && t.EnabledAt != nil }

// RecoveryCodeCount is how many recovery codes a user gets.
const RecoveryCodeCount = 10

// recoveryAlphabet has no 0/o, 1/l/i: codes are read off paper.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewRecoveryCodes returns RecoveryCodeCount new codes ("xxxxx-xxxxx", 49
// bits each, from crypto/rand) and their hashes (HashRecoveryCode), which
// are all that is stored.
func NewRecoveryCodes() (codes []string, hashes [][]byte) {
	for range RecoveryCodeCount {
		var b [10]byte
		code := make([]byte, 0, 11)
		for i := range b {
			b[i] = recoveryAlphabet[randIndex(len(recoveryAlphabet))]
			if i == 5 {
				code = append(code, '-')
			}
			code = append(code, b[i])
		}
		codes = append(codes, string(code))
		hashes = append(hashes, HashRecoveryCode(string(code)))
	}
	return codes, hashes
}

// randIndex returns a uniform random number in [0, n) from crypto/rand.
func randIndex(n int) int {
	var b [1]byte
	limit := 256 - 256%n
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("doorman: crypto/rand failed: " + err.Error())
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// NormalizeRecoveryCode lower-cases a recovery code and drops spaces and
// dashes, so that however it was typed it hashes the same.
func NormalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// HashRecoveryCode returns the SHA-256 of the normalized code: what stores
// keep and look up.
func HashRecoveryCode(code string) []byte {
	h := sha256.Sum256([]byte(NormalizeRecoveryCode(code)))
	return h[:]
}

// LooksLikeRecoveryCode reports whether code has a recovery code's shape
// (10 letters and digits once normalized) rather than a TOTP code's.
func LooksLikeRecoveryCode(code string) bool {
	c := NormalizeRecoveryCode(code)
	if len(c) != 10 {
		return false
	}
	for _, r := range c {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return false
		}
	}
	return true
}

// SignInChallenge is a sign-in whose password was right, waiting for the
// second factor: kept server-side so that the password never travels
// again, found by the hash of a random token held in a cookie, short-lived,
// with few attempts, used once.
type SignInChallenge struct {
	ID         string
	TokenHash  []byte
	AccountID  string
	UserID     string
	RememberMe bool
	CreatedAt  time.Time
	ExpiresAt  time.Time
	Attempts   int // wrong codes so far
}

// Sign-in challenge limits.
const (
	ChallengeTTL         = 5 * time.Minute
	ChallengeMaxAttempts = 5
)

// PrefixChallenge starts a sign-in challenge's id.
const PrefixChallenge = "chl_"

// SealedPrefix starts a secret sealed by a SecretBox as it is stored.
const SealedPrefix = "sealed:v1:"

// SecretBox seals the secrets Doorman must be able to read back (TOTP
// secrets, to check codes; webhook secrets, to sign) before they are
// stored, and opens them after they are read, so that a copy of the
// database alone does not give them away. Seal returns SealedPrefix and
// the sealed value; Open takes only such values. The aesgcm package
// provides one.
type SecretBox interface {
	Seal(plain string) (string, error)
	Open(sealed string) (string, error)
}

// TwoFactorStore keeps each user's two-factor state: the TOTP secret
// (pending until confirmed), the last accepted time step and the recovery
// codes, as SHA-256 hashes. Each method that takes an ev writes it in the
// same transaction as its change.
type TwoFactorStore interface {
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
}

// SignInChallengeStore keeps the sign-in challenges: the second step of a
// sign-in with two-factor authentication, between the password and the
// code.
type SignInChallengeStore interface {
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
}
