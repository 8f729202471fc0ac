package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	pages "github.com/doorman/doorman/http/html"
)

// webhookPage is GET /admin/settings/webhook (Team → Webhook).
func (s *Server) webhookPage(w *request, r *http.Request) error {
	p := &pages.WebhookPage{Layout: s.layout(w, r, "Webhook")}
	return s.renderWebhook(w, r, http.StatusOK, p, true)
}

// renderWebhook fills the page's webhook (when fill) and deliveries, then
// renders it.
func (s *Server) renderWebhook(w *request, r *http.Request, status int, p *pages.WebhookPage, fill bool) error {
	wh, err := s.svc.Webhook(r.Context(), w.principal)
	switch {
	case err == nil:
		p.Exists = true
		if fill {
			p.URL, p.Enabled = wh.URL, wh.Enabled
		}
	case doorman.ErrorCode(err) != doorman.ENOTFOUND:
		return err
	}
	ds, err := s.svc.WebhookDeliveries(r.Context(), w.principal)
	if err != nil {
		return err
	}
	now := s.now()
	for _, d := range ds {
		row := pages.WebhookDelivery{ID: d.ID, Event: d.Kind, Status: d.Status, Attempts: d.Attempts}
		switch {
		case d.LastStatusCode != 0:
			row.Result = "HTTP " + strconv.Itoa(d.LastStatusCode)
		case d.LastError != "":
			row.Result = d.LastError
		case d.Attempts == 0:
			row.Result = "Not sent yet"
		}
		switch d.Status {
		case doorman.DeliveryPending:
			row.When, row.WhenISO = "Next attempt "+d.NextAttemptAt.UTC().Format("2 Jan 15:04 UTC"), d.NextAttemptAt.UTC().Format("2006-01-02T15:04:05Z")
		case doorman.DeliveryDelivered:
			if d.DeliveredAt != nil {
				ago := doorman.RelativeTime(now, *d.DeliveredAt)
				if now.Sub(*d.DeliveredAt) < doorman.ActiveNowWindow {
					ago = "just now"
				}
				row.When, row.WhenISO = "Delivered "+ago, d.DeliveredAt.UTC().Format("2006-01-02T15:04:05Z")
			}
		default:
			row.When, row.WhenISO = "Gave up", d.NextAttemptAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		p.Deliveries = append(p.Deliveries, row)
	}
	s.render(w, r, status, p)
	return nil
}

// webhookSubmit is POST /admin/settings/webhook: create or change it. A
// new secret is shown on the answer, once.
func (s *Server) webhookSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	v := r.PostForm
	u := app.WebhookUpdate{URL: strings.TrimSpace(v.Get("url")), Enabled: v.Get("enabled") != "",
		RotateSecret: v.Get("rotate_secret") != ""}
	_, secret, err := s.svc.SetWebhook(r.Context(), w.principal, u, s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathWebhook) {
		return nil
	}
	if doorman.ErrorCode(err) == doorman.EINVALID {
		p := &pages.WebhookPage{Layout: s.layout(w, r, "Webhook"), URL: u.URL, Enabled: u.Enabled,
			Error: doorman.ErrorMessage(err) + ". Nothing was saved.", ErrorField: "url"}
		return s.renderWebhook(w, r, http.StatusBadRequest, p, false)
	}
	if err != nil {
		return err
	}
	if secret == "" {
		s.setFlash(w, pages.FlashSuccess, "Webhook saved.")
		s.redirect(w, r, pages.PathWebhook)
		return nil
	}
	p := &pages.WebhookPage{Layout: s.layout(w, r, "Webhook"), Secret: secret}
	return s.renderWebhook(w, r, http.StatusOK, p, true)
}

// webhookTestSubmit is POST /admin/settings/webhook/test: queue a
// webhook.test event.
func (s *Server) webhookTestSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	if _, err := s.svc.TestWebhook(r.Context(), w.principal, s.meta(w, r)); err != nil {
		return err
	}
	s.setFlash(w, pages.FlashSuccess, "Test event queued. Its delivery shows below in a few seconds; reload the page.")
	s.redirect(w, r, pages.PathWebhook)
	return nil
}

// webhookDeletePage is GET /admin/settings/webhook/delete: the
// confirmation.
func (s *Server) webhookDeletePage(w *request, r *http.Request) error {
	wh, err := s.svc.Webhook(r.Context(), w.principal)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, &pages.WebhookDeletePage{Layout: s.layout(w, r, "Delete Webhook?"), URL: wh.URL})
	return nil
}

// webhookDeleteSubmit is POST /admin/settings/webhook/delete.
func (s *Server) webhookDeleteSubmit(w *request, r *http.Request) error {
	if err := s.checkForm(w, r); err != nil {
		return err
	}
	err := s.svc.DeleteWebhook(r.Context(), w.principal, s.meta(w, r))
	if s.reauthFirst(w, r, err, pages.PathWebhook+"/delete") {
		return nil
	}
	if err != nil {
		return err
	}
	s.setFlash(w, pages.FlashSuccess, "Webhook deleted. Alerts are no longer posted to it.")
	s.redirect(w, r, pages.PathWebhook)
	return nil
}
