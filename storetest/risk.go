package storetest

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var riskTests = []test{
	{"UserHistory", testUserHistory},
	{"UserHistoryScoped", testUserHistoryScoped},
	{"FlaggedUsers", testFlaggedUsers},
	{"TouchRisk", testTouchRisk},
}

func (e *env) userHistory(t *testing.T, accountID, userID string, before time.Time) *doorman.RiskHistory {
	t.Helper()
	h, err := e.s.FindUserHistory(e.ctx, accountID, userID, before)
	if err != nil {
		t.Fatalf("FindUserHistory: %v", err)
	}
	if h == nil {
		t.Fatal("FindUserHistory = nil, want a history")
	}
	return h
}

func testUserHistory(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	other := e.user(a, "bo@example.com")
	if h := e.userHistory(t, a.ID, u.ID, at(time.Hour)); !h.New() {
		t.Errorf("history of a user without sessions = %+v, want new", h)
	}
	key := doorman.HashDeviceKey("ana-laptop")
	s1 := e.session(u, func(s *doorman.Session) {
		s.IP, s.Location, s.DeviceKeyHash = "83.45.123.78", madrid, key
	})
	ok(t, e.s.TouchSession(e.ctx, s1.ID, doorman.Touch{At: at(time.Minute), IP: "81.2.69.160", Location: &london}), "TouchSession")
	e.session(u, func(s *doorman.Session) {
		s.ID = doorman.NewID(doorman.PrefixSession, at(2*time.Minute))
		s.CreatedAt, s.LastActiveAt = at(2*time.Minute), at(2*time.Minute)
		s.Device = doorman.Device{Browser: "Firefox", OS: "Windows"}
		s.IP, s.Location = "85.214.132.117", berlin
	})
	// Another user's sessions are not this user's history.
	e.session(other, func(s *doorman.Session) {
		s.Device = doorman.Device{Browser: "Edge", OS: "Windows"}
		s.IP, s.Location, s.DeviceKeyHash = "1.2.3.4", doorman.Location{Country: "France", CountryCode: "FR"}, doorman.HashDeviceKey("bo")
	})

	h := e.userHistory(t, a.ID, u.ID, at(time.Hour))
	if h.Sessions != 2 {
		t.Errorf("Sessions = %d, want 2", h.Sessions)
	}
	if len(h.DeviceKeys) != 1 || !bytes.Equal(h.DeviceKeys[0], key) {
		t.Errorf("DeviceKeys = %x, want [%x]", h.DeviceKeys, key)
	}
	fams := map[string]bool{}
	for _, d := range h.Devices {
		fams[d.Browser+"/"+d.OS] = true
	}
	if len(fams) != 2 || !fams["Chrome/macOS"] || !fams["Firefox/Windows"] {
		t.Errorf("Devices = %+v, want Chrome/macOS and Firefox/Windows", h.Devices)
	}
	var ips []string
	for _, ip := range h.IPs {
		ips = append(ips, ip.String())
	}
	slices.Sort(ips)
	if want := []string{"81.2.69.160", "83.45.123.78", "85.214.132.117"}; !slices.Equal(ips, want) {
		t.Errorf("IPs = %v, want %v", ips, want)
	}
	countries := map[string]bool{}
	for _, p := range h.Places {
		countries[p.CountryCode+"/"+p.City] = true
	}
	if len(countries) != 3 || !countries["ES/Madrid"] || !countries["GB/London"] || !countries["DE/Berlin"] {
		t.Errorf("Places = %+v, want Madrid, London and Berlin", h.Places)
	}
	// Each place with its point, and the last time the user was seen there:
	// Madrid at the first sign-in, London at the touch, Berlin at the second.
	visits := map[string]time.Time{}
	for _, v := range h.Visits {
		visits[v.Place.City] = v.At
		if want := map[string]doorman.Location{"Madrid": madrid, "London": london, "Berlin": berlin}[v.Place.City]; v.Place.Latitude != want.Latitude || v.Place.Longitude != want.Longitude {
			t.Errorf("visit %s at %v,%v, want %v,%v", v.Place.City, v.Place.Latitude, v.Place.Longitude, want.Latitude, want.Longitude)
		}
	}
	if len(h.Visits) != 3 || !visits["Madrid"].Equal(Base) || !visits["London"].Equal(at(time.Minute)) || !visits["Berlin"].Equal(at(2*time.Minute)) {
		t.Errorf("Visits = %+v, want Madrid at Base, London at +1m, Berlin at +2m", h.Visits)
	}

	// Before is exclusive: what starts at it is not history yet.
	h = e.userHistory(t, a.ID, u.ID, at(time.Minute))
	if h.Sessions != 1 || len(h.IPs) != 1 || h.IPs[0] != netip.MustParseAddr("83.45.123.78") || len(h.DeviceKeys) != 1 {
		t.Errorf("history before the touch = %+v, want the first session's address only", h)
	}
	if h := e.userHistory(t, a.ID, u.ID, Base); !h.New() {
		t.Errorf("history before the first sign-in = %+v, want new", h)
	}
}

func testUserHistoryScoped(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	e.user(b, "ana@example.com")
	e.session(u, func(s *doorman.Session) { s.DeviceKeyHash = doorman.HashDeviceKey("k") })
	if h := e.userHistory(t, b.ID, u.ID, at(time.Hour)); !h.New() || len(h.IPs) != 0 || len(h.Places) != 0 || len(h.Devices) != 0 {
		t.Errorf("history of a user asked for in another account = %+v, want empty", h)
	}
	if h := e.userHistory(t, a.ID, "usr_unknown", at(time.Hour)); !h.New() {
		t.Errorf("history of an unknown user = %+v, want empty", h)
	}
}

func testFlaggedUsers(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	high := e.user(a, "high@example.com")
	medium := e.user(a, "medium@example.com")
	old := e.user(a, "old@example.com")
	calm := e.user(a, "calm@example.com")
	revoked := e.user(a, "revoked@example.com")
	elsewhere := e.user(b, "elsewhere@example.com")
	flag := func(level string) func(*doorman.Session) {
		return func(s *doorman.Session) { s.Risk = doorman.Risk{Level: level, Reasons: []string{"x"}} }
	}
	e.session(high, flag("high"))
	e.session(high, nil)
	e.session(medium, flag("medium"))
	e.session(old, func(s *doorman.Session) { s.CreatedAt = at(-31 * 24 * time.Hour) })
	e.session(calm, nil)
	r := e.session(revoked, flag("high"))
	if _, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, SessionID: r.ID}, doorman.Revocation{At: Base, By: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	e.session(elsewhere, flag("high"))

	w := &doorman.ActiveWindow{Now: at(time.Minute)}
	ids := []string{high.ID, medium.ID, old.ID, calm.ID, revoked.ID, elsewhere.ID}
	got, err := e.s.FindFlaggedUsers(e.ctx, a.ID, ids, w, at(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{high.ID, medium.ID, old.ID}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("FindFlaggedUsers = %v, want %v (high, medium, old)", got, want)
	}
	// Past the sessions' end nobody is flagged.
	got, err = e.s.FindFlaggedUsers(e.ctx, a.ID, ids, &doorman.ActiveWindow{Now: at(time.Minute), IdleSince: at(time.Second)}, at(-30*24*time.Hour))
	if err != nil || len(got) != 0 {
		t.Errorf("FindFlaggedUsers of idle sessions = %v, %v; want none", got, err)
	}
	if got, err := e.s.FindFlaggedUsers(e.ctx, a.ID, nil, w, Base); err != nil || len(got) != 0 {
		t.Errorf("FindFlaggedUsers of no users = %v, %v", got, err)
	}
}

func testTouchRisk(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	s := e.session(u, nil)
	ok(t, e.s.TouchSession(e.ctx, s.ID, doorman.Touch{At: at(time.Minute), Actions: 1}), "TouchSession without risk")
	if got := e.sessionByID(s.ID).Risk; got.Level != "none" || len(got.Reasons) != 0 {
		t.Errorf("risk after a touch without one = %+v, want none", got)
	}
	r := doorman.Risk{Level: "high", Reasons: []string{"unknown_location", "unrecognized_ip"}}
	ok(t, e.s.TouchSession(e.ctx, s.ID, doorman.Touch{At: at(2 * time.Minute), IP: "85.214.132.117", Location: &berlin, Risk: &r}), "TouchSession with risk")
	got := e.sessionByID(s.ID)
	if got.Risk.Level != "high" || !slices.Equal(got.Risk.Reasons, r.Reasons) || got.Location != berlin {
		t.Errorf("after a touch with risk: risk %+v, location %+v", got.Risk, got.Location)
	}
	ok(t, e.s.TouchSession(e.ctx, s.ID, doorman.Touch{At: at(3 * time.Minute), Actions: 1}), "TouchSession without risk")
	if got := e.sessionByID(s.ID).Risk; got.Level != "high" {
		t.Errorf("a touch without risk changed it: %+v", got)
	}
}
