package app

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/doorman/doorman"
	"slices"
	"strings"
	"sync"
	"time"
)

// alertReasons are the risk reasons that send a sign-in alert: a place or a
// device the user never used. The others (old_session, unrecognized_ip) are
// judged later or are weaker, and alerting on them would teach people to
// ignore the mail.
var alertReasons = []string{doorman.ReasonUnknownDevice, doorman.ReasonUnknownLocation, doorman.ReasonImpossibleTravel}

// AlertBackoff is the wait before each retry of a delivery that failed: the
// first retry 30 seconds after the first attempt, the last 6 hours after
// the one before. A delivery whose attempt after the last wait fails is
// failed for good (6 attempts in all, over about 7 hours).
var AlertBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// Delivery loop tuning.
const (
	// alertLease is how long a node holds the deliveries it claimed: longer
	// than alertSendTimeout, so a lease never ends under a send.
	alertLease       = 2 * time.Minute
	alertSendTimeout = 45 * time.Second
	alertBatch       = 20
)

// alertKick wakes the delivery loop when an alert is created, so that the
// email leaves at once rather than at the next tick.
type alertKick struct {
	once sync.Once
	ch   chan struct{}
}

func (k *alertKick) c() chan struct{} {
	k.once.Do(func() { k.ch = make(chan struct{}, 1) })
	return k.ch
}

// alertSignIn creates the sign-in alert of a session SignIn just created,
// when its risk checks found a new device or an unknown place: the alert,
// an email delivery to the user (when a Mailer is configured) and a webhook
// delivery (when the account's webhook is enabled), with the audit event,
// in one transaction. Nothing is sent here, and a failure is logged, never
// returned: an alert must not cost anyone their sign-in.
func (s *Service) alertSignIn(ctx context.Context, p *doorman.Principal) {
	sess := p.Session
	if !slices.ContainsFunc(sess.Risk.Reasons, func(r string) bool { return slices.Contains(alertReasons, r) }) {
		return
	}
	// Not cut short by the client going away: the sign-in happened.
	if err := s.createAlert(context.WithoutCancel(ctx), p, doorman.EventSuspiciousSignIn); err != nil {
		s.Log.Error("sign-in alert not created", "user_id", p.User.ID, "session_id", sess.ID, "err", err)
	}
}

// alertAccountChange tells the user by email, and the account's webhook,
// that their password was changed or their two-factor authentication
// turned off (kind) from p's session. There is no "This wasn't me" link:
// whoever made the change may also hold the password; the email sends the
// person to an administrator. Like sign-in alerts it never fails the change
// it reports.
func (s *Service) alertAccountChange(ctx context.Context, p *doorman.Principal, kind string) {
	if err := s.createAlert(context.WithoutCancel(ctx), p, kind); err != nil {
		s.Log.Error("account alert not created", "user_id", p.User.ID, "kind", kind, "err", err)
	}
}

// createAlert writes an alert of kind about p's session, with an email
// delivery to the user (when a Mailer is configured) and a webhook delivery
// (when the account's webhook is enabled), in one transaction. A suspicious
// sign-in's alert carries the single-use "This wasn't me" token and is
// audited as sign_in_alert; the changes other kinds report are audited
// already.
func (s *Service) createAlert(ctx context.Context, p *doorman.Principal, kind string) error {
	now := s.now()
	sess := p.Session
	a := &doorman.Alert{ID: doorman.NewID(doorman.PrefixAlert, now), AccountID: p.Account.ID, UserID: p.User.ID, SessionID: sess.ID,
		Kind: kind, ExpiresAt: now, CreatedAt: now}
	var token string
	if kind == doorman.EventSuspiciousSignIn {
		token, a.TokenHash = doorman.NewToken()
		a.ExpiresAt = now.Add(doorman.AlertLinkTTL)
	}
	body, err := json.Marshal(signInEvent(a, p))
	if err != nil {
		return err
	}
	a.Payload = body
	var ds []*doorman.Delivery
	var channels []string
	if s.Alerts.Mailer != nil {
		ds = append(ds, &doorman.Delivery{ID: doorman.NewID(doorman.PrefixDelivery, now), Channel: doorman.ChannelEmail, Target: p.User.Email,
			Status: doorman.DeliveryPending, NextAttemptAt: now, CreatedAt: now, LinkToken: token})
		channels = append(channels, doorman.ChannelEmail)
	}
	switch w, err := s.Store.FindWebhook(ctx, p.Account.ID); {
	case err == nil && w.Enabled:
		ds = append(ds, &doorman.Delivery{ID: doorman.NewID(doorman.PrefixDelivery, now), Channel: doorman.ChannelWebhook, Target: w.URL,
			Status: doorman.DeliveryPending, NextAttemptAt: now, CreatedAt: now})
		channels = append(channels, doorman.ChannelWebhook)
	case err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND:
		return fmt.Errorf("find webhook: %w", err)
	}
	var ev *doorman.AuditEvent
	if kind == doorman.EventSuspiciousSignIn {
		ev = s.event(nil, doorman.ActionSignInAlert, sess.ID, Meta{IP: sess.IP, UserAgent: sess.UserAgent}, now)
		ev.AccountID = p.Account.ID
		ev.Reason = strings.Join(sess.Risk.Reasons, ",")
		ev.Details = "alert=" + a.ID + " user=" + p.User.Email + " channels=" + strings.Join(channels, ",")
		if len(channels) == 0 {
			ev.Details += "none"
		}
	} else if len(ds) == 0 {
		return nil // nobody to tell
	}
	if err := s.Store.CreateAlert(ctx, a, ds, ev); err != nil {
		return err
	}
	if len(ds) > 0 {
		s.kickAlerts()
	}
	return nil
}

func (s *Service) kickAlerts() {
	select {
	case s.alertKick.c() <- struct{}{}:
	default: // already kicked
	}
}

// signInEvent is the webhook body of a, about p's session, as docs/API.md
// shows it.
func signInEvent(a *doorman.Alert, p *doorman.Principal) *doorman.AlertEvent {
	sess := p.Session
	reasons := sess.Risk.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return &doorman.AlertEvent{ID: a.ID, Type: a.Kind, CreatedAt: a.CreatedAt, AccountID: a.AccountID,
		User: &doorman.AlertEventUser{ID: p.User.ID, Email: p.User.Email},
		Session: &doorman.AlertEventSession{ID: sess.ID, Label: sess.Device.Label(), Browser: sess.Device.Browser,
			OS: sess.Device.OS, IP: sess.IP, CreatedAt: sess.CreatedAt,
			Location: doorman.AlertEventLocation{Label: sess.Location.Label(), City: sess.Location.City,
				Country: sess.Location.Country, CountryCode: sess.Location.CountryCode},
			Risk: doorman.AlertEventRisk{Level: sess.Risk.Level, Reasons: reasons}}}
}

// DeliverAlerts claims the deliveries due now and sends them, one after
// another, recording each attempt: a failed one is retried after
// AlertBackoff, and after the last retry is failed for good. It returns how
// many it attempted. Several nodes may run it at once: the store's lease
// gives each delivery to one of them.
func (s *Service) DeliverAlerts(ctx context.Context) (int, error) {
	now := s.now()
	ds, err := s.Store.ClaimDeliveries(ctx, now, now.Add(alertLease), alertBatch)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			return 0, err // the lease frees the rest for another node
		}
		s.deliver(ctx, d)
	}
	return len(ds), nil
}

func (s *Service) deliver(ctx context.Context, d *doorman.Delivery) {
	sctx, cancel := context.WithTimeout(ctx, alertSendTimeout)
	status, final, sendErr := s.send(sctx, d)
	cancel()
	now := s.now()
	a := doorman.DeliveryAttempt{At: now, StatusCode: status, Delivered: sendErr == nil}
	if d.ClaimedUntil != nil {
		a.Lease = *d.ClaimedUntil
	}
	var ev *doorman.AuditEvent
	if sendErr != nil {
		a.Error = cut(sendErr.Error(), 500)
		if n := d.Attempts; !final && n < len(AlertBackoff) {
			next := now.Add(AlertBackoff[n])
			a.Next = &next
		}
		s.Log.Warn("alert delivery failed", "delivery_id", d.ID, "channel", d.Channel, "attempt", d.Attempts+1,
			"status", status, "err", a.Error, "retry", a.Next != nil)
	}
	if a.Delivered || a.Next == nil {
		ev = s.event(nil, doorman.ActionAlertDelivered, d.ID, Meta{}, now)
		if !a.Delivered {
			ev.Action, ev.Reason = doorman.ActionAlertUndelivered, a.Error
		}
		ev.AccountID = d.AccountID
		ev.Details = fmt.Sprintf("alert=%s channel=%s event=%s attempts=%d", d.AlertID, d.Channel, d.Kind, d.Attempts+1)
		if status != 0 {
			ev.Details += fmt.Sprintf(" status=%d", status)
		}
	}
	// A fresh context: a send cut short by shutdown is still recorded.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if err := s.Store.RecordDeliveryAttempt(rctx, d.ID, a, ev); err != nil {
		s.Log.Error("record delivery attempt", "delivery_id", d.ID, "err", err)
	}
}

// send makes one attempt of d. final marks an error no retry can mend.
func (s *Service) send(ctx context.Context, d *doorman.Delivery) (status int, final bool, err error) {
	switch d.Channel {
	case doorman.ChannelEmail:
		if s.Alerts.Mailer == nil {
			return 0, true, fmt.Errorf("email is not configured on this server")
		}
		var m doorman.Email
		var err error
		if d.Kind == doorman.EventPasswordResetRequested {
			m, err = resetEmail(d, s.Alerts.LinkBase, s.now())
		} else {
			m, err = alertEmail(d, s.Alerts.LinkBase)
		}
		if err != nil {
			return 0, true, err
		}
		return 0, false, s.Alerts.Mailer.Send(ctx, m)
	case doorman.ChannelWebhook:
		if d.Secret == "" {
			return 0, true, fmt.Errorf("the webhook was deleted or disabled")
		}
		if s.Alerts.Webhooks == nil {
			return 0, true, fmt.Errorf("webhooks are not configured on this server")
		}
		secret, err := s.open(d.Secret)
		if err != nil {
			return 0, false, err
		}
		status, err := s.Alerts.Webhooks.Post(ctx, doorman.WebhookRequest{URL: d.Target, Event: d.Kind, DeliveryID: d.ID,
			Body: d.Payload, Secret: secret, At: s.now()})
		return status, false, err
	}
	return 0, true, fmt.Errorf("unknown channel %q", d.Channel)
}

// cut keeps at most n bytes of an error's text, on a rune boundary and
// without bytes a store refuses: the text may quote what a receiver sent.
func cut(s string, n int) string { return doorman.CleanText(s, n) }

// alertEmail writes the message of an email delivery: what signed in, where
// from, when, and what to do, with the "This wasn't me" link.
func alertEmail(d *doorman.Delivery, linkBase string) (doorman.Email, error) {
	var ev doorman.AlertEvent
	if err := json.Unmarshal(d.Payload, &ev); err != nil || ev.Session == nil {
		return doorman.Email{}, fmt.Errorf("alert %s: unreadable payload", d.AlertID)
	}
	if d.Kind == doorman.EventPasswordChanged || d.Kind == doorman.EventTwoFactorDisabled {
		return accountChangeEmail(d, &ev), nil
	}
	if d.LinkToken == "" {
		return doorman.Email{}, fmt.Errorf("alert %s: the link is gone", d.AlertID)
	}
	sess := ev.Session
	link := strings.TrimRight(linkBase, "/") + "/alerts/" + d.LinkToken
	var b strings.Builder
	fmt.Fprintf(&b, "Someone signed in to your Doorman account %s from a device or place you have not used before.\n\n", d.Target)
	fmt.Fprintf(&b, "Device:   %s\n", sess.Label)
	fmt.Fprintf(&b, "Location: %s\n", sess.Location.Label)
	fmt.Fprintf(&b, "IP:       %s\n", orDash(sess.IP))
	fmt.Fprintf(&b, "Time:     %s\n", sess.CreatedAt.UTC().Format("Monday, 2 January 2006 at 15:04 UTC"))
	if level, reasons := sess.RiskWords(); level != "" {
		// The concern and its reasons in the words of the session's page.
		fmt.Fprintf(&b, "Concern:  %s\n", level)
		for _, r := range reasons {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	b.WriteString("\n")
	b.WriteString("If this was you, you can ignore this email.\n\n")
	b.WriteString("If this wasn't you, open this link to sign that session out:\n\n")
	fmt.Fprintf(&b, "    %s\n\n", link)
	fmt.Fprintf(&b, "Then change your password (Settings > Security > Password). The link works once and expires in %d days.\n",
		int(doorman.AlertLinkTTL/(24*time.Hour)))
	return doorman.Email{To: d.Target, Subject: "New sign-in to your account: " + sess.Label + ", " + sess.Location.Label,
		Text: b.String()}, nil
}

// accountChangeEmail writes the message of a password change or of
// two-factor authentication turned off: what changed, from where and when,
// and whom to turn to if it was not the person.
func accountChangeEmail(d *doorman.Delivery, ev *doorman.AlertEvent) doorman.Email {
	what, subject := "The password of your Doorman account %s was changed.", "Your Doorman password was changed"
	if d.Kind == doorman.EventTwoFactorDisabled {
		what, subject = "Two-factor authentication was turned off for your Doorman account %s.",
			"Two-factor authentication was turned off for your Doorman account"
	}
	sess := ev.Session
	var b strings.Builder
	fmt.Fprintf(&b, what+"\n\n", d.Target)
	fmt.Fprintf(&b, "Device:   %s\n", sess.Label)
	fmt.Fprintf(&b, "Location: %s\n", sess.Location.Label)
	fmt.Fprintf(&b, "IP:       %s\n", orDash(sess.IP))
	fmt.Fprintf(&b, "Time:     %s\n\n", ev.CreatedAt.UTC().Format("Monday, 2 January 2006 at 15:04 UTC"))
	b.WriteString("If this was you, you can ignore this email.\n\n")
	b.WriteString("If this wasn't you, someone else can sign in as you. Tell an administrator of your account now:\n" +
		"they can sign out every session of yours (Team > Sessions > Force Sign Out) before you choose a new password.\n")
	return doorman.Email{To: d.Target, Subject: subject, Text: b.String()}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RunAlerts delivers due alerts every interval, and at once when a sign-in
// creates one, until ctx ends.
func (s *Service) RunAlerts(ctx context.Context, interval time.Duration) {
	kick := s.alertKick.c()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for {
			n, err := s.DeliverAlerts(ctx)
			if err != nil && ctx.Err() == nil {
				s.logStoreFailure("deliver alerts failed", err)
			}
			if err != nil || n < alertBatch {
				break // a full batch means more may be due
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-kick:
		}
	}
}

// errAlertLink is the one answer for a link that is unknown, used or
// expired: the page says the same in each case.
var errAlertLink = &doorman.Error{Code: doorman.ENOTFOUND, Message: "This link was already used or has expired."}

// AlertLink returns the sign-in event of a "This wasn't me" link, for the
// page that asks to confirm. It changes nothing. ENOTFOUND (one message for
// all) when the token is unknown, used or expired.
func (s *Service) AlertLink(ctx context.Context, token string) (*doorman.Alert, *doorman.AlertEvent, error) {
	if !doorman.TokenWellFormed(token) {
		return nil, nil, errAlertLink
	}
	hash := doorman.HashToken(token)
	a, err := s.Store.FindAlertByTokenHash(ctx, hash)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, nil, errAlertLink
	}
	if err != nil {
		return nil, nil, unavailable("alert link", err)
	}
	if !doorman.HashesEqual(a.TokenHash, hash) || a.UsedAt != nil || !s.now().Before(a.ExpiresAt) || a.Kind != doorman.EventSuspiciousSignIn {
		return nil, nil, errAlertLink
	}
	var ev doorman.AlertEvent
	if err := json.Unmarshal(a.Payload, &ev); err != nil || ev.Session == nil || ev.User == nil {
		return nil, nil, fmt.Errorf("alert %s: unreadable payload", a.ID)
	}
	return a, &ev, nil
}

// ReportAlert is the "This wasn't me" button: it uses the link (once),
// signs the alert's session out with ReasonReported and audits it as
// session_reported, in one transaction. The person need not be signed in:
// holding the link proves they read the user's email. ENOTFOUND when the
// link is unknown, used or expired.
func (s *Service) ReportAlert(ctx context.Context, token string, m Meta) (*doorman.AlertEvent, error) {
	a, info, err := s.AlertLink(ctx, token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ev := s.event(nil, doorman.ActionSessionReported, a.SessionID, m, now)
	ev.AccountID, ev.ActorID, ev.Actor = a.AccountID, info.User.ID, info.User.Email
	ev.Reason = doorman.ReasonReported
	ev.Details = "alert=" + a.ID + " via=email_link"
	r := doorman.Revocation{At: now, By: a.UserID, Reason: doorman.ReasonReported}
	if err := s.Store.UseAlert(ctx, a.AccountID, a.ID, r, ev); err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return nil, errAlertLink // used by a second click meanwhile
		}
		return nil, unavailable("report alert", err)
	}
	s.Log.Warn("session reported as not the user's", "user_id", a.UserID, "session_id", a.SessionID, "alert_id", a.ID)
	return info, nil
}

// AlertRetention is how long alerts and their deliveries are kept once no
// delivery waits: long after their links expire, for the deliveries list and
// investigations. Their audit events follow the audit log's retention.
const AlertRetention = 90 * 24 * time.Hour

// PurgeAlerts deletes, in batches of batch, alerts older than
// AlertRetention with no pending delivery, and returns how many it deleted.
func (s *Service) PurgeAlerts(ctx context.Context, batch int) (int, error) {
	before := s.now().Add(-AlertRetention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeAlerts(ctx, before, limit) })
}
