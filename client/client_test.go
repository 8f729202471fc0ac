package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/useragent"
)

const password = "correct horse battery"

// doormanEnv is a real Doorman on :0, on a temporary SQLite store, with one
// admin, Ana.
type doormanEnv struct {
	svc   *app.Service
	srv   *httptest.Server
	conns atomic.Int64 // connections Doorman accepted
}

// startDoorman starts Doorman; cfg's Logger is set to discard.
func startDoorman(tb testing.TB, cfg doormanhttp.Config) *doormanEnv {
	tb.Helper()
	return startDoormanOn(tb, nil, cfg)
}

// startDoormanOn is startDoorman on ln (a new listener when nil), for a
// test that must know the address before the server is made.
func startDoormanOn(tb testing.TB, ln net.Listener, cfg doormanhttp.Config) *doormanEnv {
	tb.Helper()
	svc := newService(testdb.SQLite(tb))
	if _, err := svc.CreateUser(context.Background(), "Acme", "ana@acme.test", "Ana", doorman.RoleAdmin, password); err != nil {
		tb.Fatal(err)
	}
	return serveDoorman(tb, svc, ln, cfg)
}

// newService is a Doorman service on store, with a fast password hash and
// no logs.
func newService(store doorman.Store) *app.Service {
	svc := app.NewService(store, argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	svc.Log = slog.New(slog.DiscardHandler)
	return svc
}

// serveDoorman serves svc on ln (a new listener when nil) until the test
// ends.
func serveDoorman(tb testing.TB, svc *app.Service, ln net.Listener, cfg doormanhttp.Config) *doormanEnv {
	tb.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	e := &doormanEnv{svc: svc}
	e.srv = httptest.NewUnstartedServer(doormanhttp.NewServer(svc, cfg).Handler())
	if ln != nil {
		e.srv.Listener.Close()
		e.srv.Listener = ln
	}
	e.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			e.conns.Add(1)
		}
	}
	e.srv.Start()
	tb.Cleanup(e.srv.Close)
	return e
}

// signIn signs Ana in as a device with that address and User-Agent.
func (e *doormanEnv) signIn(tb testing.TB, ip, ua string) (string, *doorman.Principal) {
	tb.Helper()
	token, p, err := e.svc.SignIn(context.Background(), app.SignInRequest{Email: "ana@acme.test", Password: password,
		Meta: app.Meta{IP: ip, UserAgent: ua}})
	if err != nil {
		tb.Fatal(err)
	}
	return token, p
}

// testClock is a clock for client.Options.Now that tests move by hand,
// starting at the real time (assertions are checked against it).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClient(tb testing.TB, base string, opts client.Options) *client.Client {
	tb.Helper()
	c, err := client.New(base, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type answer struct {
	status int
	header http.Header
	body   string
}

// get asks url with the header pairs given, following no redirect.
func get(t *testing.T, u string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// echo is a host application handler that shows the identity it was given
// and any X-Doorman-* header that reached it.
func echo(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := client.IdentityFrom(r.Context())
		if !ok {
			t.Error("no identity in the context")
			return
		}
		io.WriteString(w, id.UserID+" "+id.Email+" "+id.Role+" "+id.AccountID+" "+id.SessionID)
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Doorman-") {
				io.WriteString(w, " header:"+k)
			}
		}
	})
}

// A host application behind the middleware sees who is signed in; others
// are refused, browsers sent to sign-in and back.
func TestMiddleware(t *testing.T) {
	e := startDoorman(t, doormanhttp.Config{})
	token, p := e.signIn(t, "", "")
	c := newClient(t, e.srv.URL, client.Options{LoginURL: "https://auth.example/login?lang=en"})
	host := httptest.NewServer(c.Middleware(echo(t)))
	defer host.Close()

	want := p.User.ID + " ana@acme.test admin " + p.Account.ID + " " + p.Session.ID
	if a := get(t, host.URL+"/reports?x=1", "Authorization", "Bearer "+token); a.status != 200 || a.body != want {
		t.Fatalf("valid bearer: %d %q, want %q", a.status, a.body, want)
	}
	// Only Doorman's cookie is sent; the application's own do not disturb it.
	if a := get(t, host.URL+"/reports", "Cookie", "theme=dark; doorman_session="+token+"; cart=3"); a.status != 200 || a.body != want {
		t.Fatalf("valid cookie: %d %q", a.status, a.body)
	}
	// A client's own X-Doorman-* headers never reach the application.
	if a := get(t, host.URL+"/", "Authorization", "Bearer "+token, "X-Doorman-User-Role", "admin", "x-doorman-user-id", "usr_x"); a.status != 200 || a.body != want {
		t.Fatalf("spoofed headers reached the application: %d %q", a.status, a.body)
	}

	a := get(t, host.URL+"/reports?x=1")
	var body struct {
		Error struct{ Code, Message, Reason string }
	}
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || a.status != http.StatusUnauthorized || body.Error.Code != "unauthorized" || body.Error.Reason != "" {
		t.Fatalf("no credentials: %d %q, want 401 unauthorized without reason", a.status, a.body)
	}
	if got := a.header.Get("WWW-Authenticate"); got != `Bearer realm="doorman"` {
		t.Errorf("WWW-Authenticate %q", got)
	}

	// The sign-in page is on another host: next is the absolute URL.
	a = get(t, host.URL+"/reports?x=1", "Accept", "text/html,application/xhtml+xml")
	next := "http://" + strings.TrimPrefix(host.URL, "http://") + "/reports?x=1"
	if wantLoc := "https://auth.example/login?lang=en&next=" + url.QueryEscape(next); a.status != http.StatusSeeOther || a.header.Get("Location") != wantLoc {
		t.Fatalf("a browser without a session: %d %q, want 303 %q", a.status, a.header.Get("Location"), wantLoc)
	}
	// On the same host: a path.
	same := newClient(t, e.srv.URL, client.Options{LoginURL: "/login"})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://app.test/a/b?c=d", nil)
	req.Header.Set("Accept", "text/html")
	same.Middleware(echo(t)).ServeHTTP(rec, req)
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape("/a/b?c=d") {
		t.Fatalf("same-host sign-in: %d %q", rec.Code, loc)
	}
}

// A refused session reaches OnUnauthorized with the reason Doorman gave.
func TestMiddlewareRefusalReason(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{})
	phone, pPhone := e.signIn(t, "", "")
	laptop, pLaptop := e.signIn(t, "", "")

	var reasons []string
	c := newClient(t, e.srv.URL, client.Options{OnUnauthorized: func(w http.ResponseWriter, r *http.Request, reason string) {
		reasons = append(reasons, reason)
		w.WriteHeader(http.StatusTeapot)
	}})
	host := httptest.NewServer(c.Middleware(echo(t)))
	defer host.Close()

	// The laptop signs the phone out, then itself.
	if err := e.svc.RevokeSession(ctx, pLaptop, pPhone.Session.ID, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SignOut(ctx, pLaptop, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{phone, laptop, "not-a-token"} {
		if a := get(t, host.URL+"/", "Authorization", "Bearer "+tok); a.status != http.StatusTeapot {
			t.Fatalf("refused session: %d %q, want the OnUnauthorized answer", a.status, a.body)
		}
	}
	if want := []string{doorman.ReasonRevokedByUser, doorman.ReasonSignedOut, ""}; strings.Join(reasons, ",") != strings.Join(want, ",") {
		t.Fatalf("reasons %q, want %q", reasons, want)
	}

	// The default answer carries the reason too.
	def := httptest.NewServer(newClient(t, e.srv.URL, client.Options{}).Middleware(echo(t)))
	defer def.Close()
	a := get(t, def.URL+"/", "Cookie", "doorman_session="+phone)
	if a.status != http.StatusUnauthorized || !strings.Contains(a.body, `"reason":"revoked_by_user"`) {
		t.Fatalf("default refusal: %d %q", a.status, a.body)
	}
}

// When Doorman cannot decide, the request is answered 503: never let
// through, never told it is signed out.
func TestMiddlewareUnavailable(t *testing.T) {
	e := startDoorman(t, doormanhttp.Config{})
	token, _ := e.signIn(t, "", "")
	var unavailable error
	clk := newTestClock()
	c := newClient(t, e.srv.URL, client.Options{Now: clk.Now, OnUnavailable: func(w http.ResponseWriter, r *http.Request, err error) {
		unavailable = err
		w.WriteHeader(http.StatusServiceUnavailable)
	}})
	def := newClient(t, e.srv.URL, client.Options{})
	host := httptest.NewServer(c.Middleware(echo(t)))
	defer host.Close()
	defHost := httptest.NewServer(def.Middleware(echo(t)))
	defer defHost.Close()
	if a := get(t, host.URL+"/", "Authorization", "Bearer "+token); a.status != 200 {
		t.Fatalf("Doorman up: %d %q", a.status, a.body)
	}

	e.srv.Close()
	clk.Advance(doorman.ReuseWindow) // past the answer's reuse window
	if a := get(t, host.URL+"/", "Authorization", "Bearer "+token); a.status != http.StatusServiceUnavailable || !errors.Is(unavailable, client.ErrUnavailable) {
		t.Fatalf("Doorman down: %d, error %v; want 503 and ErrUnavailable", a.status, unavailable)
	}
	a := get(t, defHost.URL+"/", "Authorization", "Bearer "+token)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, `"code":"unavailable"`) {
		t.Fatalf("Doorman down, default answer: %d %q %v", a.status, a.body, a.header)
	}
}

// A Doorman that does not answer in time is unavailable, after the
// configured timeout rather than the end user's patience.
func TestMiddlewareTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	c := newClient(t, slow.URL, client.Options{Timeout: 100 * time.Millisecond})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer x")
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Middleware(echo(t)).ServeHTTP(rec, req)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a guard, not a measurement
		t.Fatal("the check did not give up on a silent Doorman")
	}
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("silent Doorman: %d, want 503", rec.Code)
	}
}

// The end user's address and device reach Doorman: the sessions list shows
// them, not the host application's, and not what a client claims.
func TestMiddlewareForwardsClient(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	e := startDoorman(t, doormanhttp.Config{TrustedProxies: loopback})
	var err error
	if e.svc.Devices, err = useragent.New(); err != nil {
		t.Fatal(err)
	}
	token, p := e.signIn(t, "192.0.2.1", "curl/8.5.0")
	observer, _ := e.signIn(t, "192.0.2.2", "curl/8.5.0")
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

	seen := func() (ip, browser, os, lastPage string) {
		t.Helper()
		a := get(t, e.srv.URL+"/api/v1/sessions", "Authorization", "Bearer "+observer, "X-Forwarded-For", "192.0.2.2")
		var v struct {
			Sessions []struct {
				ID, IP, Browser, OS string
				Activity            struct {
					LastPage string `json:"last_page"`
				}
			}
		}
		if err := json.Unmarshal([]byte(a.body), &v); err != nil || a.status != 200 {
			t.Fatalf("sessions list: %d %q", a.status, a.body)
		}
		for _, s := range v.Sessions {
			if s.ID == p.Session.ID {
				return s.IP, s.Browser, s.OS, s.Activity.LastPage
			}
		}
		t.Fatalf("session %s not listed: %s", p.Session.ID, a.body)
		return
	}
	check := func(c *client.Client, remote string, hdr ...string) {
		t.Helper()
		req := httptest.NewRequest("GET", "http://app.test/reports/q3?token=secret", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("User-Agent", firefox)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Add(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		c.Middleware(echo(t)).ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("check: %d %q", rec.Code, rec.Body)
		}
	}

	// Default: the client is the connection's peer; its own header is not
	// believed.
	plain := newClient(t, e.srv.URL, client.Options{})
	check(plain, "203.0.113.7:5555", "X-Forwarded-For", "198.51.100.66")
	ip, browser, os, page := seen()
	if ip != "203.0.113.7" || browser != "Firefox" || os != "Linux" {
		t.Errorf("session shows %s, %s on %s; want 203.0.113.7, Firefox on Linux", ip, browser, os)
	}
	if page != "/reports/q3" {
		t.Errorf("last page %q, want the path without its query", page)
	}

	// Behind the application's own proxy: the first untrusted address from
	// the right.
	proxied := newClient(t, e.srv.URL, client.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	check(proxied, "10.0.0.2:443", "X-Forwarded-For", "198.51.100.66, 203.0.113.9", "X-Forwarded-For", "10.0.0.3")
	if ip, _, _, _ := seen(); ip != "203.0.113.9" {
		t.Errorf("behind a trusted proxy the session shows %s, want 203.0.113.9", ip)
	}
	// The same header from a peer the application does not trust.
	check(proxied, "203.0.113.50:1000", "X-Forwarded-For", "198.51.100.66")
	if ip, _, _, _ := seen(); ip != "203.0.113.50" {
		t.Errorf("a spoofed X-Forwarded-For: the session shows %s, want the peer 203.0.113.50", ip)
	}
}

// What each check sends Doorman, seen by a server that records it
// (TestBatchRequest: the same in a batch).
func TestVerifyRequest(t *testing.T) {
	var got http.Header
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer rec.Close()
	c := newClient(t, rec.URL, client.Options{CookieName: "sid", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		DisableBatching: true})
	req := httptest.NewRequest("GET", "http://app.internal/a%20b/c?secret=1", nil)
	req.RemoteAddr = "10.1.2.3:4000"
	req.Header.Set("Cookie", "sid=tok; doorman_session=other; theme=dark")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "app.example.com")
	req.Header.Set("Sec-CH-UA", `"Chromium";v="131"`)
	req.Header.Set("Sec-CH-UA-Platform", `"macOS"`)
	if _, err := c.Verify(context.Background(), req); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("Verify: %v, want ErrUnauthorized", err)
	}
	want := map[string]string{
		"Cookie": "sid=tok", "X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.example.com", "X-Forwarded-Uri": "/a%20b/c", "User-Agent": "",
		"Sec-Ch-Ua": `"Chromium";v="131"`, "Sec-Ch-Ua-Platform": `"macOS"`, "Authorization": "",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, got.Get(k), v)
		}
	}
}

// Checks share kept-alive connections: many checks from a few goroutines
// open about as many connections as there are goroutines.
func TestConnectionsReused(t *testing.T) {
	e := startDoorman(t, doormanhttp.Config{})
	token, _ := e.signIn(t, "", "")
	c := newClient(t, e.srv.URL, client.Options{})
	const workers, checks = 4, 50
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range checks {
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				if _, err := c.Verify(context.Background(), req); err != nil {
					failed.Add(1)
				}
				// Refusals drain their body too and keep the connection.
				if _, err := c.Verify(context.Background(), httptest.NewRequest("GET", "/", nil)); !errors.Is(err, client.ErrUnauthorized) {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d checks failed", failed.Load())
	}
	if n := e.conns.Load(); n > 2*workers {
		t.Fatalf("%d checks opened %d connections, want at most %d", 2*workers*checks, n, 2*workers)
	}
}
