package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// FindUserHistory implements doorman.RiskStore.
func (s *Store) FindUserHistory(ctx context.Context, accountID, userID string, before time.Time) (*doorman.RiskHistory, error) {
	if err := doorman.CheckText(accountID, userID); err != nil {
		return nil, err
	}
	h := &doorman.RiskHistory{}
	b := toMicros(before)
	rows, err := s.db.QueryContext(ctx, `SELECT browser, os, count(*) FROM sessions
		WHERE account_id = ? AND user_id = ? AND created_at < ? GROUP BY browser, os`, accountID, userID, b)
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
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT key_hash FROM devices
		WHERE account_id = ? AND user_id = ? AND first_seen_at < ?`, accountID, userID, b)
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
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT i.ip, i.city, i.country, i.country_code, i.location_local,
			i.latitude, i.longitude, max(i.last_seen_at)
		FROM session_ips i JOIN sessions s ON s.id = i.session_id
		WHERE i.account_id = ? AND s.account_id = ? AND s.user_id = ? AND i.first_seen_at < ?
		GROUP BY i.ip, i.city, i.country, i.country_code, i.location_local, i.latitude, i.longitude`,
		accountID, accountID, userID, b)
	if err != nil {
		return nil, wrap("find user history", err)
	}
	for rows.Next() {
		var ip string
		var l doorman.Location
		var seen int64
		if err := rows.Scan(&ip, &l.City, &l.Country, &l.CountryCode, &l.Local, &l.Latitude, &l.Longitude, &seen); err != nil {
			rows.Close()
			return nil, wrap("find user history", err)
		}
		h.AddAddress(ip, l, fromMicros(seen))
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return h, nil
}

type closer interface {
	Close() error
	Err() error
}

func closeRows(r closer) error {
	err := r.Err()
	r.Close()
	if err != nil {
		return wrap("find user history", err)
	}
	return nil
}

// FindFlaggedUsers implements doorman.RiskStore.
func (s *Store) FindFlaggedUsers(ctx context.Context, accountID string, userIDs []string, w *doorman.ActiveWindow, oldBefore time.Time) ([]string, error) {
	if err := doorman.CheckText(append([]string{accountID}, userIDs...)...); err != nil {
		return nil, err
	}
	out := []string{}
	if len(userIDs) == 0 {
		return out, nil
	}
	wh := where{}
	wh.add("s.account_id = ?", accountID)
	in := make([]any, len(userIDs))
	for i, id := range userIDs {
		in[i] = id
	}
	wh.add("s.user_id IN (?"+strings.Repeat(", ?", len(userIDs)-1)+")", in...)
	wh.add("(s.risk_level IN ('high', 'medium') OR s.created_at < ?)", toMicros(oldBefore))
	activeWindow(&wh, w)
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT s.user_id FROM sessions s`+wh.String()+` ORDER BY s.user_id`, wh.args...)
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
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	return out, nil
}
