package postgres_test

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/postgres"
)

// bulkSeed writes the benchmarks' large fixtures with COPY, then vacuums and
// analyses the tables as autovacuum would after such a load.
func bulkSeed(st doorman.Store, users []*doorman.User, sessions []*doorman.Session) error {
	ctx := context.Background()
	pool := st.(*postgres.Store).Pool()
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "account_id", "email", "name", "role", "password_hash", "disabled", "created_at"},
		pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
			u := users[i]
			return []any{u.ID, u.AccountID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.Disabled, u.CreatedAt}, nil
		}))
	if err != nil {
		return err
	}
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"sessions"},
		[]string{"id", "token_hash", "user_id", "account_id", "created_at", "last_active_at", "expires_at", "remember_me",
			"revoked_at", "revoked_by", "revoke_reason", "ip", "user_agent",
			"browser", "browser_version", "os", "os_version", "device_model", "device_type",
			"city", "region", "country", "country_code", "isp", "location_local",
			"logins", "actions", "last_page", "risk_level", "risk_reasons", "new_device"},
		pgx.CopyFromSlice(len(sessions), func(i int) ([]any, error) {
			s := sessions[i]
			d, l := s.Device, s.Location
			return []any{s.ID, s.TokenHash, s.UserID, s.AccountID, s.CreatedAt, s.LastActiveAt, s.ExpiresAt, s.RememberMe,
				s.RevokedAt, s.RevokedBy, s.RevokeReason, s.IP, s.UserAgent,
				d.Browser, d.BrowserVersion, d.OS, d.OSVersion, d.Model, d.Type,
				l.City, l.Region, l.Country, l.CountryCode, l.ISP, l.Local,
				s.Activity.Logins, s.Activity.Actions, s.Activity.LastPage, s.Risk.Level, strings.Join(s.Risk.Reasons, ","),
				s.NewDevice}, nil
		}))
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `VACUUM (ANALYZE) users, sessions`)
	return err
}
