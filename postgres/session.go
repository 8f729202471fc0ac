package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
)

// sessionColumns are read from sessionFrom. Logins is the device's count as
// it is now, so that a later sign-in from the same device shows on every
// session of it; a session without a device keeps its own.
const sessionColumns = `s.id, s.token_hash, s.user_id, s.account_id, s.created_at, s.last_active_at,
	s.expires_at, s.remember_me, s.revoked_at, s.revoked_by, s.revoke_reason, s.ip, s.user_agent,
	s.browser, s.browser_version, s.os, s.os_version, s.device_model, s.device_type,
	s.city, s.region, s.country, s.country_code, s.isp, s.location_local, s.latitude, s.longitude,
	COALESCE(d.logins, s.logins), s.actions, s.last_page, s.risk_level, s.risk_reasons, s.new_device,
	COALESCE(s.authenticated_at, s.created_at), s.two_factor, s.bound_key, s.bound_secret, s.bound_at`

// sessionFrom is the FROM clause of sessionColumns.
const sessionFrom = ` FROM sessions s LEFT JOIN devices d ON d.id = s.device_id`

// sessionRow receives one row of sessionColumns.
type sessionRow struct {
	s           doorman.Session
	reasons     string
	boundKey    string
	boundSecret []byte
	boundAt     *time.Time
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.TokenHash, &s.UserID, &s.AccountID, &s.CreatedAt, &s.LastActiveAt,
		&s.ExpiresAt, &s.RememberMe, &s.RevokedAt, &s.RevokedBy, &s.RevokeReason, &s.IP, &s.UserAgent,
		&s.Device.Browser, &s.Device.BrowserVersion, &s.Device.OS, &s.Device.OSVersion, &s.Device.Model, &s.Device.Type,
		&s.Location.City, &s.Location.Region, &s.Location.Country, &s.Location.CountryCode, &s.Location.ISP, &s.Location.Local,
		&s.Location.Latitude, &s.Location.Longitude,
		&s.Activity.Logins, &s.Activity.Actions, &s.Activity.LastPage, &s.Risk.Level, &r.reasons, &s.NewDevice,
		&s.AuthenticatedAt, &s.TwoFactor, &r.boundKey, &r.boundSecret, &r.boundAt}
}

// session returns the row as a Session with its times in UTC.
func (r *sessionRow) session() *doorman.Session {
	s := r.s
	s.CreatedAt = s.CreatedAt.UTC()
	s.LastActiveAt = s.LastActiveAt.UTC()
	s.AuthenticatedAt = s.AuthenticatedAt.UTC()
	s.ExpiresAt = utcPtr(s.ExpiresAt)
	s.RevokedAt = utcPtr(s.RevokedAt)
	if r.reasons != "" {
		s.Risk.Reasons = strings.Split(r.reasons, ",")
	}
	if r.boundKey != "" && r.boundAt != nil {
		s.Binding = &doorman.Binding{Key: r.boundKey, Secret: r.boundSecret, At: r.boundAt.UTC()}
	}
	return &s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateSession implements doorman.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess *doorman.Session, ev *doorman.AuditEvent) error {
	logins, newDevice := sess.Activity.Logins, sess.NewDevice
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var deviceID *string
		if len(sess.DeviceKeyHash) > 0 {
			id, n, created, err := upsertDevice(ctx, tx, sess)
			if err != nil {
				return err
			}
			deviceID, logins, newDevice = &id, n, created
		}
		// Selecting the user in the account keeps a session from joining a
		// user and an account that do not belong together.
		tag, err := tx.Exec(ctx, `INSERT INTO sessions (
				id, token_hash, user_id, account_id, created_at, last_active_at,
				expires_at, remember_me, revoked_at, revoked_by, revoke_reason, ip, user_agent,
				browser, browser_version, os, os_version, device_model, device_type,
				city, region, country, country_code, isp, location_local, latitude, longitude,
				logins, actions, last_page, risk_level, risk_reasons, device_id, new_device, authenticated_at,
				two_factor)
			SELECT $1, $2, u.id, u.account_id, $5, $6,
				$7, $8, $9, $10, $11, $12, $13,
				$14, $15, $16, $17, $18, $19,
				$20, $21, $22, $23, $24, $25, $34, $35,
				$26, $27, $28, $29, $30, $31, $32, $33,
				$36
			FROM users u WHERE u.id = $3 AND u.account_id = $4`,
			sess.ID, sess.TokenHash, sess.UserID, sess.AccountID, sess.CreatedAt, sess.LastActiveAt,
			sess.ExpiresAt, sess.RememberMe, sess.RevokedAt, sess.RevokedBy, sess.RevokeReason, sess.IP, sess.UserAgent,
			sess.Device.Browser, sess.Device.BrowserVersion, sess.Device.OS, sess.Device.OSVersion, sess.Device.Model, sess.Device.Type,
			sess.Location.City, sess.Location.Region, sess.Location.Country, sess.Location.CountryCode, sess.Location.ISP, sess.Location.Local,
			logins, sess.Activity.Actions, sess.Activity.LastPage, sess.Risk.Level, strings.Join(sess.Risk.Reasons, ","),
			deviceID, newDevice, authenticatedAt(sess), sess.Location.Latitude, sess.Location.Longitude,
			sess.TwoFactor)
		switch sqlState(err) {
		case "":
			if err != nil { // not PostgreSQL's answer: the connection or a deadline
				return err
			}
		case codeUniqueViolation:
			return doorman.Errorf(doorman.ECONFLICT, "a session with this id or token already exists")
		case codeForeignKeyViolation: // the user was deleted meanwhile
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		default:
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "user not found")
		}
		if sess.IP != "" {
			l := sess.Location
			if _, err := tx.Exec(ctx, firstIPSQL, sess.ID, sess.IP,
				l.City, l.Region, l.Country, l.CountryCode, l.ISP, l.Local, sess.CreatedAt, l.Latitude, l.Longitude); err != nil {
				return fmt.Errorf("record session address: %w", err)
			}
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return wrap("create session", err)
	}
	s.cache.invalidate("u:" + sess.UserID) // the device's logins show on the user's other sessions
	sess.Activity.Logins, sess.NewDevice = logins, newDevice
	return nil
}

// upsertDevice records a sign-in on the device of sess.DeviceKeyHash for
// sess's user, creating the device if the user has none with that key. It
// returns the device's id, its logins after this one, and whether it was
// created now.
func upsertDevice(ctx context.Context, tx pgx.Tx, sess *doorman.Session) (string, int64, bool, error) {
	newID := doorman.NewID(doorman.PrefixDevice, sess.CreatedAt)
	var id string
	var logins int64
	err := tx.QueryRow(ctx, `INSERT INTO devices
			(id, account_id, user_id, key_hash, first_seen_at, last_seen_at, logins)
		SELECT $1, u.account_id, u.id, $2, $3, $3, 1
		FROM users u WHERE u.id = $4 AND u.account_id = $5
		ON CONFLICT (user_id, key_hash) DO UPDATE SET
			logins = devices.logins + 1,
			last_seen_at = GREATEST(devices.last_seen_at, excluded.last_seen_at)
		RETURNING id, logins`,
		newID, sess.DeviceKeyHash, sess.CreatedAt, sess.UserID, sess.AccountID).Scan(&id, &logins)
	if errors.Is(err, pgx.ErrNoRows) || sqlState(err) == codeForeignKeyViolation {
		return "", 0, false, doorman.Errorf(doorman.ENOTFOUND, "user not found")
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("device: %w", err)
	}
	// An existing device keeps its id: only a new row carries ours.
	return id, logins, id == newID, nil
}

// recordIPSQL returns the statement that records that the session of src
// (a table expression s with columns id, account_id and last_active_at)
// used the address ip at seen (a NULL seen means the session's last
// activity), all three SQL expressions: a new row is first and last seen
// then, at place (eight expressions for city, region, country, country_code,
// isp, location_local, latitude and longitude); an existing row keeps the earliest first and the
// latest last seen, and takes place too when replacePlace is set. It affects
// one row, or none when src has none.
func recordIPSQL(src, ip, place, seen string, replacePlace bool) string {
	q := `INSERT INTO session_ips
			(session_id, account_id, ip, city, region, country, country_code, isp, location_local,
			 latitude, longitude, first_seen_at, last_seen_at)
		SELECT s.id, s.account_id, ` + ip + `, ` + place + `,
			COALESCE(` + seen + `, s.last_active_at), COALESCE(` + seen + `, s.last_active_at)
		FROM ` + src + `
		ON CONFLICT (session_id, ip) DO UPDATE SET
			first_seen_at = LEAST(session_ips.first_seen_at, excluded.first_seen_at),
			last_seen_at = GREATEST(session_ips.last_seen_at, excluded.last_seen_at)`
	if replacePlace {
		q += `, city = excluded.city, region = excluded.region, country = excluded.country,
			country_code = excluded.country_code, isp = excluded.isp, location_local = excluded.location_local,
			latitude = excluded.latitude, longitude = excluded.longitude`
	}
	return q
}

// firstIPSQL records a new session's first address ($2) and place ($3 to
// $8, $10 and $11), seen at $9.
var firstIPSQL = recordIPSQL(`(SELECT id, account_id, last_active_at FROM sessions WHERE id = $1) s`,
	"$2", "$3, $4, $5, $6, $7, $8, $10, $11", "$9::timestamptz", true)

// FindSessionByTokenHash implements doorman.SessionStore.
func (s *Store) FindSessionByTokenHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	uncached := doorman.Uncached(ctx)
	p, gen := s.cache.get(hash)
	if p != nil && !uncached {
		return p, nil
	}
	var (
		r sessionRow
		u doorman.User
		a doorman.Account
	)
	dest := append(append(r.dest(), userDest(&u)...), accountDest(&a)...)
	err := s.pool.QueryRow(ctx, `SELECT `+sessionColumns+`, `+userColumns+`, `+accountColumns+
		sessionFrom+`
		JOIN users u ON u.id = s.user_id AND u.account_id = s.account_id
		JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = $1`, hash).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, wrap("find session by token", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	a.CreatedAt = a.CreatedAt.UTC()
	p = &doorman.Principal{Session: r.session(), User: &u, Account: &a}
	s.cache.put(hash, gen, p)
	return p, nil
}

// FindSessionByID implements doorman.SessionStore.
func (s *Store) FindSessionByID(ctx context.Context, accountID, id string) (*doorman.Session, error) {
	var q query
	q.where("s.id = " + q.arg(id))
	if accountID != "" {
		q.where("s.account_id = " + q.arg(accountID))
	}
	var r sessionRow
	err := s.pool.QueryRow(ctx, "SELECT "+sessionColumns+sessionFrom+q.clause(), q.args...).Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, wrap("find session", err)
	}
	return r.session(), nil
}

// FindSessions implements doorman.SessionStore.
func (s *Store) FindSessions(ctx context.Context, f doorman.SessionFilter) ([]*doorman.Session, int, error) {
	var q query
	if f.AccountID != "" {
		q.where("s.account_id = " + q.arg(f.AccountID))
	}
	if f.ID != "" {
		q.where("s.id = " + q.arg(f.ID))
	}
	if f.UserID != "" {
		q.where("s.user_id = " + q.arg(f.UserID))
	}
	if w := f.Active; w != nil {
		activeWindow(&q, w)
	}
	nargs := len(q.args)
	sql := "SELECT " + sessionColumns + ", count(*) OVER ()" + sessionFrom + q.clause() +
		" ORDER BY s.last_active_at DESC, s.id DESC" + q.page(f.Limit, f.Offset)
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, 0, wrap("find sessions", err)
	}
	defer rows.Close()
	list := []*doorman.Session{}
	total := 0
	for rows.Next() {
		var r sessionRow
		if err := rows.Scan(append(r.dest(), &total)...); err != nil {
			return nil, 0, wrap("find sessions", err)
		}
		list = append(list, r.session())
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("find sessions", err)
	}
	if len(list) == 0 && f.Offset > 0 {
		if total, err = q.count(ctx, s.pool, "sessions s", nargs); err != nil {
			return nil, 0, wrap("find sessions", err)
		}
	}
	return list, total, nil
}

// activeWindow adds the conditions of doorman.ActiveWindow: not revoked,
// and live (liveExpr).
func activeWindow(q *query, w *doorman.ActiveWindow) {
	q.where("s.revoked_at IS NULL")
	q.where(liveExpr(q, w))
}

// liveExpr returns the conditions of doorman.ActiveWindow but revocation,
// on sessions s, adding its arguments to q: ExpiresAt after Now (no
// ExpiresAt: no cap), and either remembered (when RememberAllowed) with
// CreatedAt after RememberSince, or not remembered and LastActiveAt after
// IdleSince (when IdleSince is set).
func liveExpr(q *query, w *doorman.ActiveWindow) string {
	cond := "(s.expires_at IS NULL OR s.expires_at > " + q.arg(w.Now) + ")"
	idle := "TRUE"
	if !w.IdleSince.IsZero() {
		idle = "s.last_active_at > " + q.arg(w.IdleSince)
	}
	if !w.RememberAllowed {
		// Remember-me no longer counts: every session is subject to idling.
		return cond + " AND " + idle
	}
	return cond + " AND ((s.remember_me AND s.created_at > " + q.arg(w.RememberSince) + ") OR (NOT s.remember_me AND " + idle + "))"
}

// TouchSession implements doorman.SessionStore.
// A touch with an IP records it in the address history in the same
// statement.
func (s *Store) TouchSession(ctx context.Context, id string, t doorman.Touch) error {
	var at *time.Time
	if !t.At.IsZero() {
		at = &t.At
	}
	var q query
	q.arg(id)
	atArg, ipArg := q.arg(at)+"::timestamptz", q.arg(t.IP)
	// GREATEST ignores a NULL argument, so a zero At keeps last_active_at.
	set := `UPDATE sessions SET
			last_active_at = GREATEST(last_active_at, ` + atArg + `),
			ip = COALESCE(NULLIF(` + ipArg + `, ''), ip),
			actions = actions + ` + q.arg(t.Actions) + `,
			last_page = COALESCE(NULLIF(` + q.arg(t.LastPage) + `, ''), last_page)`
	if t.UserAgent != "" {
		set += `, user_agent = ` + q.arg(t.UserAgent)
	}
	place := `'', '', '', '', '', false, 0, 0` // of a new history row without a Location
	if l := t.Location; l != nil {
		p := []string{q.arg(l.City), q.arg(l.Region), q.arg(l.Country), q.arg(l.CountryCode), q.arg(l.ISP), q.arg(l.Local)}
		set += `, city = ` + p[0] + `, region = ` + p[1] + `, country = ` + p[2] +
			`, country_code = ` + p[3] + `, isp = ` + p[4] + `, location_local = ` + p[5]
		p = append(p, q.arg(l.Latitude), q.arg(l.Longitude))
		set += `, latitude = ` + p[6] + `, longitude = ` + p[7]
		place = strings.Join(p, ", ")
	}
	if d := t.Device; d != nil {
		set += `, browser = ` + q.arg(d.Browser) + `, browser_version = ` + q.arg(d.BrowserVersion) +
			`, os = ` + q.arg(d.OS) + `, os_version = ` + q.arg(d.OSVersion) +
			`, device_model = ` + q.arg(d.Model) + `, device_type = ` + q.arg(d.Type)
	}
	if r := t.Risk; r != nil {
		set += `, risk_level = ` + q.arg(r.Level) + `, risk_reasons = ` + q.arg(strings.Join(r.Reasons, ","))
	}
	stmt := set + ` WHERE id = $1`
	if t.IP != "" {
		// One statement, so one round trip and atomic: the history row is
		// inserted from the updated session, and only if there is one.
		stmt = `WITH s AS (` + stmt + ` RETURNING id, account_id, last_active_at) ` +
			recordIPSQL("s", ipArg, place, atArg, t.Location != nil)
	}
	tag, err := s.pool.Exec(ctx, stmt, q.args...)
	// This node reads its own write back at once; the others hear of it.
	s.cache.invalidate("s:" + id)
	if err != nil {
		return wrap("touch session", err)
	}
	if tag.RowsAffected() == 0 {
		return doorman.Errorf(doorman.ENOTFOUND, "session not found")
	}
	return nil
}

// FindSessionIPs implements doorman.SessionStore.
func (s *Store) FindSessionIPs(ctx context.Context, accountID, sessionID string) ([]*doorman.SessionIP, error) {
	var q query
	q.where("i.session_id = " + q.arg(sessionID))
	if accountID != "" {
		q.where("i.account_id = " + q.arg(accountID))
	}
	rows, err := s.pool.Query(ctx, `SELECT i.ip, i.city, i.region, i.country, i.country_code, i.isp,
			i.location_local, i.latitude, i.longitude, i.first_seen_at, i.last_seen_at
		FROM session_ips i`+q.clause()+` ORDER BY i.last_seen_at DESC, i.ip COLLATE "C"`, q.args...)
	if err != nil {
		return nil, wrap("find session addresses", err)
	}
	defer rows.Close()
	list := []*doorman.SessionIP{}
	for rows.Next() {
		var ip doorman.SessionIP
		l := &ip.Location
		if err := rows.Scan(&ip.IP, &l.City, &l.Region, &l.Country, &l.CountryCode, &l.ISP, &l.Local,
			&l.Latitude, &l.Longitude, &ip.FirstSeen, &ip.LastSeen); err != nil {
			return nil, wrap("find session addresses", err)
		}
		ip.FirstSeen, ip.LastSeen = ip.FirstSeen.UTC(), ip.LastSeen.UTC()
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

// RevokeSessions implements doorman.SessionStore.
func (s *Store) RevokeSessions(ctx context.Context, f doorman.RevokeFilter, r doorman.Revocation, ev *doorman.AuditEvent) (int, error) {
	if f.SessionID == "" && f.UserID == "" {
		if !f.All {
			return 0, doorman.Errorf(doorman.EINVALID, "select a session, a user or all sessions of an account to revoke")
		}
		// All means every session of one account, never of the whole database.
		if f.AccountID == "" {
			return 0, doorman.Errorf(doorman.EINVALID, "revoking all sessions requires an account")
		}
	}
	var q query
	set := "UPDATE sessions s SET revoked_at = " + q.arg(r.At) + ", revoked_by = " + q.arg(r.By) +
		", revoke_reason = " + q.arg(r.Reason)
	q.where("s.revoked_at IS NULL")
	if f.AccountID != "" {
		q.where("s.account_id = " + q.arg(f.AccountID))
	}
	if f.SessionID != "" {
		q.where("s.id = " + q.arg(f.SessionID))
	}
	if f.UserID != "" {
		q.where("s.user_id = " + q.arg(f.UserID))
	}
	if f.ExceptSessionID != "" {
		q.where("s.id <> " + q.arg(f.ExceptSessionID))
	}
	// RETURNING sees the updated row, whose revoked_at is set: live leaves
	// revocation out, and every row updated was not revoked before.
	live := "TRUE"
	if f.CountActive != nil {
		live = liveExpr(&q, f.CountActive)
	}
	stmt := "WITH u AS (" + set + q.clause() + " RETURNING " + live + " AS live) " +
		"SELECT count(*), count(*) FILTER (WHERE live) FROM u"
	var n, revoked int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, stmt, q.args...).Scan(&revoked, &n); err != nil {
			return err
		}
		if revoked == 0 && f.SessionID != "" {
			return doorman.Errorf(doorman.ENOTFOUND, "session not found or already signed out")
		}
		if ev != nil {
			ev.Count = n
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, wrap("revoke sessions", err)
	}
	if revoked > 0 {
		changed := "a:" + f.AccountID
		switch {
		case f.SessionID != "":
			changed = "s:" + f.SessionID
		case f.UserID != "":
			changed = "u:" + f.UserID
		}
		if r.By == doorman.ActorExpiry {
			// An end the rules had already decided is only recorded: every
			// node refuses the session by the same rules, so there is
			// nothing to wait for.
			s.cache.invalidate(changed)
		} else {
			s.settle(changed)
		}
	}
	return n, nil
}

// PurgeSessions implements doorman.SessionStore.
// Address history goes with its session (ON DELETE CASCADE).
func (s *Store) PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	// SKIP LOCKED lets several nodes purge at once without waiting on each
	// other's batches.
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions
			WHERE revoked_at < $1 OR expires_at < $1
			LIMIT $2
			FOR UPDATE SKIP LOCKED)`,
		cutoff, limit)
	if err != nil {
		return 0, wrap("purge sessions", err)
	}
	if tag.RowsAffected() > 0 {
		s.cache.reset() // what was deleted is no longer found
	}
	return int(tag.RowsAffected()), nil
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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sessions
			SET authenticated_at = GREATEST(COALESCE(authenticated_at, created_at), $3)
			WHERE id = $2 AND account_id = $1 AND revoked_at IS NULL`, accountID, id, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return doorman.Errorf(doorman.ENOTFOUND, "session not found")
		}
		return insertAuditEvent(ctx, tx, ev)
	})
	s.cache.invalidate("s:" + id)
	return wrap("reauthenticate session", err)
}
