package http_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/doorman/doorman"
)

func TestClientIPFromTrustedProxyOnly(t *testing.T) {
	e := newEnv(t, withTrustedProxies("10.0.0.0/8, ::1"))
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)

	tests := []struct {
		name, peer, xff, want string
	}{
		{"no proxy", "198.51.100.4:5000", "", "198.51.100.4"},
		{"untrusted peer's header ignored", "198.51.100.4:5000", "203.0.113.9", "198.51.100.4"},
		{"trusted peer", "10.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"trusted IPv6 peer", "[::1]:5000", "203.0.113.9", "203.0.113.9"},
		{"trusted hops skipped", "10.0.0.1:5000", "203.0.113.9, 10.0.0.7, 10.0.0.8", "203.0.113.9"},
		{"client's own prefix not believed", "10.0.0.1:5000", "1.1.1.1, 203.0.113.9", "203.0.113.9"},
		{"all trusted", "10.0.0.1:5000", "10.0.0.9, 10.0.0.7", "10.0.0.9"},
		{"with a port", "10.0.0.1:5000", "203.0.113.9:1234", "203.0.113.9"},
		{"IPv6 client", "10.0.0.1:5000", "2001:db8::5", "2001:db8::5"},
		{"IPv4-mapped", "10.0.0.1:5000", "::ffff:203.0.113.9", "203.0.113.9"},
		{"malformed", "10.0.0.1:5000", "not-an-ip", "10.0.0.1"},
		{"malformed hop on the walk", "10.0.0.1:5000", "203.0.113.9, bogus", "10.0.0.1"},
		{"garbage left of the client is never read", "10.0.0.1:5000", "bogus, 203.0.113.9", "203.0.113.9"},
		{"empty entry", "10.0.0.1:5000", "203.0.113.9,", "10.0.0.1"},
		{"no header", "10.0.0.1:5000", "", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"Authorization", "Bearer " + v.Token}
			if tt.xff != "" {
				hdr = append(hdr, "X-Forwarded-For", tt.xff)
			}
			w := e.serveDirect("GET", "/api/v1/whoami", tt.peer, nil, hdr...)
			if w.Code != http.StatusOK {
				t.Fatalf("whoami: %d %s", w.Code, w.Body)
			}
			var who struct {
				Session session `json:"session"`
			}
			json.Unmarshal(w.Body.Bytes(), &who)
			if who.Session.IP != tt.want {
				t.Errorf("ip %q, want %q", who.Session.IP, tt.want)
			}
		})
	}
	if !strings.Contains(e.logs.String(), "malformed X-Forwarded-For") {
		t.Error("a malformed X-Forwarded-For was not logged")
	}
}

func TestRequestIDFromTrustedProxyOnly(t *testing.T) {
	e := newEnv(t, withTrustedProxies("10.0.0.0/8"))
	w := e.serveDirect("GET", "/healthz", "10.0.0.1:5000", nil, "X-Request-Id", "edge-abc-123")
	if got := w.Header().Get("X-Request-Id"); got != "edge-abc-123" {
		t.Errorf("from a trusted proxy: X-Request-Id %q, want the proxy's", got)
	}
	w = e.serveDirect("GET", "/healthz", "198.51.100.4:5000", nil, "X-Request-Id", "edge-abc-123")
	if got := w.Header().Get("X-Request-Id"); got == "edge-abc-123" || len(got) != 32 {
		t.Errorf("from anyone else: X-Request-Id %q, want a fresh one", got)
	}
	w = e.serveDirect("GET", "/healthz", "10.0.0.1:5000", nil, "X-Request-Id", "evil\" injected=1")
	if got := w.Header().Get("X-Request-Id"); strings.Contains(got, "evil") {
		t.Errorf("an unsafe request id was accepted: %q", got)
	}
}
