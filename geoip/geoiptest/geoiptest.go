// Package geoiptest writes small MaxMind-format databases for the tests of
// code that places addresses, so that they run a real geoip.Locator
// without downloading anything.
package geoiptest

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip"
)

// Place is one network of the fixture databases and where it is.
type Place struct {
	Network  string // CIDR
	Location doorman.Location
}

// Places are the networks Write puts in the databases. Every other public
// address is unknown; the Locator itself sorts out local and reserved ones.
var Places = []Place{
	{"83.45.0.0/16", doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Telefonica de Espana", Latitude: 40.4165, Longitude: -3.7026}},
	{"81.2.69.0/24", doorman.Location{City: "London", Region: "England", Country: "United Kingdom", CountryCode: "GB", ISP: "Andrews & Arnold Ltd", Latitude: 51.5085, Longitude: -0.1257}},
	{"85.214.0.0/16", doorman.Location{City: "Berlin", Region: "Berlin", Country: "Germany", CountryCode: "DE", ISP: "Strato AG", Latitude: 52.5244, Longitude: 13.4105}},
	{"8.8.8.0/24", doorman.Location{City: "Mountain View", Region: "California", Country: "United States", CountryCode: "US", ISP: "Google LLC", Latitude: 37.3861, Longitude: -122.0839}},
	{"2a02:8100::/32", doorman.Location{City: "Berlin", Region: "Berlin", Country: "Germany", CountryCode: "DE", ISP: "Vodafone GmbH", Latitude: 52.5244, Longitude: 13.4105}},
}

// Addresses in Places, for tests to name.
const (
	Madrid       = "83.45.123.78"
	London       = "81.2.69.142"
	Berlin       = "85.214.132.117"
	MountainView = "8.8.8.8"
	BerlinV6     = "2a02:8100:1234::1"
)

// Write writes a GeoIP2-City-shaped database (GeoLite2-City.mmdb) and a
// GeoLite2-ASN-shaped one (GeoLite2-ASN.mmdb) holding Places into dir.
func Write(tb testing.TB, dir string) {
	tb.Helper()
	city, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", Languages: []string{"en"},
		RecordSize: 28, IncludeReservedNetworks: true})
	if err != nil {
		tb.Fatal(err)
	}
	asn, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 24,
		IncludeReservedNetworks: true})
	if err != nil {
		tb.Fatal(err)
	}
	for i, p := range Places {
		_, n, err := net.ParseCIDR(p.Network)
		if err != nil {
			tb.Fatal(err)
		}
		l := p.Location
		if err := city.Insert(n, mmdbtype.Map{
			"city":    mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(l.City)}},
			"country": mmdbtype.Map{"iso_code": mmdbtype.String(l.CountryCode), "names": mmdbtype.Map{"en": mmdbtype.String(l.Country)}},
			"subdivisions": mmdbtype.Slice{
				mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(l.Region)}},
			},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(l.Latitude), "longitude": mmdbtype.Float64(l.Longitude)},
		}); err != nil {
			tb.Fatalf("geoiptest: insert %s: %v", p.Network, err)
		}
		if err := asn.Insert(n, mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(64500 + i),
			"autonomous_system_organization": mmdbtype.String(l.ISP),
		}); err != nil {
			tb.Fatalf("geoiptest: insert %s: %v", p.Network, err)
		}
	}
	write(tb, filepath.Join(dir, "GeoLite2-City.mmdb"), city)
	write(tb, filepath.Join(dir, "GeoLite2-ASN.mmdb"), asn)
}

func write(tb testing.TB, path string, tree *mmdbwriter.Tree) {
	tb.Helper()
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatalf("geoiptest: %s: %v", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatalf("geoiptest: %v", err)
	}
}

// Open writes the databases into a temporary directory and returns a
// Locator on them, closed when the test ends.
func Open(tb testing.TB) *geoip.Locator {
	tb.Helper()
	dir := tb.TempDir()
	Write(tb, dir)
	l, err := geoip.Open(dir, nil)
	if err != nil {
		tb.Fatalf("geoiptest: %v", err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}
