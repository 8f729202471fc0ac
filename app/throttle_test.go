package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/internal/testdb"
)

func TestSignInThrottle(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.SignInLimits = app.SignInLimits{}
		u := f.user(t, "Company", "known@company.com", doorman.RoleMember)
		try := func(email, pw, ip string) error {
			_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: email, Password: pw, Meta: app.Meta{IP: ip}})
			return err
		}
		for _, email := range []string{"known@company.com", "unknown@company.com"} {
			for i := range 5 {
				if err := try(email, "wrong password", fmt.Sprintf("10.0.0.%d", i)); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
					t.Fatalf("%s attempt %d: %v, want EUNAUTHORIZED", email, i+1, err)
				}
			}
			// The right password does not help: the check is not even run.
			err := try(email, password, "10.0.0.9")
			if doorman.ErrorCode(err) != doorman.ETOOMANY || doorman.RetryAfter(err) != 12*time.Second ||
				doorman.ErrorMessage(err) != "Too many sign-in attempts. Try again in 12 seconds." {
				t.Fatalf("%s 6th attempt: %v (retry after %v), want ETOOMANY in 12 seconds", email, err, doorman.RetryAfter(err))
			}
		}
		f.clock.Advance(12 * time.Second)
		if err := try("known@company.com", password, "10.0.0.9"); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		events, _, err := store.FindAuditEvents(ctx, doorman.AuditFilter{Action: doorman.ActionSignInFailed})
		if err != nil {
			t.Fatal(err)
		}
		throttled := map[string]string{}
		for _, ev := range events {
			if ev.Reason == app.ReasonThrottled {
				throttled[ev.Target] = ev.AccountID
			}
		}
		if len(throttled) != 2 || throttled["known@company.com"] != u.AccountID || throttled["unknown@company.com"] != "" {
			t.Fatalf("throttled events by email = %v, want one each, the known one in its account", throttled)
		}

		// One address trying many emails: 20 then refused.
		for i := range 20 {
			if err := try(fmt.Sprintf("user%d@company.com", i), "wrong password", "203.0.113.7"); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("address attempt %d: %v", i+1, err)
			}
		}
		if err := try("fresh@company.com", "wrong password", "203.0.113.7"); doorman.ErrorCode(err) != doorman.ETOOMANY ||
			doorman.RetryAfter(err) != 3*time.Second {
			t.Fatalf("21st attempt from one address: %v (%v), want ETOOMANY in 3 seconds", err, doorman.RetryAfter(err))
		}
		if err := try("fresh@company.com", "wrong password", "203.0.113.8"); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("another address: %v, want EUNAUTHORIZED", err)
		}
	})
}

// TestSignInThrottleRestart: a new Service on the same store (a restart,
// or another node) counts the attempts the first one took.
func TestSignInThrottleRestart(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newFixture(t, store)
		f.svc.SignInLimits = app.SignInLimits{}
		f.user(t, "Company", "known@company.com", doorman.RoleMember)
		for i := range 5 {
			_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "Known@Company.com", Password: "wrong password", Meta: app.Meta{IP: "10.0.0.1"}})
			if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
				t.Fatalf("attempt %d: %v, want EUNAUTHORIZED", i+1, err)
			}
		}
		restarted := app.NewService(store, cheap)
		restarted.Now = f.clock.Now
		_, _, err := restarted.SignIn(ctx, app.SignInRequest{Email: "known@company.com", Password: password, Meta: app.Meta{IP: "10.0.0.2"}})
		if doorman.ErrorCode(err) != doorman.ETOOMANY || doorman.RetryAfter(err) != 12*time.Second {
			t.Fatalf("after a restart: %v (retry after %v), want ETOOMANY in 12 seconds", err, doorman.RetryAfter(err))
		}
		f.clock.Advance(12 * time.Second)
		if _, _, err := restarted.SignIn(ctx, app.SignInRequest{Email: "known@company.com", Password: password, Meta: app.Meta{IP: "10.0.0.2"}}); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
	})
}

// TestSignInThrottlePurge checks that the limits do not pile up: the
// buckets of many addresses and emails, each tried once, go once they are
// full again (and a minute of slack for slow clocks), and not before.
func TestSignInThrottlePurge(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testdb.SQLite(t))
	f.svc.SignInLimits = app.SignInLimits{}
	try := func(i int) error {
		_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: fmt.Sprintf("u%d@x.com", i), Password: "x",
			Meta: app.Meta{IP: fmt.Sprintf("10.1.%d.%d", i/250, i%250)}})
		return err
	}
	for i := range 30 {
		if err := try(i); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// An email's bucket is full again 12 s later, an address's 3 s later;
	// each is purged a minute after that.
	f.clock.Advance(time.Minute + 11*time.Second)
	if n, err := f.svc.PurgeSignInLimits(ctx, 7); err != nil || n != 30 {
		t.Fatalf("PurgeSignInLimits = %d, %v; want the 30 addresses' buckets", n, err)
	}
	f.clock.Advance(time.Second)
	if n, err := f.svc.PurgeSignInLimits(ctx, 7); err != nil || n != 30 {
		t.Fatalf("PurgeSignInLimits = %d, %v; want the 30 emails' buckets", n, err)
	}
	if n, err := f.svc.PurgeSignInLimits(ctx, 7); err != nil || n != 0 {
		t.Fatalf("PurgeSignInLimits again = %d, %v; want 0", n, err)
	}
}

// limitsDownStore cannot reach the sign-in limits.
type limitsDownStore struct{ doorman.Store }

func (limitsDownStore) TakeLimits(context.Context, []doorman.Limit, time.Time) (time.Duration, error) {
	return 0, errors.New("read tcp 127.0.0.1:5432: connection reset by peer")
}

func (limitsDownStore) FindLimitWait(context.Context, []doorman.Limit, time.Time) (time.Duration, error) {
	return 0, errors.New("read tcp 127.0.0.1:5432: connection reset by peer")
}

// TestSignInThrottleStoreDown: when the store cannot count the attempt,
// sign-in and re-authentication are unavailable, never let through, even
// with the right password.
func TestSignInThrottleStoreDown(t *testing.T) {
	ctx := context.Background()
	store := testdb.SQLite(t)
	f := newFixture(t, store)
	f.user(t, "Company", "known@company.com", doorman.RoleMember)
	_, p := f.signIn(t, "known@company.com", false)
	f.svc.Store = limitsDownStore{store}
	_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: "known@company.com", Password: password, Meta: app.Meta{IP: "10.0.0.1"}})
	if err == nil || !app.IsUnavailable(err) {
		t.Fatalf("SignIn with the limits down = %v, want unavailable", err)
	}
	if err := f.svc.Reauthenticate(ctx, p, password, app.Meta{IP: "10.0.0.1"}); err == nil || !app.IsUnavailable(err) {
		t.Fatalf("Reauthenticate with the limits down = %v, want unavailable", err)
	}
}
