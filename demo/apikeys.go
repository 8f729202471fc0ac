package demo

import (
	"context"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// demoKeys are the user guide's "API Sessions": their last use and their
// requests over the last 24 hours as the guide shows them right after
// seeding ('Production API · 5 minutes ago · 1,234').
var demoKeys = []struct {
	name     string
	age      time.Duration // created this long before seeding
	ago      time.Duration // last used this long before seeding; 0: never
	requests int64         // in the 24-hour window at seeding
	ip, ua   string
}{
	{"Production API", 90 * 24 * time.Hour, 5 * time.Minute, 1234, "34.120.55.10", "python-requests/2.32.3"},
	{"BigQuery Sync", 30 * 24 * time.Hour, 3 * time.Hour, 89, "35.186.224.25", "Go-http-client/2.0"},
	{"Test Key", 2 * 24 * time.Hour, 0, 0, "", ""},
}

// seedKeys creates the guide's three keys for the admin, with their usage
// spread over the hours of the window up to their last use. Their secrets
// are dropped: nobody can use a demo key.
func seedKeys(ctx context.Context, svc *app.Service, admin *doorman.User, now time.Time) error {
	start := doorman.UsageWindowStart(now)
	for _, dk := range demoKeys {
		_, prefix, hash := doorman.NewAPIKey()
		created := now.Add(-dk.age)
		k := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, created), AccountID: admin.AccountID,
			Name: dk.name, Prefix: prefix, Hash: hash, CreatedAt: created, CreatedBy: admin.ID, CreatedByEmail: admin.Email}
		ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, created), AccountID: admin.AccountID, At: created,
			ActorID: admin.ID, Actor: admin.Email, Action: doorman.ActionAPIKeyCreated, Target: k.ID,
			Details: "name=" + dk.name + " prefix=" + prefix}
		if err := svc.Store.CreateAPIKey(ctx, k, ev); err != nil {
			return err
		}
		if dk.ago == 0 {
			continue
		}
		last := now.Add(-dk.ago)
		u := doorman.APIKeyUsage{KeyID: k.ID, At: last, IP: dk.ip, UserAgent: dk.ua,
			Hours: spread(dk.requests, start, last.Truncate(time.Hour))}
		if err := svc.Store.RecordAPIKeyUsage(ctx, []doorman.APIKeyUsage{u}, nil); err != nil {
			return err
		}
	}
	return nil
}

// spread divides n requests over the hours from first to last (inclusive),
// busier in the afternoon (UTC), summing to n exactly.
func spread(n int64, first, last time.Time) []doorman.UsageHour {
	var hours []doorman.UsageHour
	var weights []int64
	var sum int64
	for h := first; !h.After(last); h = h.Add(time.Hour) {
		w := int64(2)
		if hr := h.Hour(); hr >= 8 && hr < 20 {
			w = 5 + int64(hr%4)
		}
		hours = append(hours, doorman.UsageHour{Hour: h})
		weights = append(weights, w)
		sum += w
	}
	var given int64
	for i := range hours {
		hours[i].Requests = n * weights[i] / sum
		given += hours[i].Requests
	}
	if len(hours) > 0 {
		hours[len(hours)-1].Requests += n - given // the hour of the last use takes the rest
	}
	return hours
}
