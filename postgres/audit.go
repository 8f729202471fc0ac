package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// insertAuditEvent appends ev, inside the transaction of the change it
// records when db is one; a nil ev writes nothing. An empty AccountID is
// stored as NULL.
func insertAuditEvent(ctx context.Context, db execer, ev *doorman.AuditEvent) error {
	if ev == nil {
		return nil
	}
	_, err := db.Exec(ctx, `INSERT INTO audit_events
		(id, account_id, at, actor_id, actor, action, target, reason, ip, user_agent, count, details)
		VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		ev.ID, ev.AccountID, ev.At, ev.ActorID, ev.Actor, ev.Action, ev.Target, ev.Reason,
		ev.IP, ev.UserAgent, ev.Count, ev.Details)
	if sqlState(err) == codeUniqueViolation {
		return doorman.Errorf(doorman.ECONFLICT, "an audit event with this id already exists")
	}
	return err
}

// CreateAuditEvent implements doorman.AuditStore.
func (s *Store) CreateAuditEvent(ctx context.Context, ev *doorman.AuditEvent) error {
	if ev == nil {
		return doorman.Errorf(doorman.EINVALID, "audit event is required")
	}
	return wrap("create audit event", insertAuditEvent(ctx, s.pool, ev))
}

// FindAuditEvents implements doorman.AuditStore.
func (s *Store) FindAuditEvents(ctx context.Context, f doorman.AuditFilter) ([]*doorman.AuditEvent, int, error) {
	var q query
	if f.AccountID != "" {
		q.where("e.account_id = " + q.arg(f.AccountID))
	}
	if f.Action != "" {
		q.where("e.action = " + q.arg(f.Action))
	}
	if f.ActorID != "" {
		q.where("e.actor_id = " + q.arg(f.ActorID))
	}
	if f.Actor != "" {
		q.where("e.actor = " + q.arg(f.Actor))
	}
	if f.Target != "" {
		q.where("e.target = " + q.arg(f.Target))
	}
	if !f.Since.IsZero() {
		q.where("e.at >= " + q.arg(f.Since))
	}
	if !f.Until.IsZero() {
		q.where("e.at < " + q.arg(f.Until))
	}
	nargs := len(q.args)
	sql := `SELECT e.id, COALESCE(e.account_id, ''), e.at, e.actor_id, e.actor, e.action, e.target,
			e.reason, e.ip, e.user_agent, e.count, e.details, count(*) OVER ()
		FROM audit_events e` + q.clause() + " ORDER BY e.at DESC, e.seq DESC" + q.page(f.Limit, f.Offset)
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, 0, wrap("find audit events", err)
	}
	defer rows.Close()
	events := []*doorman.AuditEvent{}
	total := 0
	for rows.Next() {
		ev := new(doorman.AuditEvent)
		if err := rows.Scan(&ev.ID, &ev.AccountID, &ev.At, &ev.ActorID, &ev.Actor, &ev.Action, &ev.Target,
			&ev.Reason, &ev.IP, &ev.UserAgent, &ev.Count, &ev.Details, &total); err != nil {
			return nil, 0, wrap("find audit events", err)
		}
		ev.At = ev.At.UTC()
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("find audit events", err)
	}
	if len(events) == 0 && f.Offset > 0 {
		if total, err = q.count(ctx, s.pool, "audit_events e", nargs); err != nil {
			return nil, 0, wrap("find audit events", err)
		}
	}
	return events, total, nil
}

// PurgeAuditEvents implements doorman.AuditStore.
// The audit_events_no_change trigger refuses any other delete. Nodes
// purging at once take turns on the cutoff's row.
func (s *Store) PurgeAuditEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE audit_retention SET cutoff = GREATEST(cutoff, $1) WHERE id = 1`, before); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM audit_events WHERE seq IN (
				SELECT seq FROM audit_events WHERE at < $1 ORDER BY at, seq LIMIT $2)`, before, limit)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, wrap("purge audit events", err)
	}
	return n, nil
}
