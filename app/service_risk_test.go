package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/geoip/geoiptest"
)

const uaMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func TestSignInRisk(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		f.user(t, "Company", "new@company.com", doorman.RoleMember)
		home := app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "sarah-laptop"}

		// The first sign-in builds the baseline, wherever it is from.
		_, first := f.signInWith(t, "sarah@company.com", home)
		if r := f.stored(t, first).Risk; r.Level != doorman.RiskNone || len(r.Reasons) != 0 {
			t.Errorf("first sign-in: risk %+v, want none", r)
		}
		_, other := f.signInWith(t, "new@company.com", app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows})
		if r := f.stored(t, other).Risk; r.Level != doorman.RiskNone {
			t.Errorf("another user's first sign-in from Germany: risk %+v, want none", r)
		}

		// Same device, same place: nothing to flag.
		f.clock.Advance(time.Hour)
		_, again := f.signInWith(t, "sarah@company.com", home)
		if r := f.stored(t, again).Risk; r.Level != doorman.RiskNone || len(r.Reasons) != 0 {
			t.Errorf("same device and place: risk %+v, want none", r)
		}

		// Germany, a new browser and no device cookie of hers: high.
		f.clock.Advance(time.Hour)
		_, away := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Berlin, UserAgent: uaWindows})
		r := f.stored(t, away).Risk
		if r.Level != doorman.RiskHigh || !slices.Contains(r.Reasons, doorman.ReasonUnknownLocation) ||
			!slices.Contains(r.Reasons, doorman.ReasonUnknownDevice) {
			t.Errorf("Germany with a new browser: risk %+v, want high with unknown_location and unknown_device", r)
		}
		if got := doorman.RiskReasonText(doorman.ReasonUnknownLocation, f.stored(t, away), f.clock.Now()); got != "Unknown location: first sign-in from Berlin, Germany" {
			t.Errorf("reason in words = %q", got)
		}
		// The audit log's sign-in event says so; the usual sign-in's does not.
		evs, _, err := store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: away.Account.ID, Action: doorman.ActionSignIn})
		if err != nil {
			t.Fatal(err)
		}
		details := map[string]string{}
		for _, ev := range evs {
			details[ev.Target] = ev.Details
		}
		if got := details[away.Session.ID]; got != "risk=high reasons="+strings.Join(r.Reasons, ",") || !strings.Contains(got, "unknown_location,unknown_device") {
			t.Errorf("sign-in event details %q, want the risk and its reasons", got)
		}
		if got := details[again.Session.ID]; got != "" {
			t.Errorf("usual sign-in event details %q, want none", got)
		}

		// Her list shows it too, and old_session is judged when read.
		list, err := f.svc.ListSessions(context.Background(), first)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(list, func(s *doorman.Session) bool { return s.ID == away.Session.ID })
		if i < 0 || list[i].Risk.Level != doorman.RiskHigh {
			t.Fatalf("ListSessions: flagged session missing or unflagged")
		}
		for _, s := range list {
			if slices.Contains(s.Risk.Reasons, doorman.ReasonOldSession) {
				t.Errorf("session %s of two hours: old_session", s.ID)
			}
		}
	})
}

func TestAddressChangeRisk(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		home := app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "sarah-laptop"}
		f.signInWith(t, "sarah@company.com", home)
		f.clock.Advance(time.Hour)
		tok, p := f.signInWith(t, "sarah@company.com", home)
		if r := f.stored(t, p).Risk; r.Level != doorman.RiskNone {
			t.Fatalf("usual sign-in: %+v", r)
		}

		// The same session is used from Germany: flagged at once.
		f.clock.Advance(time.Minute)
		away := home
		away.IP = geoiptest.Berlin
		f.authWith(t, tok, away)
		r := f.stored(t, p).Risk
		if r.Level != doorman.RiskHigh || !slices.Contains(r.Reasons, doorman.ReasonUnknownLocation) ||
			!slices.Contains(r.Reasons, doorman.ReasonUnrecognizedIP) || slices.Contains(r.Reasons, doorman.ReasonUnknownDevice) {
			t.Errorf("after a move to Germany: risk %+v, want high with unknown_location and unrecognized_ip", r)
		}
		// Back home, the flags stay until the session ends.
		f.clock.Advance(2 * time.Minute)
		f.authWith(t, tok, home)
		if r := f.stored(t, p).Risk; r.Level != doorman.RiskHigh {
			t.Errorf("back home: risk %+v, want the flags kept", r)
		}
		// The audit log holds the flag once, where it appeared.
		evs, _, err := store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: p.Account.ID, Action: doorman.ActionSessionFlagged})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Target != p.Session.ID || evs[0].IP != geoiptest.Berlin || evs[0].Details != r.AuditDetails() {
			t.Errorf("session_flagged events %+v, want one for the move to Germany", evs)
		}
	})
}

// TestImpossibleTravelRisk: a user who lives between Madrid and Berlin is
// not flagged for either city, but is for Berlin half an hour after Madrid,
// at sign-in and when a session's address moves.
func TestImpossibleTravelRisk(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		madrid := app.Meta{IP: geoiptest.Madrid, UserAgent: uaMac, DeviceKey: "sarah-laptop"}
		berlin := app.Meta{IP: geoiptest.Berlin, UserAgent: uaMac, DeviceKey: "sarah-laptop"}
		f.signInWith(t, "sarah@company.com", berlin)
		f.clock.Advance(3 * 24 * time.Hour)
		_, home := f.signInWith(t, "sarah@company.com", madrid)
		if r := f.stored(t, home).Risk; slices.Contains(r.Reasons, doorman.ReasonImpossibleTravel) {
			t.Errorf("Madrid three days after Berlin: %+v", r)
		}

		f.clock.Advance(30 * time.Minute)
		_, away := f.signInWith(t, "sarah@company.com", berlin)
		if r := f.stored(t, away).Risk; r.Level != doorman.RiskHigh || !slices.Equal(r.Reasons, []string{doorman.ReasonImpossibleTravel}) {
			t.Errorf("Berlin 30 minutes after Madrid: %+v, want high with impossible_travel alone", r)
		}

		// Five hours on, the trip was possible.
		f.clock.Advance(5 * time.Hour)
		_, later := f.signInWith(t, "sarah@company.com", berlin)
		if r := f.stored(t, later).Risk; r.Flagged() {
			t.Errorf("Berlin five hours after Madrid: %+v, want none", r)
		}

		// A day on, a Madrid session used from Berlin a minute later: its
		// own address history makes the jump impossible.
		f.clock.Advance(24 * time.Hour)
		tok, p := f.signInWith(t, "sarah@company.com", madrid)
		if r := f.stored(t, p).Risk; r.Flagged() {
			t.Errorf("Madrid a day after Berlin: %+v, want none", r)
		}
		f.clock.Advance(time.Minute)
		if _, err := f.svc.Authenticate(context.Background(), tok, berlin); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := f.stored(t, p).Risk; !slices.Contains(r.Reasons, doorman.ReasonImpossibleTravel) {
			t.Errorf("session moved Madrid to Berlin in a minute: %+v, want impossible_travel", r)
		}
	})
}
