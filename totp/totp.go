// Package totp implements doorman.OTP with github.com/pquerna/otp: time-based
// one-time passwords (RFC 6238) of 6 digits, SHA-1 and 30-second steps, the
// parameters every authenticator app understands, with QR codes of the
// otpauth:// URI for setting them up.
package totp

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

const (
	period = 30 // seconds a code lasts (RFC 6238's default)
	digits = otp.DigitsSix
	// skew is how many steps either side of now are accepted, for clocks
	// that differ and codes typed near a step's end.
	skew = 1
	// secretSize is the secret's length in bytes: 160 bits, RFC 4226's
	// recommendation for HMAC-SHA-1.
	secretSize = 20
	qrSize     = 200 // pixels
)

// OTP generates and checks TOTP codes. The zero value is ready to use.
type OTP struct{}

var _ doorman.OTP = OTP{}

// Generate returns a new random secret (crypto/rand, base32) for account at
// issuer, its otpauth:// URI and a QR code of that URI as a PNG.
func (OTP) Generate(issuer, account string) (*doorman.OTPKey, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: period,
		SecretSize: secretSize, Digits: digits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("totp: generate: %w", err)
	}
	return withQR(key)
}

// Key returns the otpauth:// URI of secret for account at issuer, with the
// same parameters as Generate, and its QR code as a PNG.
func (OTP) Key(issuer, account, secret string) (*doorman.OTPKey, error) {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("period", strconv.Itoa(period))
	v.Set("algorithm", otp.AlgorithmSHA1.String())
	v.Set("digits", digits.String())
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	key, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("totp: key: %w", err)
	}
	return withQR(key)
}

func withQR(key *otp.Key) (*doorman.OTPKey, error) {
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return nil, fmt.Errorf("totp: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: qr code: %w", err)
	}
	return &doorman.OTPKey{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// Validate reports whether code is the code of secret at t or one step
// either side, and the time step it matched (Unix time / 30 s), so that the
// caller can refuse a step used before. Spaces in code are ignored.
func (OTP) Validate(secret, code string, t time.Time) (int64, bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != digits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	now := t.Unix() / period
	matched, found := int64(0), false
	// Every candidate is computed and compared in constant time, so the
	// time taken does not say which step matched.
	for step := now - skew; step <= now+skew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: digits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !found {
			matched, found = step, true
		}
	}
	return matched, found
}
