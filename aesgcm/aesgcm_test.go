package aesgcm_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/aesgcm"
)

func newBox(t *testing.T) (*aesgcm.Box, []byte) {
	t.Helper()
	key := make([]byte, aesgcm.KeySize)
	rand.Read(key)
	b, err := aesgcm.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b, key
}

func TestSealOpen(t *testing.T) {
	b, _ := newBox(t)
	for _, plain := range []string{"JBSWY3DPEHPK3PXP", "whsec_" + strings.Repeat("x", 43), ""} {
		s1, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		s2, _ := b.Seal(plain)
		if !strings.HasPrefix(s1, doorman.SealedPrefix) || (plain != "" && strings.Contains(s1, plain)) || s1 == s2 {
			t.Errorf("Seal(%q) = %q, %q: want prefixed, hiding the value, a fresh nonce each time", plain, s1, s2)
		}
		if got, err := b.Open(s1); err != nil || got != plain {
			t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	b, _ := newBox(t)
	other, _ := newBox(t)
	sealed, _ := b.Seal("JBSWY3DPEHPK3PXP")
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, doorman.SealedPrefix))
	raw[len(raw)-1] ^= 1
	tampered := doorman.SealedPrefix + base64.RawURLEncoding.EncodeToString(raw)
	for name, v := range map[string]string{
		"plain value":   "JBSWY3DPEHPK3PXP",
		"another key's": func() string { s, _ := other.Seal("JBSWY3DPEHPK3PXP"); return s }(),
		"tampered":      tampered,
		"not base64":    doorman.SealedPrefix + "!!!",
		"too short":     doorman.SealedPrefix + "AAAA",
		"prefix only":   doorman.SealedPrefix,
	} {
		if got, err := b.Open(v); !errors.Is(err, aesgcm.ErrNotSealed) || got != "" {
			t.Errorf("Open(%s) = %q, %v; want ErrNotSealed", name, got, err)
		}
	}
}

func TestKeys(t *testing.T) {
	_, key := newBox(t)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := aesgcm.ParseKey(" " + enc.EncodeToString(key) + "\n")
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey: %v", err)
		}
	}
	for _, bad := range []string{"", "not base64 at all!", base64.StdEncoding.EncodeToString(key[:16])} {
		if _, err := aesgcm.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := aesgcm.New(key[:16]); err == nil {
		t.Error("New with a 16-byte key accepted")
	}
}
