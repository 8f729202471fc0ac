package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/doorman/doorman"
)

type execer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}

// insertEvent appends ev with q, doing nothing when ev is nil. An empty
// AccountID is stored as NULL: no account was known.
func insertEvent(ctx context.Context, q execer, ev *doorman.AuditEvent) error {
	if ev == nil {
		return nil
	}
	if err := doorman.CheckText(ev.ID, ev.AccountID, ev.ActorID, ev.Actor, ev.Action, ev.Target, ev.Reason,
		ev.IP, ev.UserAgent, ev.Details); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_events
		(id, account_id, at, actor_id, actor, action, target, reason, ip, user_agent, count, details)
		VALUES (?, nullif(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.AccountID, toMicros(ev.At), ev.ActorID, ev.Actor, ev.Action, ev.Target, ev.Reason,
		ev.IP, ev.UserAgent, ev.Count, ev.Details)
	if isUnique(err) {
		return conflict("audit event id %s is taken", ev.ID)
	}
	if err != nil {
		return wrap("create audit event", err)
	}
	return nil
}

// CreateAuditEvent implements doorman.AuditStore.
func (s *Store) CreateAuditEvent(ctx context.Context, ev *doorman.AuditEvent) error {
	if ev == nil {
		return doorman.Errorf(doorman.EINVALID, "audit event is required")
	}
	return insertEvent(ctx, s.db, ev)
}

const auditCols = `e.id, coalesce(e.account_id, ''), e.at, e.actor_id, e.actor, e.action, e.target,
	e.reason, e.ip, e.user_agent, e.count, e.details`

// FindAuditEvents implements doorman.AuditStore.
func (s *Store) FindAuditEvents(ctx context.Context, f doorman.AuditFilter) ([]*doorman.AuditEvent, int, error) {
	w := where{}
	if f.AccountID != "" {
		w.add("e.account_id = ?", f.AccountID)
	}
	if f.Action != "" {
		w.add("e.action = ?", f.Action)
	}
	if f.ActorID != "" {
		w.add("e.actor_id = ?", f.ActorID)
	}
	if f.Actor != "" {
		w.add("e.actor = ?", f.Actor)
	}
	if f.Target != "" {
		w.add("e.target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		w.add("e.at >= ?", toMicros(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("e.at < ?", toMicros(f.Until))
	}
	events := []*doorman.AuditEvent{}
	total, err := s.list(ctx, "find audit events",
		`SELECT count(*) FROM audit_events e`+w.String(),
		`SELECT `+auditCols+` FROM audit_events e`+w.String()+` ORDER BY e.at DESC, e.seq DESC`,
		w.args, f.Limit, f.Offset,
		func(rows *sql.Rows) (int, error) {
			for rows.Next() {
				ev := &doorman.AuditEvent{}
				var at int64
				if err := rows.Scan(&ev.ID, &ev.AccountID, &at, &ev.ActorID, &ev.Actor, &ev.Action, &ev.Target,
					&ev.Reason, &ev.IP, &ev.UserAgent, &ev.Count, &ev.Details); err != nil {
					return 0, err
				}
				ev.At = fromMicros(at)
				events = append(events, ev)
			}
			return len(events), nil
		})
	if err != nil {
		return nil, 0, err
	}
	return events, total, nil
}

// PurgeAuditEvents implements doorman.AuditStore.
// The audit_events_no_delete trigger refuses any other delete.
func (s *Store) PurgeAuditEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	b := toMicros(before)
	var n int64
	err := s.inTx(ctx, "purge audit events", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE audit_retention SET cutoff = max(cutoff, ?) WHERE id = 1`, b); err != nil {
			return wrap("purge audit events: cutoff", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE seq IN (
			SELECT seq FROM audit_events WHERE at < ? ORDER BY at, seq LIMIT ?)`, b, limit)
		if err != nil {
			return wrap("purge audit events", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return wrap("purge audit events", err)
		}
		return nil
	})
	return int(n), err
}
