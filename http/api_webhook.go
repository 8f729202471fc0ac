package http

import (
	"net/http"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// webhookJSON is the account's webhook as the API shows it; never its
// secret, which only the answer that draws it holds.
type webhookJSON struct {
	URL       string    `json:"url"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newWebhookJSON(w *doorman.Webhook) webhookJSON {
	return webhookJSON{URL: w.URL, Enabled: w.Enabled, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
}

type webhookResponse struct {
	Webhook webhookJSON `json:"webhook"`
	// Secret is set when this request drew one: a new webhook, or
	// rotate_secret. It is not shown again.
	Secret string `json:"secret,omitempty"`
}

// getWebhook is GET /api/v1/webhook.
func (s *Server) getWebhook(w *request, r *http.Request) error {
	wh, err := s.svc.Webhook(r.Context(), w.principal)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &webhookResponse{Webhook: newWebhookJSON(wh)})
	return nil
}

type putWebhookRequest struct {
	URL string `json:"url"`
	// Enabled defaults to true.
	Enabled      *bool `json:"enabled"`
	RotateSecret bool  `json:"rotate_secret"`
	passwordOnly       // re-authentication, for a session signed in over 15 minutes ago
}

// putWebhook is PUT /api/v1/webhook: create (201, with the secret) or
// change (200; the secret only with rotate_secret).
func (s *Server) putWebhook(w *request, r *http.Request) error {
	var req putWebhookRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	enabled := req.Enabled == nil || *req.Enabled
	_, err := s.svc.Webhook(r.Context(), w.principal)
	created := doorman.ErrorCode(err) == doorman.ENOTFOUND
	if err != nil && !created {
		return err
	}
	wh, secret, err := s.svc.SetWebhook(r.Context(), w.principal,
		app.WebhookUpdate{URL: req.URL, Enabled: enabled, RotateSecret: req.RotateSecret}, s.proofMeta(w, r, req.Password, req.TOTPCode))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, &webhookResponse{Webhook: newWebhookJSON(wh), Secret: secret})
	return nil
}

// deleteWebhook is DELETE /api/v1/webhook → 204.
func (s *Server) deleteWebhook(w *request, r *http.Request) error {
	var req passwordOnly
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	if err := s.svc.DeleteWebhook(r.Context(), w.principal, s.proofMeta(w, r, req.Password, req.TOTPCode)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deliveryJSON is one delivery of an event to the webhook.
type deliveryJSON struct {
	ID             string     `json:"id"`
	Event          string     `json:"event"`
	AlertID        string     `json:"alert_id"`
	URL            string     `json:"url"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastStatusCode int        `json:"last_status_code"` // 0: no HTTP answer
	LastError      string     `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"` // null unless pending
	DeliveredAt    *time.Time `json:"delivered_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func newDeliveryJSON(d *doorman.Delivery) deliveryJSON {
	v := deliveryJSON{ID: d.ID, Event: d.Kind, AlertID: d.AlertID, URL: d.Target, Status: d.Status, Attempts: d.Attempts,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, CreatedAt: d.CreatedAt.UTC()}
	if d.Status == doorman.DeliveryPending {
		t := d.NextAttemptAt.UTC()
		v.NextAttemptAt = &t
	}
	if d.DeliveredAt != nil {
		t := d.DeliveredAt.UTC()
		v.DeliveredAt = &t
	}
	return v
}

type deliveryListResponse struct {
	Deliveries []deliveryJSON `json:"deliveries"`
}

// webhookDeliveries is GET /api/v1/webhook/deliveries: the latest 50,
// newest first.
func (s *Server) webhookDeliveries(w *request, r *http.Request) error {
	ds, err := s.svc.WebhookDeliveries(r.Context(), w.principal)
	if err != nil {
		return err
	}
	out := deliveryListResponse{Deliveries: make([]deliveryJSON, 0, len(ds))}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, newDeliveryJSON(d))
	}
	writeJSON(w, http.StatusOK, &out)
	return nil
}

type testWebhookResponse struct {
	Delivery deliveryJSON `json:"delivery"`
}

// testWebhook is POST /api/v1/webhook/test: queue a webhook.test event →
// 202 with its delivery.
func (s *Server) testWebhook(w *request, r *http.Request) error {
	d, err := s.svc.TestWebhook(r.Context(), w.principal, s.meta(w, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, &testWebhookResponse{Delivery: newDeliveryJSON(d)})
	return nil
}
