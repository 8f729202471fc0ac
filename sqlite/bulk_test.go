package sqlite_test

import (
	"context"
	"strings"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/sqlite"
)

// bulkSeed writes the benchmarks' large fixtures in one transaction with
// prepared statements, then gathers the planner's statistics.
func bulkSeed(st doorman.Store, users []*doorman.User, sessions []*doorman.Session) error {
	ctx := context.Background()
	db := st.(*sqlite.Store).DB()
	// One connection with a page cache that holds the indexes being
	// filled: random ids otherwise make every insert a read from the file.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, `PRAGMA cache_size = -2000`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insUser, err := tx.PrepareContext(ctx, `INSERT INTO users
		(id, account_id, email, name, role, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, u := range users {
		if _, err := insUser.ExecContext(ctx, u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash,
			u.Disabled, u.CreatedAt.UnixMicro()); err != nil {
			return err
		}
	}
	micros := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UnixMicro()
	}
	// Many rows a statement: the per-statement cost, not the rows, is what
	// makes one INSERT a row slow.
	const cols, batch = 31, 200
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	for len(sessions) > 0 {
		n := min(batch, len(sessions))
		args := make([]any, 0, n*cols)
		for _, s := range sessions[:n] {
			d, l := s.Device, s.Location
			args = append(args, s.ID, s.TokenHash, s.UserID, s.AccountID, s.CreatedAt.UnixMicro(),
				s.LastActiveAt.UnixMicro(), micros(s.ExpiresAt), s.RememberMe, micros(s.RevokedAt), s.RevokedBy, s.RevokeReason,
				s.IP, s.UserAgent, d.Browser, d.BrowserVersion, d.OS, d.OSVersion, d.Model, d.Type,
				l.City, l.Region, l.Country, l.CountryCode, l.ISP, l.Local,
				s.Activity.Logins, s.Activity.Actions, s.Activity.LastPage, s.Risk.Level, strings.Join(s.Risk.Reasons, ","),
				s.NewDevice)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions
			(id, token_hash, user_id, account_id, created_at, last_active_at, expires_at, remember_me,
			 revoked_at, revoked_by, revoke_reason, ip, user_agent,
			 browser, browser_version, os, os_version, device_model, device_type,
			 city, region, country, country_code, isp, location_local,
			 logins, actions, last_page, risk_level, risk_reasons, new_device)
			VALUES `+strings.TrimSuffix(strings.Repeat(row+", ", n), ", "), args...); err != nil {
			return err
		}
		sessions = sessions[n:]
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `ANALYZE`)
	return err
}
