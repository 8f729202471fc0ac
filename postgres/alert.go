package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// CreateAlert implements doorman.AlertStore.
func (s *Store) CreateAlert(ctx context.Context, a *doorman.Alert, ds []*doorman.Delivery, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := insertAlert(ctx, tx, a, ds); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("create alert", err)
}

// insertAlert writes a and its deliveries within tx (CreateAlert,
// CreatePasswordReset).
func insertAlert(ctx context.Context, tx pgx.Tx, a *doorman.Alert, ds []*doorman.Delivery) error {
	_, err := tx.Exec(ctx, `INSERT INTO alerts
		(id, account_id, user_id, session_id, kind, payload, token_hash, expires_at, used_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, a.AccountID, a.UserID, a.SessionID, a.Kind, a.Payload, a.TokenHash, a.ExpiresAt, a.UsedAt, a.CreatedAt)
	if err := alertError(err, "an alert with this id or token exists"); err != nil {
		return err
	}
	for _, d := range ds {
		_, err := tx.Exec(ctx, `INSERT INTO deliveries
			(id, alert_id, account_id, channel, target, status, attempts, next_attempt_at, claimed_until,
			 last_error, last_status_code, delivered_at, created_at, link_token)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			d.ID, a.ID, a.AccountID, d.Channel, d.Target, d.Status, d.Attempts, d.NextAttemptAt, d.ClaimedUntil,
			d.LastError, d.LastStatusCode, d.DeliveredAt, d.CreatedAt, d.LinkToken)
		if err := alertError(err, "a delivery with this id exists"); err != nil {
			return err
		}
	}
	return nil
}

func alertError(err error, conflict string) error {
	switch sqlState(err) {
	case "":
		return err
	case codeUniqueViolation:
		return doorman.Errorf(doorman.ECONFLICT, "%s", conflict)
	case codeForeignKeyViolation:
		return doorman.Errorf(doorman.ENOTFOUND, "account not found")
	case codeCheckViolation:
		return doorman.Errorf(doorman.EINVALID, "a value is out of range")
	}
	return err
}

// FindAlertByTokenHash implements doorman.AlertStore.
func (s *Store) FindAlertByTokenHash(ctx context.Context, hash []byte) (*doorman.Alert, error) {
	if len(hash) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "alert not found")
	}
	var a doorman.Alert
	err := s.pool.QueryRow(ctx, `SELECT id, account_id, user_id, session_id, kind, payload, token_hash,
		expires_at, used_at, created_at FROM alerts WHERE token_hash = $1`, hash).Scan(
		&a.ID, &a.AccountID, &a.UserID, &a.SessionID, &a.Kind, &a.Payload, &a.TokenHash, &a.ExpiresAt, &a.UsedAt, &a.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "alert not found")
	}
	if err != nil {
		return nil, wrap("find alert", err)
	}
	a.ExpiresAt, a.CreatedAt, a.UsedAt = a.ExpiresAt.UTC(), a.CreatedAt.UTC(), utcPtr(a.UsedAt)
	return &a, nil
}

// UseAlert implements doorman.AlertStore.
func (s *Store) UseAlert(ctx context.Context, accountID, id string, r doorman.Revocation, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var sessionID string
		err := tx.QueryRow(ctx, `UPDATE alerts SET used_at = $1
			WHERE id = $2 AND account_id = $3 AND used_at IS NULL AND expires_at > $1 RETURNING session_id`,
			r.At, id, accountID).Scan(&sessionID)
		if errors.Is(err, pgx.ErrNoRows) {
			return doorman.Errorf(doorman.ENOTFOUND, "alert not found, used or expired")
		}
		if err != nil {
			return err
		}
		var n int64
		if sessionID != "" {
			tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoked_by = $2, revoke_reason = $3
				WHERE id = $4 AND account_id = $5 AND revoked_at IS NULL`, r.At, r.By, r.Reason, sessionID, accountID)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
		}
		if ev != nil {
			ev.Count = int(n)
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err == nil {
		s.settle("a:" + accountID)
	}
	return wrap("use alert", err)
}

const deliveryColumns = `d.id, d.alert_id, d.account_id, d.channel, d.target, d.status, d.attempts, d.next_attempt_at,
	d.claimed_until, d.last_error, d.last_status_code, d.delivered_at, d.created_at, a.kind`

func deliveryDest(d *doorman.Delivery) []any {
	return []any{&d.ID, &d.AlertID, &d.AccountID, &d.Channel, &d.Target, &d.Status, &d.Attempts, &d.NextAttemptAt,
		&d.ClaimedUntil, &d.LastError, &d.LastStatusCode, &d.DeliveredAt, &d.CreatedAt, &d.Kind}
}

func utcDelivery(d *doorman.Delivery) *doorman.Delivery {
	d.NextAttemptAt, d.CreatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC()
	d.ClaimedUntil, d.DeliveredAt = utcPtr(d.ClaimedUntil), utcPtr(d.DeliveredAt)
	return d
}

// ClaimDeliveries implements doorman.AlertStore.
// One statement: FOR UPDATE SKIP LOCKED keeps two nodes from claiming one
// delivery, and the lease keeps it theirs after the statement.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*doorman.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	// A webhook delivery goes to the webhook's URL of now, which an admin
	// may have corrected since the event.
	rows, err := s.pool.Query(ctx, `WITH c AS (
			UPDATE deliveries SET claimed_until = $2,
				target = CASE WHEN channel = 'webhook' THEN coalesce(
					(SELECT w.url FROM webhooks w WHERE w.account_id = deliveries.account_id AND w.enabled), target)
					ELSE target END
			WHERE id IN (
				SELECT id FROM deliveries
				WHERE status = 'pending' AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
				ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING *)
		SELECT `+deliveryColumns+`, a.payload, d.link_token,
			CASE WHEN d.channel = 'webhook' AND w.enabled THEN w.secret ELSE '' END
		FROM c d JOIN alerts a ON a.id = d.alert_id LEFT JOIN webhooks w ON w.account_id = d.account_id
		ORDER BY d.next_attempt_at, d.id`, now, leaseUntil, limit)
	if err != nil {
		return nil, wrap("claim deliveries", err)
	}
	defer rows.Close()
	var out []*doorman.Delivery
	for rows.Next() {
		var d doorman.Delivery
		var secret *string
		if err := rows.Scan(append(deliveryDest(&d), &d.Payload, &d.LinkToken, &secret)...); err != nil {
			return nil, wrap("claim deliveries", err)
		}
		if secret != nil {
			d.Secret = *secret
		}
		out = append(out, utcDelivery(&d))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("claim deliveries", err)
	}
	return out, nil
}

// RecordDeliveryAttempt implements doorman.AlertStore.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, id string, a doorman.DeliveryAttempt, ev *doorman.AuditEvent) error {
	status, next := doorman.DeliveryPending, a.At
	var delivered *time.Time
	switch {
	case a.Delivered:
		status, delivered = doorman.DeliveryDelivered, &a.At
	case a.Next == nil:
		status = doorman.DeliveryFailed
	default:
		next = *a.Next
	}
	var lease *time.Time
	if !a.Lease.IsZero() {
		lease = &a.Lease
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET attempts = attempts + 1, status = $1,
			next_attempt_at = $2, claimed_until = NULL, last_error = $3, last_status_code = $4, delivered_at = $5,
			link_token = CASE WHEN $1 = 'pending' THEN link_token ELSE '' END
			WHERE id = $6 AND status = 'pending' AND ($7::timestamptz IS NULL OR claimed_until = $7)`,
			status, next, a.Error, a.StatusCode, delivered, id, lease)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "delivery not found or no longer pending")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("record delivery attempt", err)
}

// FindDeliveries implements doorman.AlertStore.
func (s *Store) FindDeliveries(ctx context.Context, f doorman.DeliveryFilter) ([]*doorman.Delivery, error) {
	var q query
	q.where("d.account_id = " + q.arg(f.AccountID))
	if f.Channel != "" {
		q.where("d.channel = " + q.arg(f.Channel))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN alerts a ON a.id = d.alert_id`+
		q.clause()+` ORDER BY d.created_at DESC, d.id DESC`+q.page(f.Limit, 0), q.args...)
	if err != nil {
		return nil, wrap("find deliveries", err)
	}
	defer rows.Close()
	out := []*doorman.Delivery{}
	for rows.Next() {
		var d doorman.Delivery
		if err := rows.Scan(deliveryDest(&d)...); err != nil {
			return nil, wrap("find deliveries", err)
		}
		out = append(out, utcDelivery(&d))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find deliveries", err)
	}
	return out, nil
}

// FindWebhook implements doorman.WebhookStore.
func (s *Store) FindWebhook(ctx context.Context, accountID string) (*doorman.Webhook, error) {
	var w doorman.Webhook
	err := s.pool.QueryRow(ctx, `SELECT account_id, url, secret, enabled, created_at, updated_at
		FROM webhooks WHERE account_id = $1`, accountID).Scan(&w.AccountID, &w.URL, &w.Secret, &w.Enabled, &w.CreatedAt, &w.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "no webhook is set up")
	}
	if err != nil {
		return nil, wrap("find webhook", err)
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return &w, nil
}

// PutWebhook implements doorman.WebhookStore.
func (s *Store) PutWebhook(ctx context.Context, w *doorman.Webhook, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (account_id, url, secret, enabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
				enabled = excluded.enabled, updated_at = excluded.updated_at`,
			w.AccountID, w.URL, w.Secret, w.Enabled, w.CreatedAt, w.UpdatedAt)
		if err := alertError(err, "webhook exists"); err != nil {
			return err
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("put webhook", err)
}

// DeleteWebhook implements doorman.WebhookStore.
func (s *Store) DeleteWebhook(ctx context.Context, accountID string, ev *doorman.AuditEvent) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhooks WHERE account_id = $1`, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "no webhook is set up")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	return wrap("delete webhook", err)
}

// PurgeAlerts implements doorman.AlertStore.
// Deliveries go with their alert (ON DELETE CASCADE).
func (s *Store) PurgeAlerts(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM alerts WHERE id IN (
		SELECT a.id FROM alerts a WHERE a.created_at < $1 AND NOT EXISTS (
			SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.status = 'pending')
		ORDER BY a.created_at, a.id LIMIT $2)`, before, limit)
	if err != nil {
		return 0, wrap("purge alerts", err)
	}
	return int(tag.RowsAffected()), nil
}
