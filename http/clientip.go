package http

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/doorman/doorman"
)

// ParseTrustedProxies parses a comma-separated list of networks (CIDR) and
// single addresses, as --trusted-proxies takes it: "10.0.0.0/8, ::1". An
// empty string is no proxy at all.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a network: %w", f, err)
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address: %w", f, err)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return normalizePrefixes(out), nil
}

// normalizePrefixes masks each prefix and writes IPv4-mapped IPv6 networks
// as IPv4, the form in which addresses are compared.
func normalizePrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// trustedAddr reports whether a is in a trusted proxy network.
func (s *Server) trustedAddr(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr returns the address of a Request.RemoteAddr, IPv4-mapped
// addresses as IPv4; the zero Addr when there is none (a Unix socket).
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// forwardedFor returns the client address of a request that came through a
// trusted proxy. It walks X-Forwarded-For from the right, the end that the
// nearest proxy wrote, skipping trusted hops; the first untrusted address is
// the client, since everything left of it may have been written by the
// client itself. A header with a malformed entry on that walk is ignored
// (and logged): the connection's address is then the client's.
func (s *Server) forwardedFor(r *http.Request, rq *request) netip.Addr {
	lines := r.Header["X-Forwarded-For"]
	client := rq.peer
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		if strings.TrimSpace(rest) == "" {
			continue
		}
		for more := true; more; {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, more = rest, false
			}
			a, ok := parseForwardedAddr(strings.TrimSpace(entry))
			if !ok {
				return s.badForwardedFor(r, rq)
			}
			client = a
			if !s.trustedAddr(a) {
				return a
			}
		}
	}
	// Every hop is a trusted proxy: the farthest one is the best we know.
	return client
}

func (s *Server) badForwardedFor(r *http.Request, rq *request) netip.Addr {
	v := strings.Join(r.Header["X-Forwarded-For"], ", ")
	v = doorman.CleanText(v, 200)
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "malformed X-Forwarded-For ignored",
		slog.String("request_id", rq.id), slog.String("peer", rq.peer.String()), slog.String("x_forwarded_for", v))
	return rq.peer
}

// parseForwardedAddr parses one X-Forwarded-For entry: an address, or an
// address with a port as some proxies write it.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
