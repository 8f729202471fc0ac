package totp_test

import (
	"bytes"
	"image/png"
	"net/url"
	"testing"
	"time"

	"github.com/doorman/doorman/totp"
	ptotp "github.com/pquerna/otp/totp"
)

func TestGenerateAndValidate(t *testing.T) {
	var o totp.OTP
	k, err := o.Generate("Doorman", "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != 32 {
		t.Errorf("secret %q: want 32 base32 characters (160 bits)", k.Secret)
	}
	u, err := url.Parse(k.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != k.Secret || u.Query().Get("issuer") != "Doorman" {
		t.Errorf("URI %q", k.URI)
	}
	if _, err := png.Decode(bytes.NewReader(k.QRPNG)); err != nil {
		t.Errorf("QR code is not a PNG: %v", err)
	}
	k2, _ := o.Generate("Doorman", "ana@example.com")
	if k2.Secret == k.Secret {
		t.Error("two secrets are equal")
	}

	at := time.Date(2026, 11, 26, 12, 0, 10, 0, time.UTC)
	step := at.Unix() / 30
	tests := []struct {
		name     string
		codeAt   time.Time
		wantStep int64
		ok       bool
	}{
		{"now", at, step, true},
		{"previous step", at.Add(-30 * time.Second), step - 1, true},
		{"next step", at.Add(30 * time.Second), step + 1, true},
		{"two steps ago", at.Add(-60 * time.Second), 0, false},
		{"two steps ahead", at.Add(60 * time.Second), 0, false},
	}
	for _, tt := range tests {
		code, err := ptotp.GenerateCode(k.Secret, tt.codeAt)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := o.Validate(k.Secret, code, at)
		if ok != tt.ok || got != tt.wantStep {
			t.Errorf("%s: Validate = %d, %t; want %d, %t", tt.name, got, ok, tt.wantStep, tt.ok)
		}
	}
	code, _ := ptotp.GenerateCode(k.Secret, at)
	for _, bad := range []string{"", "12345", "1234567", "abcdef", code[:3] + " " + code[3:] + "x"} {
		if _, ok := o.Validate(k.Secret, bad, at); ok {
			t.Errorf("Validate(%q) accepted", bad)
		}
	}
	if _, ok := o.Validate(k.Secret, code[:3]+" "+code[3:], at); !ok {
		t.Error("a code typed with a space was refused")
	}
	if _, ok := o.Validate(k2.Secret, code, at); ok {
		t.Error("another secret's code was accepted")
	}
}

func TestKeyOfSecret(t *testing.T) {
	var o totp.OTP
	k, err := o.Generate("Doorman", "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	again, err := o.Key("Doorman", "ana@example.com", k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if again.Secret != k.Secret {
		t.Errorf("Key: secret %q, want %q", again.Secret, k.Secret)
	}
	a, _ := url.Parse(k.URI)
	b, _ := url.Parse(again.URI)
	if a.Path != b.Path || a.Query().Get("secret") != b.Query().Get("secret") || b.Query().Get("issuer") != "Doorman" {
		t.Errorf("Key URI %q, Generate's %q", again.URI, k.URI)
	}
	if _, err := png.Decode(bytes.NewReader(again.QRPNG)); err != nil {
		t.Errorf("QR code is not a PNG: %v", err)
	}
}
