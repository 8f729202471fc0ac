package app_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/geoip/geoiptest"
	"github.com/doorman/doorman/useragent"
)

const (
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	uaWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	brands    = `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
)

var (
	// lowHints are what Chrome sends unasked; fullHints add what Doorman's
	// Accept-CH asks for.
	lowHints  = doorman.ClientHints{Brands: brands, Mobile: "?0", Platform: `"Windows"`}
	fullHints = doorman.ClientHints{Brands: brands, Mobile: "?0", Platform: `"Windows"`, PlatformVersion: `"15.0.0"`,
		FullVersionList: `"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"`}
	madrid = doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Telefonica de Espana", Latitude: 40.4165, Longitude: -3.7026}
	london = doorman.Location{City: "London", Region: "England", Country: "United Kingdom", CountryCode: "GB", ISP: "Andrews & Arnold Ltd", Latitude: 51.5085, Longitude: -0.1257}
)

var (
	detectorOnce sync.Once
	detector     *useragent.Detector
	detectorErr  error
)

// countingDetector is the real useragent.Detector, counting its calls: each
// is a parse the service promised to spend only on changes.
type countingDetector struct {
	calls atomic.Int64
}

func (c *countingDetector) Detect(ua string, h doorman.ClientHints) doorman.Device {
	c.calls.Add(1)
	return detector.Detect(ua, h)
}

// placed is a fixture whose service names clients with the real
// useragent.Detector and places them with a real geoip.Locator on the
// geoiptest databases.
type placed struct {
	*fixture
	store   *countingStore
	devices *countingDetector
}

func newPlaced(t *testing.T, store doorman.Store) *placed {
	t.Helper()
	detectorOnce.Do(func() { detector, detectorErr = useragent.New() })
	if detectorErr != nil {
		t.Fatal(detectorErr)
	}
	cs := &countingStore{Store: store}
	f := newFixture(t, cs)
	d := &countingDetector{}
	f.svc.Devices = d
	f.svc.Places = geoiptest.Open(t)
	return &placed{fixture: f, store: cs, devices: d}
}

func (f *placed) signInWith(t *testing.T, email string, m app.Meta) (string, *doorman.Principal) {
	t.Helper()
	tok, p, err := f.svc.SignIn(context.Background(), app.SignInRequest{Email: email, Password: password, Meta: m})
	if err != nil {
		t.Fatal(err)
	}
	return tok, p
}

func (f *placed) authWith(t *testing.T, token string, m app.Meta) *doorman.Principal {
	t.Helper()
	p, err := f.svc.Authenticate(context.Background(), token, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stored reads a session from the store itself, past the service.
func (f *placed) stored(t *testing.T, p *doorman.Principal) *doorman.Session {
	t.Helper()
	s, err := f.store.Store.FindSessionByID(context.Background(), p.Account.ID, p.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// history returns the addresses of the signed-in session, as its details page shows them.
func (f *placed) history(t *testing.T, p *doorman.Principal) []string {
	t.Helper()
	list, err := f.svc.SessionHistory(context.Background(), p, p.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range list {
		out = append(out, r.IP+" "+r.Location.Label()+" "+r.FirstSeen.Format("15:04:05")+"-"+r.LastSeen.Format("15:04:05"))
	}
	return out
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestSignInNamesAndPlacesTheSession(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		long := uaWindows + " " + strings.Repeat("x", 2*doorman.MaxUserAgent)
		tests := []struct {
			name     string
			meta     app.Meta
			device   string
			location doorman.Location
			check    func(t *testing.T, s *doorman.Session)
		}{
			{"iPhone in Madrid", app.Meta{IP: geoiptest.Madrid, UserAgent: uaIPhone}, "Safari on iPhone", madrid,
				func(t *testing.T, s *doorman.Session) {
					if s.Device.Type != "mobile" || s.Device.Model != "iPhone" || s.Location.Label() != "Madrid, Spain" {
						t.Errorf("device %+v, location %q", s.Device, s.Location.Label())
					}
				}},
			{"local network", app.Meta{IP: "192.168.1.50", UserAgent: uaIPhone}, "Safari on iPhone", doorman.Location{Local: true},
				func(t *testing.T, s *doorman.Session) {
					if s.Location.Label() != "Local network" {
						t.Errorf("location %q, want Local network", s.Location.Label())
					}
				}},
			{"reserved address", app.Meta{IP: "203.0.113.7", UserAgent: uaIPhone}, "Safari on iPhone", doorman.Location{}, nil},
			{"address that does not parse", app.Meta{IP: "not-an-ip", UserAgent: uaIPhone}, "Safari on iPhone", doorman.Location{},
				func(t *testing.T, s *doorman.Session) {
					if s.Location.Label() != "Unknown location" {
						t.Errorf("location %q, want Unknown location", s.Location.Label())
					}
				}},
			{"empty User-Agent", app.Meta{IP: geoiptest.London, UserAgent: ""}, "Unknown browser", london, nil},
			{"User-Agent over 1 KB is cut", app.Meta{IP: geoiptest.Madrid, UserAgent: long}, "Chrome on Windows", madrid,
				func(t *testing.T, s *doorman.Session) {
					if s.UserAgent != long[:doorman.MaxUserAgent] {
						t.Errorf("User-Agent of %d bytes stored, want the first %d", len(s.UserAgent), doorman.MaxUserAgent)
					}
				}},
			{"Client Hints tell Windows 11", app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: fullHints}, "Chrome on Windows", madrid,
				func(t *testing.T, s *doorman.Session) {
					if s.Device.OSVersion != "11" {
						t.Errorf("OS version %q, want 11", s.Device.OSVersion)
					}
				}},
			{"no Client Hints, Windows 10 as the string says", app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows}, "Chrome on Windows", madrid,
				func(t *testing.T, s *doorman.Session) {
					if s.Device.OSVersion != "10" {
						t.Errorf("OS version %q, want 10", s.Device.OSVersion)
					}
				}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, p := f.signInWith(t, "sarah@company.com", tc.meta)
				for _, s := range []*doorman.Session{p.Session, f.stored(t, p)} {
					if s.Device.Label() != tc.device || s.Location != tc.location {
						t.Errorf("session named %q at %+v, want %q at %+v", s.Device.Label(), s.Location, tc.device, tc.location)
					}
					if tc.check != nil {
						tc.check(t, s)
					}
				}
				if tc.meta.IP != "" {
					wantList(t, "history", f.history(t, p), tc.meta.IP+" "+tc.location.Label()+" 09:15:00-09:15:00")
				}
			})
		}
	})
}

func TestServiceWithoutDetectorOrLocator(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		tok, p, err := f.svc.SignIn(context.Background(), app.SignInRequest{Email: "sarah@company.com", Password: password,
			Meta: app.Meta{IP: geoiptest.Madrid, UserAgent: uaIPhone}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Session.Device.Label() != "Unknown browser" || p.Session.Location.Label() != "Unknown location" || p.Session.UserAgent != uaIPhone {
			t.Fatalf("session %+v", p.Session)
		}
		f.clock.Advance(time.Second)
		p, err = f.svc.Authenticate(context.Background(), tok, app.Meta{IP: geoiptest.London, UserAgent: uaWindows})
		if err != nil {
			t.Fatal(err)
		}
		s, err := store.FindSessionByID(context.Background(), p.Account.ID, p.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.IP != geoiptest.London || s.UserAgent != uaWindows || s.Device != (doorman.Device{}) || s.Location != (doorman.Location{}) {
			t.Fatalf("stored after a change: %+v", s)
		}
	})
}

func TestAddressChangeMovesTheSession(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		tok, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaIPhone})
		if p.Session.IP != geoiptest.Madrid || p.Session.Location != madrid {
			t.Fatalf("signed in at %s %+v, want Madrid", p.Session.IP, p.Session.Location)
		}
		_, other := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows})

		// A new address is located and written at once.
		f.clock.Advance(10 * time.Second)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.London, UserAgent: uaIPhone})
		if p.Session.IP != geoiptest.London || p.Session.Location != london {
			t.Errorf("principal at %s %+v, want London", p.Session.IP, p.Session.Location)
		}
		if s := f.stored(t, p); s.IP != geoiptest.London || s.Location != london {
			t.Errorf("stored at %s %+v, want London at once", s.IP, s.Location)
		}
		if n := f.store.touches.Load(); n != 1 {
			t.Errorf("%d writes for one address change, want 1", n)
		}
		wantList(t, "history after the change", f.history(t, p),
			geoiptest.London+" London, United Kingdom 09:15:10-09:15:10",
			geoiptest.Madrid+" Madrid, Spain 09:15:00-09:15:00")
		// The list shows each session's latest place.
		list, err := f.svc.ListSessions(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[1].ID != p.Session.ID || list[1].Location != london || list[0].Location != madrid {
			t.Errorf("list from the other session: %+v", list)
		}

		// Back within the minute: shown at once, written with the next touch.
		f.clock.Advance(10 * time.Second)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaIPhone})
		if p.Session.IP != geoiptest.Madrid || p.Session.Location != madrid {
			t.Errorf("principal at %s %+v, want Madrid", p.Session.IP, p.Session.Location)
		}
		if n := f.store.touches.Load(); n != 1 {
			t.Errorf("%d writes after a second change within the minute, want still 1", n)
		}
		wantList(t, "history before the next touch", f.history(t, p),
			geoiptest.Madrid+" Madrid, Spain 09:15:00-09:15:20",
			geoiptest.London+" London, United Kingdom 09:15:10-09:15:10")
		got, err := f.svc.GetSession(ctx, other, p.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IP != geoiptest.Madrid || got.Location != madrid {
			t.Errorf("GetSession from another session: at %s %+v, want Madrid (this node's unwritten change)", got.IP, got.Location)
		}

		f.clock.Advance(time.Minute)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaIPhone})
		if n := f.store.touches.Load(); n != 2 {
			t.Errorf("%d writes, want 2 once the touch is due", n)
		}
		if s := f.stored(t, p); s.IP != geoiptest.Madrid || s.Location != madrid {
			t.Errorf("stored at %s %+v, want Madrid", s.IP, s.Location)
		}
		wantList(t, "history after the touch", f.history(t, p),
			geoiptest.Madrid+" Madrid, Spain 09:15:00-09:16:20",
			geoiptest.London+" London, United Kingdom 09:15:10-09:15:10")

		// Only the session's user sees its history.
		f.user(t, "Company", "mark@company.com", doorman.RoleAdmin)
		f.user(t, "Other", "eve@other.com", doorman.RoleAdmin)
		_, mark := f.signInWith(t, "mark@company.com", app.Meta{IP: geoiptest.Berlin})
		_, eve := f.signInWith(t, "eve@other.com", app.Meta{IP: geoiptest.Berlin})
		for _, by := range []*doorman.Principal{mark, eve} {
			if _, err := f.svc.SessionHistory(ctx, by, p.Session.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
				t.Errorf("history of sarah's session for %s: %v, want ENOTFOUND", by.User.Email, err)
			}
		}
		if err := f.svc.RevokeSession(ctx, other, p.Session.ID, app.Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SessionHistory(ctx, other, p.Session.ID); doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Errorf("history of a signed-out session: %v, want ENOTFOUND", err)
		}
	})
}

func TestDeviceKeyCountsLogins(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		f.user(t, "Company", "mark@company.com", doorman.RoleMember)
		laptop := app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, DeviceKey: "Vb0yN0bJ2x3mM5g7xq3ZqkXcQ6u7iZb1Qk1nqW0Jd0E"}

		_, first := f.signInWith(t, "sarah@company.com", laptop)
		if !first.Session.NewDevice || first.Session.Activity.Logins != 1 {
			t.Errorf("first sign-in: new device %t, logins %d; want true, 1", first.Session.NewDevice, first.Session.Activity.Logins)
		}
		f.clock.Advance(time.Hour)
		_, second := f.signInWith(t, "sarah@company.com", laptop)
		if second.Session.NewDevice || second.Session.Activity.Logins != 2 {
			t.Errorf("second sign-in: new device %t, logins %d; want false, 2", second.Session.NewDevice, second.Session.Activity.Logins)
		}
		// The first session's details show the device's count now.
		got, err := f.svc.GetSession(ctx, second, first.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Activity.Logins != 2 || !got.NewDevice {
			t.Errorf("first session now: logins %d, new device %t; want 2, true", got.Activity.Logins, got.NewDevice)
		}
		// The same browser is a new device for another user.
		_, mark := f.signInWith(t, "mark@company.com", laptop)
		if !mark.Session.NewDevice || mark.Session.Activity.Logins != 1 {
			t.Errorf("another user from the same browser: new device %t, logins %d; want true, 1", mark.Session.NewDevice, mark.Session.Activity.Logins)
		}
		// A client without a device cookie is not recognised: one login known, not flagged.
		_, api := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: "curl/8.5.0"})
		if api.Session.NewDevice || api.Session.Activity.Logins != 1 {
			t.Errorf("sign-in without a device key: new device %t, logins %d; want false, 1", api.Session.NewDevice, api.Session.Activity.Logins)
		}
		if s := f.stored(t, api); s.NewDevice || s.Activity.Logins != 1 || s.Device.Label() != "curl" {
			t.Errorf("stored sign-in without a device key: %+v", s)
		}
	})
}

func TestUserAgentChangeIsDetectedOnce(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		tok, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaIPhone})
		if n := f.devices.calls.Load(); n != 1 || p.Session.Device.Label() != "Safari on iPhone" {
			t.Fatalf("%d detections at sign-in, naming %q; want 1, Safari on iPhone", n, p.Session.Device.Label())
		}
		// Requests without a User-Agent change nothing.
		f.clock.Advance(time.Second)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid})
		if p.Session.Device.Label() != "Safari on iPhone" || p.Session.UserAgent != uaIPhone || f.store.touches.Load() != 0 {
			t.Errorf("after a request without a User-Agent: %q %q, %d writes", p.Session.Device.Label(), p.Session.UserAgent, f.store.touches.Load())
		}

		f.clock.Advance(time.Second)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: fullHints})
		if p.Session.Device.Label() != "Chrome on Windows" || p.Session.Device.OSVersion != "11" {
			t.Errorf("principal after a User-Agent change: %+v", p.Session.Device)
		}
		if s := f.stored(t, p); s.UserAgent != uaWindows || s.Device.Label() != "Chrome on Windows" || s.Device.OSVersion != "11" {
			t.Errorf("stored after a User-Agent change: %q %+v", s.UserAgent, s.Device)
		}
		if n := f.store.touches.Load(); n != 1 {
			t.Errorf("%d writes for a User-Agent change, want 1", n)
		}
		// The same string and hints, or fewer hints, are never parsed again.
		for i := range 1000 {
			f.clock.Advance(60 * time.Millisecond)
			h := fullHints
			if i%3 == 0 {
				h = lowHints
			}
			p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: h})
		}
		if n := f.devices.calls.Load(); n != 2 {
			t.Errorf("%d detections in all, want 2: sign-in and the one change", n)
		}
		if p.Session.Device.OSVersion != "11" {
			t.Errorf("OS version %q after requests with fewer hints, want 11", p.Session.Device.OSVersion)
		}
	})
}

func TestClientHintsAfterSignIn(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		// Chrome sends the low-entropy hints unasked: Windows 10 or 11 is
		// not yet known.
		tok, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: lowHints})
		if p.Session.Device.OSVersion != "10" {
			t.Fatalf("OS version %q at sign-in, want 10", p.Session.Device.OSVersion)
		}
		f.clock.Advance(time.Second)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: lowHints})
		if n := f.devices.calls.Load(); n != 1 || p.Session.Device.OSVersion != "10" {
			t.Errorf("%d detections after a request with the same hints, OS version %q; want 1, 10", n, p.Session.Device.OSVersion)
		}
		// Then it sends what Accept-CH asked for.
		f.clock.Advance(time.Second)
		p = f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: fullHints})
		if p.Session.Device.OSVersion != "11" {
			t.Errorf("OS version %q once the hints tell, want 11", p.Session.Device.OSVersion)
		}
		if s := f.stored(t, p); s.Device.OSVersion != "11" {
			t.Errorf("stored OS version %q, want 11 at once", s.Device.OSVersion)
		}
		for range 100 {
			f.clock.Advance(time.Second)
			f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: fullHints})
			f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows})
		}
		if n := f.devices.calls.Load(); n != 2 {
			t.Errorf("%d detections in all, want 2", n)
		}
		if s := f.stored(t, p); s.Device.OSVersion != "11" {
			t.Errorf("stored OS version %q after requests without hints, want 11", s.Device.OSVersion)
		}
	})
}

func TestChangesKeepWritesBounded(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		tok, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: fullHints})
		// 1,000 requests a minute for 10 minutes from one place and browser:
		// a write a minute, and no parse.
		const requests = 10_000
		for i := range requests {
			f.clock.Advance(60 * time.Millisecond)
			f.authWith(t, tok, app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows, Hints: fullHints})
			if i%1000 == 0 {
				f.svc.RecordPage(p.Session.ID, "Dashboard")
			}
		}
		if n := f.store.touches.Load(); n > 11 {
			t.Errorf("%d unchanging requests over 10 minutes cost %d writes, want at most 11", requests, n)
		}
		if n := f.devices.calls.Load(); n != 1 {
			t.Errorf("%d detections, want 1 (the sign-in)", n)
		}
		// A dual-stack client flipping between two addresses on every
		// request: at most one more write a minute.
		f.store.touches.Store(0)
		for i := range requests {
			f.clock.Advance(60 * time.Millisecond)
			ip := geoiptest.London
			if i%2 == 1 {
				ip = geoiptest.BerlinV6
			}
			f.authWith(t, tok, app.Meta{IP: ip, UserAgent: uaWindows, Hints: fullHints})
		}
		if n := f.store.touches.Load(); n > 21 {
			t.Errorf("%d requests flipping between two addresses cost %d writes over 10 minutes, want at most 21", requests, n)
		}
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s := f.stored(t, p)
		if s.Activity.Actions != 2*requests || s.Activity.LastPage != "Dashboard" || s.IP != geoiptest.BerlinV6 || s.Location.City != "Berlin" {
			t.Errorf("after flush: actions %d (want %d), last page %q, at %s %+v", s.Activity.Actions, 2*requests, s.Activity.LastPage, s.IP, s.Location)
		}
		// Times in the history are as fresh as the writes: within a minute.
		var places []string
		for _, r := range f.history(t, p) {
			places = append(places, r[:strings.LastIndexByte(r, ' ')])
		}
		wantList(t, "history", places,
			geoiptest.BerlinV6+" Berlin, Germany",
			geoiptest.London+" London, United Kingdom",
			geoiptest.Madrid+" Madrid, Spain")
	})
}

func TestRecordPageIsWrittenWithTheTouch(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		ctx := context.Background()
		f := newPlaced(t, store)
		f.user(t, "Company", "sarah@company.com", doorman.RoleMember)
		_, viewer := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.Madrid, UserAgent: uaWindows})
		tok, p := f.signInWith(t, "sarah@company.com", app.Meta{IP: geoiptest.London, UserAgent: uaIPhone})
		for _, page := range []string{"Dashboard", "Active sessions"} {
			f.clock.Advance(time.Second)
			p = f.authWith(t, tok, app.Meta{IP: geoiptest.London, UserAgent: uaIPhone})
			f.svc.RecordPage(p.Session.ID, page)
		}
		if n := f.store.touches.Load(); n != 0 {
			t.Fatalf("%d writes for two requests and pages, want 0", n)
		}
		if s := f.stored(t, p); s.Activity.Actions != 0 || s.Activity.LastPage != "" {
			t.Errorf("stored before the flush: %+v, want nothing yet", s.Activity)
		}
		// Another session's list shows this node's unwritten activity.
		list, err := f.svc.ListSessions(ctx, viewer)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[1].Activity.Actions != 2 || list[1].Activity.LastPage != "Active sessions" {
			t.Errorf("listed before the flush: %+v", list[1].Activity)
		}
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if s := f.stored(t, p); s.Activity.Actions != 2 || s.Activity.LastPage != "Active sessions" {
			t.Errorf("stored after the flush: %+v, want 2 actions on Active sessions", s.Activity)
		}
		// Nothing is counted twice.
		got, err := f.svc.GetSession(ctx, viewer, p.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Activity.Actions != 2 || got.Activity.LastPage != "Active sessions" {
			t.Errorf("after the flush: %+v", got.Activity)
		}
	})
}
