package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"time"

	"github.com/doorman/doorman"
)

// Forgot password. A request answers the same, and as fast, whether or not
// the email has a user: RequestPasswordReset checks only the address's form
// before it returns, and the rest (the lookup, the limits, the link and its
// email) happens in the background, where no requester can time it. The
// email itself leaves through the alerts' outbox (RunAlerts), so SMTP's
// latency and failures never reach the requester either.

// resetWorkers bounds the reset requests handled at once in the background;
// past it a request is dropped (and logged), which a flood of requests
// deserves and a person retrying survives.
const resetWorkers = 16

// resetWorkTimeout bounds one background reset request.
const resetWorkTimeout = 30 * time.Second

// background runs the Service's fire-and-forget work (reset requests) and
// lets shutdown wait for it.
type background struct {
	once  sync.Once
	slots chan struct{}
	wg    sync.WaitGroup
}

func (b *background) init() { b.once.Do(func() { b.slots = make(chan struct{}, resetWorkers) }) }

// ErrResetLink is the one answer for a reset link that is unknown, used,
// expired or of a disabled user: the page says the same in each case, and
// offers a new link.
var ErrResetLink = &doorman.Error{Code: doorman.EINVALID,
	Message: "This password reset link was already used or has expired. Ask for a new one."}

// EmailConfigured reports whether this server sends email: without it a
// reset link cannot reach anyone, and the pages say whom to ask instead.
func (s *Service) EmailConfigured() bool { return s.Alerts.Mailer != nil }

// RequestPasswordReset is "Forgot password?": it checks that email is an
// address (EINVALID otherwise, the only error) and returns; in the
// background SendPasswordReset then mails a reset link if the email has a
// user and the limits allow. The caller answers the same in every case.
func (s *Service) RequestPasswordReset(email string, m Meta) error {
	email = doorman.NormalizeEmail(email)
	if err := doorman.ValidateEmail(email); err != nil {
		return err
	}
	s.bg.init()
	select {
	case s.bg.slots <- struct{}{}:
	default:
		s.Log.Warn("password reset request dropped: too many at once", "ip", m.IP)
		return nil
	}
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		defer func() { <-s.bg.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), resetWorkTimeout)
		defer cancel()
		if err := s.SendPasswordReset(ctx, email, m); err != nil {
			s.logStoreFailure("password reset request failed", err, "ip", m.IP)
		}
	}()
	return nil
}

// WaitBackground waits until the background work started so far (reset
// requests) is done: shutdown calls it before closing the store.
func (s *Service) WaitBackground() { s.bg.wg.Wait() }

// SendPasswordReset does the work of RequestPasswordReset at once: it counts
// the request against the limits (ResetRequestsPerEmail and
// ResetRequestsPerIP per PasswordResetWindow, kept by the store so that
// every node counts together), and, within them, queues for each active
// user with that email (one per account) a reset link by email, audited as
// password_reset_requested. Unknown emails, disabled users, requests over a
// limit and servers without email send nothing, and return nil.
func (s *Service) SendPasswordReset(ctx context.Context, email string, m Meta) error {
	email = doorman.NormalizeEmail(email)
	if err := doorman.ValidateEmail(email); err != nil {
		return err
	}
	now := s.now()
	ip := doorman.CleanText(m.IP, 100)
	byEmail, byIP, err := s.Store.NotePasswordResetRequest(ctx, doorman.PasswordResetRequest{At: now, EmailHash: doorman.HashEmail(email), IP: ip},
		now.Add(-doorman.PasswordResetWindow))
	if err != nil {
		return unavailable("password reset request", err)
	}
	if byEmail > doorman.ResetRequestsPerEmail || byIP > doorman.ResetRequestsPerIP {
		s.Log.Warn("password reset request over the limit: nothing sent", "ip", ip,
			"requests_for_email", byEmail, "requests_from_ip", byIP)
		return nil
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{Email: email, Limit: maxAccountsPerEmail})
	if err != nil {
		return unavailable("password reset request", err)
	}
	for _, u := range users {
		if u.Disabled {
			continue
		}
		if s.Alerts.Mailer == nil {
			s.Log.Info("password reset asked for, but this server sends no email: an operator can hand over a link from doorman user reset-link",
				"user_id", u.ID)
			continue
		}
		if err := s.queueReset(ctx, u, m, now); err != nil {
			return err
		}
	}
	return nil
}

// resetMail is the payload of a reset link's alert: what its email says.
type resetMail struct {
	AccountName string    `json:"account_name"`
	Email       string    `json:"email"`
	Name        string    `json:"name,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// queueReset stores a reset link for u with its email in the outbox and the
// audit event, in one transaction, and wakes the delivery loop.
func (s *Service) queueReset(ctx context.Context, u *doorman.User, m Meta, now time.Time) error {
	acct, err := s.Store.FindAccountByID(ctx, u.AccountID)
	if err != nil {
		return unavailable("password reset request", err)
	}
	token, hash := doorman.NewToken()
	r := &doorman.PasswordReset{ID: doorman.NewID(doorman.PrefixPasswordReset, now), AccountID: u.AccountID, UserID: u.ID,
		TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(doorman.PasswordResetTTL)}
	payload, err := json.Marshal(resetMail{AccountName: acct.Name, Email: u.Email, Name: u.Name, ExpiresAt: r.ExpiresAt})
	if err != nil {
		return err
	}
	// The alert carries no token of its own (its link is the reset's) and
	// expires at once: nothing but its email uses it.
	a := &doorman.Alert{ID: doorman.NewID(doorman.PrefixAlert, now), AccountID: u.AccountID, UserID: u.ID,
		Kind: doorman.EventPasswordResetRequested, Payload: payload, ExpiresAt: now, CreatedAt: now}
	d := &doorman.Delivery{ID: doorman.NewID(doorman.PrefixDelivery, now), Channel: doorman.ChannelEmail, Target: u.Email,
		Status: doorman.DeliveryPending, NextAttemptAt: now, CreatedAt: now, LinkToken: token}
	ev := s.event(nil, doorman.ActionPasswordResetRequested, u.Email, m, now)
	ev.AccountID = u.AccountID
	ev.Details = "reset=" + r.ID + " alert=" + a.ID + " expires_at=" + r.ExpiresAt.Format(time.RFC3339)
	if err := s.Store.CreatePasswordReset(ctx, r, a, []*doorman.Delivery{d}, ev); err != nil {
		return unavailable("password reset request", err)
	}
	s.kickAlerts()
	return nil
}

// PasswordResetLink checks a reset link for its page, changing nothing (a
// mail scanner opening it must not use it up). It returns the email of the
// user it resets. EINVALID (one message for all) when the token is unknown,
// used or expired, or the user is disabled.
func (s *Service) PasswordResetLink(ctx context.Context, token string) (string, error) {
	_, u, err := s.resetLink(ctx, token)
	if err != nil {
		return "", err
	}
	return u.Email, nil
}

func (s *Service) resetLink(ctx context.Context, token string) (*doorman.PasswordReset, *doorman.User, error) {
	if !doorman.TokenWellFormed(token) {
		return nil, nil, ErrResetLink
	}
	hash := doorman.HashToken(token)
	r, err := s.Store.FindPasswordResetByTokenHash(ctx, hash)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, nil, ErrResetLink
	}
	if err != nil {
		return nil, nil, unavailable("password reset link", err)
	}
	if !doorman.HashesEqual(r.TokenHash, hash) || r.UsedAt != nil || !s.now().Before(r.ExpiresAt) {
		return nil, nil, ErrResetLink
	}
	u, err := s.Store.FindUserByID(ctx, r.AccountID, r.UserID)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return nil, nil, ErrResetLink
	}
	if err != nil {
		return nil, nil, unavailable("password reset link", err)
	}
	if u.Disabled {
		return nil, nil, ErrResetLink
	}
	return r, u, nil
}

// ResetPassword sets a new password with a reset link, once: in one
// transaction the password changes, every session of the user ends, every
// other reset link of the user stops working, and the reset is audited as
// password_reset with the user as actor. Two-factor authentication stays as
// it was: the next sign-in still asks for the code. The user is then told by
// email (and the account's webhook) that the password changed. EINVALID
// when the link is unknown, used or expired, or the password breaks the
// account's password rules (the rule's message).
func (s *Service) ResetPassword(ctx context.Context, token, password string, m Meta) error {
	r, u, err := s.resetLink(ctx, token)
	if err != nil {
		return err
	}
	if err := doorman.ValidatePassword(password); err != nil {
		return err
	}
	hash, err := s.Passwords.Hash(password)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	ev := s.event(nil, doorman.ActionPasswordReset, u.Email, m, now)
	ev.AccountID, ev.ActorID, ev.Actor = u.AccountID, u.ID, u.Email
	ev.Reason = doorman.ReasonPasswordReset
	ev.Details = "reset=" + r.ID + " via=email_link"
	rev := doorman.Revocation{At: now, By: u.ID, Reason: doorman.ReasonPasswordReset}
	n, err := s.Store.UsePasswordReset(ctx, r.AccountID, r.ID, hash, rev, ev)
	if doorman.ErrorCode(err) == doorman.ENOTFOUND {
		return ErrResetLink // used by another request meanwhile, or expired since
	}
	if err != nil {
		return unavailable("reset password", err)
	}
	s.Log.Info("password reset with an email link", "user_id", u.ID, "sessions_ended", n)
	// Tell the person (OWASP ASVS 2.5.5), from where the link was used.
	if acct, err := s.Store.FindAccountByID(ctx, u.AccountID); err != nil {
		s.Log.Error("password change alert not created", "user_id", u.ID, "err", err)
	} else {
		ua := m.userAgent()
		sess := &doorman.Session{UserID: u.ID, AccountID: u.AccountID, IP: m.IP, UserAgent: ua, CreatedAt: now,
			Device: s.detect(ua, m.Hints), Location: s.locate(m.IP)}
		s.alertAccountChange(ctx, &doorman.Principal{Session: sess, User: u, Account: acct}, doorman.EventPasswordChanged)
	}
	return nil
}

// resetEmail writes a reset link's message, in plain text and HTML. A link
// that expired while its email waited for a retry is not sent (an error no
// retry mends): it would only lead to "this link has expired".
func resetEmail(d *doorman.Delivery, linkBase string, now time.Time) (doorman.Email, error) {
	var p resetMail
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return doorman.Email{}, fmt.Errorf("alert %s: unreadable payload", d.AlertID)
	}
	if d.LinkToken == "" {
		return doorman.Email{}, fmt.Errorf("alert %s: the link is gone", d.AlertID)
	}
	if !now.Before(p.ExpiresAt) {
		return doorman.Email{}, fmt.Errorf("alert %s: the reset link expired before it could be sent", d.AlertID)
	}
	link := strings.TrimRight(linkBase, "/") + "/password/reset/" + d.LinkToken
	minutes := int(doorman.PasswordResetTTL / time.Minute)
	var b strings.Builder
	fmt.Fprintf(&b, "Someone asked to reset the password of %s in the Doorman account %s.\n\n", p.Email, p.AccountName)
	fmt.Fprintf(&b, "To choose a new password, open this link within %d minutes:\n\n", minutes)
	fmt.Fprintf(&b, "    %s\n\n", link)
	b.WriteString("The link works once. Setting a new password signs you out on every device.\n\n")
	b.WriteString("If you did not ask for this, ignore this email: your password stays as it is.\n")
	var h bytes.Buffer
	if err := resetHTML.Execute(&h, map[string]any{"Email": p.Email, "Account": p.AccountName, "Link": link, "Minutes": minutes}); err != nil {
		return doorman.Email{}, err
	}
	return doorman.Email{To: d.Target, Subject: "Reset your Doorman password for " + p.AccountName, Text: b.String(), HTML: h.String()}, nil
}

// resetHTML is the HTML part of a reset email: the same words, and the link
// as a button. Inline styles only, which is what mail clients keep.
var resetHTML = template.Must(template.New("reset").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Reset your Doorman password</title></head>
<body style="font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1f2328; line-height: 1.5">
<p>Someone asked to reset the password of <strong>{{.Email}}</strong> in the Doorman account <strong>{{.Account}}</strong>.</p>
<p>To choose a new password, open this link within {{.Minutes}} minutes:</p>
<p><a href="{{.Link}}" rel="noreferrer" style="display: inline-block; padding: 8px 16px; background: #1f6feb; color: #ffffff; border-radius: 6px; text-decoration: none">Choose a new password</a></p>
<p style="font-size: 0.9em; color: #59636e">Or copy this address into your browser: {{.Link}}</p>
<p>The link works once. Setting a new password signs you out on every device.</p>
<p>If you did not ask for this, ignore this email: your password stays as it is.</p>
</body></html>
`))

// OperatorPasswordResetLink makes a reset link for the user with email in
// the named account, for an operator to hand over when the server sends no
// email (or the person cannot read it): no email is queued, and the link
// otherwise works as an emailed one (once, for PasswordResetTTL). It is
// audited as password_reset_requested by the operator. It returns the
// link's token and the user. ENOTFOUND for an unknown account or user,
// EINVALID for a disabled user.
func (s *Service) OperatorPasswordResetLink(ctx context.Context, accountName, email string) (string, *doorman.User, error) {
	if err := doorman.ValidateTexts("account name", accountName, "email", email); err != nil {
		return "", nil, err
	}
	acct, err := s.Store.FindAccountByName(ctx, accountName)
	if err != nil {
		return "", nil, err
	}
	users, _, err := s.Store.FindUsers(ctx, doorman.UserFilter{AccountID: acct.ID, Email: doorman.NormalizeEmail(email), Limit: 1})
	if err != nil {
		return "", nil, err
	}
	if len(users) == 0 {
		return "", nil, doorman.Errorf(doorman.ENOTFOUND, "no user has email %s in account %s", doorman.NormalizeEmail(email), acct.Name)
	}
	u := users[0]
	if u.Disabled {
		return "", nil, doorman.Errorf(doorman.EINVALID, "%s is disabled: enable the user first", u.Email)
	}
	now := s.now()
	token, hash := doorman.NewToken()
	r := &doorman.PasswordReset{ID: doorman.NewID(doorman.PrefixPasswordReset, now), AccountID: acct.ID, UserID: u.ID,
		TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(doorman.PasswordResetTTL)}
	ev := s.event(nil, doorman.ActionPasswordResetRequested, u.Email, Meta{}, now)
	ev.AccountID = acct.ID
	ev.Details = "reset=" + r.ID + " via=operator expires_at=" + r.ExpiresAt.Format(time.RFC3339)
	if err := s.Store.CreatePasswordReset(ctx, r, nil, nil, ev); err != nil {
		return "", nil, err
	}
	return token, u, nil
}
