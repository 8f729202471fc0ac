package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/doorman/doorman"
	sqlite3 "modernc.org/sqlite/lib"
)

const sessionCols = `s.id, s.token_hash, s.user_id, s.account_id, s.created_at, s.last_active_at,
	s.expires_at, s.remember_me, s.revoked_at, s.revoked_by, s.revoke_reason, s.ip, s.user_agent,
	s.browser, s.browser_version, s.os, s.os_version, s.device_model, s.device_type,
	s.city, s.region, s.country, s.country_code, s.isp, s.location_local,
	s.logins, s.actions, s.last_page, s.risk_level, s.risk_reasons`

// sessionRow receives one row of sessionCols.
type sessionRow struct {
	s                   doorman.Session
	created, lastActive int64
	expires, revoked    sql.NullInt64
	reasons             string
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.TokenHash, &s.UserID, &s.AccountID, &r.created, &r.lastActive,
		&r.expires, &s.RememberMe, &r.revoked, &s.RevokedBy, &s.RevokeReason, &s.IP, &s.UserAgent,
		&s.Device.Browser, &s.Device.BrowserVersion, &s.Device.OS, &s.Device.OSVersion, &s.Device.Model, &s.Device.Type,
		&s.Location.City, &s.Location.Region, &s.Location.Country, &s.Location.CountryCode, &s.Location.ISP, &s.Location.Local,
		&s.Activity.Logins, &s.Activity.Actions, &s.Activity.LastPage, &s.Risk.Level, &r.reasons}
}

func (r *sessionRow) session() *doorman.Session {
	s := &r.s
	s.CreatedAt = fromMicros(r.created)
	s.LastActiveAt = fromMicros(r.lastActive)
	s.ExpiresAt = fromNullMicros(r.expires)
	s.RevokedAt = fromNullMicros(r.revoked)
	if r.reasons != "" {
		s.Risk.Reasons = strings.Split(r.reasons, ",")
	}
	return s
}

// CreateSession stores sess and writes ev (if not nil) in the same
// transaction. Returns ECONFLICT if the id or the token hash is taken,
// ENOTFOUND if the user does not exist in the session's account.
func (s *Store) CreateSession(ctx context.Context, sess *doorman.Session, ev *doorman.AuditEvent) error {
	return s.inTx(ctx, "create session", func(tx *sql.Tx) error {
		// Selecting from users makes a session whose user belongs to another
		// account impossible, which the foreign keys alone would allow.
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(id, token_hash, user_id, account_id, created_at, last_active_at, expires_at, remember_me,
			 revoked_at, revoked_by, revoke_reason, ip, user_agent,
			 browser, browser_version, os, os_version, device_model, device_type,
			 city, region, country, country_code, isp, location_local,
			 logins, actions, last_page, risk_level, risk_reasons)
			SELECT ?, ?, u.id, u.account_id, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?
			FROM users u WHERE u.id = ? AND u.account_id = ?`,
			sess.ID, sess.TokenHash, toMicros(sess.CreatedAt), toMicros(sess.LastActiveAt),
			toNullMicros(sess.ExpiresAt), sess.RememberMe,
			toNullMicros(sess.RevokedAt), sess.RevokedBy, sess.RevokeReason, sess.IP, sess.UserAgent,
			sess.Device.Browser, sess.Device.BrowserVersion, sess.Device.OS, sess.Device.OSVersion,
			sess.Device.Model, sess.Device.Type,
			sess.Location.City, sess.Location.Region, sess.Location.Country, sess.Location.CountryCode,
			sess.Location.ISP, sess.Location.Local,
			sess.Activity.Logins, sess.Activity.Actions, sess.Activity.LastPage,
			sess.Risk.Level, strings.Join(sess.Risk.Reasons, ","),
			sess.UserID, sess.AccountID)
		switch constraint(err) {
		case 0:
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return conflict("session id %s is taken", sess.ID)
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return conflict("session token is taken")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return notFound("user not found")
		}
		if err != nil {
			return wrap("create session", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return wrap("create session", err)
		} else if n == 0 {
			return notFound("user not found")
		}
		return insertEvent(ctx, tx, ev)
	})
}

// findByTokenSQL is the query of every request: the session, its user and
// its account, by the token hash's unique index.
const findByTokenSQL = `SELECT ` + sessionCols + `, ` + userCols + `, ` + accountCols + `
	FROM sessions s
	JOIN users u ON u.id = s.user_id AND u.account_id = s.account_id
	JOIN accounts a ON a.id = s.account_id
	WHERE s.token_hash = ?`

// FindSessionByTokenHash returns the session whose token hash is hash,
// revoked or not, with its user and account, in one query. Returns ENOTFOUND
// if none.
func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	var gen uint64
	if s.cache != nil {
		var p *doorman.Principal
		if p, gen = s.cache.get(hash); p != nil {
			return p, nil
		}
	}
	var sr sessionRow
	var ur userRow
	var ar accountRow
	dest := append(append(sr.dest(), ur.dest()...), ar.dest()...)
	err := s.byToken.QueryRowContext(ctx, hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session not found")
	}
	if err != nil {
		return nil, wrap("find session by token", err)
	}
	p := &doorman.Principal{Session: sr.session(), User: ur.user(), Account: ar.account()}
	if s.cache != nil {
		s.cache.put(hash, gen, p)
	}
	return p, nil
}

// FindSessionByID returns ENOTFOUND unless a session with that id exists in
// the account (any account when accountID is "").
func (s *Store) FindSessionByID(ctx context.Context, accountID, id string) (*doorman.Session, error) {
	w := where{}
	w.add("s.id = ?", id)
	if accountID != "" {
		w.add("s.account_id = ?", accountID)
	}
	var r sessionRow
	err := s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions s`+w.String(), w.args...).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session not found")
	}
	if err != nil {
		return nil, wrap("find session", err)
	}
	return r.session(), nil
}

// FindSessions returns the matching sessions, most recently active first
// (then by id, descending), and how many match without Limit and Offset.
func (s *Store) FindSessions(ctx context.Context, f doorman.SessionFilter) ([]*doorman.Session, int, error) {
	w := where{}
	if f.AccountID != "" {
		w.add("s.account_id = ?", f.AccountID)
	}
	if f.ID != "" {
		w.add("s.id = ?", f.ID)
	}
	if f.UserID != "" {
		w.add("s.user_id = ?", f.UserID)
	}
	if a := f.Active; a != nil {
		activeWindow(&w, a)
	}
	list := []*doorman.Session{}
	total, err := s.list(ctx, "find sessions",
		`SELECT count(*) FROM sessions s`+w.String(),
		`SELECT `+sessionCols+` FROM sessions s`+w.String()+` ORDER BY s.last_active_at DESC, s.id DESC`,
		w.args, f.Limit, f.Offset,
		func(rows *sql.Rows) (int, error) {
			for rows.Next() {
				var r sessionRow
				if err := rows.Scan(r.dest()...); err != nil {
					return 0, err
				}
				list = append(list, r.session())
			}
			return len(list), nil
		})
	if err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

// activeWindow adds the conditions of doorman.ActiveWindow: not revoked,
// ExpiresAt after Now, and either remembered (when allowed) and created after
// RememberSince, or not remembered and (no idle limit or last active after
// IdleSince). The Go-side branches leave out the parts a constant decides.
func activeWindow(w *where, a *doorman.ActiveWindow) {
	w.add("s.revoked_at IS NULL")
	w.add("(s.expires_at IS NULL OR s.expires_at > ?)", toMicros(a.Now))
	idle, idleArgs := "1", []any(nil)
	if !a.IdleSince.IsZero() {
		idle, idleArgs = "s.last_active_at > ?", []any{toMicros(a.IdleSince)}
	}
	if !a.RememberAllowed {
		if idleArgs != nil {
			w.add(idle, idleArgs...)
		}
		return
	}
	w.add("((s.remember_me = 1 AND s.created_at > ?) OR (s.remember_me = 0 AND "+idle+"))",
		append([]any{toMicros(a.RememberSince)}, idleArgs...)...)
}

// touchSQL records a session's activity: LastActiveAt never moves backwards,
// and an empty IP or page keeps the stored one.
const touchSQL = `UPDATE sessions SET
	last_active_at = max(last_active_at, ?),
	ip = coalesce(nullif(?, ''), ip),
	actions = actions + ?,
	last_page = coalesce(nullif(?, ''), last_page)
	WHERE id = ?`

// TouchSession records activity. Returns ENOTFOUND if no session has that id.
func (s *Store) TouchSession(ctx context.Context, id string, t doorman.Touch) error {
	at := int64(minMicros)
	if !t.At.IsZero() {
		at = toMicros(t.At)
	}
	res, err := s.touch.ExecContext(ctx, at, t.IP, t.Actions, t.LastPage, id)
	if err != nil {
		return wrap("touch session", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap("touch session", err)
	} else if n == 0 {
		return notFound("session not found")
	}
	return nil
}

// minMicros is below every stored time, so that max() keeps the stored one.
const minMicros = -1 << 63

// RevokeSessions revokes every matching session not yet revoked, sets
// ev.Count to how many and writes ev (if not nil) in the same transaction.
// Returns ENOTFOUND, writing nothing, when f.SessionID is set and nothing was
// revoked, and EINVALID if f selects neither a session, a user nor All, or
// All without an account.
func (s *Store) RevokeSessions(ctx context.Context, f doorman.RevokeFilter, r doorman.Revocation, ev *doorman.AuditEvent) (int, error) {
	if f.SessionID == "" && f.UserID == "" {
		if !f.All {
			return 0, doorman.Errorf(doorman.EINVALID, "revoke: select a session, a user or all sessions of an account")
		}
		if f.AccountID == "" {
			return 0, doorman.Errorf(doorman.EINVALID, "revoke: all sessions requires an account")
		}
	}
	w := where{}
	w.add("revoked_at IS NULL")
	if f.AccountID != "" {
		w.add("account_id = ?", f.AccountID)
	}
	if f.SessionID != "" {
		w.add("id = ?", f.SessionID)
	}
	if f.UserID != "" {
		w.add("user_id = ?", f.UserID)
	}
	if f.ExceptSessionID != "" {
		w.add("id <> ?", f.ExceptSessionID)
	}
	var count int
	err := s.inTx(ctx, "revoke sessions", func(tx *sql.Tx) error {
		args := append([]any{toMicros(r.At), r.By, r.Reason}, w.args...)
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoked_by = ?, revoke_reason = ?`+w.String(), args...)
		if err != nil {
			return wrap("revoke sessions", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return wrap("revoke sessions", err)
		}
		if n == 0 && f.SessionID != "" {
			return notFound("session not found")
		}
		count = int(n)
		if ev != nil {
			ev.Count = count
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	return count, nil
}

// PurgeSessions deletes at most limit sessions revoked before cutoff or whose
// ExpiresAt is before cutoff, and returns how many it deleted.
func (s *Store) PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	c := toMicros(cutoff)
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE revoked_at < ? OR expires_at < ? LIMIT ?)`, c, c, limit)
	if err != nil {
		return 0, wrap("purge sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("purge sessions", err)
	}
	return int(n), nil
}
