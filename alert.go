package doorman

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// Sign-in alerts: on a sign-in from a new device or an unknown place the user
// gets an email with a "This wasn't me" link, and the account's webhook (if
// any) the same event as JSON. Alerts and their deliveries are a durable
// outbox: written with the sign-in's aftermath, sent by a background loop
// (Service.RunAlerts) that retries with backoff, so that sending never
// blocks a sign-in.

// Prefixes of the alerts' public ids.
const (
	PrefixAlert    = "alr_"
	PrefixDelivery = "dlv_"
)

// Event types, as webhooks receive them (X-Doorman-Event and "type").
const (
	EventSuspiciousSignIn = "session.suspicious_sign_in"
	// EventPasswordChanged and EventTwoFactorDisabled tell the user (by
	// email) and the account's webhook of the two changes that lock a
	// person out of their account after a takeover; the session is the one
	// that made the change.
	EventPasswordChanged   = "user.password_changed"
	EventTwoFactorDisabled = "user.two_factor_disabled"
	EventWebhookTest       = "webhook.test"
)

// Delivery channels.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Audit actions of sign-in alerts.
const (
	ActionSignInAlert      = "sign_in_alert"         // an alert was created for a suspicious sign-in
	ActionSessionReported  = "session_reported"      // "This wasn't me": the session signed out
	ActionAlertDelivered   = "alert_delivered"       // an email or webhook delivery succeeded
	ActionAlertUndelivered = "alert_delivery_failed" // a delivery gave up after its last attempt
	ActionWebhookUpdated   = "webhook_updated"
	ActionWebhookDeleted   = "webhook_deleted"
	ActionWebhookTested    = "webhook_test_sent"
)

// ReasonReported is the revoke reason of a session its user reported
// through an alert's "This wasn't me" link.
const ReasonReported = "reported by the user as not theirs"

// AlertLinkTTL is how long an alert's "This wasn't me" link works.
const AlertLinkTTL = 7 * 24 * time.Hour

// Alert is one sign-in alert: the event, and the hash of its single-use
// "This wasn't me" token.
type Alert struct {
	ID        string
	AccountID string
	UserID    string // "" for a webhook test event
	SessionID string // the session the alert is about; "" for a test event
	Kind      string // EventSuspiciousSignIn, EventWebhookTest
	// Payload is the event as webhooks receive it (JSON, AlertEvent).
	Payload []byte
	// TokenHash is the SHA-256 of the "This wasn't me" token; nil for an
	// alert without a link (a test event).
	TokenHash []byte
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// Delivery is one message of an alert to one channel, and its attempts.
type Delivery struct {
	ID        string
	AlertID   string
	AccountID string
	Channel   string // ChannelEmail or ChannelWebhook
	Target    string // the email address, or the webhook's URL
	Status    string // DeliveryPending, DeliveryDelivered, DeliveryFailed
	Attempts  int
	// NextAttemptAt is when a pending delivery is due.
	NextAttemptAt time.Time
	// ClaimedUntil is the lease of the node sending it: no other node claims
	// it before then.
	ClaimedUntil   *time.Time
	LastError      string
	LastStatusCode int // the webhook's last HTTP status; 0 for none
	DeliveredAt    *time.Time
	CreatedAt      time.Time

	// LinkToken is the alert's "This wasn't me" token, kept on an email
	// delivery only until it is delivered or fails, since the message can
	// be written only with it. Stores clear it when the delivery ends.
	LinkToken string

	// Set by ClaimDeliveries and FindDeliveries from the alert: its Kind
	// and Payload.
	Kind    string
	Payload []byte
	// Secret is set by ClaimDeliveries on a webhook delivery: the account's
	// current webhook secret, "" when the webhook is gone or disabled.
	Secret string
}

// DeliveryAttempt is the outcome of one try of a delivery.
type DeliveryAttempt struct {
	At         time.Time
	Delivered  bool
	StatusCode int    // the webhook's HTTP status, 0 for none
	Error      string // "" when delivered
	// Next is when to try again; nil ends the delivery (delivered, or
	// failed for good).
	Next *time.Time
	// Lease is the ClaimedUntil the delivery was claimed with: only the
	// claim still holding it may record the attempt. Zero skips the check.
	Lease time.Time
}

// DeliveryFilter selects an account's deliveries, newest first.
type DeliveryFilter struct {
	AccountID string // required
	Channel   string // "" for every channel
	Limit     int    // 0: no limit
}

// Webhook is an account's webhook: where its alerts are posted, and the
// secret that signs them. The secret is stored as it is: signing needs it.
type Webhook struct {
	AccountID string
	URL       string
	Secret    string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Email is one message: plain text, and optionally the same in HTML (sent
// as multipart/alternative).
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string // "" for a plain-text message
}

// Mailer sends email (the smtp package). Send returns once the server took
// the message, or with an error.
type Mailer interface {
	Send(ctx context.Context, m Email) error
}

// WebhookRequest is one signed POST of an event to a webhook.
type WebhookRequest struct {
	URL        string
	Event      string // X-Doorman-Event
	DeliveryID string // X-Doorman-Delivery
	Body       []byte
	Secret     string
	At         time.Time // the signature's timestamp
}

// WebhookSender posts events (the webhook package). It returns the HTTP
// status received (0 when none) and an error unless it was 2xx.
type WebhookSender interface {
	Post(ctx context.Context, r WebhookRequest) (status int, err error)
}

// AlertConfig wires sign-in alerts into a Service. Both ports are optional:
// without a Mailer no email deliveries are created; without a
// WebhookSender webhook deliveries wait.
type AlertConfig struct {
	Mailer   Mailer
	Webhooks WebhookSender
	// LinkBase is the public URL the "This wasn't me" link starts with
	// ("https://doorman.example.com"); the link is LinkBase + "/alerts/" +
	// token.
	LinkBase string
}

// AlertEvent is the JSON body of an alert as webhooks receive it.
type AlertEvent struct {
	ID        string             `json:"id"`
	Type      string             `json:"type"`
	CreatedAt time.Time          `json:"created_at"`
	AccountID string             `json:"account_id"`
	User      *AlertEventUser    `json:"user,omitempty"`
	Session   *AlertEventSession `json:"session,omitempty"`
}

// AlertEventUser is the user of an AlertEvent.
type AlertEventUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// AlertEventSession is the session of an AlertEvent.
type AlertEventSession struct {
	ID        string             `json:"id"`
	Label     string             `json:"label"`
	Browser   string             `json:"browser"`
	OS        string             `json:"os"`
	IP        string             `json:"ip"`
	Location  AlertEventLocation `json:"location"`
	CreatedAt time.Time          `json:"created_at"`
	Risk      AlertEventRisk     `json:"risk"`
}

// RiskWords says the session's concern level ("High"; "" when not
// flagged) and each of its reasons in the words of the session's page.
func (s *AlertEventSession) RiskWords() (level string, reasons []string) {
	as := &Session{IP: s.IP, CreatedAt: s.CreatedAt, Device: Device{Browser: s.Browser, OS: s.OS},
		Location: Location{City: s.Location.City, Country: s.Location.Country, CountryCode: s.Location.CountryCode}}
	for _, c := range s.Risk.Reasons {
		reasons = append(reasons, RiskReasonText(c, as, s.CreatedAt))
	}
	return RiskLevelLabel(s.Risk.Level), reasons
}

// AlertEventLocation is the place of an AlertEventSession.
type AlertEventLocation struct {
	Label       string `json:"label"`
	City        string `json:"city"`
	Country     string `json:"country"`
	CountryCode string `json:"country_code"`
}

// AlertEventRisk is the risk of an AlertEventSession.
type AlertEventRisk struct {
	Level   string   `json:"level"`
	Reasons []string `json:"reasons"`
}

// ForbiddenWebhookAddr reports whether a is an address a webhook never
// reaches: link-local (cloud instance metadata lives at 169.254.169.254),
// unspecified or multicast. Loopback and private addresses are allowed:
// receivers inside the same network are common. Webhook URLs naming such
// an address are refused, and the sender refuses to dial one whatever a
// host name resolves to.
//
// Every spelling of a refused address is refused: IPv4-mapped
// (::ffff:169.254.169.254), IPv4-compatible (::169.254.169.254) and NAT64
// (64:ff9b::169.254.169.254) IPv6 addresses are judged by the IPv4 address
// they carry, and all of 0.0.0.0/8 counts as unspecified (stacks connect
// such addresses to this machine). WebhookHostAddr reads the numeric forms
// of a host name.
func ForbiddenWebhookAddr(a netip.Addr) bool {
	a = embeddedIPv4(a.WithZone(""))
	if a.Is4() && a.As4()[0] == 0 {
		return true
	}
	return !a.IsValid() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast()
}

// nat64 is the well-known prefix of NAT64 (RFC 6052): a gateway connects
// 64:ff9b::a.b.c.d to a.b.c.d.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// embeddedIPv4 returns the IPv4 address an IPv6 address stands for
// (IPv4-mapped, IPv4-compatible or NAT64), or a itself.
func embeddedIPv4(a netip.Addr) netip.Addr {
	if !a.Is6() {
		return a
	}
	if a.Is4In6() {
		return a.Unmap()
	}
	b := a.As16()
	if nat64.Contains(a) || (b == [16]byte{12: b[12], 13: b[13], 14: b[14], 15: b[15]} && (b[12]|b[13]) != 0) {
		// ::a.b.c.d (IPv4-compatible); :: and ::1 (first two bytes zero) stay IPv6.
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return a
}

// WebhookHostAddr reads a URL's host name (brackets and one trailing dot
// allowed) as an IP address in any of the forms resolvers accept: the
// usual ones, and the inet_aton forms of IPv4 with one to four parts, each
// decimal, octal (leading 0) or hexadecimal (0x): 2130706433, 0x7f.1,
// 0177.0.0.1 and 0xa9fea9fe are all addresses. ok is false for a host that
// is a name; canonical is false for an address not written the usual way
// (dotted decimal, or IPv6 as netip reads it).
func WebhookHostAddr(host string) (a netip.Addr, canonical, ok bool) {
	h := host
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	trimmed := strings.TrimSuffix(h, ".")
	if a, err := netip.ParseAddr(trimmed); err == nil {
		return a, trimmed == h, true
	}
	a, ok = parseInetAton(trimmed)
	return a, false, ok
}

// parseInetAton parses the IPv4 forms of inet_aton(3).
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || s == "" {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		base := uint64(10)
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		case p == "":
			return netip.Addr{}, false
		}
		var v uint64
		for i := 0; i < len(p); i++ {
			d := digitValue(p[i])
			if d >= base {
				return netip.Addr{}, false
			}
			v = v*base + d
			if v > 0xffffffff {
				return netip.Addr{}, false
			}
		}
		vals = append(vals, v)
	}
	// Every part but the last is one byte; the last fills the bytes left.
	var n uint64
	for _, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		n = n<<8 | v
	}
	rest := 8 * uint(5-len(vals))
	last := vals[len(vals)-1]
	if last >= 1<<rest {
		return netip.Addr{}, false
	}
	n = n<<rest | last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

func digitValue(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10
	}
	return 99
}

// AlertStore keeps sign-in alerts and the outbox of their deliveries, by
// email and webhook, which nodes claim under a lease. Each method that
// takes an ev writes it in the same transaction as its
// change.
type AlertStore interface {
	// CreateAlert stores a, its deliveries ds (their AlertID and AccountID
	// set) and ev (if not nil), in one transaction. Returns ECONFLICT if an
	// id or the token hash is taken, ENOTFOUND if the account does not exist.
	CreateAlert(ctx context.Context, a *Alert, ds []*Delivery, ev *AuditEvent) error
	// FindAlertByTokenHash returns the alert whose token hash is hash, used
	// or expired or not. Returns ENOTFOUND if none.
	FindAlertByTokenHash(ctx context.Context, hash []byte) (*Alert, error)
	// UseAlert marks the alert used at r.At, revokes its session with r
	// (when not yet revoked; ev.Count is 1 if it was, else 0) and writes ev,
	// in one transaction. Returns ENOTFOUND unless an alert with that id
	// exists in the account, unused and expiring after r.At.
	UseAlert(ctx context.Context, accountID, id string, r Revocation, ev *AuditEvent) error
	// ClaimDeliveries leases to the caller until leaseUntil at most limit
	// pending deliveries due at now (NextAttemptAt not after now) whose
	// lease, if any, ended, oldest due first, and returns them with their
	// alert's Kind and Payload and, for webhooks, the account's Secret when
	// its webhook is enabled; a webhook delivery's Target becomes the
	// enabled webhook's URL of now. Two callers never claim one delivery at
	// once.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// RecordDeliveryAttempt counts one attempt of a pending delivery and
	// records its outcome: delivered (DeliveredAt set), to try again at
	// a.Next, or failed when a.Next is nil; the lease ends and, once the
	// delivery ends, its LinkToken is cleared. It writes ev (if not nil) in
	// the same transaction. Returns ENOTFOUND unless a pending delivery has
	// that id and, when a.Lease is set, is still claimed until a.Lease (a
	// node whose lease ran out and was taken over records nothing).
	RecordDeliveryAttempt(ctx context.Context, id string, a DeliveryAttempt, ev *AuditEvent) error
	// FindDeliveries returns the deliveries of f.AccountID that f selects,
	// newest first (then by id, descending), with their alert's Kind; never
	// their LinkToken. Another account's deliveries never match.
	FindDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// PurgeAlerts deletes at most limit alerts created before before that
	// have no pending delivery, with their deliveries, oldest first, and
	// returns how many alerts it deleted. Their audit events stay.
	PurgeAlerts(ctx context.Context, before time.Time, limit int) (int, error)
}

// WebhookStore keeps each account's webhook, where its alerts are posted.
// Each method that takes an ev writes it (when not nil) in the same
// transaction as its change.
type WebhookStore interface {
	// FindWebhook returns the account's webhook. Returns ENOTFOUND if it has
	// none.
	FindWebhook(ctx context.Context, accountID string) (*Webhook, error)
	// PutWebhook creates or replaces the account's webhook (keeping its
	// CreatedAt when it exists) and writes ev (if not nil). Returns ENOTFOUND
	// if the account does not exist.
	PutWebhook(ctx context.Context, w *Webhook, ev *AuditEvent) error
	// DeleteWebhook deletes the account's webhook and writes ev (if not
	// nil); its
	// deliveries stay. Returns ENOTFOUND if the account has none.
	DeleteWebhook(ctx context.Context, accountID string, ev *AuditEvent) error
}
