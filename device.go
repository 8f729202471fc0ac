package doorman

import "net/netip"

// ClientHints are the User-Agent Client Hints a browser sent (Sec-CH-UA-*),
// raw header values with their quotes. They refine what the User-Agent
// string cannot tell: Windows 11 from 10, the real macOS version, the Android
// model that the string reduces to "K".
type ClientHints struct {
	Brands          string // Sec-CH-UA
	FullVersionList string // Sec-CH-UA-Full-Version-List
	Mobile          string // Sec-CH-UA-Mobile ("?1" or "?0")
	Platform        string // Sec-CH-UA-Platform
	PlatformVersion string // Sec-CH-UA-Platform-Version
	Model           string // Sec-CH-UA-Model
}

// Empty reports whether no hint was sent.
func (h ClientHints) Empty() bool { return h == ClientHints{} }

// DeviceDetector names the client behind a User-Agent and Client Hints in
// the words people know ("Chrome" on "macOS", "Safari" on "iPhone"). It is
// called when a session starts or its User-Agent changes, never per request.
type DeviceDetector interface {
	Detect(userAgent string, hints ClientHints) Device
}

// Locator places an IP address: city, region, country, ISP. Private,
// loopback and link-local addresses come back with Local set; addresses it
// has no data for come back empty.
type Locator interface {
	Locate(ip netip.Addr) Location
}

// Credit names the source of data shown to people, as its licence asks:
// "IP Geolocation by DB-IP", linked to https://db-ip.com.
type Credit struct {
	Text string
	URL  string // "" when the source has no page to link to
}

// CreditedLocator is a Locator that names the sources of its data. Credits
// is empty while it has no data (no database installed): every place is
// then unknown, and pages credit no one.
type CreditedLocator interface {
	Locator
	Credits() []Credit
}
