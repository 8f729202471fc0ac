package html

import (
	"encoding/base64"
	"html/template"
	"strings"
)

// Paths of the two-factor authentication pages.
const (
	PathTwoFactor        = "/settings/security/two-factor"
	PathTwoFactorSetup   = PathTwoFactor + "/setup"
	PathTwoFactorConfirm = PathTwoFactor + "/confirm"
	PathTwoFactorDisable = PathTwoFactor + "/disable"
	PathRecoveryCodes    = PathTwoFactor + "/recovery-codes"
	PathLoginTwoFactor   = "/login/two-factor"
)

// TwoFactorPath is Settings → Security → Two-factor authentication, the
// suspicious-session box's advice to turn it on.
func (*SessionPage) TwoFactorPath() string { return PathTwoFactor }

// TwoFactorPage is Settings → Security → Two-factor authentication: its
// status and what can be done with it.
type TwoFactorPage struct {
	Layout
	Enabled bool
	// EnabledAt is when it was turned on; nil when off.
	EnabledAt *Time
	// CodesLeft counts the unused recovery codes.
	CodesLeft int
	// Error says why turning it off failed; ErrorField names the field.
	Error      string
	ErrorField string
	// Passkeys are the person's passkeys (passkeys.go); PasskeysOn says
	// whether the server offers them at all.
	Passkeys   []Passkey
	PasskeysOn bool
}

func (*TwoFactorPage) template() string { return "twofactor" }

// TwoFactorSetupPage shows the new secret as a QR code and as a key to
// type, and asks for a code to confirm it.
type TwoFactorSetupPage struct {
	Layout
	// QR is the QR code of the otpauth:// URI, a PNG as a data: URI.
	QR template.URL
	// Key is the secret in groups of four, for typing by hand.
	Key   string
	Error string
}

func (*TwoFactorSetupPage) template() string { return "twofactor_setup" }

// NewTwoFactorSetupPage returns the setup page of a secret and its QR code.
func NewTwoFactorSetupPage(l Layout, secret string, qrPNG []byte) *TwoFactorSetupPage {
	return &TwoFactorSetupPage{Layout: l, QR: PNGDataURI(qrPNG), Key: GroupKey(secret)}
}

// PNGDataURI returns png as a data: URI for an <img>. The page's
// Content-Security-Policy allows data: images only.
func PNGDataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// GroupKey writes a secret in groups of four characters, as people type it.
func GroupKey(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RecoveryCodesPage shows new recovery codes, once.
type RecoveryCodesPage struct {
	Layout
	Codes []string
	// Enabled is set right after two-factor authentication was turned on.
	Enabled bool
}

func (*RecoveryCodesPage) template() string { return "twofactor_codes" }

// LoginTwoFactorPage is the sign-in's second step: the code from the
// authenticator app, or a recovery code.
type LoginTwoFactorPage struct {
	Layout
	Next      string
	FormToken string
	Error     string
	// Passkey offers a passkey in place of the code: the user has one.
	Passkey bool
}

func (*LoginTwoFactorPage) template() string { return "login_two_factor" }
