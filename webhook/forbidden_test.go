package webhook_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/webhook"
)

// TestRefuseForbiddenDialled runs the dialer's Control on addresses as the
// kernel is about to connect them, after any name resolution.
func TestRefuseForbiddenDialled(t *testing.T) {
	tests := []struct {
		address string
		refused bool
	}{
		{"169.254.169.254:80", true},
		{"169.254.1.1:443", true},
		{"[::ffff:169.254.169.254]:80", true}, // IPv4-mapped, as a tcp6 socket dials it
		{"[::a9fe:a9fe]:80", true},            // IPv4-compatible
		{"[64:ff9b::a9fe:a9fe]:80", true},     // NAT64
		{"[fe80::1]:80", true},
		{"[fe80::1%lo]:80", true},
		{"0.0.0.0:80", true},
		{"0.1.2.3:80", true},
		{"[::]:80", true},
		{"224.0.0.1:80", true},
		{"[ff02::1]:80", true},
		{"not an address", true},
		{"127.0.0.1:8080", false},
		{"[::1]:8080", false},
		{"10.0.0.5:443", false},
		{"192.168.1.10:443", false},
		{"[fd00::5]:443", false},
		{"[::ffff:10.0.0.5]:443", false},
		{"203.0.113.7:443", false},
	}
	for _, tt := range tests {
		err := webhook.RefuseForbidden("tcp", tt.address, nil)
		if refused := errors.Is(err, webhook.ErrForbiddenAddress); refused != tt.refused || (err != nil && !refused) {
			t.Errorf("Control(%q) = %v, want refused %t", tt.address, err, tt.refused)
		}
	}
	// Control runs before the connection is attempted: nothing is sent.
	d := net.Dialer{Control: webhook.RefuseForbidden}
	if _, err := d.DialContext(context.Background(), "tcp", "169.254.169.254:80"); !errors.Is(err, webhook.ErrForbiddenAddress) {
		t.Errorf("dial 169.254.169.254: %v, want ErrForbiddenAddress", err)
	}
}

// TestPostRefusesSpellings posts to forbidden addresses written in the
// forms resolvers accept: each is refused without a connection.
func TestPostRefusesSpellings(t *testing.T) {
	for _, u := range []string{
		"http://0xa9fea9fe/latest/meta-data/",
		"http://2852039166/",
		"http://025177524776/",
		"http://0251.0376.0251.0376/",
		"http://169.254.43518/",
		"http://169.254.169.254./",
		"http://[::ffff:a9fe:a9fe]/",
		"http://[::169.254.169.254]/",
		"http://[64:ff9b::a9fe:a9fe]/",
		"http://0/",
		"http://0xe0000001/",
	} {
		status, err := webhook.New().Post(context.Background(), doorman.WebhookRequest{URL: u, Body: []byte(`{}`), Secret: "s"})
		if !errors.Is(err, webhook.ErrForbiddenAddress) || status != 0 {
			t.Errorf("Post(%s) = %d, %v; want ErrForbiddenAddress", u, status, err)
		}
	}
}
