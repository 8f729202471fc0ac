package geoip_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/geoip"
)

var (
	dbip     = doorman.Credit{Text: "IP Geolocation by DB-IP", URL: "https://db-ip.com"}
	geolite2 = doorman.Credit{Text: "GeoLite2 data created by MaxMind", URL: "https://www.maxmind.com"}
	asnData  = doorman.Credit{Text: "ASN data by RouteViews, DB-IP and the NRO", URL: "https://github.com/sapics/ip-location-db"}
)

// A Locator names the sources of the databases it uses, each once, and no
// one while it has none: pages then credit no one.
func TestCredits(t *testing.T) {
	var zero geoip.Locator
	if got := zero.Credits(); len(got) != 0 {
		t.Errorf("zero Locator credits %+v", got)
	}

	dir := filepath.Join(t.TempDir(), "not-yet")
	l, _ := openDir(t, dir)
	if got := l.Credits(); len(got) != 0 {
		t.Errorf("without databases: %+v", got)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	layouts[0].build(t, dir) // what `doorman geoip install` writes
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := l.Credits(); !slices.Equal(got, []doorman.Credit{dbip, asnData}) {
		t.Errorf("installed: %+v", got)
	}
	got := l.Credits()
	got[0].Text = "changed by a caller"
	if l.Credits()[0] != dbip {
		t.Error("a caller changed the Locator's credits")
	}

	dir = t.TempDir()
	layouts[1].build(t, dir) // MaxMind's GeoLite2 City and ASN
	if l, _ := openDir(t, dir); !slices.Equal(l.Credits(), []doorman.Credit{geolite2}) {
		t.Errorf("GeoLite2: %+v", l.Credits())
	}

	// A source it does not know is named by its database type, unlinked.
	dir = t.TempDir()
	writeFlatCity(t, filepath.Join(dir, "a.mmdb"), filepath.Join(dir, "b.mmdb"), places)
	if l, _ := openDir(t, dir); !slices.Equal(l.Credits(), []doorman.Credit{{Text: "city ipv4"}, {Text: "city ipv6"}}) {
		t.Errorf("unknown source: %+v", l.Credits())
	}

	// Removing the files takes their credit with them.
	for _, f := range []string{"a.mmdb", "b.mmdb"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	l, _ = openDir(t, dir)
	if got := l.Credits(); len(got) != 0 {
		t.Errorf("after removal: %+v", got)
	}
}
