package doorman

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestAssessRisk(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	madrid := Location{City: "Madrid", Country: "Spain", CountryCode: "ES"}
	barcelona := Location{City: "Barcelona", Country: "Spain", CountryCode: "ES"}
	berlin := Location{City: "Berlin", Country: "Germany", CountryCode: "DE"}
	chromeMac := Device{Browser: "Chrome", BrowserVersion: "131.0", OS: "macOS"}
	firefoxWin := Device{Browser: "Firefox", OS: "Windows"}
	key := HashDeviceKey("device-1")
	hist := &RiskHistory{
		Sessions:   1,
		DeviceKeys: [][]byte{key},
		Devices:    []Device{chromeMac},
		Places:     []Location{madrid},
		IPs:        []netip.Addr{netip.MustParseAddr("81.33.10.20"), netip.MustParseAddr("2a02:9130:1:2::1")},
	}
	sess := func(mod func(*Session)) *Session {
		s := &Session{CreatedAt: now.Add(-time.Hour), IP: "81.33.10.99", Location: madrid,
			Device: Device{Browser: "Chrome", BrowserVersion: "132.0", OS: "macOS"}, DeviceKeyHash: key}
		if mod != nil {
			mod(s)
		}
		return s
	}
	tests := []struct {
		name    string
		s       *Session
		h       *RiskHistory
		level   string
		reasons []string
	}{
		{"first sign-in is the baseline", sess(func(s *Session) { s.Location, s.Device, s.IP = berlin, firefoxWin, "5.6.7.8" }), &RiskHistory{}, RiskNone, nil},
		{"nil history is the baseline", sess(func(s *Session) { s.Location = berlin }), nil, RiskNone, nil},
		{"same device and place", sess(nil), hist, RiskNone, nil},
		{"new country", sess(func(s *Session) { s.Location = berlin }), hist, RiskHigh, []string{ReasonUnknownLocation}},
		{"new city in a known country", sess(func(s *Session) { s.Location = barcelona }), hist, RiskHigh, []string{ReasonUnknownLocation}},
		{"known country without a city", sess(func(s *Session) { s.Location = Location{Country: "Spain", CountryCode: "ES"} }), hist, RiskNone, nil},
		{"local address not judged", sess(func(s *Session) { s.Location, s.IP = Location{Local: true}, "192.168.1.4" }), hist, RiskNone, nil},
		{"unlocated address not judged", sess(func(s *Session) { s.Location = Location{} }), hist, RiskNone, nil},
		{"new key, known family", sess(func(s *Session) { s.DeviceKeyHash = HashDeviceKey("other") }), hist, RiskNone, nil},
		{"no key, new family", sess(func(s *Session) { s.DeviceKeyHash, s.Device = nil, firefoxWin }), hist, RiskHigh, []string{ReasonUnknownDevice}},
		{"known key, new family", sess(func(s *Session) { s.Device = firefoxWin }), hist, RiskNone, nil},
		{"unnamed client not judged", sess(func(s *Session) { s.DeviceKeyHash, s.Device = nil, Device{} }), hist, RiskNone, nil},
		{"same /24", sess(func(s *Session) { s.IP = "81.33.10.255" }), hist, RiskNone, nil},
		{"next /24", sess(func(s *Session) { s.IP = "81.33.11.0" }), hist, RiskMedium, []string{ReasonUnrecognizedIP}},
		{"IPv4-mapped same /24", sess(func(s *Session) { s.IP = "::ffff:81.33.10.1" }), hist, RiskNone, nil},
		{"same /48", sess(func(s *Session) { s.IP = "2a02:9130:1:ffff::9" }), hist, RiskNone, nil},
		{"next /48", sess(func(s *Session) { s.IP = "2a02:9130:2::1" }), hist, RiskMedium, []string{ReasonUnrecognizedIP}},
		{"private address not judged", sess(func(s *Session) { s.IP = "10.1.2.3" }), hist, RiskNone, nil},
		{"30 days exactly", sess(func(s *Session) { s.CreatedAt = now.Add(-OldSessionAge) }), hist, RiskNone, nil},
		{"30 days and a second", sess(func(s *Session) { s.CreatedAt = now.Add(-OldSessionAge - time.Second) }), hist, RiskMedium, []string{ReasonOldSession}},
		{"old first session", sess(func(s *Session) { s.CreatedAt = now.Add(-40 * 24 * time.Hour) }), &RiskHistory{}, RiskMedium, []string{ReasonOldSession}},
		{"everything", sess(func(s *Session) {
			s.Location, s.Device, s.DeviceKeyHash, s.IP, s.CreatedAt = berlin, firefoxWin, nil, "5.6.7.8", now.Add(-31*24*time.Hour)
		}), hist, RiskHigh, []string{ReasonUnknownLocation, ReasonUnknownDevice, ReasonUnrecognizedIP, ReasonOldSession}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AssessRisk(tc.s, tc.h, now)
			if got.Level != tc.level || !slices.Equal(got.Reasons, tc.reasons) {
				t.Errorf("AssessRisk = %+v, want %s %v", got, tc.level, tc.reasons)
			}
		})
	}
}

func TestRiskWithOldSession(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	young := &Session{CreatedAt: now.Add(-time.Hour)}
	old := &Session{CreatedAt: now.Add(-31 * 24 * time.Hour)}
	stored := Risk{Level: RiskMedium, Reasons: []string{ReasonOldSession}}
	if r := stored.WithOldSession(young, now); r.Level != RiskNone || r.Reasons != nil {
		t.Errorf("young = %+v, want none", r)
	}
	r := Risk{Level: RiskHigh, Reasons: []string{ReasonUnknownDevice}}.WithOldSession(old, now)
	if r.Level != RiskHigh || !slices.Equal(r.Reasons, []string{ReasonUnknownDevice, ReasonOldSession}) {
		t.Errorf("old = %+v", r)
	}
	if r := (Risk{}).WithOldSession(old, now); r.Level != RiskMedium {
		t.Errorf("old with none stored = %+v, want medium", r)
	}
	if got := RiskReasonText(ReasonUnknownLocation, &Session{Location: Location{City: "Berlin", Country: "Germany"}}, now); got != "Unknown location: first sign-in from Berlin, Germany" {
		t.Errorf("text = %q", got)
	}
	if RiskLevelLabel(RiskHigh) != "High" || RiskLevelLabel(RiskMedium) != "Medium" || RiskLevelLabel(RiskNone) != "" {
		t.Error("level labels differ from the guide's")
	}
}

func TestImpossibleTravel(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	madrid := Location{City: "Madrid", Country: "Spain", CountryCode: "ES", Latitude: 40.4165, Longitude: -3.7026}
	toledo := Location{City: "Toledo", Country: "Spain", CountryCode: "ES", Latitude: 39.8628, Longitude: -4.0273}
	berlin := Location{City: "Berlin", Country: "Germany", CountryCode: "DE", Latitude: 52.5244, Longitude: 13.4105}
	// Madrid to Berlin is about 1,870 km: 1.87 hours at 1,000 km/h.
	if d := DistanceKm(madrid, berlin); d < 1860 || d > 1880 {
		t.Fatalf("Madrid to Berlin = %.0f km, want about 1,870", d)
	}
	if d := DistanceKm(berlin, berlin); d != 0 {
		t.Fatalf("Berlin to Berlin = %f km", d)
	}
	hist := func(place Location, ago time.Duration) *RiskHistory {
		h := &RiskHistory{}
		h.AddSessions(Device{Browser: "Firefox", OS: "Linux"}, 1)
		h.AddAddress("83.45.123.78", place, now.Add(-ago))
		return h
	}
	tests := []struct {
		name   string
		at     Location
		h      *RiskHistory
		travel bool
	}{
		{"Berlin 30 minutes after Madrid", berlin, hist(madrid, 30*time.Minute), true},
		{"Berlin at the same instant as Madrid", berlin, hist(madrid, 0), true},
		{"Berlin after Madrid seen later than now", berlin, hist(madrid, -time.Minute), true},
		{"Berlin 1h50 after Madrid (1,020 km/h)", berlin, hist(madrid, 110*time.Minute), true},
		{"Berlin 1h55 after Madrid (975 km/h)", berlin, hist(madrid, 115*time.Minute), false},
		{"Berlin a day after Madrid", berlin, hist(madrid, 24*time.Hour), false},
		{"Toledo a minute after Madrid: too close to judge", toledo, hist(madrid, time.Minute), false},
		{"a place without a point is not judged", Location{City: "Berlin", Country: "Germany", CountryCode: "DE"}, hist(madrid, time.Minute), false},
		{"a history without points is not judged", berlin, hist(Location{City: "Madrid", Country: "Spain", CountryCode: "ES"}, time.Minute), false},
		{"a local address is not judged", Location{Local: true, Latitude: 1, Longitude: 1}, hist(madrid, time.Minute), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Session{CreatedAt: now, Location: tc.at}
			got := slices.Contains(AssessRisk(s, tc.h, now).Reasons, ReasonImpossibleTravel)
			if got != tc.travel {
				t.Errorf("impossible_travel = %v, want %v (%+v)", got, tc.travel, AssessRisk(s, tc.h, now))
			}
			if got && AssessRisk(s, tc.h, now).Level != RiskHigh {
				t.Error("impossible_travel is not high")
			}
		})
	}
	// The first sign-in is the baseline, even far from nowhere.
	if r := AssessRisk(&Session{CreatedAt: now, Location: berlin}, &RiskHistory{}, now); r.Flagged() {
		t.Errorf("first sign-in = %+v, want none", r)
	}
}

func TestRiskAuditDetails(t *testing.T) {
	r := Risk{Level: RiskHigh, Reasons: []string{ReasonUnknownLocation, ReasonImpossibleTravel}}
	got, ok := RiskFromAuditDetails(r.AuditDetails())
	if !ok || got.Level != r.Level || !slices.Equal(got.Reasons, r.Reasons) {
		t.Errorf("round trip of %q = %+v, %v", r.AuditDetails(), got, ok)
	}
	if got, ok := RiskFromAuditDetails(r.AuditDetails() + " two_factor=true"); !ok || !slices.Equal(got.Reasons, r.Reasons) {
		t.Errorf("with another fact: %+v, %v", got, ok)
	}
	for _, d := range []string{"", "risk=none reasons=", "idle_timeout=7d", "two_factor=true", "risk=extreme reasons=x"} {
		if _, ok := RiskFromAuditDetails(d); ok {
			t.Errorf("RiskFromAuditDetails(%q) ok", d)
		}
	}
	if got := RiskReasonTitle(ReasonUnrecognizedIP) + "; " + RiskReasonTitle(ReasonImpossibleTravel); got != "Unrecognized IP; Impossible travel" {
		t.Errorf("titles %q", got)
	}
}
