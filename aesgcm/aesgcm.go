// Package aesgcm seals Doorman's stored secrets (TOTP secrets, webhook
// signing secrets) with AES-256-GCM under an operator's key: a
// doorman.SecretBox.
//
// A sealed value is doorman.SealedPrefix followed by the base64url
// (unpadded) of a random 96-bit nonce and the ciphertext with its tag.
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/doorman/doorman"
)

// KeySize is the key's length in bytes: AES-256.
const KeySize = 32

// Box is a doorman.SecretBox.
type Box struct{ aead cipher.AEAD }

var _ doorman.SecretBox = (*Box)(nil)

// New returns a Box under key, which must be KeySize random bytes.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("aesgcm: the key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aesgcm: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("aesgcm: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ParseKey reads a key written as standard or URL-safe base64, padded or
// not: what `openssl rand -base64 32` prints.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("aesgcm: the key must be %d bytes (%d base64 characters), not %d", KeySize, 44, len(k))
			}
			return k, nil
		}
	}
	return nil, errors.New("aesgcm: the key is not base64")
}

// Seal returns plain sealed under a fresh random nonce.
func (b *Box) Seal(plain string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("aesgcm: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), nil)
	return doorman.SealedPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// ErrNotSealed is Open's error for a value that is not sealed, or not by
// this key.
var ErrNotSealed = errors.New("aesgcm: the stored secret is not sealed with this key")

// Open returns the plain value of sealed.
func (b *Box) Open(sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, doorman.SealedPrefix)
	if !ok {
		return "", ErrNotSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize()+b.aead.Overhead() {
		return "", ErrNotSealed
	}
	plain, err := b.aead.Open(nil, raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():], nil)
	if err != nil {
		return "", ErrNotSealed
	}
	return string(plain), nil
}
