package html

// Paths of "Forgot password?": the form that asks for a link, and the link's
// page (PathPasswordReset + token), whose address is a secret.
const (
	PathForgotPassword = "/password/forgot"
	PathPasswordReset  = "/password/reset/"
)

// ForgotPasswordPage asks for the email a reset link goes to, and then says
// what happens next, in the same words whether or not the email has a user.
type ForgotPasswordPage struct {
	Layout
	// Sent is set once a request was taken: the page says to check the mail.
	Sent  bool
	Email string
	// FormToken ties the form to the browser's device cookie, as the
	// sign-in form's does.
	FormToken string
	Error     string
	// NoEmail is set when the server sends no email: the page says whom to
	// ask instead, since no link can arrive.
	NoEmail bool
	// Minutes is how long a link works.
	Minutes int
}

func (*ForgotPasswordPage) template() string { return "forgot" }

// ResetPasswordPage is the reset link's page: the new password's form, or
// "this link was already used or has expired" with a way to a new one.
type ResetPasswordPage struct {
	Layout
	// Gone is set when the link is unknown, used or expired.
	Gone bool
	// Action is the form's address: the link itself.
	Action string
	// FormToken ties the form to the link.
	FormToken string
	Email     string
	Error     string
	// ErrorField names the field the error is about, for aria-invalid.
	ErrorField string
	MinLength  int
}

func (*ResetPasswordPage) template() string { return "reset" }
