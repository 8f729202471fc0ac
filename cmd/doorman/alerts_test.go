package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSMTPFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "d.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-addr", "127.0.0.1:25"}, "--smtp-from is required"},
		{[]string{"--smtp-from", "doorman@example.com"}, "need --smtp-addr"},
		{[]string{"--smtp-addr", "no-port", "--smtp-from", "doorman@example.com"}, "host:port"},
		{[]string{"--smtp-addr", "127.0.0.1:25", "--smtp-from", "doorman@example.com", "--smtp-username", "u"}, "both"},
	} {
		args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, tc.args...)
		if _, err := runCmd(t, "", args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
	t.Setenv("DOORMAN_SMTP_ADDR", "127.0.0.1:25")
	if _, err := runCmd(t, "", "serve", "--db", db, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--smtp-from") {
		t.Errorf("DOORMAN_SMTP_ADDR without a sender: %v", err)
	}
}
