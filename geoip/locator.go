// Package geoip places IP addresses with MaxMind-format (.mmdb) databases:
// city, region and country from a GeoIP2/GeoLite2 City file or from
// ip-location-db's DB-IP Lite files, and the provider from an ASN file.
//
// Doorman runs without databases: a Locator over a missing or empty
// directory answers every address with an empty Location ("Unknown
// location"). Install fetches free databases (DB-IP Lite, CC BY 4.0, which
// asks for "IP Geolocation by DB-IP" with a link to https://db-ip.com
// wherever places are shown).
package geoip

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorman/doorman"
)

// Locator places IP addresses with the .mmdb files of one directory. Locate
// is safe for concurrent use and takes no lock; Reload and Watch swap in new
// files without stopping lookups.
//
// Files must be replaced by writing a new file and renaming it over the old
// one, as Install and MaxMind's geoipupdate do: the databases are memory
// mapped, and a file rewritten in place changes under the lookups that read
// it. Such lookups come back empty instead of crashing, until the next
// reload.
//
// The zero Locator has no databases.
type Locator struct {
	dir string
	log *slog.Logger
	cur atomic.Pointer[snapshot]

	faultLogged atomic.Bool

	mu     sync.Mutex // serialises Reload and Close
	seen   string     // the directory listing the last load looked at
	closed bool
}

var _ doorman.CreditedLocator = (*Locator)(nil)

// snapshot is one consistent set of open databases. Lookups load it once and
// keep it reachable until they end, which keeps its databases open.
type snapshot struct {
	files map[string]*database // by path
	// rejected holds files that failed to open, so that they are neither
	// retried nor logged again until they change.
	rejected map[string]fileStamp

	city4, city6 []*database // in lookup order
	asn4, asn6   []*database

	credits []doorman.Credit // of the databases in use, each source once
}

// Open reads the databases in dir: city files in either layout (any name;
// the layout is told from the records) and ASN files. A missing directory,
// missing files and unusable files are logged, never fatal: the Locator then
// answers with empty Locations. Open fails only when dir exists but cannot
// be read. A nil log discards the messages.
func Open(dir string, log *slog.Logger) (*Locator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Locator{dir: dir, log: log}
	entries, listing, err := scan(dir)
	if err != nil {
		return nil, fmt.Errorf("geoip: open: %w", err)
	}
	s, _, _ := l.build(&snapshot{}, entries)
	l.seen = listing
	l.cur.Store(s)
	l.logSummary("geoip: databases", s)
	return l, nil
}

// Locate places ip. Private, loopback, link-local, unique-local and
// carrier-grade NAT (100.64.0.0/10) addresses come back with Local set;
// documentation, multicast, unspecified and other reserved addresses, and
// addresses the databases do not know, come back empty. IPv4-mapped IPv6
// addresses are placed as the IPv4 address they carry.
func (l *Locator) Locate(ip netip.Addr) (loc doorman.Location) {
	ip = ip.Unmap().WithZone("")
	switch classify(ip) {
	case addrLocal:
		return doorman.Location{Local: true}
	case addrReserved:
		return doorman.Location{}
	}
	s := l.cur.Load()
	if s == nil {
		return doorman.Location{}
	}
	// A mapped file truncated under a lookup faults; turn that into an
	// empty answer rather than a crashed server.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer l.recoverFault(&loc)

	cities, asns := s.city6, s.asn6
	if ip.Is4() {
		cities, asns = s.city4, s.asn4
	}
	for _, d := range cities {
		if d.place(ip, &loc) {
			break
		}
	}
	for _, d := range asns {
		if isp := d.isp(ip); isp != "" {
			loc.ISP = isp
			break
		}
	}
	// The snapshot must outlive every read of its files: once it is
	// unreachable, cleanups may close (unmap) databases no newer snapshot
	// shares.
	runtime.KeepAlive(s)
	return loc
}

func (l *Locator) recoverFault(loc *doorman.Location) {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(interface{ Addr() uintptr }); !ok {
		panic(r)
	}
	*loc = doorman.Location{}
	if l.faultLogged.CompareAndSwap(false, true) {
		l.log.Error("geoip: a database file changed under a lookup; replace files by renaming new ones over them",
			"dir", l.dir, "fault", r)
	}
}

// Reload looks at the directory again: files that changed are reopened,
// new ones opened, removed ones dropped, and the new set swapped in at once.
// A file that cannot be used is logged and, if an older version of it was
// open, that one stays in use; the error says which. Reload after Close
// fails.
func (l *Locator) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("geoip: reload: locator closed")
	}
	entries, listing, err := scan(l.dir)
	l.seen = listing
	if err != nil {
		l.log.Warn("geoip: cannot read the database directory; keeping the databases in use",
			"dir", l.dir, "err", err)
		return fmt.Errorf("geoip: reload: %w", err)
	}
	old := l.cur.Load()
	if old == nil {
		old = &snapshot{}
	}
	next, changed, err := l.build(old, entries)
	// Stored even when no database changed, to remember rejected files.
	l.cur.Store(next)
	if changed {
		l.logSummary("geoip: databases reloaded", next)
	}
	return err
}

// Watch polls the directory every interval (a minute when every is not
// positive) and calls Reload once a change has held still for one whole
// interval, so that a file still being copied is not opened half-written.
// It returns when ctx is done or the Locator is closed.
func (l *Locator) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var previous string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, listing, _ := scan(l.dir)
		l.mu.Lock()
		seen, closed := l.seen, l.closed
		l.mu.Unlock()
		if closed {
			return
		}
		if listing != seen && listing == previous {
			_ = l.Reload() // Reload logs what went wrong
		}
		previous = listing
	}
}

// Close releases the databases. Locate calls still running may come back
// empty; later ones always do.
func (l *Locator) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if old := l.cur.Swap(&snapshot{}); old != nil {
		for _, d := range old.files {
			d.closer.close()
		}
	}
	return nil
}

// fileEntry is a candidate database file in the directory.
type fileEntry struct {
	path  string
	stamp fileStamp
}

// scan lists the directory's .mmdb files (hidden files, such as Install's
// temporary ones, excluded). The listing string changes whenever a file is
// added, removed or replaced; a directory that cannot be read lists as its
// error, so the same failure is not reported twice. A missing directory
// holds no files and is no error.
func scan(dir string) ([]fileEntry, string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "!" + err.Error(), err
	}
	var entries []fileEntry
	var listing strings.Builder
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") || !strings.EqualFold(filepath.Ext(name), ".mmdb") {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path) // follows symbolic links
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		st := stampOf(fi)
		entries = append(entries, fileEntry{path: path, stamp: st})
		fmt.Fprintf(&listing, "%s %d %d %d\n", name, st.size, st.mod, st.id)
	}
	return entries, listing.String(), nil
}

// build makes the snapshot for entries, reusing old's databases whose files
// did not change. changed reports whether it differs from old.
func (l *Locator) build(old *snapshot, entries []fileEntry) (next *snapshot, changed bool, err error) {
	next = &snapshot{files: map[string]*database{}, rejected: map[string]fileStamp{}}
	var errs []error
	for _, e := range entries {
		if d, ok := old.files[e.path]; ok && d.stamp == e.stamp {
			next.files[e.path] = d
			continue
		}
		if st, ok := old.rejected[e.path]; ok && st == e.stamp {
			next.rejected[e.path] = st
			if d, ok := old.files[e.path]; ok {
				next.files[e.path] = d
			}
			continue
		}
		d, err := openDatabase(e.path, e.stamp)
		if err != nil {
			next.rejected[e.path] = e.stamp
			prev, kept := old.files[e.path]
			if kept {
				next.files[e.path] = prev
				l.log.Warn("geoip: cannot use database; keeping its previous version",
					"file", e.path, "err", err)
			} else {
				l.log.Warn("geoip: cannot use database; skipping it", "file", e.path, "err", err)
			}
			errs = append(errs, fmt.Errorf("geoip: %s: %w", e.path, err))
			continue
		}
		next.files[e.path] = d
		changed = true
	}
	for path := range old.files {
		if _, ok := next.files[path]; !ok {
			changed = true // removed
		}
	}
	next.index()
	return next, changed, errors.Join(errs...)
}

// index orders the databases for lookups: GeoIP2-layout city files first
// (they are usually the richer, commercial ones), then the rest by name.
func (s *snapshot) index() {
	all := make([]*database, 0, len(s.files))
	for _, d := range s.files {
		all = append(all, d)
	}
	slices.SortFunc(all, func(a, b *database) int {
		return cmp.Or(cmp.Compare(a.layout, b.layout), cmp.Compare(a.name, b.name))
	})
	for _, d := range all {
		if !slices.Contains(s.credits, d.credit) {
			s.credits = append(s.credits, d.credit)
		}
		switch d.layout {
		case layoutASN:
			if d.ipv4 {
				s.asn4 = append(s.asn4, d)
			}
			if d.ipv6 {
				s.asn6 = append(s.asn6, d)
			}
		default:
			if d.ipv4 {
				s.city4 = append(s.city4, d)
			}
			if d.ipv6 {
				s.city6 = append(s.city6, d)
			}
		}
	}
}

// Credits names the sources of the databases in use, city databases first,
// each source once, as their licences ask wherever places are shown (DB-IP
// Lite's CC BY 4.0 asks for "IP Geolocation by DB-IP" linked to its site).
// It is empty while the directory holds no usable database.
func (l *Locator) Credits() []doorman.Credit {
	s := l.cur.Load()
	if s == nil {
		return nil
	}
	return slices.Clone(s.credits)
}

func (l *Locator) logSummary(msg string, s *snapshot) {
	var city, asn []string
	seen := map[*database]bool{}
	for _, d := range slices.Concat(s.city4, s.city6, s.asn4, s.asn6) {
		if seen[d] {
			continue
		}
		seen[d] = true
		if d.layout == layoutASN {
			asn = append(asn, d.describe())
		} else {
			city = append(city, d.describe())
		}
	}
	if len(city) == 0 && len(asn) == 0 {
		l.log.Info(msg+": none found; every location will be unknown (install them with: doorman geoip install)",
			"dir", l.dir)
		return
	}
	list := func(ds []string, missing string) string {
		if len(ds) == 0 {
			return missing
		}
		return strings.Join(ds, "; ")
	}
	l.log.Info(msg, "dir", l.dir,
		"city", list(city, "none (city, region and country stay empty)"),
		"asn", list(asn, "none (ISP stays empty)"))
}

// addrClass sorts addresses before any database is asked.
type addrClass int

const (
	addrPublic addrClass = iota
	addrLocal
	addrReserved
)

var (
	cgnat = netip.MustParsePrefix("100.64.0.0/10")
	// reserved4 lists IPv4 special-purpose ranges that name no place
	// (multicast and the local ranges are tested apart).
	reserved4 = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	}
	// global6 is IPv6 global unicast; everything outside it that is not
	// local names no place.
	global6   = netip.MustParsePrefix("2000::/3")
	reserved6 = []netip.Prefix{
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
		netip.MustParsePrefix("2001:2::/48"),   // benchmarking
	}
)

func classify(ip netip.Addr) addrClass {
	switch {
	case !ip.IsValid():
		return addrReserved
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast():
		return addrLocal
	case ip.IsUnspecified(), ip.IsMulticast():
		return addrReserved
	}
	if ip.Is4() {
		if cgnat.Contains(ip) {
			return addrLocal
		}
		for _, p := range reserved4 {
			if p.Contains(ip) {
				return addrReserved
			}
		}
		return addrPublic
	}
	if !global6.Contains(ip) {
		return addrReserved
	}
	for _, p := range reserved6 {
		if p.Contains(ip) {
			return addrReserved
		}
	}
	return addrPublic
}
