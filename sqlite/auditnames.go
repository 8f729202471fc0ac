package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/doorman/doorman"
)

// The audit log's lookups (doorman.AuditNameStore).

// FindAuditEventByID returns the account's event with that id. Returns
// ENOTFOUND unless one exists in that account.
func (s *Store) FindAuditEventByID(ctx context.Context, accountID, id string) (*doorman.AuditEvent, error) {
	if err := doorman.CheckText(accountID, id); err != nil {
		return nil, err
	}
	ev := &doorman.AuditEvent{}
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_events e WHERE e.id = ? AND e.account_id = ?`,
		id, accountID).Scan(&ev.ID, &ev.AccountID, &at, &ev.ActorID, &ev.Actor, &ev.Action, &ev.Target,
		&ev.Reason, &ev.IP, &ev.UserAgent, &ev.Count, &ev.Details)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("audit event not found")
	}
	if err != nil {
		return nil, wrap("find audit event", err)
	}
	ev.At = fromMicros(at)
	return ev, nil
}

// FindSessionsByIDs returns the account's sessions among ids, revoked or not.
func (s *Store) FindSessionsByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.Session, error) {
	out := []*doorman.Session{}
	err := s.findIn(ctx, "find sessions by id", `SELECT `+sessionCols+sessionFrom+` WHERE s.account_id = ? AND s.id`,
		accountID, ids, func(rows *sql.Rows) error {
			var r sessionRow
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			out = append(out, r.session())
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindAPIKeysByIDs returns the account's API keys among ids, revoked or not.
func (s *Store) FindAPIKeysByIDs(ctx context.Context, accountID string, ids []string) ([]*doorman.APIKey, error) {
	out := []*doorman.APIKey{}
	err := s.findIn(ctx, "find api keys by id", `SELECT `+apiKeyCols+` FROM api_keys k WHERE k.account_id = ? AND k.id`,
		accountID, ids, func(rows *sql.Rows) error {
			var r apiKeyRow
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			out = append(out, r.key())
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindUsersByEmails returns the account's users among emails, removed and
// invited ones too.
func (s *Store) FindUsersByEmails(ctx context.Context, accountID string, emails []string) ([]*doorman.User, error) {
	out := []*doorman.User{}
	err := s.findIn(ctx, "find users by email", `SELECT `+userCols+userLifeCols+` FROM users u WHERE u.account_id = ? AND u.email`,
		accountID, emails, func(rows *sql.Rows) error {
			var r userRow
			if err := rows.Scan(r.lifeDest()...); err != nil {
				return err
			}
			out = append(out, r.user())
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// inChunk is how many values one query's IN list holds: far below SQLite's
// limit of bound parameters, and above any page of the audit log.
const inChunk = 500

// findIn runs query, which ends in "column" and takes accountID as its
// one parameter, once per chunk of the distinct values, with " IN (…)"
// appended, and calls scan for each row. Values are checked as text first:
// bad bytes are EINVALID, and nothing is read.
func (s *Store) findIn(ctx context.Context, op, query, accountID string, values []string, scan func(*sql.Rows) error) error {
	if err := doorman.CheckText(append([]string{accountID}, values...)...); err != nil {
		return err
	}
	values = slices.Compact(slices.Sorted(slices.Values(values)))
	for chunk := range slices.Chunk(values, inChunk) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, accountID)
		for _, v := range chunk {
			args = append(args, v)
		}
		rows, err := s.db.QueryContext(ctx, query+` IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return wrap(op, err)
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return wrap(op, err)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return wrap(op, err)
		}
	}
	return nil
}
