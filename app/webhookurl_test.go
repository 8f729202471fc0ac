package app_test

import (
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// TestValidateWebhookURLSpellings lists the ways of writing a refused
// address that a resolver would still read as that address: every one is
// refused when the URL is saved. Loopback and private receivers stay
// allowed, written the usual way.
func TestValidateWebhookURLSpellings(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" when allowed; else a part of the message
	}{
		{"https://hooks.example.com/doorman", ""},
		{"http://127.0.0.1:8080/h", ""},
		{"http://10.0.0.5/h", ""},
		{"http://[::1]/h", ""},
		{"http://[fd00::5]/h", ""},
		{"http://[::ffff:10.0.0.5]/h", ""},
		{"http://localhost/h", ""},

		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://169.254.169.254./latest/meta-data/", "link-local"}, // trailing dot
		{"http://0xa9fea9fe/latest/meta-data/", "link-local"},       // hexadecimal
		{"http://0xA9FEA9FE/", "link-local"},                        // hexadecimal, upper case
		{"http://2852039166/", "link-local"},                        // decimal
		{"http://025177524776/", "link-local"},                      // octal
		{"http://0251.0376.0251.0376/", "link-local"},               // octal parts
		{"http://0xa9.0xfe.0xa9.0xfe/", "link-local"},               // hexadecimal parts
		{"http://169.254.43518/", "link-local"},                     // three parts
		{"http://169.16689662/", "link-local"},                      // two parts
		{"https://[::ffff:169.254.169.254]/", "link-local"},         // IPv4-mapped
		{"https://[::ffff:a9fe:a9fe]/", "link-local"},               // IPv4-mapped, in hexadecimal
		{"https://[::169.254.169.254]/", "link-local"},              // IPv4-compatible
		{"https://[64:ff9b::a9fe:a9fe]/", "link-local"},             // NAT64
		{"https://[fe80::1%25eth0]/", "link-local"},                 // with a zone
		{"https://[fe80::1]:443/", "link-local"},
		{"http://0/", "link-local"}, // 0.0.0.0
		{"http://0.0.0.0:8080/", "link-local"},
		{"http://0.1.2.3/", "link-local"}, // 0.0.0.0/8
		{"http://[::]/", "link-local"},
		{"http://0xe0000001/", "link-local"}, // 224.0.0.1, multicast
		{"https://[ff02::1]/", "link-local"},

		// Allowed addresses in an unusual spelling: refused too, as the
		// resolvers that would read them disagree.
		{"http://0x7f.1/", "usual form"},
		{"http://2130706433/", "usual form"},
		{"http://0177.0.0.1/", "usual form"},
		{"http://127.0.0.1./", "usual form"},
		{"http://012.0.0.5/", "usual form"},

		// Bad bytes are the client's mistake.
		{"https://hooks.example.com/\x00", "NUL"},
		{"https://hooks.example.com/\xff", "UTF-8"},
	}
	for _, tt := range tests {
		err := app.ValidateWebhookURL(tt.url)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ValidateWebhookURL(%q) = %v, want nil", tt.url, err)
			}
			continue
		}
		if doorman.ErrorCode(err) != doorman.EINVALID || !strings.Contains(doorman.ErrorMessage(err), tt.want) {
			t.Errorf("ValidateWebhookURL(%q) = %v, want EINVALID with %q", tt.url, err, tt.want)
		}
	}
}
