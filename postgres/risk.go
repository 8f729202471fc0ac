package postgres

import (
	"context"
	"time"

	"github.com/doorman/doorman"
)

// FindUserHistory implements doorman.RiskStore.
func (s *Store) FindUserHistory(ctx context.Context, accountID, userID string, before time.Time) (*doorman.RiskHistory, error) {
	h := &doorman.RiskHistory{}
	rows, err := s.pool.Query(ctx, `SELECT browser, os, count(*) FROM sessions
		WHERE account_id = $1 AND user_id = $2 AND created_at < $3 GROUP BY browser, os`, accountID, userID, before)
	if err != nil {
		return nil, wrap("find user history", err)
	}
	for rows.Next() {
		var d doorman.Device
		var n int
		if err := rows.Scan(&d.Browser, &d.OS, &n); err != nil {
			rows.Close()
			return nil, wrap("find user history", err)
		}
		h.AddSessions(d, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("find user history", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT key_hash FROM devices
		WHERE account_id = $1 AND user_id = $2 AND first_seen_at < $3`, accountID, userID, before)
	if err != nil {
		return nil, wrap("find user history", err)
	}
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, wrap("find user history", err)
		}
		h.DeviceKeys = append(h.DeviceKeys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("find user history", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT i.ip, i.city, i.country, i.country_code, i.location_local,
			i.latitude, i.longitude, max(i.last_seen_at)
		FROM session_ips i JOIN sessions s ON s.id = i.session_id
		WHERE i.account_id = $1 AND s.account_id = $1 AND s.user_id = $2 AND i.first_seen_at < $3
		GROUP BY i.ip, i.city, i.country, i.country_code, i.location_local, i.latitude, i.longitude`,
		accountID, userID, before)
	if err != nil {
		return nil, wrap("find user history", err)
	}
	for rows.Next() {
		var ip string
		var l doorman.Location
		var seen time.Time
		if err := rows.Scan(&ip, &l.City, &l.Country, &l.CountryCode, &l.Local, &l.Latitude, &l.Longitude, &seen); err != nil {
			rows.Close()
			return nil, wrap("find user history", err)
		}
		h.AddAddress(ip, l, seen.UTC())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("find user history", err)
	}
	return h, nil
}

// FindFlaggedUsers implements doorman.RiskStore.
func (s *Store) FindFlaggedUsers(ctx context.Context, accountID string, userIDs []string, w *doorman.ActiveWindow, oldBefore time.Time) ([]string, error) {
	out := []string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	var q query
	q.where("s.account_id = " + q.arg(accountID))
	q.where("s.user_id = ANY(" + q.arg(userIDs) + ")")
	q.where("(s.risk_level IN ('high', 'medium') OR s.created_at < " + q.arg(oldBefore) + ")")
	activeWindow(&q, w)
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT s.user_id FROM sessions s`+q.clause()+` ORDER BY s.user_id`, q.args...)
	if err != nil {
		return nil, wrap("find flagged users", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrap("find flagged users", err)
		}
		out = append(out, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("find flagged users", err)
	}
	return out, nil
}
