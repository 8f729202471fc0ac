package doorman

import (
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
