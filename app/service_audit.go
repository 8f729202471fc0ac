package app

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// PurgeAudit deletes, in batches of batch, audit events older than
// retention, and returns how many it deleted. A retention of 0 or less keeps
// every event forever. Nothing else ever deletes an event.
func (s *Service) PurgeAudit(ctx context.Context, retention time.Duration, batch int) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	before := s.now().Add(-retention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeAuditEvents(ctx, before, limit) })
}

// The audit log's page sizes.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 1000
)

// AuditLog returns the admin's account's events, newest first, with how many
// match without Limit and Offset. The filter's AccountID is forced to p's
// account; Limit defaults to DefaultAuditLimit and is at most
// MaxAuditLimit. EFORBIDDEN for members.
func (s *Service) AuditLog(ctx context.Context, p *doorman.Principal, f doorman.AuditFilter) ([]*doorman.AuditEvent, int, error) {
	if err := requireAdmin(p); err != nil {
		return nil, 0, err
	}
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	f.AccountID = p.Account.ID
	switch {
	case f.Limit <= 0:
		f.Limit = DefaultAuditLimit
	case f.Limit > MaxAuditLimit:
		f.Limit = MaxAuditLimit
	}
	f.Offset = max(f.Offset, 0)
	evs, n, err := s.Store.FindAuditEvents(ctx, f)
	if err != nil {
		return nil, 0, unavailable("audit log", err)
	}
	return evs, n, nil
}

// exportPage is how many events ExportAudit reads per query.
const exportPage = 1000

// ExportAudit calls fn with every event f matches, newest first, reading the
// store a page at a time, for the audit log's CSV and JSON Lines exports.
// With p, the admin's account's events only (EFORBIDDEN for members); with p
// nil, as an operator, f.AccountID's events or, when it is empty, every
// account's. f.Limit and f.Offset are ignored. Events written after the
// export starts are left out, so that pages do not shift under it.
func (s *Service) ExportAudit(ctx context.Context, p *doorman.Principal, f doorman.AuditFilter, fn func(*doorman.AuditEvent) error) error {
	if p != nil {
		if err := requireAdmin(p); err != nil {
			return err
		}
		f.AccountID = p.Account.ID
	}
	if err := f.Validate(); err != nil {
		return err
	}
	// Until is exclusive: the events of this very microsecond are in.
	if end := s.now().Add(time.Microsecond); f.Until.IsZero() || f.Until.After(end) {
		f.Until = end
	}
	f.Limit, f.Offset = exportPage, 0
	for {
		evs, _, err := s.Store.FindAuditEvents(ctx, f)
		if err != nil {
			return unavailable("export audit", err)
		}
		for _, ev := range evs {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if len(evs) < f.Limit {
			return nil
		}
		f.Offset += len(evs)
	}
}
