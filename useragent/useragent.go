// Package useragent names the client behind a User-Agent header and its
// Client Hints in the words people know: "Chrome" on "macOS", "Safari" on an
// "iPhone", "curl", "Googlebot".
//
// It is built on the uap-core rules (github.com/ua-parser/uap-go) and turns
// their vocabulary ("Mac OS X", "Mobile Safari", "Chrome Mobile iOS",
// "Other") into the names a session list shows.
package useragent

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/doorman/doorman"
	"github.com/ua-parser/uap-go/uaparser"
)

// Detector implements doorman.DeviceDetector with the uap-core rules. It is
// safe for concurrent use. Build one per process with New: building costs
// about 130 ms and 12 MiB, a cold Detect a few milliseconds, and recently
// seen User-Agents come from the parser's own cache.
type Detector struct {
	parser *uaparser.Parser
}

var _ doorman.DeviceDetector = (*Detector)(nil)

// New compiles the embedded uap-core rules into a Detector.
func New() (*Detector, error) {
	p, err := uaparser.New()
	if err != nil {
		return nil, fmt.Errorf("useragent: build parser: %w", err)
	}
	return &Detector{parser: p}, nil
}

// Detect names the client behind userAgent, refined by hints when the browser
// sent any. It never fails: what it cannot tell it leaves empty, so that
// Device.Label falls back to "Unknown browser".
//
//   - A User-Agent longer than doorman.MaxUserAgent is cut to that length
//     first, never rejected. An empty one gives an empty Device, hints or not.
//   - Browser is the product ("Chrome", "Safari", "Firefox", "Edge", "Opera",
//     "Samsung Internet", "Internet Explorer"), whatever the platform variant:
//     "Chrome Mobile iOS", Android WebView and HeadlessChrome are all
//     "Chrome". Brave sends Chrome's User-Agent byte for byte, so it is
//     "Chrome" unless its Client Hints say "Brave". BrowserVersion is
//     major.minor ("131.0").
//   - OS is "Windows", "macOS", "iOS" (iPadOS too), "Android", "ChromeOS",
//     "Linux" or the distribution the string names ("Ubuntu", "Fedora").
//     OSVersion is what the string says: "10.15.7" for every Mac, "10" for
//     Windows 10 and 11 alike, until Client Hints tell the truth.
//   - Model is "Mac", "iPhone", "iPad", "iPod", "Chromebook", "PC" for other
//     desktops, or the Android model ("Pixel 8", "SM-S918B") when known.
//     An iPad in desktop mode sends a Mac's User-Agent and no Client Hints:
//     it is "Safari on macOS", a desktop "Mac", since nothing tells it apart.
//   - Type is desktop, mobile or tablet for browsers; bot for crawlers
//     ("Googlebot", "Bingbot"), named without the OS they pretend to run
//     on; other for HTTP tools and libraries ("curl", "Go HTTP client",
//     "Python Requests", "Postman") and for other platforms (TVs, consoles);
//     "" when the platform is unknown, even if the browser is known.
func (d *Detector) Detect(userAgent string, hints doorman.ClientHints) doorman.Device {
	userAgent = doorman.CutText(userAgent, doorman.MaxUserAgent)
	if strings.TrimSpace(userAgent) == "" {
		return doorman.Device{}
	}
	// The parser caches its results and hands out shared pointers: read only.
	c := d.parser.Parse(userAgent)

	var r result
	r.browser(c.UserAgent, c.Device)
	if r.kind == kindBrowser {
		r.os(c.Os, c.Device)
		r.device = c.Device.Family != "Other" && c.Device.Family != ""
		// Android browsers add "Mobile" on phones and leave it out on tablets.
		r.mobile = r.OS == "Android" && strings.Contains(userAgent, "Mobile")
		if !hints.Empty() {
			r.hints(hints)
		}
	}
	r.Type = r.deviceType()
	return r.Device
}

type kind int

const (
	kindBrowser kind = iota // browsers, in-app browsers and WebViews
	kindBot                 // crawlers and monitors
	kindTool                // HTTP tools and libraries
)

// result is a Device being put together.
type result struct {
	doorman.Device
	kind   kind
	mobile bool // a phone rather than a tablet (Android or unknown systems)
	device bool // uap-core knows the device (a console, a TV)
}

// browsers maps uap-core browser families to the product people know.
// Families not listed keep their uap-core name ("Vivaldi", "Facebook").
var browsers = map[string]string{
	"Chrome":                     "Chrome",
	"Chrome Mobile":              "Chrome",
	"Chrome Mobile iOS":          "Chrome",
	"Chrome Mobile WebView":      "Chrome",
	"HeadlessChrome":             "Chrome",
	"Safari":                     "Safari",
	"Mobile Safari":              "Safari",
	"Mobile Safari UI/WKWebView": "Safari",
	"Firefox":                    "Firefox",
	"Firefox Mobile":             "Firefox",
	"Firefox iOS":                "Firefox",
	"Edge":                       "Edge",
	"Edge Mobile":                "Edge",
	"Opera":                      "Opera",
	"Opera Mobile":               "Opera",
	"Samsung Internet":           "Samsung Internet",
	"IE":                         "Internet Explorer",
	"IE Mobile":                  "Internet Explorer",
}

// tools are the HTTP tools and libraries that call APIs; uap-core files some
// of them under its "Spider" device, but they are not crawlers.
var tools = map[string]string{
	"curl":            "curl",
	"Wget":            "Wget",
	"Go-http-client":  "Go HTTP client",
	"Python Requests": "Python Requests",
	"Python-urllib":   "Python urllib",
	"PostmanRuntime":  "Postman",
	"insomnia":        "Insomnia",
	"HTTPie":          "HTTPie",
	"okhttp":          "OkHttp",
	"axios":           "axios",
}

// bots renames the crawlers whose uap-core name is not their own.
var bots = map[string]string{
	"bingbot": "Bingbot",
}

// isBot reports whether a uap-core browser family is a crawler's. uap-core
// files most crawlers under its "Spider" device, but not those that copy a
// device's string: Applebot sends a Mac's, and so reads as a Mac.
func isBot(family string) bool {
	f := strings.ToLower(family)
	for _, word := range []string{"bot", "spider", "crawl", "slurp", "archiver", "indexer", "scraper"} {
		if strings.Contains(f, word) {
			return true
		}
	}
	return false
}

func (r *result) browser(ua *uaparser.UserAgent, dev *uaparser.Device) {
	family := ua.Family
	if family == "Other" {
		family = ""
	}
	switch name, ok := tools[family]; {
	case ok:
		r.kind, r.Browser = kindTool, name
	case dev.Family == "Spider" || isBot(family):
		r.kind, r.Browser = kindBot, family
		if name, ok := bots[family]; ok {
			r.Browser = name
		}
	default:
		r.kind, r.Browser = kindBrowser, family
		if name, ok := browsers[family]; ok {
			r.Browser = name
		}
	}
	if r.Browser != "" {
		r.BrowserVersion = majorMinor(ua.Major, ua.Minor)
	}
}

// systems maps uap-core OS families to the names people know. Families not
// listed keep their uap-core name ("Ubuntu", "Fedora", "Tizen").
var systems = map[string]string{
	"Mac OS X":  "macOS",
	"iPadOS":    "iOS",
	"Chrome OS": "ChromeOS",
	"Web0S":     "webOS",
}

// desktops are the systems that run on desktops and laptops.
var desktops = map[string]bool{
	"Windows": true, "macOS": true, "Mac OS": true, "ChromeOS": true,
	"Linux": true, "Ubuntu": true, "Kubuntu": true, "Lubuntu": true,
	"Fedora": true, "Debian": true, "Linux Mint": true, "Arch Linux": true,
	"CentOS": true, "Red Hat": true, "openSUSE": true, "SUSE": true,
	"Gentoo": true, "Slackware": true, "Mageia": true, "PCLinuxOS": true,
	"Mandriva": true, "FreeBSD": true, "OpenBSD": true, "NetBSD": true,
	"Solaris": true,
}

// phones are the systems, besides iOS and Android, that run on phones.
var phones = map[string]bool{
	"Windows Phone": true, "Windows Mobile": true, "KaiOS": true,
	"BlackBerry OS": true, "Firefox OS": true, "Symbian OS": true,
}

func (r *result) os(os *uaparser.Os, dev *uaparser.Device) {
	if os.Family == "Other" || os.Family == "" {
		return
	}
	r.OS = os.Family
	if name, ok := systems[os.Family]; ok {
		r.OS = name
	}
	r.OSVersion = joinVersion(os.Major, os.Minor, os.Patch, os.PatchMinor)
	r.Model = defaultModel(r.OS)
	switch r.OS {
	case "iOS":
		switch dev.Family {
		case "iPhone", "iPad", "iPod":
			r.Model = dev.Family
		}
	case "Android":
		// Chrome's reduced User-Agent says "K" for every model, and uap-core
		// answers "Generic Smartphone" when the string names none.
		if dev.Family != "Other" && dev.Brand != "Generic" && dev.Model != "K" {
			r.Model = dev.Model
		}
	}
}

func defaultModel(os string) string {
	switch os {
	case "macOS", "Mac OS":
		return "Mac"
	case "ChromeOS":
		return "Chromebook"
	}
	if desktops[os] {
		return "PC"
	}
	return ""
}

// hintSystems maps Sec-CH-UA-Platform values to the names Detect uses.
var hintSystems = map[string]string{
	"Windows":     "Windows",
	"macOS":       "macOS",
	"Android":     "Android",
	"iOS":         "iOS",
	"Chrome OS":   "ChromeOS",
	"Chromium OS": "ChromeOS",
	"Linux":       "Linux",
}

// hints refines a browser's Device with its Client Hints. Hints about the
// platform apply only when they name the system the User-Agent names (or it
// names none), so a mismatched pair cannot rename one system into another.
func (r *result) hints(h doorman.ClientHints) {
	platform := hintSystems[unquote(h.Platform)]
	if r.OS == "" && platform != "" {
		r.OS, r.Model = platform, defaultModel(platform)
	}
	if platform == "" || platform == r.OS {
		version := unquote(h.PlatformVersion)
		switch r.OS {
		case "Windows":
			// Microsoft's documented mapping: platform version 13 and above
			// is Windows 11, 1 to 12 is Windows 10; 0 is 8.1 or older, which
			// the User-Agent already tells.
			if major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0]); err == nil {
				switch {
				case major >= 13:
					r.OSVersion = "11"
				case major >= 1:
					r.OSVersion = "10"
				}
			}
		case "macOS":
			// The User-Agent is frozen at 10.15.7; the hint is "14.6.1".
			if v := trimVersion(version, 2); v != "" {
				r.OSVersion = v
			}
		case "Android":
			// Chrome's reduced User-Agent says "Android 10" on every version.
			if v := trimVersion(version, 1); v != "" {
				r.OSVersion = v
			}
			if model := unquote(h.Model); model != "" {
				r.Model = model
			}
		}
	}
	if r.OS == "Android" || r.OS == "" {
		switch strings.TrimSpace(h.Mobile) {
		case "?1":
			r.mobile = true
		case "?0":
			r.mobile = false
		}
	}
	r.brand(h)
}

// brandNames maps Sec-CH-UA brands to browser names, most specific first:
// Edge, Opera and the rest also list "Chromium", and some "Google Chrome".
// "Chromium" alone renames nothing, and GREASE brands ("Not_A Brand") are
// not listed, so they are ignored.
var brandNames = []struct{ brand, name string }{
	{"Microsoft Edge", "Edge"},
	{"Opera", "Opera"},
	{"Opera GX", "Opera"},
	{"Brave", "Brave"},
	{"Samsung Internet", "Samsung Internet"},
	{"Google Chrome", "Chrome"},
}

// chromium are the browsers whose Client Hints may rename them; a
// User-Agent naming another engine is not renamed by hints.
var chromium = map[string]bool{
	"": true, "Chrome": true, "Edge": true, "Opera": true, "Brave": true,
	"Samsung Internet": true,
}

func (r *result) brand(h doorman.ClientHints) {
	if !chromium[r.Browser] {
		return
	}
	brands := parseBrands(h.Brands)
	full := parseBrands(h.FullVersionList)
	for _, b := range brandNames {
		v, inFull := lookup(full, b.brand)
		major, inBrands := lookup(brands, b.brand)
		if !inFull && !inBrands {
			continue
		}
		r.Browser = b.name
		uaMajor, _ := splitVersion(r.BrowserVersion)
		switch {
		case inFull && v != "":
			r.BrowserVersion = majorMinor(splitVersion(v))
		case major != "" && major != uaMajor:
			// Sec-CH-UA gives only the major version: keep the User-Agent's
			// "131.0" when it agrees.
			r.BrowserVersion = major
		}
		return
	}
}

type brandVersion struct{ brand, version string }

func lookup(list []brandVersion, brand string) (version string, ok bool) {
	for _, b := range list {
		if b.brand == brand {
			return b.version, true
		}
	}
	return "", false
}

// parseBrands reads a Sec-CH-UA or Sec-CH-UA-Full-Version-List value, a
// structured-field list such as `"Chromium";v="131", "Not_A Brand";v="24"`.
// It is lenient: it stops at what it cannot read and keeps what came before.
func parseBrands(s string) []brandVersion {
	var brands []brandVersion
	for s != "" {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || s[0] != '"' {
			break
		}
		brand, rest, ok := quoted(s)
		if !ok {
			break
		}
		s = rest
		version := ""
		// Parameters: ;v="131" (others are skipped).
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] != ';' {
				break
			}
			s = strings.TrimLeft(s[1:], " \t")
			eq := strings.IndexAny(s, "=;,")
			if eq < 0 || s[eq] != '=' {
				continue
			}
			key := strings.TrimSpace(s[:eq])
			s = s[eq+1:]
			var val string
			if s != "" && s[0] == '"' {
				if val, s, ok = quoted(s); !ok {
					return brands
				}
			} else {
				end := strings.IndexAny(s, ";,")
				if end < 0 {
					end = len(s)
				}
				val, s = strings.TrimSpace(s[:end]), s[end:]
			}
			if key == "v" {
				version = val
			}
		}
		brands = append(brands, brandVersion{brand, version})
		// Skip anything up to the next member.
		if i := strings.IndexByte(s, ','); i >= 0 {
			s = s[i+1:]
		} else {
			s = ""
		}
	}
	return brands
}

// quoted reads the structured-field string at the start of s, which begins
// with '"', and returns it and what follows.
func quoted(s string) (value, rest string, ok bool) {
	end := strings.IndexAny(s[1:], `"\`) + 1
	if end == 0 {
		return "", "", false
	}
	if s[end] == '"' {
		return s[1:end], s[end+1:], true
	}
	// Escapes are rare: only then build the string.
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			i++
			if i == len(s) {
				return "", "", false
			}
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// unquote returns a single-string hint (`"Windows"`) without its quotes.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s[0] != '"' {
		return s
	}
	v, _, ok := quoted(s)
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

func (r *result) deviceType() string {
	switch {
	case r.kind == kindBot:
		return "bot"
	case r.kind == kindTool:
		return "other"
	case r.OS == "iOS" && r.Model == "iPad":
		return "tablet"
	case r.OS == "iOS" || phones[r.OS]:
		return "mobile"
	case (r.OS == "Android" || r.OS == "") && r.mobile:
		return "mobile"
	case r.OS == "Android" || r.OS == "BlackBerry Tablet OS":
		return "tablet"
	case desktops[r.OS]:
		return "desktop"
	case r.OS != "" || r.device:
		// Known, and neither desktop nor phone nor tablet: TVs, consoles.
		return "other"
	}
	return ""
}

// majorMinor writes a browser version as people quote it: "131.0", "17.2".
func majorMinor(major, minor string) string {
	if major == "" || minor == "" {
		return major
	}
	return major + "." + minor
}

func splitVersion(v string) (major, minor string) {
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ = strings.Cut(rest, ".")
	return major, minor
}

// joinVersion writes an OS version as the User-Agent says it: "10.15.7".
func joinVersion(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// trimVersion drops trailing ".0" parts from a platform version, keeping at
// least keep parts: "14.0.0" → "14" (keep 1), "15.0.0" → "15.0" (keep 2),
// "14.6.1" stays. It returns "" for anything but dotted digits.
func trimVersion(v string, keep int) string {
	parts := strings.Split(v, ".")
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	for len(parts) > keep && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".")
}
