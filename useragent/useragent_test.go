package useragent_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/useragent"
)

// detector is shared: building one costs about 130 ms.
var detector = sync.OnceValues(useragent.New)

func newDetector(tb testing.TB) *useragent.Detector {
	tb.Helper()
	d, err := detector()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return d
}

type want struct {
	label, version, os, osVersion, model, typ string
}

func check(t *testing.T, got doorman.Device, w want) {
	t.Helper()
	if got.Label() != w.label || got.BrowserVersion != w.version || got.OS != w.os ||
		got.OSVersion != w.osVersion || got.Model != w.model || got.Type != w.typ {
		t.Errorf("got  %q %q %q %q %q %q (%+v)\nwant %q %q %q %q %q %q",
			got.Label(), got.BrowserVersion, got.OS, got.OSVersion, got.Model, got.Type, got,
			w.label, w.version, w.os, w.osVersion, w.model, w.typ)
	}
}

const (
	chromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	chromeMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	chromeAndroid = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	chromeTablet  = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	safariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
	firefoxWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	edgeWindows   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
)

// cases are real User-Agent strings, as browsers, bots and tools send them.
var cases = []struct {
	name, ua string
	want
}{
	// Windows. The string says "Windows NT 10.0" on Windows 11 too: only
	// Client Hints tell them apart (see TestDetectClientHints).
	{"Chrome on Windows", chromeWindows,
		want{"Chrome on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
	{"Brave sends Chrome's string", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
		want{"Chrome on Windows", "130.0", "Windows", "10", "PC", "desktop"}},
	{"Edge on Windows", edgeWindows,
		want{"Edge on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
	{"Firefox on Windows", firefoxWin,
		want{"Firefox on Windows", "133.0", "Windows", "10", "PC", "desktop"}},
	{"Opera on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
		want{"Opera on Windows", "115.0", "Windows", "10", "PC", "desktop"}},
	{"Vivaldi on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18",
		want{"Vivaldi on Windows", "7.0", "Windows", "10", "PC", "desktop"}},
	{"Chrome on Windows 8.1", "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
		want{"Chrome on Windows", "109.0", "Windows", "8.1", "PC", "desktop"}},
	{"IE11 on Windows 7", "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
		want{"Internet Explorer on Windows", "11.0", "Windows", "7", "PC", "desktop"}},
	{"IE11 on Windows 10", "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
		want{"Internet Explorer on Windows", "11.0", "Windows", "10", "PC", "desktop"}},
	{"Firefox on Windows XP", "Mozilla/5.0 (Windows NT 5.1; rv:52.0) Gecko/20100101 Firefox/52.0",
		want{"Firefox on Windows", "52.0", "Windows", "XP", "PC", "desktop"}},
	{"Slack desktop app (Electron)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/130.0.6723.137 Electron/33.2.1 Safari/537.36 Sonic Slack_SSB/4.41.105",
		want{"Slack Desktop Client on Windows", "4.41", "Windows", "10", "PC", "desktop"}},

	// macOS. Every browser freezes the version at 10.15.7 (Firefox at 10.15).
	{"Chrome on macOS", chromeMac,
		want{"Chrome on macOS", "131.0", "macOS", "10.15.7", "Mac", "desktop"}},
	{"Safari on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
		want{"Safari on macOS", "18.2", "macOS", "10.15.7", "Mac", "desktop"}},
	{"Firefox on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
		want{"Firefox on macOS", "133.0", "macOS", "10.15", "Mac", "desktop"}},
	{"Edge on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
		want{"Edge on macOS", "131.0", "macOS", "10.15.7", "Mac", "desktop"}},
	{"Opera on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
		want{"Opera on macOS", "115.0", "macOS", "10.15.7", "Mac", "desktop"}},
	// iPadOS Safari asks for desktop sites by default and then sends a Mac's
	// string byte for byte, with no Client Hints: it reads as a Mac.
	{"iPad in desktop mode", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
		want{"Safari on macOS", "17.2", "macOS", "10.15.7", "Mac", "desktop"}},

	// Linux and ChromeOS.
	{"Chrome on Linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		want{"Chrome on Linux", "131.0", "Linux", "", "PC", "desktop"}},
	{"Firefox on Ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		want{"Firefox on Ubuntu", "133.0", "Ubuntu", "", "PC", "desktop"}},
	{"Firefox on Fedora", "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		want{"Firefox on Fedora", "133.0", "Fedora", "", "PC", "desktop"}},
	{"Firefox on Linux ARM", "Mozilla/5.0 (X11; Linux aarch64; rv:133.0) Gecko/20100101 Firefox/133.0",
		want{"Firefox on Linux", "133.0", "Linux", "", "PC", "desktop"}},
	{"Edge on Linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
		want{"Edge on Linux", "131.0", "Linux", "", "PC", "desktop"}},
	{"HeadlessChrome is Chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
		want{"Chrome on Linux", "131.0", "Linux", "", "PC", "desktop"}},
	{"Chrome on ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		want{"Chrome on ChromeOS", "131.0", "ChromeOS", "14541.0.0", "Chromebook", "desktop"}},
	{"Chrome on ARM ChromeOS", "Mozilla/5.0 (X11; CrOS aarch64 15917.71.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		want{"Chrome on ChromeOS", "131.0", "ChromeOS", "15917.71.0", "Chromebook", "desktop"}},

	// iPhone and iPad.
	{"Safari on iPhone", safariIPhone,
		want{"Safari on iPhone", "17.2", "iOS", "17.2", "iPhone", "mobile"}},
	{"Chrome on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
		want{"Chrome on iPhone", "131.0", "iOS", "18.1.1", "iPhone", "mobile"}},
	{"Firefox on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
		want{"Firefox on iPhone", "133.0", "iOS", "17.2", "iPhone", "mobile"}},
	{"Edge on iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.0.2903.68 Mobile/15E148 Safari/605.1.15",
		want{"Edge on iPhone", "131.0", "iOS", "17.2", "iPhone", "mobile"}},
	{"WKWebView in an iPhone app", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		want{"Safari on iPhone", "", "iOS", "17.2", "iPhone", "mobile"}},
	{"Facebook in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108;FBBV/564431005;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
		want{"Facebook on iPhone", "450.0", "iOS", "17.2", "iPhone", "mobile"}},
	{"Instagram in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 312.0.0.32.112 (iPhone15,2; iOS 17_2; en_US; en; scale=3.00; 1179x2556; 553525438)",
		want{"Instagram on iPhone", "312.0", "iOS", "17.2", "iPhone", "mobile"}},
	{"Safari on iPod touch", "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
		want{"Safari on iPod", "15.6", "iOS", "15.7", "iPod", "mobile"}},
	{"Safari on iPad (mobile site)", "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
		want{"Safari on iPad", "17.2", "iOS", "17.2", "iPad", "tablet"}},
	{"Chrome on iPad", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
		want{"Chrome on iPad", "131.0", "iOS", "18.1", "iPad", "tablet"}},

	// Android phones. Chrome's reduced string says "Android 10; K" whatever
	// the phone: no model, until Client Hints give it.
	{"Chrome on Android (reduced)", chromeAndroid,
		want{"Chrome on Android", "131.0", "Android", "10", "", "mobile"}},
	{"Chrome on Pixel 8", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
		want{"Chrome on Android", "131.0", "Android", "14", "Pixel 8", "mobile"}},
	{"Samsung Internet on Galaxy S23 Ultra", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
		want{"Samsung Internet on Android", "26.0", "Android", "14", "SM-S918B", "mobile"}},
	{"Firefox on Android", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
		want{"Firefox on Android", "133.0", "Android", "14", "", "mobile"}},
	{"Android WebView", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.81 Mobile Safari/537.36",
		want{"Chrome on Android", "131.0", "Android", "14", "Pixel 8", "mobile"}},
	{"Opera on Android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
		want{"Opera on Android", "86.0", "Android", "10", "", "mobile"}},
	{"Edge on Android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
		want{"Edge on Android", "131.0", "Android", "10", "", "mobile"}},
	{"Chrome on a Xiaomi phone", "Mozilla/5.0 (Linux; Android 13; 2201116SG) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		want{"Chrome on Android", "131.0", "Android", "13", "2201116SG", "mobile"}},

	// Android tablets: the same strings without "Mobile".
	{"Chrome on Galaxy Tab S9", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		want{"Chrome on Android", "131.0", "Android", "13", "SM-X710", "tablet"}},
	{"Chrome on Android tablet (reduced)", chromeTablet,
		want{"Chrome on Android", "131.0", "Android", "10", "", "tablet"}},
	{"Samsung Internet on Galaxy Tab", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Safari/537.36",
		want{"Samsung Internet on Android", "26.0", "Android", "14", "SM-X710", "tablet"}},
	{"Firefox on Android tablet", "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
		want{"Firefox on Android", "133.0", "Android", "14", "", "tablet"}},

	// Bots: named as what they are, without the system they pretend to run on.
	{"Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		want{"Googlebot", "2.1", "", "", "", "bot"}},
	{"Googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		want{"Googlebot", "2.1", "", "", "", "bot"}},
	{"Googlebot desktop (evergreen)", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.69 Safari/537.36",
		want{"Googlebot", "2.1", "", "", "", "bot"}},
	{"Bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		want{"Bingbot", "2.0", "", "", "", "bot"}},
	{"Bingbot (evergreen)", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.0.0 Safari/537.36",
		want{"Bingbot", "2.0", "", "", "", "bot"}},
	{"Applebot", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
		want{"Applebot", "0.1", "", "", "", "bot"}},
	{"GPTBot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
		want{"GPTBot", "1.2", "", "", "", "bot"}},
	{"DuckDuckBot", "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
		want{"DuckDuckBot", "1.1", "", "", "", "bot"}},
	{"YandexBot", "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
		want{"YandexBot", "3.0", "", "", "", "bot"}},
	{"Facebook link preview", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		want{"FacebookBot", "1.1", "", "", "", "bot"}},
	{"Slack link preview", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		want{"Slackbot-LinkExpanding", "1.0", "", "", "", "bot"}},
	{"UptimeRobot", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
		want{"UptimeRobot", "2.0", "", "", "", "bot"}},

	// API clients and HTTP tools.
	{"curl", "curl/8.5.0",
		want{"curl", "8.5", "", "", "", "other"}},
	{"Go HTTP/1.1 client", "Go-http-client/1.1",
		want{"Go HTTP client", "1.1", "", "", "", "other"}},
	{"Go HTTP/2 client", "Go-http-client/2.0",
		want{"Go HTTP client", "2.0", "", "", "", "other"}},
	{"python-requests", "python-requests/2.32.3",
		want{"Python Requests", "2.32", "", "", "", "other"}},
	{"Python urllib", "Python-urllib/3.12",
		want{"Python urllib", "3.12", "", "", "", "other"}},
	{"Postman", "PostmanRuntime/7.43.0",
		want{"Postman", "7.43", "", "", "", "other"}},
	{"Insomnia", "insomnia/10.2.0",
		want{"Insomnia", "10.2", "", "", "", "other"}},
	{"HTTPie", "HTTPie/3.2.4",
		want{"HTTPie", "3.2", "", "", "", "other"}},
	{"Wget", "Wget/1.21.4",
		want{"Wget", "1.21", "", "", "", "other"}},
	{"OkHttp", "okhttp/4.12.0",
		want{"OkHttp", "4.12", "", "", "", "other"}},
	{"axios", "axios/1.7.9",
		want{"axios", "1.7", "", "", "", "other"}},
	// uap-core does not know Java's client: unknown, never "Other".
	{"Java HTTP client", "Java-http-client/21.0.5",
		want{"Unknown browser", "", "", "", "", ""}},

	// Neither desktop, phone nor tablet; or no platform at all.
	{"PlayStation 5", "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
		want{"Safari", "13.0", "", "", "", "other"}},
	{"LG webOS TV", "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager",
		want{"Chrome on webOS", "87.0", "webOS", "", "", "other"}},
	{"Chrome, no platform", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		want{"Chrome", "131.0", "", "", "", ""}},

	// Nothing to go on.
	{"empty", "",
		want{"Unknown browser", "", "", "", "", ""}},
	{"blank", "   \t",
		want{"Unknown browser", "", "", "", "", ""}},
	{"garbage", "hello world",
		want{"Unknown browser", "", "", "", "", ""}},
	{"markup", "<script>alert(1)</script>",
		want{"Unknown browser", "", "", "", "", ""}},
	{"bare Mozilla", "Mozilla/5.0",
		want{"Unknown browser", "", "", "", "", ""}},
	{"Windows, no browser", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)",
		want{"Unknown browser on Windows", "", "Windows", "10", "PC", "desktop"}},

	// Over doorman.MaxUserAgent: cut, never rejected.
	{"over 1 KB", chromeMac + " " + strings.Repeat("x", 2000),
		want{"Chrome on macOS", "131.0", "macOS", "10.15.7", "Mac", "desktop"}},
	{"over 1 KB, browser past the cut", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) " + strings.Repeat("x", 1000) + " Gecko/20100101 Firefox/133.0",
		want{"Unknown browser on Windows", "", "Windows", "10", "PC", "desktop"}},
}

func TestDetect(t *testing.T) {
	d := newDetector(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check(t, d.Detect(tc.ua, doorman.ClientHints{}), tc.want)
		})
	}
}

// TestDetectCuts checks that a huge header is read as its first
// doorman.MaxUserAgent bytes.
func TestDetectCuts(t *testing.T) {
	d := newDetector(t)
	huge := chromeMac + strings.Repeat(" Firefox/133.0", 1<<16)
	if got, want := d.Detect(huge, doorman.ClientHints{}), d.Detect(huge[:doorman.MaxUserAgent], doorman.ClientHints{}); got != want {
		t.Errorf("Detect(%d bytes) = %+v, want %+v as for its first %d bytes", len(huge), got, want, doorman.MaxUserAgent)
	}
}

const (
	chromeBrands   = `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`
	chromeFullList = `"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"`
)

func TestDetectClientHints(t *testing.T) {
	d := newDetector(t)
	tests := []struct {
		name  string
		ua    string
		hints doorman.ClientHints
		want
	}{
		{"Windows 11", chromeWindows,
			doorman.ClientHints{Brands: chromeBrands, Mobile: "?0", Platform: `"Windows"`, PlatformVersion: `"15.0.0"`},
			want{"Chrome on Windows", "131.0", "Windows", "11", "PC", "desktop"}},
		{"Windows 11, first platform version", chromeWindows,
			doorman.ClientHints{Platform: `"Windows"`, PlatformVersion: `"13.0.0"`},
			want{"Chrome on Windows", "131.0", "Windows", "11", "PC", "desktop"}},
		{"Windows 10, last platform version", chromeWindows,
			doorman.ClientHints{Platform: `"Windows"`, PlatformVersion: `"12.0.0"`},
			want{"Chrome on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
		{"Windows 10", edgeWindows,
			doorman.ClientHints{Brands: `"Microsoft Edge";v="131", "Chromium";v="131", "Not_A Brand";v="24"`, Platform: `"Windows"`, PlatformVersion: `"10.0.0"`},
			want{"Edge on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
		{"Windows 8.1 keeps the string's version", "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
			doorman.ClientHints{Platform: `"Windows"`, PlatformVersion: `"0.3.0"`},
			want{"Chrome on Windows", "109.0", "Windows", "8.1", "PC", "desktop"}},
		{"macOS real version", chromeMac,
			doorman.ClientHints{Brands: chromeBrands, Platform: `"macOS"`, PlatformVersion: `"14.6.1"`},
			want{"Chrome on macOS", "131.0", "macOS", "14.6.1", "Mac", "desktop"}},
		{"macOS x.0", chromeMac,
			doorman.ClientHints{Platform: `"macOS"`, PlatformVersion: `"15.0.0"`},
			want{"Chrome on macOS", "131.0", "macOS", "15.0", "Mac", "desktop"}},
		{"Android model where the string says K", chromeAndroid,
			doorman.ClientHints{Brands: chromeBrands, Mobile: "?1", Platform: `"Android"`, PlatformVersion: `"14.0.0"`, Model: `"Pixel 8"`},
			want{"Chrome on Android", "131.0", "Android", "14", "Pixel 8", "mobile"}},
		{"Android tablet model", chromeTablet,
			doorman.ClientHints{Mobile: "?0", Platform: `"Android"`, PlatformVersion: `"13.0.0"`, Model: `"SM-X710"`},
			want{"Chrome on Android", "131.0", "Android", "13", "SM-X710", "tablet"}},
		{"Android Mobile hint wins", chromeTablet,
			doorman.ClientHints{Mobile: "?1", Platform: `"Android"`, Model: `"SM-S918B"`},
			want{"Chrome on Android", "131.0", "Android", "10", "SM-S918B", "mobile"}},
		{"empty Android model hint", chromeAndroid,
			doorman.ClientHints{Mobile: "?1", Platform: `"Android"`, Model: `""`},
			want{"Chrome on Android", "131.0", "Android", "10", "", "mobile"}},
		{"Brave names itself in hints", chromeWindows,
			doorman.ClientHints{Brands: `"Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24"`, Platform: `"Windows"`, PlatformVersion: `"15.0.0"`},
			want{"Brave on Windows", "131.0", "Windows", "11", "PC", "desktop"}},
		{"Opera brand", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
			doorman.ClientHints{Brands: `"Chromium";v="130", "Opera";v="115", "Not?A_Brand";v="99"`, FullVersionList: `"Chromium";v="130.0.6723.137", "Opera";v="115.0.5322.119", "Not?A_Brand";v="99.0.0.0"`},
			want{"Opera on Windows", "115.0", "Windows", "10", "PC", "desktop"}},
		{"Edge brand on a Chrome-looking string", chromeWindows,
			doorman.ClientHints{Brands: `"Microsoft Edge";v="132", "Chromium";v="132", "Not A(Brand";v="8"`, FullVersionList: `"Microsoft Edge";v="132.1.2957.140", "Chromium";v="132.0.6834.160", "Not A(Brand";v="8.0.0.0"`},
			want{"Edge on Windows", "132.1", "Windows", "10", "PC", "desktop"}},
		{"full version list", chromeMac,
			doorman.ClientHints{Brands: chromeBrands, FullVersionList: chromeFullList},
			want{"Chrome on macOS", "131.0", "macOS", "10.15.7", "Mac", "desktop"}},
		{"escaped quotes in a GREASE brand", chromeWindows,
			doorman.ClientHints{Brands: `"Not\"A;Brand";v="99", "Microsoft Edge";v="131"`},
			want{"Edge on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
		{"GREASE and Chromium rename nothing", chromeWindows,
			doorman.ClientHints{Brands: `"Not_A Brand";v="8", "Chromium";v="120"`},
			want{"Chrome on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
		{"Mobile hint when nothing else tells", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			doorman.ClientHints{Brands: chromeBrands, Mobile: "?1"},
			want{"Chrome", "131.0", "", "", "", "mobile"}},
		{"platform from hints when the string has none", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			doorman.ClientHints{Platform: `"Linux"`, PlatformVersion: `"6.8.0"`},
			want{"Chrome on Linux", "131.0", "Linux", "", "PC", "desktop"}},
		{"a platform hint contradicting the string is ignored", chromeWindows,
			doorman.ClientHints{Platform: `"macOS"`, PlatformVersion: `"14.6.1"`},
			want{"Chrome on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
		{"brands do not rename Firefox", firefoxWin,
			doorman.ClientHints{Brands: chromeBrands, Platform: `"Windows"`, PlatformVersion: `"15.0.0"`},
			want{"Firefox on Windows", "133.0", "Windows", "11", "PC", "desktop"}},
		{"bots ignore hints", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			doorman.ClientHints{Brands: chromeBrands, Platform: `"Windows"`, PlatformVersion: `"15.0.0"`},
			want{"Googlebot", "2.1", "", "", "", "bot"}},
		{"empty string, hints or not", "",
			doorman.ClientHints{Brands: chromeBrands, Platform: `"Windows"`, PlatformVersion: `"15.0.0"`},
			want{"Unknown browser", "", "", "", "", ""}},
		{"unquoted and padded values", chromeWindows,
			doorman.ClientHints{Platform: ` Windows `, PlatformVersion: ` "14.0.0" `},
			want{"Chrome on Windows", "131.0", "Windows", "11", "PC", "desktop"}},
		{"malformed hints are ignored", chromeWindows,
			doorman.ClientHints{Brands: `"Microsoft Edge;v=131, ;;;,,`, FullVersionList: `garbage`, Platform: `"Windows`, PlatformVersion: `"eleven"`, Mobile: "?2"},
			want{"Chrome on Windows", "131.0", "Windows", "10", "PC", "desktop"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, d.Detect(tc.ua, tc.hints), tc.want)
		})
	}
}

// TestDetectConcurrent runs every case from several goroutines at once; run
// it with -race.
func TestDetectConcurrent(t *testing.T) {
	d := newDetector(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range cases {
				tc := cases[(i+g*7)%len(cases)]
				got := d.Detect(tc.ua, doorman.ClientHints{})
				if got.Label() != tc.label || got.OSVersion != tc.osVersion || got.Model != tc.model || got.Type != tc.typ {
					t.Errorf("%s: got %+v", tc.name, got)
				}
			}
		})
	}
	wg.Wait()
}

// FuzzDetect checks that any input gives a Device in Doorman's vocabulary.
func FuzzDetect(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.ua, "", `"Windows"`, `"15.0.0"`)
	}
	f.Add(chromeAndroid, chromeBrands, `"Android"`, `"14.0.0"`)
	d := newDetector(f)
	f.Fuzz(func(t *testing.T, ua, brands, platform, platformVersion string) {
		got := d.Detect(ua, doorman.ClientHints{Brands: brands, Platform: platform, PlatformVersion: platformVersion, Mobile: "?1", Model: platform})
		switch got.Type {
		case "", "desktop", "mobile", "tablet", "bot", "other":
		default:
			t.Errorf("Type %q", got.Type)
		}
		if got.Browser == "Other" || got.OS == "Other" {
			t.Errorf("raw parser vocabulary: %+v", got)
		}
	})
}

var coldBuild int

func BenchmarkDetect(b *testing.B) {
	d := newDetector(b)
	// Every UA is new, so the parser's cache never has it. The counter lives
	// outside the closure: a second run (-count) must not meet the first
	// run's strings, or b.Loop would size its rounds on cache hits.
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			coldBuild++
			d.Detect(fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.%d.0 Safari/537.36", coldBuild), doorman.ClientHints{})
		}
	})
	b.Run("repeated", func(b *testing.B) {
		for b.Loop() {
			d.Detect(chromeMac, doorman.ClientHints{})
		}
	})
	b.Run("repeated with hints", func(b *testing.B) {
		h := doorman.ClientHints{Brands: chromeBrands, FullVersionList: chromeFullList, Mobile: "?0", Platform: `"macOS"`, PlatformVersion: `"14.6.1"`}
		for b.Loop() {
			d.Detect(chromeMac, h)
		}
	})
}
