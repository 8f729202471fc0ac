package http_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/totp"
)

// localhostCert is a self-signed certificate for localhost, and the
// base64 SHA-256 of its SubjectPublicKeyInfo, which Chromium is told to
// trust (--ignore-certificate-errors-spki-list).
func localhostCert(t *testing.T, now time.Time) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		base64.StdEncoding.EncodeToString(spki[:])
}

// exchange is one request the test server answered, as the test sees it.
type exchange struct {
	method, path string
	status       int
	setBound     string // the bound cookie's value when the answer set it
	line         string // for the log: the DBSC headers of both sides
}

// exchanges records what the test server answered, for the assertions and
// to tell what Chromium did when it did not do what DBSC says.
type exchanges struct {
	mu   sync.Mutex
	list []exchange
}

func (x *exchanges) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		ex := exchange{method: r.Method, path: r.URL.Path, status: rec.status}
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			if c.Name == "__Host-doorman_bound" {
				ex.setBound = c.Value
			}
		}
		var hs []string
		for _, h := range []string{"Sec-Secure-Session-Id", "Secure-Session-Response"} {
			if v := r.Header.Get(h); v != "" {
				hs = append(hs, fmt.Sprintf("> %s: %.40s…", h, v))
			}
		}
		for _, h := range []string{"Secure-Session-Registration", "Secure-Session-Challenge"} {
			if v := w.Header().Get(h); v != "" {
				hs = append(hs, fmt.Sprintf("< %s: %.60s…", h, v))
			}
		}
		if strings.Contains(r.Header.Get("Cookie"), "__Host-doorman_bound=") {
			hs = append(hs, "> bound cookie sent")
		}
		if ex.setBound != "" {
			hs = append(hs, "< bound cookie set")
		}
		ex.line = fmt.Sprintf("%s %s -> %d %s", r.Method, r.URL.Path, rec.status, strings.Join(hs, "; "))
		x.mu.Lock()
		x.list = append(x.list, ex)
		x.mu.Unlock()
	})
}

func (x *exchanges) all() []exchange {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]exchange(nil), x.list...)
}

func (x *exchanges) String() string {
	var b strings.Builder
	for _, ex := range x.all() {
		b.WriteString(ex.line + "\n")
	}
	return b.String()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// newDBSCEnv is newEnv served over HTTPS at https://localhost:port with
// the certificate given, every answer recorded.
func newDBSCEnv(t *testing.T, cert tls.Certificate, clockAt time.Time) (*env, *exchanges, string) {
	t.Helper()
	e := &env{t: t, clock: &clock{t: clockAt}, logs: new(syncBuffer)}
	e.store = &flakyStore{Store: testdb.SQLite(t)}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc = app.NewService(e.store, testHasher)
	e.svc.Now = e.clock.Now
	e.svc.Log = log
	e.svc.OTP = totp.OTP{}
	e.srv = httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(e.srv.Listener.Addr().String())
	base := "https://localhost:" + port
	e.server = doormanhttp.NewServer(e.svc, doormanhttp.Config{
		BaseURL: &url.URL{Scheme: "https", Host: "localhost:" + port}, Logger: log})
	e.handler = e.server.Handler()
	x := new(exchanges)
	e.srv.Config.Handler = x.wrap(e.handler)
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e, x, base
}

// startDBSCBrowser is startBrowser with DBSC on: without origin trial
// tokens, without refresh quota, with software device keys (there is no
// TPM here), trusting the test certificate.
func startDBSCBrowser(t *testing.T, path, spki string) context.Context {
	t.Helper()
	return startBrowser(t, path,
		chromedp.Flag("enable-features",
			"DeviceBoundSessions:RequireOriginTrialTokens/false/RefreshQuota/false,"+
				"EnableBoundSessionCredentialsSoftwareKeysForManualTesting"),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki))
}

// boundCookie is the browser's bound cookie, nil when it has none.
func (b *tab) boundCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "__Host-doorman_bound" {
			return c
		}
	}
	return nil
}

// TestDBSCBrowser binds a session to Chromium's device key through DBSC:
// the HTTPS sign-in offers the registration, Chromium registers in the
// background; when its bound cookie expires Chromium refreshes it
// (challenge, proof) before the page's request goes out, and the page
// loads signed in. Chromium's clock cannot be moved: the server's is
// moved past the bound cookie's lifetime and the cookie deleted from
// Chromium's jar, which is what its own expiry does.
func TestDBSCBrowser(t *testing.T) {
	path := chromiumPath(t)
	now := time.Now().UTC().Truncate(time.Second)
	cert, spki := localhostCert(t, now)
	e, x, base := newDBSCEnv(t, cert, now)
	u := e.user("ana@acme.example", doorman.RoleMember)
	browser := startDBSCBrowser(t, path, spki)
	// The browser's own profile: a context made by DevTools is off the
	// record, where device keys may not be kept.
	a := &tab{t: t, ctx: browser, base: base}
	a.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
		return err
	}))
	defer func() {
		if t.Failed() {
			t.Logf("server answers, as they ended:\n%s\nserver log:\n%s", x, e.logs.String())
		}
	}()

	a.navigate("/login")
	a.signIn("ana@acme.example", false)
	var offered bool
	for _, ex := range x.all() {
		offered = offered || ex.method == "POST" && ex.path == "/login" && strings.Contains(ex.line, "Secure-Session-Registration")
	}
	if !offered {
		t.Fatalf("the HTTPS sign-in offered no registration")
	}

	// Chromium registers in the background: wait for the binding.
	var bound *doorman.AuditEvent
	deadline := time.Now().Add(20 * time.Second)
	for bound == nil && time.Now().Before(deadline) {
		_, bound = countAction(e.auditActions(u), doorman.ActionSessionBound)
		if bound == nil {
			time.Sleep(50 * time.Millisecond) // polling for an event, not waiting for time to pass
		}
	}
	if bound == nil {
		t.Fatalf("Chromium did not register the session within 20 s")
	}
	sid := bound.Target
	if s, err := e.store.FindSessionByID(context.Background(), u.AccountID, sid); err != nil || s.Binding == nil {
		t.Fatalf("session %s: binding %+v, err %v", sid, s, err)
	}
	// The registration's answer, which sets the bound cookie, leaves once
	// the binding has settled (the store returns a while after its
	// commit, which the audit event shares): wait for the cookie too.
	first := a.boundCookie()
	for first == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling for the cookie, not waiting for time to pass
		first = a.boundCookie()
	}
	if first == nil {
		t.Fatal("registered, but Chromium has no bound cookie")
	}
	// (The page the sign-in leads to may have been asked for before the
	// registration's answer set the bound cookie: the server then sends it
	// through sign-in, which, the cookie now there, sends it back. So the
	// page is checked once bound.)
	a.navigate("/settings/security/sessions")
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("signed in and bound: at %q, want the sessions page", got)
	}

	// The bound cookie expires: Chromium refreshes before loading the page.
	e.clock.Advance(doorman.DefaultBoundCookieTTL + time.Second)
	a.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.DeleteCookies, network.DeleteCookiesParams{Name: first.Name, URL: base + "/"})
		return err
	}))
	before := len(x.all())
	a.navigate("/settings/security/sessions")
	if got := a.path(); got != "/settings/security/sessions" {
		t.Fatalf("after the bound cookie expired: at %q, want the sessions page", got)
	}
	if got := a.dom().texts("span.badge-bound"); len(got) != 1 || got[0] != "Bound to this device" {
		t.Errorf("sessions page badges %q, want this session's Bound to this device", got)
	}
	var challenged, refreshed bool
	var page *exchange
	after := x.all()[before:]
	for i, ex := range after {
		switch {
		case ex.path == "/dbsc/refresh" && ex.status == http.StatusForbidden:
			challenged = true
		case ex.path == "/dbsc/refresh" && ex.status == http.StatusOK && ex.setBound != "":
			refreshed = challenged && ex.setBound != first.Value
		case ex.path == "/settings/security/sessions" && page == nil:
			page = &after[i]
		}
	}
	if !challenged || !refreshed {
		t.Fatalf("no refresh with a challenge: challenged %v, refreshed %v", challenged, refreshed)
	}
	if page == nil || page.status != http.StatusOK || !strings.Contains(page.line, "bound cookie sent") {
		t.Errorf("the page's request: %+v, want 200 with the new bound cookie", page)
	}
	if c := a.boundCookie(); c == nil || c.Value == first.Value {
		t.Errorf("bound cookie after refresh %+v, want a new one", c)
	}
	if n, _ := countAction(e.auditActions(u), doorman.ActionDeviceProofFailed); n != 0 {
		t.Errorf("%d device_proof_failed events, want none", n)
	}
}
