package html

// Paths of the account-protection pages.
const (
	PathSignOutAll = "/settings/security/sessions/sign-out-all"
	PathPassword   = "/settings/security/password"
	PathReauth     = "/reauth"
)

// ConfirmSignOutAllPage asks before signing out every session, this one
// included.
type ConfirmSignOutAllPage struct {
	Layout
	// Count is how many sessions will end, this one included.
	Count int
}

func (*ConfirmSignOutAllPage) template() string { return "confirm_sign_out_all" }

// PasswordPage is Settings → Security → Password: change the password,
// with "Sign out all other sessions" checked by default.
type PasswordPage struct {
	Layout
	Error string
	// ErrorField names the field the error is about, for aria-invalid.
	ErrorField    string
	SignOutOthers bool
	MinLength     int
}

func (*PasswordPage) template() string { return "password" }

// ReauthPage asks for the password again before a sensitive action, then
// goes on to Next.
type ReauthPage struct {
	Layout
	Next  string
	Error string
	// TwoFactor asks for the two-factor code too.
	TwoFactor bool
}

func (*ReauthPage) template() string { return "reauth" }
