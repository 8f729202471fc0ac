package html

// Paths of the sign-in alert pages.
const (
	// PathAlerts starts the "This wasn't me" links of alert emails:
	// /alerts/{token}.
	PathAlerts = "/alerts/"
	// PathWebhook is Team → Webhook, the account's webhook settings.
	PathWebhook = "/admin/settings/webhook"
)

// AlertPage is the page of a "This wasn't me" link. Its GET only shows
// (mail scanners open links); its button posts to the same address.
type AlertPage struct {
	Layout
	// State is "confirm" (the session and the button), "done" (it was
	// signed out) or "gone" (the link was used, expired or never was).
	State string
	// Action is the form's address: the link itself.
	Action string
	// FormToken ties the form to the link.
	FormToken string
	Device    string
	Place     string
	IP        string
	Time      string // UTC, for people
	TimeISO   string // RFC 3339, for <time datetime>
	Email     string
	// Risk is the guide's concern level (Level "" when the sign-in was not
	// flagged) and Reasons the risk checks' reasons in words, as the
	// session's page says them.
	Risk    Risk
	Reasons []string
	// PasswordHref is where the password is changed (after signing in).
	PasswordHref string
}

func (*AlertPage) template() string { return "alert" }

// WebhookPage is Team → Webhook: the URL, enable/disable, the test event,
// and the latest deliveries.
type WebhookPage struct {
	Layout
	Error      string
	ErrorField string
	// Exists is false until a webhook is saved.
	Exists  bool
	URL     string
	Enabled bool
	// Secret is shown once, on the answer that drew it.
	Secret     string
	Deliveries []WebhookDelivery
}

func (*WebhookPage) template() string { return "webhook" }

// WebhookDelivery is one row of the deliveries table.
type WebhookDelivery struct {
	ID       string
	Event    string
	Status   string // pending | delivered | failed
	Attempts int
	// Result is the last status code ("HTTP 500") or error.
	Result string
	// When is "Next attempt …" or "Delivered …".
	When    string
	WhenISO string
}

// WebhookDeletePage confirms deleting the webhook.
type WebhookDeletePage struct {
	Layout
	URL string
}

func (*WebhookDeletePage) template() string { return "webhook_delete" }
