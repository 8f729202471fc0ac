package http

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// readyTimeout bounds the store check of /readyz, so that a hung store
// fails readiness instead of hanging the probe; the store's own deadline
// (app.WithDeadline, --store-timeout) is usually shorter and applies first.
const readyTimeout = 2 * time.Second

type statusResponse struct {
	Status string `json:"status"`
}

// healthz is GET /healthz: the process answers.
func (s *Server) healthz(w *request, r *http.Request) error {
	writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
	return nil
}

// readyz is GET /readyz: 200 when the store answers, 503 when it does not,
// so that a load balancer sends traffic elsewhere.
func (s *Server) readyz(w *request, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.svc.Store.Ping(ctx); err != nil {
		level := slog.LevelWarn
		if app.IsUnavailable(err) {
			level = slog.LevelDebug // the store's OutageLog has it
		}
		s.log.LogAttrs(r.Context(), level, "readiness check failed",
			slog.String("request_id", w.id), slog.Any("err", err))
		s.writeErrorResponse(w, http.StatusServiceUnavailable, doorman.EUNAVAILABLE, msgUnavailable, "")
		return nil
	}
	writeJSON(w, http.StatusOK, statusResponse{Status: "ready"})
	return nil
}
