package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesCookieDomain: a cookie domain that does not contain the
// base URL's host would make every sign-in silently fail, so serve does not
// start; the same holds for a malformed list of redirect hosts.
func TestServeRefusesCookieDomain(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--base-url", "https://auth.example.com", "--cookie-domain", "example.org"}, "cookie-domain"},
		{[]string{"--base-url", "https://authexample.com", "--cookie-domain", "example.com"}, "cookie-domain"},
		{[]string{"--cookie-domain", "example.com"}, "cookie-domain"}, // base URL defaults to http://127.0.0.1:PORT
		{[]string{"--allowed-redirect-hosts", "evil.test/x"}, "allowed-redirect-hosts"},
	} {
		args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, tc.args...)
		if _, err := runCmd(t, "", args...); err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("serve %q: %v, want a --%s error", tc.args, err, tc.flag)
		}
	}
	t.Setenv("DOORMAN_COOKIE_DOMAIN", "example.org")
	if _, err := runCmd(t, "", "serve", "--db", db, "--addr", "127.0.0.1:0", "--base-url", "https://auth.example.com"); err == nil ||
		!strings.Contains(err.Error(), "cookie-domain") {
		t.Errorf("DOORMAN_COOKIE_DOMAIN outside the base URL: %v, want a --cookie-domain error", err)
	}
}
