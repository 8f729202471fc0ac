package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/totp"
)

const password = "correct horse battery"

// testHasher is Argon2id at the lowest cost, so that tests sign in quickly.
var testHasher = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// flakyStore is a real store that fails on demand, as a store that lost its
// database would.
type flakyStore struct {
	doorman.Store
	failAuth  atomic.Bool // FindSessionByTokenHash returns an error
	panicAuth atomic.Bool // FindSessionByTokenHash panics
	failList  atomic.Bool // FindSessions returns an error
	failPing  atomic.Bool
	failKeys  atomic.Bool // FindSigningKeys returns an error

	userReads atomic.Int64 // FindUserByID calls
}

func (f *flakyStore) FindUserByID(ctx context.Context, accountID, id string) (*doorman.User, error) {
	f.userReads.Add(1)
	return f.Store.FindUserByID(ctx, accountID, id)
}

func (f *flakyStore) FindSigningKeys(ctx context.Context, minPeriod int64) ([]*doorman.SigningKey, error) {
	if f.failKeys.Load() {
		return nil, errDiskGone
	}
	return f.Store.FindSigningKeys(ctx, minPeriod)
}

var errDiskGone = errors.New("disk I/O error: database file went away")

func (f *flakyStore) FindSessionByTokenHash(ctx context.Context, hash []byte) (*doorman.Principal, error) {
	if f.panicAuth.Load() {
		panic("store exploded")
	}
	if f.failAuth.Load() {
		return nil, errDiskGone
	}
	return f.Store.FindSessionByTokenHash(ctx, hash)
}

func (f *flakyStore) FindSessions(ctx context.Context, flt doorman.SessionFilter) ([]*doorman.Session, int, error) {
	if f.failList.Load() {
		return nil, 0, errDiskGone
	}
	return f.Store.FindSessions(ctx, flt)
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if f.failPing.Load() {
		return errDiskGone
	}
	return f.Store.Ping(ctx)
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is a real Doorman HTTP server on a real SQLite store, with a fake
// clock and captured logs.
type env struct {
	t       *testing.T
	clock   *clock
	store   *flakyStore
	svc     *app.Service
	server  *doormanhttp.Server
	handler http.Handler
	srv     *httptest.Server
	logs    *syncBuffer

	mu      sync.Mutex
	tokens  []string // every token issued
	answers []string // every answer but login's, to search for tokens
}

type envOption func(*doormanhttp.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvOn(t, testdb.SQLite(t), opts...)
}

// newEnvOn is newEnv on the store given, for tests that run on both stores.
func newEnvOn(t *testing.T, store doorman.Store, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, logs: new(syncBuffer)}
	e.store = &flakyStore{Store: store}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc = app.NewService(e.store, testHasher)
	e.svc.Now = e.clock.Now
	e.svc.Log = log
	e.svc.OTP = totp.OTP{}

	e.srv = httptest.NewUnstartedServer(nil)
	cfg := doormanhttp.Config{
		BaseURL:        &url.URL{Scheme: "http", Host: e.srv.Listener.Addr().String()},
		Logger:         log,
		ActiveSessions: e.svc.CountLiveSessions,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.server = doormanhttp.NewServer(e.svc, cfg)
	e.handler = e.server.Handler()
	e.srv.Config.Handler = e.handler
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.checkNoTokenLeak)
	return e
}

func withBaseURL(u string) envOption {
	return func(c *doormanhttp.Config) {
		var err error
		if c.BaseURL, err = url.Parse(u); err != nil {
			panic(err)
		}
	}
}

func withTrustedProxies(s string) envOption {
	return func(c *doormanhttp.Config) {
		p, err := doormanhttp.ParseTrustedProxies(s)
		if err != nil {
			panic(err)
		}
		c.TrustedProxies = p
	}
}

// checkNoTokenLeak fails the test if a token appears in a log line or in
// any answer other than the sign-in that issued it.
func (e *env) checkNoTokenLeak() {
	logs := e.logs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, tok := range e.tokens {
		if strings.Contains(logs, tok) {
			e.t.Errorf("a token appears in the logs:\n%s", logs)
		}
		for _, a := range e.answers {
			if strings.Contains(a, tok) {
				e.t.Errorf("a token appears in an answer:\n%s", a)
			}
		}
	}
}

// user creates a user in account "Acme" (or the account given).
func (e *env) user(email string, role doorman.Role, account ...string) *doorman.User {
	e.t.Helper()
	acct := "Acme"
	if len(account) > 0 {
		acct = account[0]
	}
	u, err := e.svc.CreateUser(context.Background(), acct, email, "Name of "+email, role, password)
	if err != nil {
		e.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// browser returns a client with its own cookie jar.
func (e *env) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

type errorAnswer struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Reason    string `json:"reason"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// wantError checks the status and code of an error answer and returns it.
func (a answer) wantError(t *testing.T, status int, code string) errorAnswer {
	t.Helper()
	var v errorAnswer
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	a.decode(t, &v)
	if v.Error.Code != code {
		t.Fatalf("error code %q, want %q; body %s", v.Error.Code, code, a.body)
	}
	if v.Error.Message == "" {
		t.Errorf("error without message: %s", a.body)
	}
	if v.Error.RequestID == "" || v.Error.RequestID != a.header.Get("X-Request-Id") {
		t.Errorf("error request_id %q, X-Request-Id %q", v.Error.RequestID, a.header.Get("X-Request-Id"))
	}
	return v
}

// do sends one request through the real server. body is JSON-encoded
// unless it is a string or []byte; hdr are header name, value pairs.
func (e *env) do(c *http.Client, method, path string, body any, hdr ...string) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if path != "/api/v1/login" && path != "/api/v1/password" && path != "/api/v1/two-factor/confirm" { // the answers that carry a new token
		var h bytes.Buffer
		resp.Header.Write(&h)
		e.mu.Lock()
		e.answers = append(e.answers, h.String()+"\n"+string(b))
		e.mu.Unlock()
	}
	return a
}

// bearer returns the header pair that authenticates with token.
func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

type user struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	AccountID string `json:"account_id"`
}

type session struct {
	ID           string  `json:"id"`
	Current      bool    `json:"current"`
	Label        string  `json:"label"`
	IP           string  `json:"ip"`
	DeviceType   string  `json:"device_type"`
	CreatedAt    string  `json:"created_at"`
	LastActiveAt string  `json:"last_active_at"`
	ExpiresAt    *string `json:"expires_at"`
	Status       string  `json:"status"`
	StatusText   string  `json:"status_text"`
	RememberMe   bool    `json:"remember_me"`
	Activity     struct {
		Logins   int64  `json:"logins"`
		Actions  int64  `json:"actions"`
		LastPage string `json:"last_page"`
	} `json:"activity"`
	Risk struct {
		Level   string   `json:"level"`
		Reasons []string `json:"reasons"`
	} `json:"risk"`
	Location struct {
		Label string `json:"label"`
	} `json:"location"`
}

type loginAnswer struct {
	Token   string  `json:"token"`
	Session session `json:"session"`
	User    user    `json:"user"`
}

// login signs in through the API with client c (whose jar keeps the
// cookie) and returns the answer.
func (e *env) login(c *http.Client, email string, remember bool, hdr ...string) loginAnswer {
	e.t.Helper()
	a := e.do(c, "POST", "/api/v1/login", map[string]any{"email": email, "password": password, "remember_me": remember}, hdr...)
	if a.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, a.status, a.body)
	}
	var v loginAnswer
	a.decode(e.t, &v)
	if v.Token == "" || v.Session.ID == "" {
		e.t.Fatalf("login answer without token or session: %s", a.body)
	}
	e.mu.Lock()
	e.tokens = append(e.tokens, v.Token)
	e.mu.Unlock()
	return v
}

// serveDirect runs one request through the handler in process, with the
// given peer address.
func (e *env) serveDirect(method, path, remoteAddr string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = remoteAddr
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// cookieNamed returns the Set-Cookie of that name in h, parsed.
func cookieNamed(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("parse Set-Cookie %q: %v", line, err)
		}
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %q", name, h.Values("Set-Cookie"))
	return nil
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{" , ", nil, false},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}, false},
		{"10.1.2.3/8, 192.168.1.7", []string{"10.0.0.0/8", "192.168.1.7/32"}, false},
		{"::1,fd00::/8", []string{"::1/128", "fd00::/8"}, false},
		{"::ffff:10.0.0.1", []string{"10.0.0.1/32"}, false},
		{"10.0.0.0/33", nil, true},
		{"proxy.internal", nil, true},
		{"10.0.0.1, nonsense", nil, true},
	}
	for _, tt := range tests {
		got, err := doormanhttp.ParseTrustedProxies(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTrustedProxies(%q) error %v, want error %t", tt.in, err, tt.wantErr)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if strings.Join(s, " ") != strings.Join(tt.want, " ") {
			t.Errorf("ParseTrustedProxies(%q) = %v, want %v", tt.in, s, tt.want)
		}
	}
}
