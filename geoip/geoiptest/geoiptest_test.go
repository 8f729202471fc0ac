package geoiptest_test

import (
	"net/netip"
	"testing"

	"github.com/doorman/doorman/geoip/geoiptest"
)

func TestOpen(t *testing.T) {
	l := geoiptest.Open(t)
	for _, p := range geoiptest.Places {
		pr := netip.MustParsePrefix(p.Network)
		if got := l.Locate(pr.Addr().Next()); got != p.Location {
			t.Errorf("Locate(%s) = %+v, want %+v", pr.Addr().Next(), got, p.Location)
		}
	}
	for ip, label := range map[string]string{geoiptest.Madrid: "Madrid, Spain", geoiptest.London: "London, United Kingdom",
		geoiptest.Berlin: "Berlin, Germany", geoiptest.MountainView: "Mountain View, United States", geoiptest.BerlinV6: "Berlin, Germany",
		"192.168.1.50": "Local network", "9.9.9.9": "Unknown location", "203.0.113.7": "Unknown location"} {
		if got := l.Locate(netip.MustParseAddr(ip)).Label(); got != label {
			t.Errorf("Locate(%s).Label() = %q, want %q", ip, got, label)
		}
	}
}
