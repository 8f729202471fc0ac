package app_test

import (
	"context"
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

// TestSignInThrottleMemory checks that limiters do not pile up: many
// addresses and emails, each tried once, stay within the bound.
func TestSignInThrottleMemory(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testdb.SQLite(t))
	f.svc.SignInLimits = app.SignInLimits{MaxTracked: 10}
	for i := range 300 {
		_, _, err := f.svc.SignIn(ctx, app.SignInRequest{Email: fmt.Sprintf("u%d@x.com", i), Password: "x",
			Meta: app.Meta{IP: fmt.Sprintf("10.1.%d.%d", i/250, i%250)}})
		if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if n := app.ThrottleSize(f.svc); n > 2*10 {
		t.Fatalf("%d limiters kept, want at most 20", n)
	}
}
