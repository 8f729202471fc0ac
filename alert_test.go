package doorman_test

import (
	"net/netip"
	"testing"

	"github.com/doorman/doorman"
)

func TestWebhookHostAddr(t *testing.T) {
	tests := []struct {
		host      string
		want      string // "" when the host is a name
		canonical bool
		forbidden bool
	}{
		// The usual forms.
		{"hooks.example.com", "", false, false},
		{"localhost", "", false, false},
		{"203.0.113.7", "203.0.113.7", true, false},
		{"127.0.0.1", "127.0.0.1", true, false},
		{"10.0.0.5", "10.0.0.5", true, false},
		{"169.254.169.254", "169.254.169.254", true, true},
		{"[fe80::1]", "fe80::1", true, true},
		{"fe80::1%eth0", "fe80::1%eth0", true, true},
		{"[::1]", "::1", true, false},
		{"0.0.0.0", "0.0.0.0", true, true},
		{"[::]", "::", true, true},
		{"224.0.0.1", "224.0.0.1", true, true},
		{"[ff02::1]", "ff02::1", true, true},
		// The same addresses spelled otherwise.
		{"169.254.169.254.", "169.254.169.254", false, true}, // a trailing dot
		{"0xa9fea9fe", "169.254.169.254", false, true},       // one hexadecimal number
		{"0XA9FEA9FE", "169.254.169.254", false, true},
		{"2852039166", "169.254.169.254", false, true},                     // one decimal number
		{"025177524776", "169.254.169.254", false, true},                   // one octal number
		{"0251.0376.0251.0376", "169.254.169.254", false, true},            // octal parts
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254", false, true},            // hexadecimal parts
		{"169.254.43518", "169.254.169.254", false, true},                  // three parts
		{"169.16689662", "169.254.169.254", false, true},                   // two parts
		{"0xa9.254.0251.0xfe", "169.254.169.254", false, true},             // mixed
		{"[::ffff:169.254.169.254]", "::ffff:169.254.169.254", true, true}, // IPv4-mapped
		{"[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254", true, true},
		{"[::169.254.169.254]", "::a9fe:a9fe", true, true},               // IPv4-compatible
		{"[64:ff9b::169.254.169.254]", "64:ff9b::a9fe:a9fe", true, true}, // NAT64
		{"0x7f.1", "127.0.0.1", false, false},                            // loopback stays allowed, but is not canonical
		{"2130706433", "127.0.0.1", false, false},
		{"0177.0.0.1", "127.0.0.1", false, false},
		{"0", "0.0.0.0", false, true},
		{"0.1.2.3", "0.1.2.3", true, true}, // 0.0.0.0/8 reaches this machine
		{"[::ffff:0.0.0.0]", "::ffff:0.0.0.0", true, true},
		{"0xe0000001", "224.0.0.1", false, true},
		// Not addresses: names, or numbers no resolver reads as one.
		{"256.1.1.1", "", false, false},
		{"1.2.3.4.5", "", false, false},
		{"4294967296", "", false, false},
		{"08.1.1.1", "", false, false}, // 8 is not an octal digit
		{"0xg1", "", false, false},
		{"1..1", "", false, false},
		{"1.2.65536", "", false, false},
		{"example.0x7f", "", false, false},
	}
	for _, tt := range tests {
		a, canonical, ok := doorman.WebhookHostAddr(tt.host)
		if ok != (tt.want != "") || (ok && (a.String() != tt.want || canonical != tt.canonical)) {
			t.Errorf("WebhookHostAddr(%q) = %v, %t, %t; want %q, canonical %t", tt.host, a, canonical, ok, tt.want, tt.canonical)
			continue
		}
		if ok && doorman.ForbiddenWebhookAddr(a) != tt.forbidden {
			t.Errorf("ForbiddenWebhookAddr(%v) (from %q) = %t, want %t", a, tt.host, !tt.forbidden, tt.forbidden)
		}
	}
	// Addresses as dialled (after resolution) are judged the same way.
	for s, want := range map[string]bool{
		"169.254.169.254": true, "::ffff:169.254.169.254": true, "::a9fe:a9fe": true, "64:ff9b::a9fe:a9fe": true,
		"fe80::1%eth0": true, "0.0.0.0": true, "::": true, "239.1.1.1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "192.168.1.1": false, "fd00::1": false,
		"203.0.113.7": false, "2001:db8::1": false, "::ffff:10.0.0.1": false,
	} {
		if got := doorman.ForbiddenWebhookAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("ForbiddenWebhookAddr(%s) = %t, want %t", s, got, want)
		}
	}
	if !doorman.ForbiddenWebhookAddr(netip.Addr{}) {
		t.Error("ForbiddenWebhookAddr(zero Addr) = false, want true")
	}
}
