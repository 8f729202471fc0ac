package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/doorman/doorman"
)

// MaxWebhookURL bounds a webhook's URL.
const MaxWebhookURL = 2048

// ValidateWebhookURL checks a webhook URL: https, or http only to this
// machine or a private network (for development). The message says what is
// wrong.
func ValidateWebhookURL(raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return doorman.Errorf(doorman.EINVALID, "URL is required")
	}
	if len(raw) > MaxWebhookURL {
		return doorman.Errorf(doorman.EINVALID, "URL must be at most %d characters", MaxWebhookURL)
	}
	if err := doorman.ValidateText("URL", raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return doorman.Errorf(doorman.EINVALID, "URL must be an absolute URL such as https://hooks.example.com/doorman")
	}
	if u.User != nil {
		return doorman.Errorf(doorman.EINVALID, "URL must not contain a user name or password; the signature authenticates Doorman")
	}
	if u.Fragment != "" {
		return doorman.Errorf(doorman.EINVALID, "URL must not contain a #fragment")
	}
	// Any spelling of an address counts (0xa9fea9fe is 169.254.169.254):
	// resolvers read them all. The Sender checks again the address it dials.
	if a, canonical, ok := doorman.WebhookHostAddr(u.Hostname()); ok {
		if doorman.ForbiddenWebhookAddr(a) {
			return doorman.Errorf(doorman.EINVALID, "URL must not point at a link-local, multicast or unspecified address")
		}
		if !canonical {
			return doorman.Errorf(doorman.EINVALID, "URL must write its IP address in the usual form, such as 10.0.0.5 or [fd00::5]")
		}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if localHost(u.Hostname()) {
			return nil
		}
		return doorman.Errorf(doorman.EINVALID, "URL must use https:// (http:// is allowed only for localhost and private addresses, in development)")
	}
	return doorman.Errorf(doorman.EINVALID, "URL must start with https://")
}

func localHost(h string) bool {
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	return ip.IsLoopback() || ip.IsPrivate()
}

// newWebhookSecret returns a webhook signing secret: "whsec_" and 256
// random bits.
func newWebhookSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// Webhook returns the account's webhook (its Secret cleared: it is shown
// only when made). ENOTFOUND when none is set up; EFORBIDDEN for members.
func (s *Service) Webhook(ctx context.Context, p *doorman.Principal) (*doorman.Webhook, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	w, err := s.Store.FindWebhook(ctx, p.Account.ID)
	if err != nil {
		return nil, unavailable("webhook", err)
	}
	w.Secret = ""
	return w, nil
}

// WebhookUpdate is an admin's change of the webhook.
type WebhookUpdate struct {
	URL     string
	Enabled bool
	// RotateSecret draws a new secret; a new webhook always gets one.
	RotateSecret bool
}

// SetWebhook creates or changes the account's webhook, audited as
// webhook_updated. It returns the webhook and, when one was drawn (a new
// webhook, or RotateSecret), its secret, shown this once. EFORBIDDEN for
// members and API keys, EINVALID for a bad URL, EREAUTH without a recent
// password (requireRecentAuth), asked once the request is otherwise valid.
func (s *Service) SetWebhook(ctx context.Context, p *doorman.Principal, u WebhookUpdate, m Meta) (*doorman.Webhook, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	if p.APIKey != nil {
		return nil, "", doorman.Errorf(doorman.EFORBIDDEN, "API keys cannot change the webhook; sign in as an administrator")
	}
	u.URL = strings.TrimSpace(u.URL)
	if err := ValidateWebhookURL(u.URL); err != nil {
		return nil, "", err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, "", err
	}
	now := s.now()
	old, err := s.Store.FindWebhook(ctx, p.Account.ID)
	if err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
		return nil, "", unavailable("set webhook", err)
	}
	w := &doorman.Webhook{AccountID: p.Account.ID, URL: u.URL, Enabled: u.Enabled, CreatedAt: now, UpdatedAt: now}
	secret := ""
	if old == nil || u.RotateSecret {
		secret = newWebhookSecret()
		if w.Secret, err = s.seal(secret); err != nil {
			return nil, "", err
		}
	} else {
		w.Secret, w.CreatedAt = old.Secret, old.CreatedAt
	}
	ev := s.event(p, doorman.ActionWebhookUpdated, u.URL, m, now)
	ev.Details = fmt.Sprintf("enabled=%t secret_rotated=%t", u.Enabled, secret != "")
	if old != nil {
		ev.Details = fmt.Sprintf("url=%s->%s enabled=%t->%t secret_rotated=%t", old.URL, u.URL, old.Enabled, u.Enabled, secret != "")
	}
	if err := s.Store.PutWebhook(ctx, w, ev); err != nil {
		return nil, "", unavailable("set webhook", err)
	}
	out := *w
	out.Secret = ""
	return &out, secret, nil
}

// DeleteWebhook removes the account's webhook, audited as webhook_deleted;
// its pending deliveries then fail. ENOTFOUND when none is set up; EREAUTH
// without a recent password (requireRecentAuth), asked once the
// request is otherwise valid.
func (s *Service) DeleteWebhook(ctx context.Context, p *doorman.Principal, m Meta) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	if p.APIKey != nil {
		return doorman.Errorf(doorman.EFORBIDDEN, "API keys cannot change the webhook; sign in as an administrator")
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return err
	}
	now := s.now()
	ev := s.event(p, doorman.ActionWebhookDeleted, p.Account.ID, m, now)
	if err := s.Store.DeleteWebhook(ctx, p.Account.ID, ev); err != nil {
		return unavailable("delete webhook", err)
	}
	return nil
}

// TestWebhook queues a webhook.test event to the account's webhook, audited
// as webhook_test_sent, and returns its delivery. ENOTFOUND when no webhook
// is set up, EINVALID when it is disabled.
func (s *Service) TestWebhook(ctx context.Context, p *doorman.Principal, m Meta) (*doorman.Delivery, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	w, err := s.Store.FindWebhook(ctx, p.Account.ID)
	if err != nil {
		return nil, unavailable("test webhook", err)
	}
	if !w.Enabled {
		return nil, doorman.Errorf(doorman.EINVALID, "the webhook is disabled; enable it to send a test event")
	}
	now := s.now()
	a := &doorman.Alert{ID: doorman.NewID(doorman.PrefixAlert, now), AccountID: p.Account.ID, Kind: doorman.EventWebhookTest, ExpiresAt: now, CreatedAt: now}
	if a.Payload, err = json.Marshal(&doorman.AlertEvent{ID: a.ID, Type: a.Kind, CreatedAt: now, AccountID: a.AccountID}); err != nil {
		return nil, err
	}
	d := &doorman.Delivery{ID: doorman.NewID(doorman.PrefixDelivery, now), Channel: doorman.ChannelWebhook, Target: w.URL, Status: doorman.DeliveryPending,
		NextAttemptAt: now, CreatedAt: now}
	ev := s.event(p, doorman.ActionWebhookTested, w.URL, m, now)
	ev.Details = "alert=" + a.ID + " delivery=" + d.ID
	if err := s.Store.CreateAlert(ctx, a, []*doorman.Delivery{d}, ev); err != nil {
		return nil, unavailable("test webhook", err)
	}
	d.AlertID, d.AccountID, d.Kind = a.ID, a.AccountID, a.Kind
	s.kickAlerts()
	return d, nil
}

// DefaultDeliveryLimit is how many deliveries WebhookDeliveries lists.
const DefaultDeliveryLimit = 50

// WebhookDeliveries returns the account's recent webhook deliveries, newest
// first. EFORBIDDEN for members.
func (s *Service) WebhookDeliveries(ctx context.Context, p *doorman.Principal) ([]*doorman.Delivery, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	ds, err := s.Store.FindDeliveries(ctx, doorman.DeliveryFilter{AccountID: p.Account.ID, Channel: doorman.ChannelWebhook,
		Limit: DefaultDeliveryLimit})
	if err != nil {
		return nil, unavailable("webhook deliveries", err)
	}
	return ds, nil
}
