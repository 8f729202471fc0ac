// Package jws signs and verifies the assertions Doorman gives the apps
// behind it: compact JSON Web Signatures (RFC 7515) with ES256 (ECDSA on
// P-256 with SHA-256, RFC 7518 section 3.4), and the JSON Web Key Set
// (RFC 7517) that publishes their public keys. It uses the standard library
// alone, so that an app written in Go can verify an assertion with it and
// nothing else.
package jws

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Claims are what an assertion says: who is signed in, in which session,
// for which host, and for how long the statement holds. Times are seconds
// since the Unix epoch (NumericDate).
type Claims struct {
	Issuer    string `json:"iss"`           // Doorman's base URL, without a trailing slash
	Subject   string `json:"sub"`           // the user's id
	Email     string `json:"email"`         // the user's email
	Role      string `json:"role"`          // "admin" or "member"
	Account   string `json:"account"`       // the account's id
	SessionID string `json:"sid"`           // the session's public id
	Audience  string `json:"aud,omitempty"` // the app's host, when the proxy said which
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// Errors of Verify. Each one refuses the assertion; they differ only to say
// why.
var (
	ErrMalformed  = errors.New("jws: malformed token")
	ErrUnknownKey = errors.New("jws: signed by an unknown key")
	ErrSignature  = errors.New("jws: bad signature")
	ErrExpired    = errors.New("jws: expired")
)

var b64 = base64.RawURLEncoding

// Key is a private ES256 signing key with its key id.
type Key struct {
	ID     string // the kid: the RFC 7638 thumbprint of the public key
	priv   *ecdsa.PrivateKey
	header string // base64url of the protected header, the same for every token
}

// NewKey returns a new random key.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("jws: new key: %w", err)
	}
	return newKey(priv)
}

// ParseKey returns the key of a private scalar as Bytes returns it.
func ParseKey(d []byte) (*Key, error) {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("jws: parse key: %w", err)
	}
	return newKey(priv)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	pub := PublicKey{Key: &priv.PublicKey}
	pub.ID = pub.Thumbprint()
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"ES256", pub.ID, "JWT"})
	if err != nil {
		return nil, err
	}
	return &Key{ID: pub.ID, priv: priv, header: b64.EncodeToString(h)}, nil
}

// Bytes returns the private scalar, 32 bytes, for ParseKey. It is the
// secret: store it sealed.
func (k *Key) Bytes() []byte {
	d, err := k.priv.Bytes()
	if err != nil { // only for keys on curves other than P-256
		panic(err)
	}
	return d
}

// Public returns the key's public half.
func (k *Key) Public() PublicKey { return PublicKey{ID: k.ID, Key: &k.priv.PublicKey} }

// Sign returns the compact serialization of c signed with k:
// header.payload.signature, the signature being R||S, 32 bytes each.
func (k *Key) Sign(c *Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("jws: encode claims: %w", err)
	}
	n := len(k.header) + 1 + b64.EncodedLen(len(payload))
	buf := make([]byte, 0, n+1+b64.EncodedLen(64))
	buf = append(buf, k.header...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	if buf, err = appendSignature(buf, k.priv); err != nil {
		return "", fmt.Errorf("jws: sign: %w", err)
	}
	return string(buf), nil
}

// appendSignature appends to the signing input buf (header "." payload)
// "." and its ES256 signature by priv (raw r||s, base64url).
func appendSignature(buf []byte, priv *ecdsa.PrivateKey) ([]byte, error) {
	sum := sha256.Sum256(buf)
	r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
	if err != nil {
		return nil, err
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	buf = append(buf, '.')
	return b64.AppendEncode(buf, sig[:]), nil
}

// PublicKey is a public ES256 key with its key id.
type PublicKey struct {
	ID  string
	Key *ecdsa.PublicKey
}

// coordinates returns the key's x and y, 32 bytes each.
func (p PublicKey) coordinates() (x, y []byte) {
	b, err := p.Key.Bytes() // 0x04 || x || y
	if err != nil || len(b) != 65 {
		panic("jws: not a P-256 public key")
	}
	return b[1:33], b[33:]
}

// Thumbprint returns the RFC 7638 thumbprint of the key: base64url of the
// SHA-256 of its required members in lexicographic order.
func (p PublicKey) Thumbprint() string {
	x, y := p.coordinates()
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`))
	return b64.EncodeToString(sum[:])
}

// JWK is one key of a JSON Web Key Set.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWK returns the key as a JSON Web Key.
func (p PublicKey) JWK() JWK {
	x, y := p.coordinates()
	return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(x), Y: b64.EncodeToString(y), Kid: p.ID, Use: "sig", Alg: "ES256"}
}

// MarshalJWKS returns {"keys": [...]} for keys.
func MarshalJWKS(keys []PublicKey) []byte {
	set := struct {
		Keys []JWK `json:"keys"`
	}{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.JWK())
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err) // strings only
	}
	return b
}

// ParseJWKS returns the ES256 keys of a JSON Web Key Set; keys of other
// types or algorithms are skipped.
func ParseJWKS(b []byte) ([]PublicKey, error) {
	var set struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("jws: parse key set: %w", err)
	}
	var out []PublicKey
	for _, k := range set.Keys {
		if k.Kty != "EC" || k.Crv != "P-256" || (k.Alg != "" && k.Alg != "ES256") || (k.Use != "" && k.Use != "sig") {
			continue
		}
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("jws: key %q: bad coordinates", k.Kid)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("jws: key %q: %w", k.Kid, err)
		}
		out = append(out, PublicKey{ID: k.Kid, Key: pub})
	}
	return out, nil
}

// Verify checks token's signature against the key of its kid among keys,
// and that it has not expired at now (no leeway: assertions are fresh for
// every request), and returns its claims. The caller checks the issuer
// and, when it knows its host, the audience.
func Verify(token string, keys []PublicKey, now time.Time) (*Claims, error) {
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return nil, ErrMalformed
	}
	hj, err := b64.DecodeString(h)
	if err != nil {
		return nil, ErrMalformed
	}
	var header struct {
		Alg  string   `json:"alg"`
		Kid  string   `json:"kid"`
		Crit []string `json:"crit"`
	}
	if err := json.Unmarshal(hj, &header); err != nil || header.Alg != "ES256" || header.Crit != nil {
		return nil, ErrMalformed
	}
	var pub *ecdsa.PublicKey
	for _, k := range keys {
		if k.ID == header.Kid && header.Kid != "" {
			pub = k.Key
		}
	}
	if pub == nil {
		return nil, ErrUnknownKey
	}
	pj, err := verifiedPayload(pub, token, h, p, s)
	if err != nil {
		return nil, err
	}
	var c Claims
	d := json.NewDecoder(bytes.NewReader(pj))
	if err := d.Decode(&c); err != nil {
		return nil, ErrMalformed
	}
	if now.Unix() >= c.ExpiresAt {
		return nil, ErrExpired
	}
	return &c, nil
}

// verifiedPayload checks the ES256 signature s (raw r||s, base64url) of the
// compact token made of the header h and payload p by pub, and returns the
// decoded payload: ErrSignature when the signature is not pub's,
// ErrMalformed when the payload is not base64url.
func verifiedPayload(pub *ecdsa.PublicKey, token, h, p, s string) ([]byte, error) {
	sig, err := b64.DecodeString(s)
	if err != nil || len(sig) != 64 {
		return nil, ErrSignature
	}
	sum := sha256.Sum256([]byte(token[:len(h)+1+len(p)]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, ErrSignature
	}
	pj, err := b64.DecodeString(p)
	if err != nil {
		return nil, ErrMalformed
	}
	return pj, nil
}
