package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// The audit log's lookups (doorman.AuditNameStore). Each is one query,
// whatever the number of ids: the list goes as one array parameter.

// FindAuditEventByID returns the account's event with that id. Returns
// ENOTFOUND unless one exists in that account.
func (s *Store) FindAuditEventByID(ctx context.Context, accountID, id string) (*doorman.AuditEvent, error) {
	ev := new(doorman.AuditEvent)
	err := s.pool.QueryRow(ctx, `SELECT e.id, COALESCE(e.account_id, ''), e.at, e.actor_id, e.actor, e.action, e.target,
			e.reason, e.ip, e.user_agent, e.count, e.details
		FROM audit_events e WHERE e.id = $1 AND e.account_id = $2`, id, accountID).
		Scan(&ev.ID, &ev.AccountID, &ev.At, &ev.ActorID, &ev.Actor, &ev.Action, &ev.Target,
			&ev.Reason, &ev.IP, &ev.UserAgent, &ev.Count, &ev.Details)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "audit event not found")
	}
	if err != nil {
		return nil, wrap("find audit event", err)
	}
	ev.At = ev.At.UTC()
	return ev, nil
}

// FindSessionsByIDs returns the account's sessions among ids, revoked or not.
func (s *Store) FindSessionsByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.Session, error) {
	out := []*doorman.Session{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+sessionColumns+sessionFrom+
		" WHERE s.account_id = $1 AND s.id = ANY($2)", accountID, distinct(ids))
	if err != nil {
		return nil, wrap("find sessions by id", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r sessionRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, wrap("find sessions by id", err)
		}
		out = append(out, r.session())
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find sessions by id", err)
	}
	return out, nil
}

// FindAPIKeysByIDs returns the account's API keys among ids, revoked or not.
func (s *Store) FindAPIKeysByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.APIKey, error) {
	out := []*doorman.APIKey{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys k WHERE k.account_id = $1 AND k.id = ANY($2)",
		accountID, distinct(ids))
	if err != nil {
		return nil, wrap("find api keys by id", err)
	}
	defer rows.Close()
	for rows.Next() {
		k := new(doorman.APIKey)
		if err := rows.Scan(apiKeyDest(k)...); err != nil {
			return nil, wrap("find api keys by id", err)
		}
		out = append(out, utcKey(k))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find api keys by id", err)
	}
	return out, nil
}

// FindUsersByEmails returns the account's users among emails, removed and
// invited ones too.
func (s *Store) FindUsersByEmails(ctx context.Context, accountID string, emails []string) ([]*doorman.User, error) {
	out := []*doorman.User{}
	if len(emails) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+userLifeColumns+" FROM users u WHERE u.account_id = $1 AND u.email = ANY($2)",
		accountID, distinct(emails))
	if err != nil {
		return nil, wrap("find users by email", err)
	}
	defer rows.Close()
	for rows.Next() {
		u := new(doorman.User)
		if err := rows.Scan(userLifeDest(u)...); err != nil {
			return nil, wrap("find users by email", err)
		}
		out = append(out, utcUser(u))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find users by email", err)
	}
	return out, nil
}

// distinct returns the values sorted, each once.
func distinct(values []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(values)))
}
