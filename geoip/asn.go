package geoip

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"go4.org/netipx"
)

// asnDatabaseType names the database that convertASN writes. Its records
// have GeoLite2-ASN's fields, so readers of that format read it as well.
const asnDatabaseType = "ip-location-db-ASN"

// asnStats counts what convertASN wrote.
type asnStats struct {
	Ranges   int // CSV rows
	Networks int // prefixes inserted
	Skipped  int // prefixes inside reserved or aliased networks, left out
}

// convertASN turns ip-location-db's ASN CSV files (rows "start,end,asn,
// organisation", no header, the organisation quoted when it holds a comma;
// IPv4 and IPv6 in separate files) into one GeoLite2-ASN-shaped database at
// dst, written to a temporary file and renamed into place. Ranges that are
// not a single network are split into the prefixes that cover them exactly.
func convertASN(ctx context.Context, dst, description string, sources ...string) (asnStats, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: asnDatabaseType,
		Description:  map[string]string{"en": description},
		IPVersion:    6,
		RecordSize:   28,
		KeyGenerator: asnKeys{},
	})
	if err != nil {
		return asnStats{}, err
	}
	var st asnStats
	for _, src := range sources {
		if err := insertASNFile(ctx, tree, src, &st); err != nil {
			return st, err
		}
	}
	if st.Networks == 0 {
		return st, errors.New("asn: no networks in " + fmt.Sprint(sources))
	}
	err = writeFileAtomic(dst, func(w io.Writer) error {
		_, err := tree.WriteTo(w)
		return err
	})
	return st, err
}

// asnKey identifies a record value, so that every range of one AS shares it.
type asnKey struct {
	asn uint32
	org string
}

func insertASNFile(ctx context.Context, tree *mmdbwriter.Tree, src string, st *asnStats) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	r.FieldsPerRecord = 4
	r.ReuseRecord = true
	values := map[asnKey]mmdbtype.Map{}
	var prefixes []netip.Prefix
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("asn: %s: %w", filepath.Base(src), err)
		}
		line, _ := r.FieldPos(0)
		bad := func(why string) error {
			return fmt.Errorf("asn: %s:%d: %s", filepath.Base(src), line, why)
		}
		if st.Ranges%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		start, err1 := netip.ParseAddr(rec[0])
		end, err2 := netip.ParseAddr(rec[1])
		if err1 != nil || err2 != nil {
			return bad(fmt.Sprintf("bad range %q-%q", rec[0], rec[1]))
		}
		rng := netipx.IPRangeFrom(start, end)
		if !rng.IsValid() {
			return bad(fmt.Sprintf("bad range %s-%s", start, end))
		}
		asn, err := strconv.ParseUint(rec[2], 10, 32)
		if err != nil {
			return bad(fmt.Sprintf("bad AS number %q", rec[2]))
		}
		k := asnKey{asn: uint32(asn), org: rec[3]}
		v, ok := values[k]
		if !ok {
			v = mmdbtype.Map{
				"autonomous_system_number":       mmdbtype.Uint32(k.asn),
				"autonomous_system_organization": mmdbtype.String(k.org),
			}
			values[k] = v
		}
		st.Ranges++
		prefixes = rng.AppendPrefixes(prefixes[:0])
		for _, p := range prefixes {
			n := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
			err := tree.Insert(n, v)
			var reserved *mmdbwriter.ReservedNetworkError
			var aliased *mmdbwriter.AliasedNetworkError
			switch {
			case err == nil:
				st.Networks++
			case errors.As(err, &reserved), errors.As(err, &aliased):
				// No client comes from there; and a lookup never gets
				// there, since Locate unmaps and sorts such addresses out.
				st.Skipped++
			default:
				return bad(fmt.Sprintf("insert %s: %v", p, err))
			}
		}
	}
}

// asnKeys keys the writer's de-duplication on the AS number and name,
// instead of hashing every inserted value.
type asnKeys struct{}

func (asnKeys) Key(v mmdbtype.DataType) ([]byte, error) {
	m, ok := v.(mmdbtype.Map)
	if !ok {
		return nil, fmt.Errorf("asn: unexpected record %T", v)
	}
	asn, _ := m["autonomous_system_number"].(mmdbtype.Uint32)
	org, _ := m["autonomous_system_organization"].(mmdbtype.String)
	key := strconv.AppendUint(nil, uint64(asn), 10)
	key = append(key, 0)
	return append(key, org...), nil
}

// writeFileAtomic writes path through a hidden temporary file in the same
// directory and renames it into place, so that a reader (or a Locator's
// Watch) sees the old file or the whole new one, never a part.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
