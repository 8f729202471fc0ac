package html

import (
	"strconv"
	"strings"
	"time"

	"github.com/doorman/doorman"
)

// Unknown is what a page shows for a fact not known (yet), never a blank.
const Unknown = "Unknown"

// Time is an instant as pages show it: relative in the text, exact on
// hover. Exact is in UTC; app.js rewrites it in the reader's time zone.
type Time struct {
	ISO      string // RFC 3339, for <time datetime>
	Exact    string // "January 15, 2024 12:30 UTC"
	Relative string // "2 hours ago", as the user guide writes it
}

// NewTime describes t as seen at now.
func NewTime(t, now time.Time) Time {
	t = t.UTC()
	return Time{ISO: t.Format(time.RFC3339), Exact: t.Format("January 2, 2006 15:04") + " UTC",
		Relative: doorman.RelativeTime(now, t)}
}

// JustNow is what a moment of the last couple of minutes reads as.
const JustNow = "just now"

// NewEventTime describes a moment something happened (a sign-in, an
// address first seen) at now: as NewTime, but a moment is "just now" where
// an activity would be "Active now".
func NewEventTime(t, now time.Time) Time {
	v := NewTime(t, now)
	if now.Sub(t) < doorman.ActiveNowWindow {
		v.Relative = JustNow
	}
	return v
}

// Session is one session as the pages show it.
type Session struct {
	ID      string
	ShortID string // "sess_01J4ZQ…": enough to tell sessions apart
	Current bool
	// DeviceName tells apart sessions whose browser, system and place are
	// the same: the device's model (or kind) and the last characters of
	// the session id, "Mac-7QX2".
	DeviceName string

	Label      string // "Chrome on macOS"
	DeviceType string // desktop | mobile | tablet | other: picks the icon
	DeviceKind string // the icon's text: "Desktop", "Phone", …
	Browser    string // "Safari 17.2"
	OS         string // "iOS 17.2"
	Device     string // "iPhone 14 Pro"

	Place   string // "Madrid, Spain", "Local network", "Unknown location"
	Town    string // the short place of lists: "Madrid"
	City    string
	Country string
	ISP     string
	IP      string

	// Active is true when the session was used in the last 24 hours: the
	// green dot. ActiveNow is true in the last couple of minutes.
	Active     bool
	ActiveNow  bool
	LastActive Time
	// Created is the sign-in: "Signed in: 3 days ago", "just now".
	Created Time
	// Expires is when the session ends (nil: never). It ends then whatever
	// its use when EndsIfUnused is false: a remembered session lasts the
	// account's days from its sign-in, and every session is capped.
	Expires      *Time
	EndsIfUnused bool
	RememberMe   bool

	Logins   string
	Actions  string
	LastPage string

	// NewDevice marks a session from a browser that had not signed in to
	// the account before.
	NewDevice bool
	Risk      Risk
	// TwoFactor is whether the sign-in passed a second factor.
	TwoFactor bool
	// Bound is when the session was bound to its browser's device key
	// (DBSC); nil when it is not.
	Bound *Time
}

// Risk is a suspicious session's concern level, as the user guide shows it.
// The guide's 🔴 and 🟡 are drawn by the stylesheet beside the words, so
// that no page needs an emoji font.
type Risk struct {
	Level   string   // "high", "medium" or "" for none
	Label   string   // "High", "Medium"
	Reasons []string // in words: "Unknown location: first sign-in from Berlin, Germany"
	// Actions are the guide's recommended steps for this level.
	Actions []string
}

// NewSession describes sess for its owner at now under the account's
// settings; current marks the session making the request.
func NewSession(sess *doorman.Session, current bool, set doorman.Settings, now time.Time) Session {
	d, l := sess.Device, sess.Location
	v := Session{
		ID: sess.ID, ShortID: shortID(sess.ID), Current: current, TwoFactor: sess.TwoFactor,
		Label: d.Label(), DeviceType: deviceType(d.Type),
		Browser: orUnknown(joinNonEmpty(d.Browser, d.BrowserVersion)),
		OS:      orUnknown(joinNonEmpty(d.OS, d.OSVersion)),
		Device:  orUnknown(d.Model),
		Place:   l.Label(), City: orUnknown(l.City), Country: orUnknown(l.Country), ISP: orUnknown(l.ISP),
		IP:         orUnknown(sess.IP),
		LastActive: NewTime(sess.LastActiveAt, now), Created: NewEventTime(sess.CreatedAt, now),
		RememberMe: doorman.Remembered(sess, set),
		Actions:    thousands(sess.Activity.Actions),
		LastPage:   orUnknown(sess.Activity.LastPage),
		Logins:     Unknown,
		NewDevice:  sess.NewDevice,
		Risk:       newRisk(sess, now),
	}
	v.DeviceKind = deviceKinds[v.DeviceType]
	v.DeviceName = deviceName(d.Model, v.DeviceKind, sess.ID)
	if b := sess.Binding; b != nil {
		t := NewTime(b.At, now)
		v.Bound = &t
	}
	status := sess.StatusAt(now)
	v.Active = status != doorman.StatusIdle
	v.ActiveNow = status == doorman.StatusActiveNow
	v.Town = l.City
	if v.Town == "" {
		v.Town = v.Place
	}
	if sess.Activity.Logins > 0 {
		v.Logins = thousands(sess.Activity.Logins)
	}
	if end, reason := doorman.Deadline(sess, set); !end.IsZero() {
		t := NewTime(end, now)
		t.Relative = "" // a future instant: only the exact time is shown
		v.Expires = &t
		v.EndsIfUnused = reason == doorman.ReasonIdle
	}
	return v
}

// Path is the session's details page.
func (s Session) Path() string { return SessionPath(s.ID) }

// SignOutPath is the session's sign-out confirmation.
func (s Session) SignOutPath() string { return SignOutPath(s.ID) }

// StatusText is the card's activity line: "Active now", or "Last active: 3
// days ago".
func (s Session) StatusText() string {
	if s.ActiveNow {
		return "Active now"
	}
	return "Last active: " + s.LastActive.Relative
}

// Summary names the session in one line for lists and messages: "Safari on
// iPhone (Madrid)".
func (s Session) Summary() string {
	if s.Town == "Unknown location" {
		return s.Label
	}
	return s.Label + " (" + s.Town + ")"
}

// IPUse is one address a session was used from.
type IPUse struct {
	IP        string
	Place     string
	FirstSeen Time
	LastSeen  Time
}

// NewIPUse describes one entry of a session's address history at now.
func NewIPUse(u *doorman.SessionIP, now time.Time) IPUse {
	return IPUse{IP: orUnknown(u.IP), Place: u.Location.Label(), FirstSeen: NewEventTime(u.FirstSeen, now),
		LastSeen: NewEventTime(u.LastSeen, now)}
}

// deviceTagLen is how many of a session id's last characters name its
// device: 20 random bits, so that two sessions of one person do not share
// a name.
const deviceTagLen = 4

// deviceName names a session's device for people to tell it from another
// of the same kind: "Mac-7QX2", "Phone-K3F9". The tag is the end of the
// session id, which the details page shows in full.
func deviceName(model, kind, id string) string {
	name := strings.Map(func(r rune) rune {
		if r == ' ' {
			return '-'
		}
		return r
	}, strings.TrimSpace(model))
	if name == "" || len(name) > 24 {
		name = kind
	}
	tag := id
	if len(tag) > deviceTagLen {
		tag = tag[len(tag)-deviceTagLen:]
	}
	return name + "-" + tag
}

var deviceKinds = map[string]string{"desktop": "Desktop", "mobile": "Phone", "tablet": "Tablet", "other": "Device"}

func deviceType(t string) string {
	switch t {
	case "desktop", "mobile", "tablet":
		return t
	}
	return "other" // bots and unknown clients share the plain icon
}

// RiskLevel is the concern level of a risk check's level (doorman.RiskHigh,
// doorman.RiskMedium) with the guide's recommended actions; empty for none.
func RiskLevel(level string) Risk {
	switch level {
	case doorman.RiskHigh:
		return Risk{Level: "high", Label: doorman.RiskLevelLabel(level),
			Actions: []string{"Sign out this session immediately", "Change your password right away"}}
	case doorman.RiskMedium:
		return Risk{Level: "medium", Label: doorman.RiskLevelLabel(level),
			Actions: []string{"Sign out this session if you do not recognize it"}}
	}
	return Risk{}
}

func newRisk(sess *doorman.Session, now time.Time) Risk {
	v := RiskLevel(sess.Risk.Level)
	if v.Level == "" {
		return v
	}
	for _, code := range sess.Risk.Reasons {
		v.Reasons = append(v.Reasons, doorman.RiskReasonText(code, sess, now))
	}
	return v
}

// shortID keeps the prefix and the first 8 characters of an id: "sess_01J4ZQ8X…".
func shortID(id string) string {
	const keep = len(doorman.PrefixSession) + 8
	if len(id) <= keep+2 {
		return id
	}
	return id[:keep] + "…"
}

func joinNonEmpty(a, b string) string {
	if a == "" || b == "" {
		return a
	}
	return a + " " + b
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return Unknown
	}
	return s
}

// thousands writes n with comma separators, as the guide writes counts: "1,234".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
