package doorman

import (
	"context"
	"fmt"
	"time"
)

// Session is one signed-in browser or client of one user.
type Session struct {
	ID        string // public id, "sess_…"; never the token
	TokenHash []byte // SHA-256 of the token; the token itself is never stored
	UserID    string
	AccountID string

	CreatedAt    time.Time
	LastActiveAt time.Time
	// AuthenticatedAt is when the session last proved its password: its
	// sign-in, or a later re-authentication. Sensitive actions ask for the
	// password again when it is older than ReauthAfter. Zero in
	// CreateSession means CreatedAt.
	AuthenticatedAt time.Time
	// ExpiresAt is the absolute end fixed at sign-in (nil: no cap). Account
	// settings may end a session sooner, never later.
	ExpiresAt  *time.Time
	RememberMe bool
	// TwoFactor records that the sign-in passed a second factor (a TOTP
	// code or a recovery code).
	TwoFactor bool
	// Binding is the session's device key (binding.go), nil while the
	// session is not bound to a device.
	Binding *Binding

	RevokedAt    *time.Time
	RevokedBy    string // actor id: the user's own id, an admin's id, ActorSystem, or ActorExpiry (ended by its rules)
	RevokeReason string

	IP        string // latest client address
	UserAgent string // raw, cut to MaxUserAgent bytes

	Device   Device
	Location Location // where IP is
	Activity Activity
	Risk     Risk

	// NewDevice marks a session signed in from a device never seen before for
	// its user (by its device cookie), for the risk checks. Stores set it in
	// CreateSession when DeviceKeyHash is given; without one it is stored as
	// the caller set it.
	NewDevice bool
	// DeviceKeyHash is the SHA-256 of the device cookie the session signed
	// in with (HashDeviceKey), nil when there was none. It is an input to
	// CreateSession only: stores keep it in their devices table and do not
	// read it back.
	DeviceKeyHash []byte
}

// MaxUserAgent is how much of a User-Agent header is kept; longer ones are cut.
const MaxUserAgent = 1024

// Device is what the User-Agent says about the client.
type Device struct {
	Browser        string // "Chrome"
	BrowserVersion string // "131.0"
	OS             string // "macOS"
	OSVersion      string // "10.15.7"
	Model          string // "Mac", "iPhone"
	Type           string // desktop | mobile | tablet | bot | other; "" when unknown
}

// Label is the name people know the client by: "Chrome on macOS", and for
// Apple's phones and tablets the device ("Safari on iPhone").
func (d Device) Label() string {
	os := d.OS
	if os == "iOS" && (d.Model == "iPhone" || d.Model == "iPad" || d.Model == "iPod") {
		os = d.Model
	}
	switch {
	case d.Browser != "" && os != "":
		return d.Browser + " on " + os
	case d.Browser != "":
		return d.Browser
	case os != "":
		return "Unknown browser on " + os
	}
	return "Unknown browser"
}

// Location is where the session's latest IP address is.
type Location struct {
	City        string
	Region      string
	Country     string // full English name
	CountryCode string // ISO 3166-1 alpha-2
	ISP         string
	// Local marks private, loopback and link-local addresses.
	Local bool
	// Latitude and Longitude are the place's point in degrees (WGS 84), as
	// precise as the location data is (a city's, at best). Both 0 means
	// unknown: no city is at that point.
	Latitude, Longitude float64
}

// HasPoint reports whether l knows where on the globe it is.
func (l Location) HasPoint() bool { return l.Latitude != 0 || l.Longitude != 0 }

// Label is the place as the session list shows it: "Madrid, Spain",
// "Local network" or "Unknown location".
func (l Location) Label() string {
	switch {
	case l.Local:
		return "Local network"
	case l.City != "" && l.Country != "":
		return l.City + ", " + l.Country
	case l.Country != "":
		return l.Country
	}
	return "Unknown location"
}

// Activity counts what a session did.
type Activity struct {
	// Logins is how many times the user signed in from this session's
	// device, as it is now: a later sign-in from the same device raises it
	// for every session of that device. A session signed in without a
	// device key keeps the count it was created with (the Service sets 1:
	// the one sign-in known).
	Logins   int64
	Actions  int64  // requests the session made
	LastPage string // title of the last page, or the API route's name
}

// Risk is the result of the suspicious-session checks.
type Risk struct {
	Level   string   // none | medium | high
	Reasons []string // codes such as "unknown_location"
}

// Status is the coarse activity state of a session.
type Status string

// Statuses as the API reports them.
const (
	StatusActiveNow Status = "active_now" // used in the last ActiveNowWindow
	StatusRecent    Status = "recent"     // used in the last 24 hours
	StatusIdle      Status = "idle"
)

// ActiveNowWindow is how recent a use must be to read "Active now". It matches
// the at-most-60-seconds staleness of LastActiveAt.
const ActiveNowWindow = 2 * time.Minute

// StatusAt returns the session's status at now.
func (s *Session) StatusAt(now time.Time) Status {
	d := now.Sub(s.LastActiveAt)
	switch {
	case d < ActiveNowWindow:
		return StatusActiveNow
	case d < 24*time.Hour:
		return StatusRecent
	}
	return StatusIdle
}

// RelativeTime writes how long ago t was, as the user guide does: "Active now",
// "5 minutes ago", "2 hours ago", "Yesterday", "3 days ago".
func RelativeTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < ActiveNowWindow:
		return "Active now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 48*time.Hour:
		return "Yesterday"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	case d < 365*24*time.Hour:
		return plural(int(d/(30*24*time.Hour)), "month") + " ago"
	}
	return plural(int(d/(365*24*time.Hour)), "year") + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// SessionFilter selects sessions. AccountID scopes every query made on behalf
// of a person; it is empty only for operator commands.
type SessionFilter struct {
	AccountID string
	ID        string
	UserID    string
	// Active, when set, keeps only the sessions still valid in that window.
	Active *ActiveWindow
	Limit  int // 0 means no limit
	Offset int
}

// ActiveWindow describes, for one account's settings at one instant, which
// sessions are still valid, in terms a store can put into SQL. A session is
// active when it is not revoked, its ExpiresAt is nil or after Now, and either it is
// remembered (and RememberAllowed) with CreatedAt after RememberSince, or it
// is not and (IdleSince is zero or LastActiveAt is after IdleSince).
type ActiveWindow struct {
	Now             time.Time
	IdleSince       time.Time // zero: no idle limit
	RememberAllowed bool
	RememberSince   time.Time
}

// Touch is what a session's activity writes: at most once a minute, or at
// shutdown, and at once (at most once a minute more) when its address or
// User-Agent changes.
type Touch struct {
	At time.Time // new LastActiveAt; never moves it backwards
	// IP is the latest address, "" to keep. A touch with an IP also records
	// it in the session's address history: first seen at At when new, last
	// seen moved forward to At.
	IP string
	// Location, when not nil, is where IP is: it replaces the session's
	// Location, and the history row's when IP is set. nil keeps both (a
	// history row created then has an empty Location).
	Location *Location
	Actions  int64  // requests since the previous touch, added to Activity.Actions
	LastPage string // "" to keep
	// UserAgent is a new User-Agent (cut to MaxUserAgent), "" to keep.
	UserAgent string
	// Device, when not nil, replaces the session's Device (the User-Agent
	// changed, or Client Hints told more).
	Device *Device
	// Risk, when not nil, replaces the session's risk level and reasons:
	// the checks ran again because its address or device changed.
	Risk *Risk
}

// SessionIP is one address a session used: where it was and when.
type SessionIP struct {
	IP        string
	Location  Location
	FirstSeen time.Time
	LastSeen  time.Time
}

// Revocation says who ended sessions, when and why.
type Revocation struct {
	At     time.Time
	By     string // actor id
	Reason string
}

// RevokeFilter selects the sessions to revoke. AccountID is required except
// for operator commands; at least one of SessionID and UserID, or All, must
// be set so that a mistake cannot sign out a whole account.
type RevokeFilter struct {
	AccountID       string
	SessionID       string
	UserID          string
	ExceptSessionID string
	All             bool // every session of AccountID
	// CountActive, when set, makes the count (the result and ev.Count) the
	// revoked sessions that were still valid in that window, so that it
	// agrees with what the person saw. Every matching session is revoked
	// all the same: one ended only by idleness would otherwise come back if
	// the account's settings were loosened.
	CountActive *ActiveWindow
}

// Principal is who a request acts for: a valid session with its user and
// account, read together on every request.
//
// A request authenticated by an API key has APIKey set and Session nil; its
// User is the key acting for its account (see Service.AuthenticateAPIKey),
// never a person.
type Principal struct {
	Session *Session
	User    *User
	Account *Account
	APIKey  *APIKey
}

// Clone copies the structs a caller may change, so that a cached principal
// is never changed through the copy handed out. Slices and pointers inside
// them are shared: callers never write through them.
func (p *Principal) Clone() *Principal {
	// One allocation for all: this runs on every cached validation.
	if p.APIKey != nil {
		c := &struct {
			p Principal
			k APIKey
			a Account
		}{p: *p, k: *p.APIKey}
		c.p.APIKey = &c.k
		if p.User != nil {
			u := *p.User
			c.p.User = &u
		}
		if p.Account != nil {
			c.a = *p.Account
			c.p.Account = &c.a
		}
		return &c.p
	}
	c := &struct {
		p Principal
		s Session
		u User
		a Account
	}{p: *p}
	if p.Session != nil {
		c.s = *p.Session
		c.p.Session = &c.s
	}
	if p.User != nil {
		c.u = *p.User
		c.p.User = &c.u
	}
	if p.Account != nil {
		c.a = *p.Account
		c.p.Account = &c.a
	}
	return &c.p
}

// SessionStore keeps sessions, their address history and the devices they
// sign in from. FindSessionByTokenHash runs on every request and may be
// served from an exact cache (see Store). Each method that takes an ev
// writes it in the same transaction as its change.
type SessionStore interface {
	// CreateSession stores s, the first row of its address history (when s.IP
	// is set: s.IP and s.Location, first and last seen at CreatedAt) and ev
	// (if not nil). When s.DeviceKeyHash is set it also records the sign-in
	// on the user's device of that key hash, created if the user has none
	// (first seen at CreatedAt, 1 login) or else counting one more login
	// (last seen moved forward to CreatedAt); it then sets s.NewDevice (true
	// only when the device was created now) and s.Activity.Logins (the
	// device's logins after this one). All in one transaction. Returns
	// ECONFLICT if the id or the token hash is taken, ENOTFOUND if the user
	// does not exist in the session's account.
	CreateSession(ctx context.Context, s *Session, ev *AuditEvent) error
	// FindSessionByTokenHash returns the session whose token hash is hash,
	// revoked or not, with its user and account, in one query: it runs on
	// every request. Returns ENOTFOUND if none.
	FindSessionByTokenHash(ctx context.Context, hash []byte) (*Principal, error)
	// FindSessionByID returns ENOTFOUND unless a session with that id exists
	// in the account (any account when accountID is "").
	FindSessionByID(ctx context.Context, accountID, id string) (*Session, error)
	// FindSessions returns the matching sessions, most recently active first
	// (then by id, descending), and how many match without Limit and Offset.
	FindSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error)
	// TouchSession records activity, and changes of address, location,
	// User-Agent and device, as Touch describes. LastActiveAt never moves
	// backwards, nor does an address's last seen time. Returns ENOTFOUND if
	// no session has that id.
	TouchSession(ctx context.Context, id string, t Touch) error
	// ReauthenticateSession moves the session's AuthenticatedAt forward to at
	// (never back) and writes ev (if not nil), in one transaction. Returns
	// ENOTFOUND unless a session with that id, not revoked, exists in the
	// account.
	ReauthenticateSession(ctx context.Context, accountID, id string, at time.Time, ev *AuditEvent) error
	// FindSessionIPs returns the addresses the session used, most recently
	// seen first (then by address). Returns ENOTFOUND unless a session with
	// that id exists in the account (any account when accountID is "").
	FindSessionIPs(ctx context.Context, accountID, sessionID string) ([]*SessionIP, error)
	// RevokeSessions revokes every matching session that is not yet revoked,
	// sets ev.Count to how many (only those valid in f.CountActive when it is
	// set), writes ev (if not nil, also when the count is 0), and returns the
	// count. When f.SessionID is set and nothing was revoked it returns
	// ENOTFOUND and writes nothing. Returns EINVALID if f selects neither a
	// session, a user nor All, or All without AccountID.
	RevokeSessions(ctx context.Context, f RevokeFilter, r Revocation, ev *AuditEvent) (int, error)
	// PurgeSessions deletes at most limit sessions revoked before cutoff or
	// whose ExpiresAt is before cutoff, with their address history, and
	// returns how many it deleted. Devices stay: they count the user's
	// sign-ins across sessions.
	PurgeSessions(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
