package doorman

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Risk levels, as the API reports them.
const (
	RiskNone   = "none"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// Risk reason codes, as the API reports them.
const (
	ReasonUnknownLocation  = "unknown_location"  // high
	ReasonUnknownDevice    = "unknown_device"    // high
	ReasonImpossibleTravel = "impossible_travel" // high
	ReasonOldSession       = "old_session"       // medium
	ReasonUnrecognizedIP   = "unrecognized_ip"   // medium
)

// MaxTravelSpeed is the fastest a person is believed to travel, in km/h: a
// sign-in farther from one of the user's places than this speed covers
// since the user was last seen there is impossible travel. Airliners cruise
// at about 900 km/h.
const MaxTravelSpeed = 1000.0

// MinTravelDistance is the distance in km under which two places are never
// impossible travel: IP location data places an address within tens of
// kilometres of the truth at best, often at a capital or a provider's
// hub, so closer places say nothing about a journey.
const MinTravelDistance = 500.0

// OldSessionAge is how old a session must be (since its sign-in) to be
// flagged old_session.
const OldSessionAge = 30 * 24 * time.Hour

// RiskHistory is what the risk checks know of one user before a session:
// the user's other sessions, their devices and every address those sessions
// used, with where it was. A user with no earlier session and no device is
// new: the first sign-in builds the baseline and is never flagged.
type RiskHistory struct {
	Sessions   int          // the user's other sessions (any state) still stored
	DeviceKeys [][]byte     // key hashes of the user's devices (device cookies)
	Devices    []Device     // the browser and OS of the user's other sessions
	Places     []Location   // where the user's other sessions' addresses were
	IPs        []netip.Addr // the addresses the user's other sessions used
	Visits     []Visit      // the places with a point, and when the user was last there
}

// Visit is a place the user was at, with a point on the globe, and the last
// time one of the user's sessions was seen there.
type Visit struct {
	Place Location
	At    time.Time
}

// AddSessions records n earlier sessions of the user on browser and OS d,
// as a store reads them grouped: a device with no name is counted but not
// kept.
func (h *RiskHistory) AddSessions(d Device, n int) {
	h.Sessions += n
	if d.Browser != "" || d.OS != "" {
		h.Devices = append(h.Devices, d)
	}
}

// AddAddress records one address the user used, its place and the last
// time the user was seen at it, as a store reads them: an address that does
// not parse is skipped, a place is kept only when it says something (a
// country, or the local network), and a visit only when the place has a
// point.
func (h *RiskHistory) AddAddress(ip string, l Location, lastSeen time.Time) {
	if a, err := netip.ParseAddr(ip); err == nil {
		h.IPs = append(h.IPs, a)
	}
	if l.Country != "" || l.Local {
		h.Places = append(h.Places, l)
	}
	if l.HasPoint() && !l.Local {
		h.Visits = append(h.Visits, Visit{Place: l, At: lastSeen})
	}
}

// New reports whether h is empty: the user has no history to compare with.
func (h *RiskHistory) New() bool {
	return h == nil || (h.Sessions == 0 && len(h.DeviceKeys) == 0)
}

// AssessRisk runs the suspicious-session checks on s against the user's
// history h (which must not include s) at now:
//
//   - unknown_location (high): s.Location's country was never seen for the
//     user, or its city never within a known country. A local or unlocated
//     address is not judged.
//   - impossible_travel (high): s.Location is at least MinTravelDistance
//     from a place of the user's history, farther than MaxTravelSpeed
//     covers between the user's last visit there and now.
//   - unknown_device (high): s signed in with no device cookie of the user's
//     (s.DeviceKeyHash not in h.DeviceKeys, or none) and from a browser and
//     OS family (names, not versions) none of the user's sessions used. An
//     unnamed client is not judged.
//   - old_session (medium): s was created more than OldSessionAge before now.
//   - unrecognized_ip (medium): s.IP is a public address outside every /24
//     (IPv4) or /48 (IPv6) of the addresses the user used before.
//
// For a new user (h.New()) only old_session applies: the first sign-in is
// the baseline. The level is the highest of the reasons', "none" without any.
func AssessRisk(s *Session, h *RiskHistory, now time.Time) Risk {
	var reasons []string
	if !h.New() {
		if unknownLocation(s.Location, h.Places) {
			reasons = append(reasons, ReasonUnknownLocation)
		}
		if unknownDevice(s, h) {
			reasons = append(reasons, ReasonUnknownDevice)
		}
		if impossibleTravel(s.Location, now, h.Visits) {
			reasons = append(reasons, ReasonImpossibleTravel)
		}
		if unrecognizedIP(s.IP, h.IPs) {
			reasons = append(reasons, ReasonUnrecognizedIP)
		}
	}
	if now.Sub(s.CreatedAt) > OldSessionAge {
		reasons = append(reasons, ReasonOldSession)
	}
	return RiskOf(reasons)
}

// RiskOf is the Risk of reasons (its level the highest of theirs), the
// reasons ordered as AssessRisk writes them.
func RiskOf(reasons []string) Risk {
	r := Risk{Level: RiskNone, Reasons: reasons}
	for _, c := range reasons {
		switch c {
		case ReasonUnknownLocation, ReasonUnknownDevice, ReasonImpossibleTravel, ReasonDeviceProofFailed:
			r.Level = RiskHigh
		case ReasonOldSession, ReasonUnrecognizedIP:
			if r.Level == RiskNone {
				r.Level = RiskMedium
			}
		}
	}
	return r
}

// WithOldSession returns r with old_session added or taken away as s's age
// at now says: it depends on the instant, so it is judged when a session is
// read rather than stored.
func (r Risk) WithOldSession(s *Session, now time.Time) Risk {
	reasons := slices.DeleteFunc(slices.Clone(r.Reasons), func(c string) bool { return c == ReasonOldSession })
	if now.Sub(s.CreatedAt) > OldSessionAge {
		reasons = append(reasons, ReasonOldSession)
	}
	if len(reasons) == 0 {
		reasons = nil
	}
	return RiskOf(reasons)
}

// Flagged reports whether r has any reason.
func (r Risk) Flagged() bool { return r.Level == RiskHigh || r.Level == RiskMedium }

func unknownLocation(l Location, places []Location) bool {
	if l.Local || l.Country == "" {
		return false
	}
	country := false
	for _, p := range places {
		if !sameCountry(p, l) {
			continue
		}
		country = true
		if l.City == "" || strings.EqualFold(p.City, l.City) {
			return false
		}
	}
	// A known country with a new city is unknown; so is a new country.
	return !country || l.City != ""
}

// impossibleTravel reports whether being at l at now is farther from one of
// visits than MaxTravelSpeed covers since that visit.
func impossibleTravel(l Location, now time.Time, visits []Visit) bool {
	if !l.HasPoint() || l.Local {
		return false
	}
	for _, v := range visits {
		d := DistanceKm(l, v.Place)
		if d < MinTravelDistance {
			continue
		}
		hours := now.Sub(v.At).Hours()
		if hours <= 0 || d/hours > MaxTravelSpeed {
			return true
		}
	}
	return false
}

// DistanceKm is the great-circle distance between a's and b's points, in
// kilometres (haversine, on a sphere of the Earth's mean radius).
func DistanceKm(a, b Location) float64 {
	const earthRadiusKm = 6371.0
	rad := func(deg float64) float64 { return deg * math.Pi / 180 }
	dLat := rad(b.Latitude - a.Latitude)
	dLon := rad(b.Longitude - a.Longitude)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(rad(a.Latitude))*math.Cos(rad(b.Latitude))*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

func sameCountry(a, b Location) bool {
	if a.CountryCode != "" && b.CountryCode != "" {
		return strings.EqualFold(a.CountryCode, b.CountryCode)
	}
	return a.Country != "" && strings.EqualFold(a.Country, b.Country)
}

func unknownDevice(s *Session, h *RiskHistory) bool {
	if len(s.DeviceKeyHash) > 0 && slices.ContainsFunc(h.DeviceKeys, func(k []byte) bool { return bytes.Equal(k, s.DeviceKeyHash) }) {
		return false
	}
	if s.Device.Browser == "" && s.Device.OS == "" {
		return false
	}
	return !slices.ContainsFunc(h.Devices, func(d Device) bool {
		return strings.EqualFold(d.Browser, s.Device.Browser) && strings.EqualFold(d.OS, s.Device.OS)
	})
}

// network is the /24 of an IPv4 address (IPv4-mapped ones too) and the /48
// of an IPv6 one.
func network(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// public reports whether a is routable on the internet as far as its form
// says: not private, loopback, link-local, multicast or unspecified.
func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate()
}

func unrecognizedIP(ip string, seen []netip.Addr) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil || !public(a) {
		return false
	}
	n := network(a)
	return !slices.ContainsFunc(seen, func(b netip.Addr) bool { return network(b) == n })
}

// RiskLevelLabel is the guide's concern level in words: "High", "Medium",
// "". The guide marks them 🔴 and 🟡; words need no emoji font, and pages
// draw the colour themselves.
func RiskLevelLabel(level string) string {
	switch level {
	case RiskHigh:
		return "High"
	case RiskMedium:
		return "Medium"
	}
	return ""
}

// AuditDetails is how a flagged sign-in's audit event records its risk:
// "risk=high reasons=unknown_location,unknown_device".
func (r Risk) AuditDetails() string {
	return "risk=" + r.Level + " reasons=" + strings.Join(r.Reasons, ",")
}

// RiskFromAuditDetails reads AuditDetails back from an event's details,
// which may hold other "key=value" facts too; ok is false when they hold
// no risk.
func RiskFromAuditDetails(details string) (r Risk, ok bool) {
	var level, reasons string
	for _, f := range strings.Fields(details) {
		if v, found := strings.CutPrefix(f, "risk="); found {
			level = v
		} else if v, found := strings.CutPrefix(f, "reasons="); found {
			reasons = v
		}
	}
	if level != RiskHigh && level != RiskMedium {
		return Risk{}, false
	}
	r.Level = level
	if reasons != "" {
		r.Reasons = strings.Split(reasons, ",")
	}
	return r, true
}

// RiskReasonTitle names a reason in a few words: "Unknown location".
func RiskReasonTitle(code string) string {
	if code == ReasonUnrecognizedIP {
		return "Unrecognized IP"
	}
	if code == "" {
		return ""
	}
	_, n := utf8.DecodeRuneInString(code) // the whole first character, not its first byte
	return strings.ToUpper(code[:n]) + strings.ReplaceAll(code[n:], "_", " ")
}

// RiskReasonText says a reason in words for the session it was found on:
// "Unknown location: first sign-in from Berlin, Germany".
func RiskReasonText(code string, s *Session, now time.Time) string {
	switch code {
	case ReasonUnknownLocation:
		return "Unknown location: first sign-in from " + s.Location.Label()
	case ReasonUnknownDevice, "new_device":
		return "Unknown device: first sign-in from " + s.Device.Label()
	case ReasonImpossibleTravel:
		return "Impossible travel: " + s.Location.Label() + " is too far from where this user was shortly before to get there in time"
	case ReasonOldSession:
		return fmt.Sprintf("Old session: signed in %d days ago", int(now.Sub(s.CreatedAt)/(24*time.Hour)))
	case ReasonUnrecognizedIP:
		ip := s.IP
		if ip == "" {
			ip = "This address"
		}
		return "Unrecognized IP: " + ip + " is outside every network this user signed in from before"
	}
	return RiskReasonTitle(code)
}

// RiskStore answers the risk checks: what a user's past sessions looked
// like, and which users have a session the checks flagged.
type RiskStore interface {
	// FindUserHistory returns the risk checks' history of the user in the
	// account (RiskHistory): how many of the user's sessions were created
	// before before, their browser and OS families, the key hashes of the
	// user's devices first seen before it, and the addresses (with places)
	// those sessions used first seen before it. Another account's rows never
	// count; an unknown user has an empty history.
	FindUserHistory(ctx context.Context, accountID, userID string, before time.Time) (*RiskHistory, error)
	// FindFlaggedUsers returns which of userIDs, users of the account, have
	// a session active in w with a stored risk level of medium or high, or
	// created before oldBefore (old_session, judged at read time). Another
	// account's sessions never count; the result is ordered by user id.
	FindFlaggedUsers(ctx context.Context, accountID string, userIDs []string, w *ActiveWindow, oldBefore time.Time) ([]string, error)
}
