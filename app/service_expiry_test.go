package app_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/internal/testdb"
)

// TestSettingsChangeEndsForGood is the guest whose idle sessions an admin
// ends by setting the idle timeout to 1 day: setting it back to 7 days
// must not bring them back (4 -> 0 -> 0), and the audit log says how many
// sessions each change ended.
func TestSettingsChangeEndsForGood(t *testing.T) {
	const day = 24 * time.Hour
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "admin@company.com", doorman.RoleAdmin)
		guest := f.user(t, "Company", "guest@company.com", doorman.RoleMember)
		var tokens []string
		for range 4 {
			tok, _ := f.signIn(t, "guest@company.com", false)
			tokens = append(tokens, tok)
		}
		f.clock.Advance(2 * day)
		adminToken, _ := f.signIn(t, "admin@company.com", false)

		// guestActive counts the guest's active sessions in the team view,
		// as the admin sees it now (a fresh principal: fresh settings).
		guestActive := func(what string) int {
			t.Helper()
			p, err := f.auth(adminToken)
			if err != nil {
				t.Fatalf("%s: admin session: %v", what, err)
			}
			members, _, _, err := f.svc.TeamSessions(ctx, p, doorman.TeamFilter{Email: guest.Email})
			if err != nil || len(members) != 1 {
				t.Fatalf("%s: TeamSessions = %v, %v", what, members, err)
			}
			return members[0].Sessions
		}
		update := func(idle doorman.IdleTimeout) *doorman.AuditEvent {
			t.Helper()
			p, err := f.auth(adminToken)
			if err != nil {
				t.Fatal(err)
			}
			set := p.Account.Settings
			set.IdleTimeout = idle
			if _, err := f.svc.UpdateSettings(ctx, p, p.Account.ID, set, app.Meta{IP: "10.0.0.1"}); err != nil {
				t.Fatalf("UpdateSettings(%s): %v", idle, err)
			}
			evs, _, err := f.svc.AuditLog(ctx, p, doorman.AuditFilter{Action: doorman.ActionSettingsUpdated, Limit: 1})
			if err != nil || len(evs) != 1 {
				t.Fatalf("AuditLog = %v, %v", evs, err)
			}
			return evs[0]
		}

		if n := guestActive("7 days"); n != 4 {
			t.Fatalf("guest's active sessions at 7 days = %d, want 4", n)
		}
		if ev := update(doorman.Idle1Day); ev.Count != 4 {
			t.Errorf("settings event after 7 days -> 1 day: Count %d, want 4 sessions ended", ev.Count)
		}
		if n := guestActive("1 day"); n != 0 {
			t.Fatalf("guest's active sessions at 1 day = %d, want 0", n)
		}
		f.clock.Advance(time.Minute)
		if ev := update(doorman.Idle7Days); ev.Count != 0 {
			t.Errorf("settings event after 1 day -> 7 days: Count %d, want 0", ev.Count)
		}
		if n := guestActive("back to 7 days"); n != 0 {
			t.Fatalf("guest's active sessions back at 7 days = %d, want 0: ended sessions came back", n)
		}
		for _, tok := range tokens {
			_, err := f.auth(tok)
			wantReason(t, err, doorman.ReasonIdle)
		}
		if _, err := f.auth(adminToken); err != nil {
			t.Fatalf("the admin's own active session ended: %v", err)
		}
	})
}

// TestAuthenticateRecordsEnd: a session found past its idle timeout is
// recorded as ended then, at its deadline, so that a later, looser timeout
// does not revive it.
func TestAuthenticateRecordsEnd(t *testing.T) {
	const day = 24 * time.Hour
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.user(t, "Company", "ann@company.com", doorman.RoleAdmin)
		tok, p := f.signIn(t, "ann@company.com", false)
		signedIn := p.Session.LastActiveAt
		f.clock.Advance(8 * day)
		_, err := f.auth(tok)
		wantReason(t, err, doorman.ReasonIdle)
		got, err := store.FindSessionByID(ctx, p.Account.ID, p.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := signedIn.Add(7 * day); got.RevokedAt == nil || !got.RevokedAt.Equal(want) ||
			got.RevokedBy != doorman.ActorExpiry || got.RevokeReason != doorman.ReasonIdle {
			t.Fatalf("stored session: revoked %v by %q (%q), want %v by %q (%q)", got.RevokedAt, got.RevokedBy, got.RevokeReason,
				want, doorman.ActorExpiry, doorman.ReasonIdle)
		}
		// The recorded end answers as the rule did.
		_, err = f.auth(tok)
		wantReason(t, err, doorman.ReasonIdle)
	})
}

// endFailingStore refuses to revoke sessions, as a store that cannot write.
type endFailingStore struct {
	doorman.Store
	mu    sync.Mutex
	tries int
}

func (s *endFailingStore) RevokeSessions(context.Context, doorman.RevokeFilter, doorman.Revocation, *doorman.AuditEvent) (int, error) {
	s.mu.Lock()
	s.tries++
	s.mu.Unlock()
	return 0, errors.New("database is read-only")
}

// countHandler counts the records logged at warning level or above.
type countHandler struct {
	mu sync.Mutex
	n  int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func (h *countHandler) count() int { h.mu.Lock(); defer h.mu.Unlock(); return h.n }

// TestAuthenticateRecordEndFails: when the end cannot be recorded the answer
// is the same 401, and the failure is logged once a minute, not per request.
func TestAuthenticateRecordEndFails(t *testing.T) {
	store := &endFailingStore{Store: testdb.SQLite(t)}
	f := newFixture(t, store)
	logs := &countHandler{}
	f.svc.Log = slog.New(logs)
	f.user(t, "Company", "ann@company.com", doorman.RoleAdmin)
	tok, _ := f.signIn(t, "ann@company.com", false)
	f.clock.Advance(8 * 24 * time.Hour)
	for range 5 {
		_, err := f.auth(tok)
		wantReason(t, err, doorman.ReasonIdle)
	}
	if store.tries != 5 || logs.count() != 1 {
		t.Fatalf("5 requests: %d attempts to record the end, %d warnings logged; want 5 and 1", store.tries, logs.count())
	}
	f.clock.Advance(time.Minute)
	_, err := f.auth(tok)
	wantReason(t, err, doorman.ReasonIdle)
	if logs.count() != 2 {
		t.Fatalf("a minute later: %d warnings logged, want 2", logs.count())
	}
}
