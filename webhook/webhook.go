// Package webhook posts Doorman's events to an account's webhook: JSON,
// signed with HMAC-SHA256 so that the receiver knows Doorman sent it and
// when.
//
// Each request carries
//
//	Content-Type: application/json
//	X-Doorman-Event: session.suspicious_sign_in
//	X-Doorman-Delivery: dlv_…   (the same on every retry of one delivery)
//	X-Doorman-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// and a 2xx answer means delivered; anything else (a redirect too) is
// retried.
//
// The Sender never connects to a link-local address (169.254.0.0/16, where
// clouds serve instance metadata and credentials, and fe80::/10), nor to an
// unspecified or multicast one, whatever a webhook's host name resolves to
// at the time: the check is made on the address dialled.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/doorman/doorman"
)

// DefaultTimeout bounds one POST, answer included.
const DefaultTimeout = 10 * time.Second

// Sender is a doorman.WebhookSender over net/http.
type Sender struct {
	// Client sends the requests; nil uses one with DefaultTimeout that
	// follows no redirect.
	Client *http.Client
}

var _ doorman.WebhookSender = (*Sender)(nil)

// New returns a Sender with its own client: DefaultTimeout per request, no
// redirects (a webhook that moved must be updated, not followed), no proxy
// from the environment, and no connection to a forbidden address (see
// doorman.ForbiddenWebhookAddr).
func New() *Sender {
	d := &net.Dialer{Timeout: DefaultTimeout, Control: refuseForbidden}
	t := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true,
		MaxIdleConns: 10, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: DefaultTimeout}
	return &Sender{Client: &http.Client{Timeout: DefaultTimeout, Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// ErrForbiddenAddress is the error of a webhook whose host is, or resolves
// to, an address the Sender never connects to.
var ErrForbiddenAddress = errors.New("the webhook's address is link-local, multicast or unspecified: Doorman does not connect there")

// refuseForbidden is the dialer's Control: it runs on the address about to
// be connected, after name resolution, so a name that resolves to a
// forbidden address is refused too.
func refuseForbidden(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w (%s)", ErrForbiddenAddress, address)
	}
	if doorman.ForbiddenWebhookAddr(ap.Addr()) {
		return ErrForbiddenAddress
	}
	return nil
}

// Post sends r and returns the answer's status (0 when none came) and an
// error unless it was 2xx.
func (s *Sender) Post(ctx context.Context, r doorman.WebhookRequest) (int, error) {
	client := s.Client
	if client == nil {
		client = New().Client
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	// A forbidden address in an unusual spelling (0xa9fea9fe) is refused
	// here: some resolvers would read it as the address, others would look
	// it up as a name. An address written the usual way is dialled as
	// written, and the dialer's Control judges it as it judges the address
	// any name resolves to.
	if a, canonical, ok := doorman.WebhookHostAddr(req.URL.Hostname()); ok && !canonical && doorman.ForbiddenWebhookAddr(a) {
		return 0, ErrForbiddenAddress
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Doorman-Webhook/1")
	h.Set("X-Doorman-Event", r.Event)
	h.Set("X-Doorman-Delivery", r.DeliveryID)
	h.Set("X-Doorman-Signature", Sign(r.Secret, r.At, r.Body))
	resp, err := client.Do(req)
	if err != nil {
		// Without the URL, which may carry a token of the receiver's: the
		// error is logged and shown in the deliveries list.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Sign returns the X-Doorman-Signature value of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrSignature = errors.New("webhook: signature does not match")
	ErrStale     = errors.New("webhook: signature timestamp outside the tolerance")
)

// Verify checks a received X-Doorman-Signature header against body, as a
// receiver should: the HMAC compared in constant time, and the timestamp
// within tolerance of now, so that a captured request cannot be replayed
// later.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrSignature
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, ts, body))) {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
