package doorman

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
)

// Prefixes of public ids.
const (
	PrefixAccount = "acc_"
	PrefixUser    = "usr_"
	PrefixSession = "sess_"
	PrefixEvent   = "evt_"
	PrefixDevice  = "dev_"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns prefix followed by a 26-character ULID: 48 bits of
// millisecond time then 80 random bits, so ids sort by creation.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:]) // crypto/rand.Read never fails
	// 128 bits → 26 base32 digits, most significant first.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	out := make([]byte, len(prefix)+26)
	copy(out, prefix)
	for i := 25; i >= 0; i-- {
		out[len(prefix)+i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// TokenBytes is the size of a session token: 256 random bits.
const TokenBytes = 32

// NewToken returns a fresh session token from crypto/rand, base64url-encoded
// (43 characters), and its hash, which is all that is stored.
func NewToken() (token string, hash []byte) {
	var b [TokenBytes]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a token. It runs on every validation: a
// token of the usual length is copied to the stack to be hashed, so that
// only the digest is allocated.
func HashToken(token string) []byte {
	var buf [96]byte
	h := sha256.Sum256(append(buf[:0], token...))
	return h[:]
}

// HashDeviceKey returns the SHA-256 of a device cookie's value, which is
// all that is stored of it.
func HashDeviceKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// TokenWellFormed reports whether s could be a session token, so that
// garbage never reaches the store.
func TokenWellFormed(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(TokenBytes) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HashesEqual compares two token hashes in constant time.
func HashesEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// IDWellFormed reports whether id could be an id NewID made with prefix:
// the prefix, then 26 Crockford base-32 digits. An id that is not well
// formed names nothing, so callers answer ENOTFOUND without a query.
func IDWellFormed(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(crockford, rest[i]) < 0 {
			return false
		}
	}
	// 26 digits hold 130 bits; a ULID's first digit carries only 3 of them.
	return rest[0] <= '7'
}
