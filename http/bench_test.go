package http_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
)

// benchSetup returns a service on a fresh SQLite store, its calls bounded
// as doorman serve bounds them, and the token of one signed-in session.
func benchSetup(b *testing.B) (*app.Service, string) {
	b.Helper()
	svc := app.NewService(app.WithDeadline(testdb.SQLite(b), app.DefaultStoreTimeout, &app.OutageLog{}), testHasher)
	svc.Log = slog.New(slog.DiscardHandler)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, "Bench", "bench@bench.example", "Bench", doorman.RoleMember, password); err != nil {
		b.Fatal(err)
	}
	token, _, err := svc.SignIn(ctx, app.SignInRequest{Email: "bench@bench.example", Password: password,
		Meta: app.Meta{IP: "192.0.2.1", UserAgent: "bench"}})
	if err != nil {
		b.Fatal(err)
	}
	return svc, token
}

// BenchmarkWhoami is GET /api/v1/whoami through the whole middleware, in
// process, with the access log on a discarding handler.
func BenchmarkWhoami(b *testing.B) {
	svc, token := benchSetup(b)
	h := doormanhttp.NewServer(svc, doormanhttp.Config{
		BaseURL: &url.URL{Scheme: "http", Host: "doorman.test"},
		Logger:  slog.New(slog.DiscardHandler),
	}).Handler()
	req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	benchWhoami(b, h, req)
}

// benchWhoami serves req, a whoami, on h for each round of b, and fails on
// any answer but 200.
func benchWhoami(b *testing.B, h http.Handler, req *http.Request) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("whoami: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkWhoamiAuthenticateOnly is the service call that whoami makes, by
// itself: BenchmarkWhoami minus this is the cost of the HTTP layer.
func BenchmarkWhoamiAuthenticateOnly(b *testing.B) {
	svc, token := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Authenticate(ctx, token, app.Meta{IP: "192.0.2.1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWhoamiAccessLog is BenchmarkWhoami with the access log on, as
// `doorman serve` has it by default (info, text), written to a file as
// stderr would be: through slog, a write per line (a server configured
// without an AccessLog), and through the buffered AccessLog.
func BenchmarkWhoamiAccessLog(b *testing.B) {
	for _, via := range []string{"slog", "buffered"} {
		b.Run(via, func(b *testing.B) {
			svc, token := benchSetup(b)
			f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cfg := doormanhttp.Config{BaseURL: &url.URL{Scheme: "http", Host: "doorman.test"},
				Logger: slog.New(slog.NewTextHandler(f, nil))}
			if via == "buffered" {
				if cfg.AccessLog, err = doormanhttp.NewAccessLog(f, "text"); err != nil {
					b.Fatal(err)
				}
				defer cfg.AccessLog.Close()
			}
			h := doormanhttp.NewServer(svc, cfg).Handler()
			req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			benchWhoami(b, h, req)
		})
	}
}

// BenchmarkAccessLog is one access line by itself, in each format.
func BenchmarkAccessLog(b *testing.B) {
	ip := netip.MustParseAddr("203.0.113.9")
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			al, err := doormanhttp.NewAccessLog(io.Discard, format)
			if err != nil {
				b.Fatal(err)
			}
			defer al.Close()
			b.ReportAllocs()
			for b.Loop() {
				doormanhttp.LogAccess(al, time.Now(), "GET", "/api/v1/whoami", "GET /api/v1/whoami", 200,
					1234*time.Microsecond, 321, "0123456789abcdef0123456789abcdef", ip, "usr_42")
			}
		})
	}
}

// BenchmarkVerifyWithAssertion is GET /auth/verify from a trusted proxy
// naming the app's host: authentication, the five headers and a signed
// assertion (one ES256 signature) per request. The key comes from memory;
// the store is read once, at the first request.
func BenchmarkVerifyWithAssertion(b *testing.B) {
	svc, token := benchSetup(b)
	h := doormanhttp.NewServer(svc, doormanhttp.Config{
		BaseURL:        &url.URL{Scheme: "https", Host: "auth.doorman.test"},
		Logger:         slog.New(slog.DiscardHandler),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")},
	}).Handler()
	req := httptest.NewRequest("GET", "/auth/verify", nil)
	req.RemoteAddr = "192.0.2.1:4000"
	req.Header.Set("Cookie", "__Host-doorman_session="+token)
	req.Header.Set("X-Forwarded-Host", "app.doorman.test")
	req.Header.Set("X-Forwarded-Uri", "/")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get("X-Doorman-Assertion") == "" {
			b.Fatalf("verify: %d %s", w.Code, w.Body)
		}
	}
}
