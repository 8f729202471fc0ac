package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// CreateAlert implements doorman.AlertStore.
func (s *Store) CreateAlert(ctx context.Context, a *doorman.Alert, ds []*doorman.Delivery, ev *doorman.AuditEvent) error {
	if err := alertTexts(a, ds); err != nil {
		return err
	}
	return s.inTx(ctx, "create alert", func(tx *sql.Tx) error {
		if err := insertAlert(ctx, tx, a, ds); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// insertAlert writes a and its deliveries within tx (CreateAlert,
// CreatePasswordReset).
func insertAlert(ctx context.Context, tx *sql.Tx, a *doorman.Alert, ds []*doorman.Delivery) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, a.AccountID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("account not found")
	}
	if err != nil {
		return wrap("create alert", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO alerts
		(id, account_id, user_id, session_id, kind, payload, token_hash, expires_at, used_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.AccountID, a.UserID, a.SessionID, a.Kind, a.Payload, nullBytes(a.TokenHash),
		toMicros(a.ExpiresAt), toNullMicros(a.UsedAt), toMicros(a.CreatedAt))
	if isUnique(err) {
		return conflict("an alert with this id or token exists")
	}
	if err != nil {
		return wrap("create alert", err)
	}
	for _, d := range ds {
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries
			(id, alert_id, account_id, channel, target, status, attempts, next_attempt_at, claimed_until,
			 last_error, last_status_code, delivered_at, created_at, link_token)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, a.ID, a.AccountID, d.Channel, d.Target, d.Status, d.Attempts, toMicros(d.NextAttemptAt),
			toNullMicros(d.ClaimedUntil), d.LastError, d.LastStatusCode, toNullMicros(d.DeliveredAt),
			toMicros(d.CreatedAt), d.LinkToken)
		if isUnique(err) {
			return conflict("a delivery with this id exists")
		}
		if err != nil {
			return wrap("create alert: delivery", err)
		}
	}
	return nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

const alertCols = `id, account_id, user_id, session_id, kind, payload, token_hash, expires_at, used_at, created_at`

// FindAlertByTokenHash implements doorman.AlertStore.
func (s *Store) FindAlertByTokenHash(ctx context.Context, hash []byte) (*doorman.Alert, error) {
	if len(hash) == 0 {
		return nil, notFound("alert not found")
	}
	var a doorman.Alert
	var expires, created int64
	var used sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE token_hash = ?`, hash).Scan(
		&a.ID, &a.AccountID, &a.UserID, &a.SessionID, &a.Kind, &a.Payload, &a.TokenHash, &expires, &used, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("alert not found")
	}
	if err != nil {
		return nil, wrap("find alert", err)
	}
	a.ExpiresAt, a.UsedAt, a.CreatedAt = fromMicros(expires), fromNullMicros(used), fromMicros(created)
	return &a, nil
}

// UseAlert implements doorman.AlertStore.
func (s *Store) UseAlert(ctx context.Context, accountID, id string, r doorman.Revocation, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, id, r.By, r.Reason); err != nil {
		return err
	}
	return s.settled(s.inTx(ctx, "use alert", func(tx *sql.Tx) error {
		var sessionID string
		err := tx.QueryRowContext(ctx, `UPDATE alerts SET used_at = ?
			WHERE id = ? AND account_id = ? AND used_at IS NULL AND expires_at > ? RETURNING session_id`,
			toMicros(r.At), id, accountID, toMicros(r.At)).Scan(&sessionID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("alert not found, used or expired")
		}
		if err != nil {
			return wrap("use alert", err)
		}
		n := int64(0)
		if sessionID != "" {
			res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
				WHERE id = ? AND account_id = ? AND revoked_at IS NULL`, toMicros(r.At), r.By, r.Reason, sessionID, accountID)
			if err != nil {
				return wrap("use alert: revoke", err)
			}
			if n, err = res.RowsAffected(); err != nil {
				return wrap("use alert: revoke", err)
			}
		}
		if ev != nil {
			ev.Count = int(n)
		}
		return insertEvent(ctx, tx, ev)
	}))
}

const deliveryCols = `d.id, d.alert_id, d.account_id, d.channel, d.target, d.status, d.attempts, d.next_attempt_at,
	d.claimed_until, d.last_error, d.last_status_code, d.delivered_at, d.created_at, a.kind`

type deliveryRow struct {
	d                    doorman.Delivery
	next, created        int64
	claimed, deliveredAt sql.NullInt64
}

func (r *deliveryRow) dest() []any {
	d := &r.d
	return []any{&d.ID, &d.AlertID, &d.AccountID, &d.Channel, &d.Target, &d.Status, &d.Attempts, &r.next,
		&r.claimed, &d.LastError, &d.LastStatusCode, &r.deliveredAt, &r.created, &d.Kind}
}

func (r *deliveryRow) delivery() *doorman.Delivery {
	d := r.d
	d.NextAttemptAt, d.CreatedAt = fromMicros(r.next), fromMicros(r.created)
	d.ClaimedUntil, d.DeliveredAt = fromNullMicros(r.claimed), fromNullMicros(r.deliveredAt)
	return &d
}

// ClaimDeliveries implements doorman.AlertStore.
// The transaction holds the database's write lock from BEGIN, so two
// nodes never claim one delivery.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*doorman.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*doorman.Delivery
	err := s.inTx(ctx, "claim deliveries", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryCols+`, a.payload, d.link_token,
			CASE WHEN d.channel = 'webhook' AND w.enabled = 1 THEN w.secret ELSE '' END,
			CASE WHEN d.channel = 'webhook' AND w.enabled = 1 THEN w.url ELSE d.target END
			FROM deliveries d JOIN alerts a ON a.id = d.alert_id
			LEFT JOIN webhooks w ON w.account_id = d.account_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until <= ?)
			ORDER BY d.next_attempt_at, d.id LIMIT ?`, toMicros(now), toMicros(now), limit)
		if err != nil {
			return wrap("claim deliveries", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r deliveryRow
			var secret sql.NullString
			var target string
			if err := rows.Scan(append(r.dest(), &r.d.Payload, &r.d.LinkToken, &secret, &target)...); err != nil {
				return wrap("claim deliveries", err)
			}
			d := r.delivery()
			d.Secret, d.Target = secret.String, target
			d.ClaimedUntil = &leaseUntil
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return wrap("claim deliveries", err)
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		ids := make([]any, 0, len(out)+1)
		ids = append(ids, toMicros(leaseUntil))
		for _, d := range out {
			ids = append(ids, d.ID)
		}
		// A webhook delivery goes to the webhook's URL of now, which an
		// admin may have corrected since the event.
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET claimed_until = ?,
			target = CASE WHEN channel = 'webhook' THEN coalesce(
				(SELECT w.url FROM webhooks w WHERE w.account_id = deliveries.account_id AND w.enabled = 1), target)
				ELSE target END
			WHERE id IN (?`+strings.Repeat(", ?", len(out)-1)+`)`, ids...)
		if err != nil {
			return wrap("claim deliveries", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordDeliveryAttempt implements doorman.AlertStore.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, id string, a doorman.DeliveryAttempt, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(id, a.Error); err != nil {
		return err
	}
	status, next, delivered := doorman.DeliveryPending, a.At, sql.NullInt64{}
	switch {
	case a.Delivered:
		status, delivered = doorman.DeliveryDelivered, sql.NullInt64{Int64: toMicros(a.At), Valid: true}
	case a.Next == nil:
		status = doorman.DeliveryFailed
	default:
		next = *a.Next
	}
	lease := sql.NullInt64{}
	if !a.Lease.IsZero() {
		lease = sql.NullInt64{Int64: toMicros(a.Lease), Valid: true}
	}
	return s.inTx(ctx, "record delivery attempt", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, status = ?,
			next_attempt_at = ?, claimed_until = NULL, last_error = ?, last_status_code = ?, delivered_at = ?,
			link_token = CASE WHEN ? = 'pending' THEN link_token ELSE '' END
			WHERE id = ? AND status = 'pending' AND (? IS NULL OR claimed_until = ?)`,
			status, toMicros(next), a.Error, a.StatusCode, delivered, status, id, lease, lease)
		if err := oneRow("record delivery attempt", "delivery not found or no longer pending", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// FindDeliveries implements doorman.AlertStore.
func (s *Store) FindDeliveries(ctx context.Context, f doorman.DeliveryFilter) ([]*doorman.Delivery, error) {
	if err := doorman.CheckText(f.AccountID, f.Channel); err != nil {
		return nil, err
	}
	w := where{}
	w.add("d.account_id = ?", f.AccountID)
	if f.Channel != "" {
		w.add("d.channel = ?", f.Channel)
	}
	q := `SELECT ` + deliveryCols + ` FROM deliveries d JOIN alerts a ON a.id = d.alert_id` + w.String() +
		` ORDER BY d.created_at DESC, d.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		w.args = append(w.args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, wrap("find deliveries", err)
	}
	defer rows.Close()
	out := []*doorman.Delivery{}
	for rows.Next() {
		var r deliveryRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("find deliveries", err)
		}
		out = append(out, r.delivery())
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find deliveries", err)
	}
	return out, nil
}

// FindWebhook implements doorman.WebhookStore.
func (s *Store) FindWebhook(ctx context.Context, accountID string) (*doorman.Webhook, error) {
	if err := doorman.CheckText(accountID); err != nil {
		return nil, err
	}
	var w doorman.Webhook
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT account_id, url, secret, enabled, created_at, updated_at
		FROM webhooks WHERE account_id = ?`, accountID).Scan(&w.AccountID, &w.URL, &w.Secret, &w.Enabled, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no webhook is set up")
	}
	if err != nil {
		return nil, wrap("find webhook", err)
	}
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &w, nil
}

// PutWebhook implements doorman.WebhookStore.
func (s *Store) PutWebhook(ctx context.Context, w *doorman.Webhook, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(w.AccountID, w.URL, w.Secret); err != nil {
		return err
	}
	return s.inTx(ctx, "put webhook", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, w.AccountID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("account not found")
		}
		if err != nil {
			return wrap("put webhook", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO webhooks (account_id, url, secret, enabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
				enabled = excluded.enabled, updated_at = excluded.updated_at`,
			w.AccountID, w.URL, w.Secret, w.Enabled, toMicros(w.CreatedAt), toMicros(w.UpdatedAt))
		if err != nil {
			return wrap("put webhook", err)
		}
		return insertEvent(ctx, tx, ev)
	})
}

// DeleteWebhook implements doorman.WebhookStore.
func (s *Store) DeleteWebhook(ctx context.Context, accountID string, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID); err != nil {
		return err
	}
	return s.inTx(ctx, "delete webhook", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE account_id = ?`, accountID)
		if err := oneRow("delete webhook", "no webhook is set up", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}

// PurgeAlerts implements doorman.AlertStore.
// Deliveries go with their alert (ON DELETE CASCADE).
func (s *Store) PurgeAlerts(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM alerts WHERE id IN (
		SELECT a.id FROM alerts a WHERE a.created_at < ? AND NOT EXISTS (
			SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.status = 'pending')
		ORDER BY a.created_at, a.id LIMIT ?)`, toMicros(before), limit)
	if err != nil {
		return 0, wrap("purge alerts", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("purge alerts", err)
	}
	return int(n), nil
}
