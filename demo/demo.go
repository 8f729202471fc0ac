// Package demo seeds the team of Doorman's user guide: account "Company"
// with admin@company.com (the guide's Safari on iPhone, Chrome on Windows and
// Firefox on Ubuntu sessions, and the three API keys of "API Sessions"),
// sarah@, mike@ and guest@agency.com. The server's --demo flag and the
// browser tests use it.
package demo

import (
	"context"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// demoSession is one session of the user guide's demo team.
type demoSession struct {
	ago      time.Duration // last active this long before seeding
	age      time.Duration // created this long before seeding
	ip       string
	ua       string
	device   doorman.Device
	location doorman.Location
}

var (
	madrid = doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Movistar España"}
	london = doorman.Location{City: "London", Region: "England", Country: "United Kingdom", CountryCode: "GB", ISP: "BT"}
	berlin = doorman.Location{City: "Berlin", Region: "Berlin", Country: "Germany", CountryCode: "DE", ISP: "Deutsche Telekom"}
	paris  = doorman.Location{City: "Paris", Region: "Île-de-France", Country: "France", CountryCode: "FR", ISP: "Orange"}

	iphone  = doorman.Device{Browser: "Safari", BrowserVersion: "17.2", OS: "iOS", OSVersion: "17.2", Model: "iPhone", Type: "mobile"}
	windows = doorman.Device{Browser: "Chrome", BrowserVersion: "131.0", OS: "Windows", OSVersion: "11", Model: "PC", Type: "desktop"}
	ubuntu  = doorman.Device{Browser: "Firefox", BrowserVersion: "133.0", OS: "Ubuntu", OSVersion: "", Model: "PC", Type: "desktop"}
	mac     = doorman.Device{Browser: "Chrome", BrowserVersion: "131.0", OS: "macOS", OSVersion: "14.6", Model: "Mac", Type: "desktop"}
)

const (
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	uaWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaUbuntu  = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

// demoTeam is the team of the user guide's "Team Sessions" drawing. The
// admin's three sessions are the "other sessions" of the guide's Sessions
// page; signing in from a browser adds the current one.
var demoTeam = []struct {
	email, name string
	role        doorman.Role
	sessions    []demoSession
}{
	{"admin@company.com", "Alex Admin", doorman.RoleAdmin, []demoSession{
		{ago: 2 * time.Hour, age: 5 * 24 * time.Hour, ip: "83.45.123.78", ua: uaIPhone, device: iphone, location: madrid},
		{ago: 3 * 24 * time.Hour, age: 6 * 24 * time.Hour, ip: "203.0.113.45", ua: uaWindows, device: windows, location: london},
		{ago: 4 * 24 * time.Hour, age: 9 * 24 * time.Hour, ip: "91.64.12.7", ua: uaUbuntu, device: ubuntu, location: berlin},
	}},
	{"sarah@company.com", "Sarah Lopez", doorman.RoleMember, []demoSession{
		{ago: time.Hour, age: 2 * 24 * time.Hour, ip: "83.45.120.9", ua: uaMac, device: mac, location: madrid},
		{ago: 5 * time.Hour, age: 3 * 24 * time.Hour, ip: "83.45.121.44", ua: uaIPhone, device: iphone, location: madrid},
	}},
	{"mike@company.com", "Mike Chen", doorman.RoleMember, []demoSession{
		{ago: 26 * time.Hour, age: 4 * 24 * time.Hour, ip: "81.2.69.160", ua: uaWindows, device: windows, location: london},
	}},
	{"guest@agency.com", "Guest Contractor", doorman.RoleMember, []demoSession{
		{ago: 3 * 24 * time.Hour, age: 5 * 24 * time.Hour, ip: "90.84.33.12", ua: uaMac, device: mac, location: paris},
		{ago: 3*24*time.Hour + 2*time.Hour, age: 6 * 24 * time.Hour, ip: "90.84.33.12", ua: uaIPhone, device: iphone, location: paris},
		{ago: 4 * 24 * time.Hour, age: 6 * 24 * time.Hour, ip: "203.0.113.77", ua: uaWindows, device: windows, location: london},
		{ago: 5 * 24 * time.Hour, age: 6 * 24 * time.Hour, ip: "91.64.12.99", ua: uaUbuntu, device: ubuntu, location: berlin},
	}},
}

// Account is the demo team's name.
const Account = "Company"

// Seed creates the demo team unless the demo account exists, every user with
// password. It reports whether it seeded. Demo sessions get tokens nobody
// knows: they can be seen and signed out, never used.
func Seed(ctx context.Context, svc *app.Service, password string) (bool, error) {
	if _, err := svc.Store.FindAccountByName(ctx, Account); err == nil {
		return false, nil
	} else if doorman.ErrorCode(err) != doorman.ENOTFOUND {
		return false, err
	}
	now := svc.Now().UTC().Truncate(time.Microsecond)
	var admin *doorman.User
	for _, du := range demoTeam {
		u, err := svc.CreateUser(ctx, Account, du.email, du.name, du.role, password)
		if err != nil {
			return false, err
		}
		if admin == nil && u.IsAdmin() {
			admin = u
		}
		for _, ds := range du.sessions {
			_, hash := doorman.NewToken() // the token is dropped: nobody can use a demo session
			created := now.Add(-ds.age)
			exp := created.Add(doorman.DefaultAbsoluteCap)
			s := &doorman.Session{
				ID: doorman.NewID(doorman.PrefixSession, created), TokenHash: hash, UserID: u.ID, AccountID: u.AccountID,
				CreatedAt: created, LastActiveAt: now.Add(-ds.ago), ExpiresAt: &exp,
				IP: ds.ip, UserAgent: ds.ua, Device: ds.device, Location: ds.location,
				Activity: doorman.Activity{Logins: 3, Actions: int64(ds.age/time.Hour) * 2, LastPage: "Dashboard"},
				Risk:     doorman.Risk{Level: "none"},
			}
			ev := &doorman.AuditEvent{ID: doorman.NewID(doorman.PrefixEvent, created), AccountID: u.AccountID, At: created,
				ActorID: u.ID, Actor: u.Email, Action: doorman.ActionSignIn, Target: s.ID, IP: ds.ip, UserAgent: ds.ua}
			if err := svc.Store.CreateSession(ctx, s, ev); err != nil {
				return false, err
			}
			// The address was in use until the session's last activity.
			loc := ds.location
			if err := svc.Store.TouchSession(ctx, s.ID, doorman.Touch{At: s.LastActiveAt, IP: ds.ip, Location: &loc}); err != nil {
				return false, err
			}
		}
	}
	if err := seedPast(ctx, svc, admin, now); err != nil {
		return false, err
	}
	if err := seedKeys(ctx, svc, admin, now); err != nil {
		return false, err
	}
	return true, nil
}

// seedPast gives the admin a past session, signed out long ago, on the
// guide's "Chrome on macOS" in Madrid: the browser a person signs in to the
// demo with is then one the admin used before, as in the guide's drawing,
// and is not flagged as an unknown device. It writes no audit event and
// shows on no page: only the risk checks read it. It ended six days ago,
// inside the default retention of revoked sessions (a week), so that the
// first purge does not delete it at once.
func seedPast(ctx context.Context, svc *app.Service, admin *doorman.User, now time.Time) error {
	_, hash := doorman.NewToken()
	created := now.Add(-6*24*time.Hour - time.Hour)
	exp := created.Add(doorman.DefaultAbsoluteCap)
	s := &doorman.Session{
		ID: doorman.NewID(doorman.PrefixSession, created), TokenHash: hash, UserID: admin.ID, AccountID: admin.AccountID,
		CreatedAt: created, LastActiveAt: created.Add(time.Hour), ExpiresAt: &exp,
		IP: "83.45.123.78", UserAgent: uaMac, Device: mac, Location: madrid,
		Activity: doorman.Activity{Logins: 1}, Risk: doorman.Risk{Level: "none"},
	}
	if err := svc.Store.CreateSession(ctx, s, nil); err != nil {
		return err
	}
	_, err := svc.Store.RevokeSessions(ctx, doorman.RevokeFilter{AccountID: admin.AccountID, SessionID: s.ID},
		doorman.Revocation{At: created.Add(time.Hour), By: admin.ID, Reason: "Signed out"}, nil)
	return err
}
