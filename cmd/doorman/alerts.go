package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/smtp"
	"github.com/doorman/doorman/webhook"
)

// alertFlags are the serve flags of sign-in alerts (each also read from
// DOORMAN_SMTP_ADDR and so on).
type alertFlags struct {
	smtpAddr, smtpFrom, smtpUsername, smtpPassword string
}

func addAlertFlags(fs *flag.FlagSet) *alertFlags {
	var c alertFlags
	fs.StringVar(&c.smtpAddr, "smtp-addr", "", "SMTP server (host:port) for sign-in alert and password reset emails; without it none are sent (webhooks still are), and operators hand over reset links from doorman user reset-link")
	fs.StringVar(&c.smtpFrom, "smtp-from", "", "sender of sign-in alert emails, e.g. \"Doorman <doorman@example.com>\" (required with --smtp-addr)")
	fs.StringVar(&c.smtpUsername, "smtp-username", "", "SMTP user name (PLAIN auth, only over STARTTLS or to localhost)")
	fs.StringVar(&c.smtpPassword, "smtp-password", "", "SMTP password (prefer DOORMAN_SMTP_PASSWORD: flags show in the process list)")
	return &c
}

// wire sets svc's alert ports: SMTP when configured, webhooks always, and
// the links' base, the server's public URL.
func (c *alertFlags) wire(svc *app.Service, base *url.URL, log *slog.Logger) error {
	svc.Alerts = doorman.AlertConfig{Webhooks: webhook.New(), LinkBase: strings.TrimRight(base.String(), "/")}
	if c.smtpAddr == "" {
		if c.smtpFrom != "" || c.smtpUsername != "" {
			return fmt.Errorf("--smtp-from and --smtp-username need --smtp-addr")
		}
		log.Info("sign-in alert and password reset emails are off: no --smtp-addr; " +
			"to hand a person a password reset link, run doorman user reset-link")
		return nil
	}
	if c.smtpFrom == "" {
		return fmt.Errorf("--smtp-from is required with --smtp-addr")
	}
	m, err := smtp.New(c.smtpAddr, c.smtpFrom, c.smtpUsername, c.smtpPassword)
	if err != nil {
		return fmt.Errorf("--smtp-addr: %w", err)
	}
	svc.Alerts.Mailer = m
	return nil
}

// runAlertPurge deletes alerts past app.AlertRetention every interval.
func runAlertPurge(ctx context.Context, svc *app.Service, log *slog.Logger, interval time.Duration) {
	if interval <= 0 {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := svc.PurgeAlerts(ctx, 500)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purge alerts", "err", err)
		case n > 0:
			log.Info("purged alerts", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
