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

// sessionCols are read from sessionFrom. Logins is the device's count as it
// is now, so that a later sign-in from the same device shows on every
// session of it; a session without a device keeps its own.
const sessionCols = `s.id, s.token_hash, s.user_id, s.account_id, s.created_at, s.last_active_at,
	s.expires_at, s.remember_me, s.revoked_at, s.revoked_by, s.revoke_reason, s.ip, s.user_agent,
	s.browser, s.browser_version, s.os, s.os_version, s.device_model, s.device_type,
	s.city, s.region, s.country, s.country_code, s.isp, s.location_local, s.latitude, s.longitude,
	coalesce(d.logins, s.logins), s.actions, s.last_page, s.risk_level, s.risk_reasons, s.new_device,
	s.authenticated_at, s.two_factor, s.bound_key, s.bound_secret, s.bound_at`

// sessionFrom is the FROM clause of sessionCols.
const sessionFrom = ` FROM sessions s LEFT JOIN devices d ON d.id = s.device_id`

// sessionRow receives one row of sessionCols.
type sessionRow struct {
	s                   doorman.Session
	created, lastActive int64
	expires, revoked    sql.NullInt64
	reasons             string
	authenticated       int64
	boundKey            string
	boundSecret         []byte
	boundAt             sql.NullInt64
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.TokenHash, &s.UserID, &s.AccountID, &r.created, &r.lastActive,
		&r.expires, &s.RememberMe, &r.revoked, &s.RevokedBy, &s.RevokeReason, &s.IP, &s.UserAgent,
		&s.Device.Browser, &s.Device.BrowserVersion, &s.Device.OS, &s.Device.OSVersion, &s.Device.Model, &s.Device.Type,
		&s.Location.City, &s.Location.Region, &s.Location.Country, &s.Location.CountryCode, &s.Location.ISP, &s.Location.Local,
		&s.Location.Latitude, &s.Location.Longitude,
		&s.Activity.Logins, &s.Activity.Actions, &s.Activity.LastPage, &s.Risk.Level, &r.reasons, &s.NewDevice,
		&r.authenticated, &s.TwoFactor, &r.boundKey, &r.boundSecret, &r.boundAt}
}

func (r *sessionRow) session() *doorman.Session {
	s := &r.s
	s.CreatedAt = fromMicros(r.created)
	s.LastActiveAt = fromMicros(r.lastActive)
	s.ExpiresAt = fromNullMicros(r.expires)
	s.RevokedAt = fromNullMicros(r.revoked)
	s.AuthenticatedAt = s.CreatedAt
	if r.authenticated != 0 {
		s.AuthenticatedAt = fromMicros(r.authenticated)
	}
	if r.reasons != "" {
		s.Risk.Reasons = strings.Split(r.reasons, ",")
	}
	if r.boundKey != "" {
		s.Binding = &doorman.Binding{Key: r.boundKey, Secret: r.boundSecret, At: fromMicros(r.boundAt.Int64)}
	}
	return s
}

// CreateSession implements doorman.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *doorman.Session, ev *doorman.AuditEvent) error {
	if err := checkSession(sess); err != nil {
		return err
	}
	logins, newDevice := sess.Activity.Logins, sess.NewDevice
	err := s.inTx(ctx, "create session", func(tx *sql.Tx) error {
		var deviceID sql.NullString
		if len(sess.DeviceKeyHash) > 0 {
			id, n, created, err := upsertDevice(ctx, tx, sess)
			if err != nil {
				return err
			}
			deviceID = sql.NullString{String: id, Valid: true}
			logins, newDevice = n, created
		}
		// Selecting from users makes a session whose user belongs to another
		// account impossible, which the foreign keys alone would allow.
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(id, token_hash, user_id, account_id, created_at, last_active_at, expires_at, remember_me,
			 revoked_at, revoked_by, revoke_reason, ip, user_agent,
			 browser, browser_version, os, os_version, device_model, device_type,
			 city, region, country, country_code, isp, location_local, latitude, longitude,
			 logins, actions, last_page, risk_level, risk_reasons, device_id, new_device, authenticated_at,
			 two_factor)
			SELECT ?, ?, u.id, u.account_id, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?, ?, ?, ?,
			 ?, ?, ?, ?, ?, ?, ?, ?,
			 ?
			FROM users u WHERE u.id = ? AND u.account_id = ?`,
			sess.ID, sess.TokenHash, toMicros(sess.CreatedAt), toMicros(sess.LastActiveAt),
			toNullMicros(sess.ExpiresAt), sess.RememberMe,
			toNullMicros(sess.RevokedAt), sess.RevokedBy, sess.RevokeReason, sess.IP, sess.UserAgent,
			sess.Device.Browser, sess.Device.BrowserVersion, sess.Device.OS, sess.Device.OSVersion,
			sess.Device.Model, sess.Device.Type,
			sess.Location.City, sess.Location.Region, sess.Location.Country, sess.Location.CountryCode,
			sess.Location.ISP, sess.Location.Local, sess.Location.Latitude, sess.Location.Longitude,
			logins, sess.Activity.Actions, sess.Activity.LastPage,
			sess.Risk.Level, strings.Join(sess.Risk.Reasons, ","), deviceID, newDevice, toMicros(authenticatedAt(sess)),
			sess.TwoFactor,
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
		if err := oneRow("create session", "user not found", res, err); err != nil {
			return err
		}
		if sess.IP != "" {
			seen := sql.NullInt64{Int64: toMicros(sess.CreatedAt), Valid: true}
			if err := s.recordIP(ctx, tx, sess.ID, sess.IP, &sess.Location, seen); err != nil {
				return err
			}
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return err
	}
	sess.Activity.Logins, sess.NewDevice = logins, newDevice
	return nil
}

// checkSession returns EINVALID when a text field of sess is not
// doorman.ValidText, before anything is written.
func checkSession(sess *doorman.Session) error {
	d, l := &sess.Device, &sess.Location
	return doorman.CheckText(sess.ID, sess.UserID, sess.AccountID, sess.RevokedBy, sess.RevokeReason, sess.IP, sess.UserAgent,
		d.Browser, d.BrowserVersion, d.OS, d.OSVersion, d.Model, d.Type,
		l.City, l.Region, l.Country, l.CountryCode, l.ISP, sess.Activity.LastPage, sess.Risk.Level,
		strings.Join(sess.Risk.Reasons, ","))
}

// upsertDevice records a sign-in on the device of sess.DeviceKeyHash for
// sess's user, creating the device if the user has none with that key. It
// returns the device's id, its logins after this one, and whether it was
// created now.
func upsertDevice(ctx context.Context, tx *sql.Tx, sess *doorman.Session) (string, int64, bool, error) {
	newID := doorman.NewID(doorman.PrefixDevice, sess.CreatedAt)
	at := toMicros(sess.CreatedAt)
	var id string
	var logins int64
	err := tx.QueryRowContext(ctx, `INSERT INTO devices
		(id, account_id, user_id, key_hash, first_seen_at, last_seen_at, logins)
		SELECT ?, u.account_id, u.id, ?, ?, ?, 1
		FROM users u WHERE u.id = ? AND u.account_id = ?
		ON CONFLICT (user_id, key_hash) DO UPDATE SET
			logins = logins + 1,
			last_seen_at = max(last_seen_at, excluded.last_seen_at)
		RETURNING id, logins`,
		newID, sess.DeviceKeyHash, at, at, sess.UserID, sess.AccountID).Scan(&id, &logins)
	if errors.Is(err, sql.ErrNoRows) || constraint(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return "", 0, false, notFound("user not found")
	}
	if err != nil {
		return "", 0, false, wrap("create session: device", err)
	}
	// An existing device keeps its id: only a new row carries ours.
	return id, logins, id == newID, nil
}

// recordIPSQL records that a session (?9) used an address (?1) at a time
// (?8, microseconds; NULL for the session's last activity): a new row is
// first and last seen then, with the place given (?2 to ?7, and its point
// ?10 and ?11); an existing one
// keeps the earliest first and the latest last seen. recordIPPlaceSQL also
// replaces an existing row's place. Neither does anything when no session
// has the id.
const (
	recordIPSQL = `INSERT INTO session_ips
		(session_id, account_id, ip, city, region, country, country_code, isp, location_local,
		 latitude, longitude, first_seen_at, last_seen_at)
		SELECT id, account_id, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?10, ?11,
			coalesce(?8, last_active_at), coalesce(?8, last_active_at)
		FROM sessions WHERE id = ?9
		ON CONFLICT (session_id, ip) DO UPDATE SET
			first_seen_at = min(first_seen_at, excluded.first_seen_at),
			last_seen_at = max(last_seen_at, excluded.last_seen_at)`
	recordIPPlaceSQL = recordIPSQL + `,
			city = excluded.city, region = excluded.region, country = excluded.country,
			country_code = excluded.country_code, isp = excluded.isp, location_local = excluded.location_local,
			latitude = excluded.latitude, longitude = excluded.longitude`
)

// recordIP runs recordIPSQL, or recordIPPlaceSQL when loc is not nil, in tx.
func (s *Store) recordIP(ctx context.Context, tx *sql.Tx, sessionID, ip string, loc *doorman.Location, seen sql.NullInt64) error {
	st, l := s.recordIPKeep, doorman.Location{}
	if loc != nil {
		st, l = s.recordIPPlace, *loc
	}
	_, err := tx.StmtContext(ctx, st).ExecContext(ctx,
		ip, l.City, l.Region, l.Country, l.CountryCode, l.ISP, l.Local, seen, sessionID, l.Latitude, l.Longitude)
	if err != nil {
		return wrap("record session address", err)
	}
	return nil
}

// findByTokenSQL is the query of every request: the session, its user and
// its account, by the token hash's unique index.
const findByTokenSQL = `SELECT ` + sessionCols + `, ` + userCols + `, ` + accountCols +
	sessionFrom + `
	JOIN users u ON u.id = s.user_id AND u.account_id = s.account_id
	JOIN accounts a ON a.id = s.account_id
	WHERE s.token_hash = ?`

// FindSessionByTokenHash implements doorman.SessionStore.
func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	var gen uint64
	if s.cache != nil && !doorman.Uncached(ctx) {
		var p *doorman.Principal
		if p, gen, _ = s.cache.get(ctx, hash); p != nil {
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

// FindSessionByID implements doorman.SessionStore.
func (s *Store) FindSessionByID(ctx context.Context, accountID, id string) (*doorman.Session, error) {
	w := where{}
	w.add("s.id = ?", id)
	if accountID != "" {
		w.add("s.account_id = ?", accountID)
	}
	if err := checkArgs(w.args); err != nil {
		return nil, err
	}
	var r sessionRow
	err := s.db.QueryRowContext(ctx, `SELECT `+sessionCols+sessionFrom+w.String(), w.args...).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session not found")
	}
	if err != nil {
		return nil, wrap("find session", err)
	}
	return r.session(), nil
}

// FindSessions implements doorman.SessionStore.
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
		`SELECT `+sessionCols+sessionFrom+w.String()+` ORDER BY s.last_active_at DESC, s.id DESC`,
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
// and live (liveExpr).
func activeWindow(w *where, a *doorman.ActiveWindow) {
	w.add("s.revoked_at IS NULL")
	cond, args := liveExpr(a)
	w.add(cond, args...)
}

// liveExpr returns the conditions of doorman.ActiveWindow but revocation,
// on sessions s: ExpiresAt after Now, and either remembered (when allowed)
// and created after RememberSince, or not remembered and (no idle limit or
// last active after IdleSince). The Go-side branches leave out the parts a
// constant decides.
func liveExpr(a *doorman.ActiveWindow) (string, []any) {
	cond, args := "(s.expires_at IS NULL OR s.expires_at > ?)", []any{toMicros(a.Now)}
	idle, idleArgs := "1", []any(nil)
	if !a.IdleSince.IsZero() {
		idle, idleArgs = "s.last_active_at > ?", []any{toMicros(a.IdleSince)}
	}
	if !a.RememberAllowed {
		if idleArgs != nil {
			cond += " AND " + idle
			args = append(args, idleArgs...)
		}
		return cond, args
	}
	cond += " AND ((s.remember_me = 1 AND s.created_at > ?) OR (s.remember_me = 0 AND " + idle + "))"
	args = append(args, toMicros(a.RememberSince))
	return cond, append(args, idleArgs...)
}

// touchSet records a session's activity: LastActiveAt never moves
// backwards, and an empty IP or page keeps the stored one. The statements of
// the usual touches are prepared once: touchSQL for activity alone,
// touchPlaceSQL for activity from an address with its place, as a server
// writes them.
const (
	touchSet = `UPDATE sessions SET
	last_active_at = max(last_active_at, ?),
	ip = coalesce(nullif(?, ''), ip),
	actions = actions + ?,
	last_page = coalesce(nullif(?, ''), last_page)`
	placeSet = `city = ?, region = ?, country = ?, country_code = ?, isp = ?, location_local = ?,
	latitude = ?, longitude = ?`
	touchSQL      = touchSet + ` WHERE id = ?`
	touchPlaceSQL = touchSet + `, ` + placeSet + ` WHERE id = ?`
)

// TouchSession implements doorman.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, t doorman.Touch) error {
	if err := touchTexts(id, t); err != nil {
		return err
	}
	at, seen := int64(minMicros), sql.NullInt64{}
	if !t.At.IsZero() {
		at, seen = toMicros(t.At), sql.NullInt64{Int64: toMicros(t.At), Valid: true}
	}
	if t.IP == "" && t.Location == nil && t.UserAgent == "" && t.Device == nil && t.Risk == nil {
		res, err := s.touch.ExecContext(ctx, at, t.IP, t.Actions, t.LastPage, id)
		return touched("touch session", res, err)
	}
	args := []any{at, t.IP, t.Actions, t.LastPage}
	set, prepared := touchSet, s.touchPlace
	if t.UserAgent != "" {
		set += ", user_agent = ?"
		args = append(args, t.UserAgent)
		prepared = nil
	}
	if l := t.Location; l != nil {
		set += ", " + placeSet
		args = append(args, l.City, l.Region, l.Country, l.CountryCode, l.ISP, l.Local, l.Latitude, l.Longitude)
	} else {
		prepared = nil
	}
	if d := t.Device; d != nil {
		set += ", browser = ?, browser_version = ?, os = ?, os_version = ?, device_model = ?, device_type = ?"
		args = append(args, d.Browser, d.BrowserVersion, d.OS, d.OSVersion, d.Model, d.Type)
		prepared = nil
	}
	if r := t.Risk; r != nil {
		set += ", risk_level = ?, risk_reasons = ?"
		args = append(args, r.Level, strings.Join(r.Reasons, ","))
		prepared = nil
	}
	args = append(args, id)
	return s.inTx(ctx, "touch session", func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if prepared != nil { // set is touchPlaceSQL's
			res, err = tx.StmtContext(ctx, prepared).ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, set+" WHERE id = ?", args...)
		}
		if err := touched("touch session", res, err); err != nil {
			return err
		}
		if t.IP == "" {
			return nil
		}
		return s.recordIP(ctx, tx, id, t.IP, t.Location, seen)
	})
}

// touched returns ENOTFOUND when an UPDATE of one session changed no row.
func touched(op string, res sql.Result, err error) error {
	return oneRow(op, "session not found", res, err)
}

// oneRow checks the outcome of a statement that must change a row: err
// wrapped with op, or ENOTFOUND saying msg when it changed none.
func oneRow(op, msg string, res sql.Result, err error) error {
	if err != nil {
		return wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(op, err)
	} else if n == 0 {
		return notFound("%s", msg)
	}
	return nil
}

// FindSessionIPs implements doorman.SessionStore.
func (s *Store) FindSessionIPs(ctx context.Context, accountID, sessionID string) ([]*doorman.SessionIP, error) {
	if err := doorman.CheckText(accountID, sessionID); err != nil {
		return nil, err
	}
	w := where{}
	w.add("i.session_id = ?", sessionID)
	if accountID != "" {
		w.add("i.account_id = ?", accountID)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT i.ip, i.city, i.region, i.country, i.country_code, i.isp,
		i.location_local, i.latitude, i.longitude, i.first_seen_at, i.last_seen_at
		FROM session_ips i`+w.String()+` ORDER BY i.last_seen_at DESC, i.ip`, w.args...)
	if err != nil {
		return nil, wrap("find session addresses", err)
	}
	defer rows.Close()
	list := []*doorman.SessionIP{}
	for rows.Next() {
		var ip doorman.SessionIP
		var first, last int64
		l := &ip.Location
		if err := rows.Scan(&ip.IP, &l.City, &l.Region, &l.Country, &l.CountryCode, &l.ISP, &l.Local, &l.Latitude, &l.Longitude, &first, &last); err != nil {
			return nil, wrap("find session addresses", err)
		}
		ip.FirstSeen, ip.LastSeen = fromMicros(first), fromMicros(last)
		list = append(list, &ip)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("find session addresses", err)
	}
	if len(list) == 0 {
		// No address yet, or no such session: only the latter is an error.
		if _, err := s.FindSessionByID(ctx, accountID, sessionID); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// minMicros is below every stored time, so that max() keeps the stored one.
const minMicros = -1 << 63

// RevokeSessions implements doorman.SessionStore.
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
	w.add("s.revoked_at IS NULL")
	if f.AccountID != "" {
		w.add("s.account_id = ?", f.AccountID)
	}
	if f.SessionID != "" {
		w.add("s.id = ?", f.SessionID)
	}
	if f.UserID != "" {
		w.add("s.user_id = ?", f.UserID)
	}
	if f.ExceptSessionID != "" {
		w.add("s.id <> ?", f.ExceptSessionID)
	}
	if err := checkArgs(append([]any{r.By, r.Reason}, w.args...)); err != nil {
		return 0, err
	}
	var count, revoked int
	err := s.inTx(ctx, "revoke sessions", func(tx *sql.Tx) error {
		// The transaction holds the write lock: nothing changes between
		// this count and the update.
		live := -1
		if f.CountActive != nil {
			cond, args := liveExpr(f.CountActive)
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sessions s`+w.String()+` AND `+cond,
				append(w.args[:len(w.args):len(w.args)], args...)...).Scan(&live); err != nil {
				return wrap("revoke sessions: count", err)
			}
		}
		args := append([]any{toMicros(r.At), r.By, r.Reason}, w.args...)
		res, err := tx.ExecContext(ctx, `UPDATE sessions AS s SET revoked_at = ?, revoked_by = ?, revoke_reason = ?`+w.String(), args...)
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
		revoked, count = int(n), int(n)
		if live >= 0 {
			count = live
		}
		if ev != nil {
			ev.Count = count
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	// An end the rules had already decided is only recorded: every check
	// refuses the session by the same rules, so there is nothing to wait for.
	if revoked > 0 && r.By != doorman.ActorExpiry {
		s.settle()
	}
	return count, nil
}

// PurgeSessions implements doorman.SessionStore.
// Address history goes with its session (ON DELETE CASCADE).
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

// authenticatedAt is when sess last proved its password: its sign-in unless
// set.
func authenticatedAt(sess *doorman.Session) time.Time {
	if sess.AuthenticatedAt.IsZero() {
		return sess.CreatedAt
	}
	return sess.AuthenticatedAt
}

// ReauthenticateSession implements doorman.SessionStore.
func (s *Store) ReauthenticateSession(ctx context.Context, accountID, id string, at time.Time, ev *doorman.AuditEvent) error {
	if err := doorman.CheckText(accountID, id); err != nil {
		return err
	}
	return s.inTx(ctx, "reauthenticate session", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions
			SET authenticated_at = max(authenticated_at, created_at, ?)
			WHERE id = ? AND account_id = ? AND revoked_at IS NULL`, toMicros(at), id, accountID)
		if err := oneRow("reauthenticate session", "session not found", res, err); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
}
