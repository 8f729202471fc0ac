package doorman_test

import (
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var t0 = time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)

func ptr(t time.Time) *time.Time { return &t }

func TestCheckSessionBoundaries(t *testing.T) {
	const d = 24 * time.Hour
	def := doorman.DefaultSettings() // 7d idle, remember allowed, 30 days
	noRemember := def
	noRemember.RememberMeAllowed = false
	never := def
	never.IdleTimeout = doorman.IdleNever
	short := def
	short.RememberMeDays = 7

	plain := &doorman.Session{UserID: "u", CreatedAt: t0, LastActiveAt: t0, ExpiresAt: ptr(t0.Add(30 * d))}
	remembered := &doorman.Session{UserID: "u", CreatedAt: t0, LastActiveAt: t0, RememberMe: true, ExpiresAt: ptr(t0.Add(30 * d))}
	active := &doorman.Session{UserID: "u", CreatedAt: t0, LastActiveAt: t0.Add(29 * d), ExpiresAt: ptr(t0.Add(30 * d))}
	uncapped := &doorman.Session{UserID: "u", CreatedAt: t0, LastActiveAt: t0}
	tests := []struct {
		name   string
		s      *doorman.Session
		set    doorman.Settings
		at     time.Time
		reason string // "" = valid
	}{
		{"idle: one microsecond before the timeout", plain, def, t0.Add(7*d - time.Microsecond), ""},
		{"idle: at the timeout", plain, def, t0.Add(7 * d), doorman.ReasonIdle},
		{"idle 1d after a settings change", plain, doorman.Settings{IdleTimeout: doorman.Idle1Day, RememberMeAllowed: true, RememberMeDays: 30}, t0.Add(d), doorman.ReasonIdle},
		{"idle never: valid long after", plain, never, t0.Add(29 * d), ""},
		{"absolute cap: just before", active, never, t0.Add(30*d - time.Microsecond), ""},
		{"absolute cap: at the cap, though active", active, def, t0.Add(30 * d), doorman.ReasonExpired},
		{"no cap and idle never: valid a year later", uncapped, never, t0.Add(365 * d), ""},
		{"remembered: idle does not apply", remembered, def, t0.Add(20 * d), ""},
		{"remembered: ends at remember days", remembered, def, t0.Add(30 * d), doorman.ReasonExpired},
		{"remembered: shorter remember days apply at once", remembered, short, t0.Add(7 * d), doorman.ReasonExpired},
		{"remembered: one microsecond before shorter days", remembered, short, t0.Add(7*d - time.Microsecond), ""},
		{"remembered: remember-me disallowed → idle applies", remembered, noRemember, t0.Add(7 * d), doorman.ReasonIdle},
		{"remembered: longer remember days never lengthen", remembered, doorman.Settings{IdleTimeout: doorman.Idle7Days, RememberMeAllowed: true, RememberMeDays: 90}, t0.Add(30 * d), doorman.ReasonExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := doorman.CheckSession(tc.s, nil, tc.set, tc.at)
			got := ""
			if err != nil {
				e, ok := err.(*doorman.Error)
				if !ok || e.Code != doorman.EUNAUTHORIZED {
					t.Fatalf("error %v is not EUNAUTHORIZED", err)
				}
				got = e.Reason
			}
			if got != tc.reason {
				t.Fatalf("reason = %q, want %q", got, tc.reason)
			}
		})
	}
}

func TestCheckSessionMessages(t *testing.T) {
	now := t0.Add(time.Hour)
	revokedAt := t0
	for _, tc := range []struct {
		s    *doorman.Session
		u    *doorman.User
		want string
	}{
		{&doorman.Session{UserID: "u", RevokedAt: &revokedAt, RevokedBy: "u"}, nil, "You were signed out from another device"},
		{&doorman.Session{UserID: "u", RevokedAt: &revokedAt, RevokedBy: "admin"}, nil, "An administrator signed you out"},
		{&doorman.Session{UserID: "u", RevokedAt: &revokedAt, RevokedBy: doorman.ActorSystem}, nil, "An administrator signed you out"},
		{&doorman.Session{UserID: "u", RevokedAt: &revokedAt, RevokedBy: "u", RevokeReason: doorman.ReasonSignedOut}, nil, "You signed out"},
		// A recorded idle end names the timeout only if today's settings end it for idleness too.
		{&doorman.Session{UserID: "u", LastActiveAt: t0.Add(-8 * 24 * time.Hour), RevokedAt: &revokedAt, RevokedBy: doorman.ActorExpiry,
			RevokeReason: doorman.ReasonIdle}, nil, "Your session expired after 7 days of inactivity"},
		{&doorman.Session{UserID: "u", LastActiveAt: t0.Add(-2 * 24 * time.Hour), RevokedAt: &revokedAt, RevokedBy: doorman.ActorExpiry,
			RevokeReason: doorman.ReasonIdle}, nil, "Your session expired after a period of inactivity"},
		{&doorman.Session{UserID: "u", RevokedAt: &revokedAt, RevokedBy: doorman.ActorExpiry, RevokeReason: doorman.ReasonExpired}, nil,
			"Your session expired; please sign in again"},
		// An operator's free-text reason that happens to read "idle" is still an operator's sign-out.
		{&doorman.Session{UserID: "u", RevokedAt: &revokedAt, RevokedBy: doorman.ActorSystem, RevokeReason: doorman.ReasonIdle}, nil,
			"An administrator signed you out"},
		{&doorman.Session{UserID: "u", CreatedAt: t0, LastActiveAt: t0.Add(-8 * 24 * time.Hour)}, nil, "Your session expired after 7 days of inactivity"},
		{&doorman.Session{UserID: "u", CreatedAt: t0, LastActiveAt: t0}, &doorman.User{Disabled: true}, "Your account is disabled"},
	} {
		if got := doorman.ErrorMessage(doorman.CheckSession(tc.s, tc.u, doorman.DefaultSettings(), now)); got != tc.want {
			t.Errorf("message = %q, want %q", got, tc.want)
		}
	}
}

func TestSettingsEnd(t *testing.T) {
	const d = 24 * time.Hour
	def := doorman.DefaultSettings() // 7d idle, remember allowed, 30 days
	oneDay := def
	oneDay.IdleTimeout = doorman.Idle1Day
	noRemember := def
	noRemember.RememberMeAllowed = false
	week := def
	week.RememberMeDays = 7
	now := t0.Add(40 * d)
	idle := func(unused time.Duration) *doorman.Session {
		return &doorman.Session{CreatedAt: t0, LastActiveAt: now.Add(-unused)}
	}
	remembered := func(age, idle time.Duration) *doorman.Session {
		return &doorman.Session{CreatedAt: now.Add(-age), LastActiveAt: now.Add(-idle), RememberMe: true, ExpiresAt: ptr(now.Add(-age + 30*d))}
	}
	tests := []struct {
		name     string
		s        *doorman.Session
		old, set doorman.Settings
		ok       bool
		at       time.Time
		reason   string
		byChange bool
	}{
		{"valid under both", idle(time.Hour), def, oneDay, false, time.Time{}, "", false},
		{"tightening ends it now", idle(2 * d), def, oneDay, true, now, doorman.ReasonIdle, true},
		{"ended under the old settings: then", idle(8 * d), def, oneDay, true, now.Add(-d), doorman.ReasonIdle, false},
		{"loosening keeps an end", idle(2 * d), oneDay, def, true, now.Add(-d), doorman.ReasonIdle, false},
		{"idle exactly at the new timeout", idle(d), def, oneDay, true, now, doorman.ReasonIdle, true},
		{"idle a microsecond short of it", idle(d - time.Microsecond), def, oneDay, false, time.Time{}, "", false},
		{"past its absolute end", &doorman.Session{CreatedAt: t0, LastActiveAt: now, ExpiresAt: ptr(now.Add(-time.Hour))}, def, def,
			true, now.Add(-time.Hour), doorman.ReasonExpired, false},
		{"remember-me days shortened", remembered(10*d, 5*d), def, week, true, now, doorman.ReasonExpired, true},
		{"remember-me days lengthened back", remembered(10*d, 5*d), week, def, true, now.Add(-3 * d), doorman.ReasonExpired, false},
		{"remember-me off: idle applies", remembered(10*d, 8*d), def, noRemember, true, now, doorman.ReasonIdle, true},
		{"remember-me on again", remembered(10*d, 8*d), noRemember, def, true, now.Add(-d), doorman.ReasonIdle, false},
	}
	for _, tc := range tests {
		at, reason, byChange, ok := doorman.SettingsEnd(tc.s, tc.old, tc.set, now)
		if ok != tc.ok || !at.Equal(tc.at) || reason != tc.reason || byChange != tc.byChange {
			t.Errorf("%s: SettingsEnd = %v %q by change %t ended %t, want %v %q %t %t", tc.name, at, reason, byChange, ok,
				tc.at, tc.reason, tc.byChange, tc.ok)
		}
	}
}

func TestDeadline(t *testing.T) {
	exp := t0.Add(30 * 24 * time.Hour)
	s := &doorman.Session{CreatedAt: t0, LastActiveAt: t0.Add(time.Hour), ExpiresAt: &exp}
	end, reason := doorman.Deadline(s, doorman.DefaultSettings())
	if want := t0.Add(time.Hour + 7*24*time.Hour); !end.Equal(want) || reason != doorman.ReasonIdle {
		t.Fatalf("Deadline = %v %s, want %v idle", end, reason, want)
	}
	set := doorman.DefaultSettings()
	set.IdleTimeout = doorman.IdleNever
	if end, _ := doorman.Deadline(&doorman.Session{CreatedAt: t0, LastActiveAt: t0}, set); !end.IsZero() {
		t.Fatalf("Deadline without cap or idle = %v, want the zero time (never)", end)
	}
}

func TestRelativeTime(t *testing.T) {
	now := t0
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{0, "Active now"}, {90 * time.Second, "Active now"}, {2 * time.Minute, "2 minutes ago"},
		{5 * time.Minute, "5 minutes ago"}, {time.Hour, "1 hour ago"}, {2 * time.Hour, "2 hours ago"},
		{23*time.Hour + 59*time.Minute, "23 hours ago"}, {24 * time.Hour, "Yesterday"}, {47 * time.Hour, "Yesterday"},
		{48 * time.Hour, "2 days ago"}, {3 * 24 * time.Hour, "3 days ago"}, {90 * 24 * time.Hour, "3 months ago"},
		{800 * 24 * time.Hour, "2 years ago"},
	} {
		if got := doorman.RelativeTime(now, now.Add(-tc.ago)); got != tc.want {
			t.Errorf("RelativeTime(-%v) = %q, want %q", tc.ago, got, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		ago  time.Duration
		want doorman.Status
	}{{0, doorman.StatusActiveNow}, {2 * time.Hour, doorman.StatusRecent}, {24 * time.Hour, doorman.StatusIdle}} {
		s := &doorman.Session{LastActiveAt: t0.Add(-tc.ago)}
		if got := s.StatusAt(t0); got != tc.want {
			t.Errorf("status %v ago = %s, want %s", tc.ago, got, tc.want)
		}
	}
}

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok, hash := doorman.NewToken()
		if len(tok) != 43 || !doorman.TokenWellFormed(tok) {
			t.Fatalf("token %q is not 43 base64url characters", tok)
		}
		if seen[tok] {
			t.Fatal("a token repeated")
		}
		seen[tok] = true
		if len(hash) != 32 || !doorman.HashesEqual(hash, doorman.HashToken(tok)) || strings.Contains(string(hash), tok) {
			t.Fatal("hash is not the SHA-256 of the token")
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("a", 42) + "=", strings.Repeat("a", 42) + "/"} {
		if doorman.TokenWellFormed(bad) {
			t.Errorf("TokenWellFormed(%q) = true", bad)
		}
	}
}

func TestNewID(t *testing.T) {
	a := doorman.NewID(doorman.PrefixSession, t0)
	b := doorman.NewID(doorman.PrefixSession, t0.Add(time.Millisecond))
	if !strings.HasPrefix(a, "sess_") || len(a) != len("sess_")+26 {
		t.Fatalf("id %q is not sess_ + 26 characters", a)
	}
	if a >= b {
		t.Fatalf("ids do not sort by time: %s >= %s", a, b)
	}
	if a == doorman.NewID(doorman.PrefixSession, t0) {
		t.Fatal("two ids at the same instant are equal")
	}
}

func TestSettingsValidate(t *testing.T) {
	ok := doorman.DefaultSettings()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []doorman.Settings{
		{IdleTimeout: "2d", RememberMeAllowed: true, RememberMeDays: 30},
		{IdleTimeout: doorman.Idle7Days, RememberMeDays: 0},
		{IdleTimeout: doorman.Idle7Days, RememberMeDays: 366},
	} {
		if doorman.ErrorCode(bad.Validate()) != doorman.EINVALID {
			t.Errorf("%+v accepted", bad)
		}
	}
}
