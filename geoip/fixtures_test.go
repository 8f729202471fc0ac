package geoip_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/doorman/doorman/geoip"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// place is one row of fixture data, written in whichever layout a test
// needs.
type place struct {
	network string
	city    string
	region  string
	code    string // ISO 3166-1 alpha-2
	country string // English name, for the GeoIP2 layout
	// lat and lon are exact in 32 bits, as ip-location-db stores them.
	lat, lon float64
}

// places lie in several countries; 192.168.0.0/16 and 203.0.113.0/24 carry
// data on purpose, to show that Locate sorts such addresses out before it
// asks a database.
var places = []place{
	{"83.45.0.0/16", "Madrid", "Madrid", "ES", "Spain", 40.5, -3.75},
	{"81.2.69.0/24", "London", "England", "GB", "United Kingdom", 51.5, -0.125},
	{"85.214.0.0/16", "Berlin", "Berlin", "DE", "Germany", 52.5, 13.375},
	{"8.8.8.0/24", "Mountain View", "California", "US", "United States", 37.375, -122.125},
	{"1.0.16.0/24", "Tokyo", "Tokyo", "JP", "Japan", 35.75, 139.75},
	{"192.168.0.0/16", "Nowhere", "Private", "ES", "Spain", 10.5, 10.5},
	{"203.0.113.0/24", "Nowhere", "Documentation", "ES", "Spain", 10.5, 10.5},
	{"2a02:8100::/32", "Berlin", "Berlin", "DE", "Germany", 52.5, 13.375},
	{"2400:4050::/32", "Tokyo", "Tokyo", "JP", "Japan", 35.75, 139.75},
	{"2001:db8::/32", "Nowhere", "Documentation", "ES", "Spain", 10.5, 10.5},
}

// asnCSV is ip-location-db's ASN layout: no header, the organisation
// quoted when it holds a comma, IPv4 and IPv6 in separate files.
const (
	asnCSV4 = `83.45.0.0,83.45.255.255,3352,Telefonica de Espana
81.2.69.0,81.2.69.255,20712,Andrews & Arnold Ltd
85.214.0.0,85.214.255.255,6724,Strato AG
8.8.8.0,8.8.8.255,15169,Google LLC
1.0.16.0,1.0.16.255,2519,ARTERIA Networks Corporation
1.1.1.0,1.1.2.255,13335,"Cloudflare, Inc."
`
	asnCSV6 = `2a02:8100::,2a02:81ff:ffff:ffff:ffff:ffff:ffff:ffff,3209,Vodafone GmbH
2400:4050::,2400:4050:ffff:ffff:ffff:ffff:ffff:ffff,4713,"NTT Communications Corporation"
`
)

func flatRecord(p place) mmdbtype.Map {
	return mmdbtype.Map{
		"country_code": mmdbtype.String(p.code),
		"state1":       mmdbtype.String(p.region),
		"state2":       mmdbtype.String(""),
		"city":         mmdbtype.String(p.city),
		"postcode":     mmdbtype.String(""),
		"latitude":     mmdbtype.Float32(p.lat),
		"longitude":    mmdbtype.Float32(p.lon),
		"timezone":     mmdbtype.String(""),
	}
}

func geoIP2Record(p place) mmdbtype.Map {
	return mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU")},
		"city": mmdbtype.Map{
			"geoname_id": mmdbtype.Uint32(3117735),
			"names":      mmdbtype.Map{"de": mmdbtype.String(p.city + " (de)"), "en": mmdbtype.String(p.city)},
		},
		"country": mmdbtype.Map{
			"iso_code": mmdbtype.String(p.code),
			"names":    mmdbtype.Map{"en": mmdbtype.String(p.country), "es": mmdbtype.String(p.country + " (es)")},
		},
		"subdivisions": mmdbtype.Slice{
			mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.region)}},
		},
		"location": mmdbtype.Map{"latitude": mmdbtype.Float64(p.lat), "longitude": mmdbtype.Float64(p.lon)},
	}
}

// record is one network and its value for writeDB.
type record struct {
	network string
	value   mmdbtype.Map
}

// writeDB writes a database to path through a temporary file and a rename,
// as files are meant to be replaced under a running Locator.
func writeDB(t testing.TB, path string, opts mmdbwriter.Options, records []record) {
	t.Helper()
	opts.IncludeReservedNetworks = true
	tree, err := mmdbwriter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		_, n, err := net.ParseCIDR(r.network)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, r.value); err != nil {
			t.Fatalf("insert %s: %v", r.network, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, buf.Bytes())
}

func replaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func is6(network string) bool { return strings.Contains(network, ":") }

// writeFlatCity writes ip-location-db's two city files, IPv4 and IPv6.
func writeFlatCity(t testing.TB, path4, path6 string, ps []place) {
	t.Helper()
	var r4, r6 []record
	for _, p := range ps {
		if is6(p.network) {
			r6 = append(r6, record{p.network, flatRecord(p)})
		} else {
			r4 = append(r4, record{p.network, flatRecord(p)})
		}
	}
	writeDB(t, path4, mmdbwriter.Options{DatabaseType: "city ipv4", IPVersion: 4, RecordSize: 28}, r4)
	writeDB(t, path6, mmdbwriter.Options{DatabaseType: "city ipv6", IPVersion: 6, RecordSize: 28, DisableIPv4Aliasing: true}, r6)
}

// writeGeoIP2City writes one GeoIP2-City-shaped file holding both families.
func writeGeoIP2City(t testing.TB, path string, ps []place) {
	t.Helper()
	var rs []record
	for _, p := range ps {
		rs = append(rs, record{p.network, geoIP2Record(p)})
	}
	writeDB(t, path, mmdbwriter.Options{DatabaseType: "GeoIP2-City", Languages: []string{"de", "en", "es"}, RecordSize: 28}, rs)
}

// writeGeoLite2ASN writes a GeoLite2-ASN-shaped file from the CSV rows
// above, without Install's converter.
func writeGeoLite2ASN(t testing.TB, path string) {
	t.Helper()
	rs := []record{
		{"83.45.0.0/16", asnRecord(3352, "Telefonica de Espana")},
		{"81.2.69.0/24", asnRecord(20712, "Andrews & Arnold Ltd")},
		{"85.214.0.0/16", asnRecord(6724, "Strato AG")},
		{"8.8.8.0/24", asnRecord(15169, "Google LLC")},
		{"1.0.16.0/24", asnRecord(2519, "ARTERIA Networks Corporation")},
		{"2a02:8100::/24", asnRecord(3209, "Vodafone GmbH")},
		{"2400:4050::/32", asnRecord(4713, "NTT Communications Corporation")},
	}
	writeDB(t, path, mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 24}, rs)
}

func asnRecord(n uint32, org string) mmdbtype.Map {
	return mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(n),
		"autonomous_system_organization": mmdbtype.String(org),
	}
}

// writeConvertedASN writes asn.mmdb the way Install does, from the CSV.
func writeConvertedASN(t testing.TB, dir string) {
	t.Helper()
	src := t.TempDir()
	v4, v6 := filepath.Join(src, "asn-ipv4.csv"), filepath.Join(src, "asn-ipv6.csv")
	if err := os.WriteFile(v4, []byte(asnCSV4), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v6, []byte(asnCSV6), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := geoip.ConvertASN(context.Background(), filepath.Join(dir, "asn.mmdb"), "test", v4, v6); err != nil {
		t.Fatal(err)
	}
}

// tarFile is one entry of a fixture archive.
type tarFile struct {
	name string
	body []byte
	kind byte   // tar.TypeReg when zero
	link string // for symbolic links
}

func writeTGZ(t testing.TB, path string, files []tarFile) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: f.kind, Linkname: f.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mmdbwriterOptions(databaseType string) mmdbwriter.Options {
	return mmdbwriter.Options{DatabaseType: databaseType, RecordSize: 28}
}

// mmdbtypeMap converts plain Go maps of strings into a record value.
func mmdbtypeMap(m map[string]any) mmdbtype.Map {
	out := mmdbtype.Map{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[mmdbtype.String(k)] = mmdbtype.String(v)
		case map[string]any:
			out[mmdbtype.String(k)] = mmdbtypeMap(v)
		default:
			panic("mmdbtypeMap: unsupported value")
		}
	}
	return out
}
