package http_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/jws"
	"github.com/doorman/doorman/totp"
)

// newTLSEnv is newEnv served over HTTPS (httptest's TLS server, its base
// URL https://), as DBSC requires.
func newTLSEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, logs: new(syncBuffer)}
	e.store = &flakyStore{Store: testdb.SQLite(t)}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.svc = app.NewService(e.store, testHasher)
	e.svc.Now = e.clock.Now
	e.svc.Log = log
	e.svc.OTP = totp.OTP{}
	e.srv = httptest.NewUnstartedServer(nil)
	e.server = doormanhttp.NewServer(e.svc, doormanhttp.Config{
		BaseURL: &url.URL{Scheme: "https", Host: e.srv.Listener.Addr().String()}, Logger: log})
	e.handler = e.server.Handler()
	e.srv.Config.Handler = e.handler
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// dbscBrowser is a test client that speaks DBSC as Chrome does: a cookie
// jar, the TLS server's trust, and (once it registered) a device key.
type dbscBrowser struct {
	e   *env
	c   *http.Client
	key *jws.Key
}

func (e *env) dbscBrowser() *dbscBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := *e.srv.Client() // a copy: the server's client is one, each browser has its own jar
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	key, err := jws.NewKey()
	if err != nil {
		e.t.Fatal(err)
	}
	return &dbscBrowser{e: e, c: &c, key: key}
}

// do sends one request with the headers given (name, value pairs).
func (b *dbscBrowser) do(method, path string, body io.Reader, hdr ...string) answer {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// signIn posts the sign-in form and returns its answer (a 303).
func (b *dbscBrowser) signIn(email string) answer {
	b.e.t.Helper()
	form := b.e.page(b.c, "GET", "/login", nil).wantStatus(http.StatusOK).one("form[action=/login]")
	v := formValues(form)
	v.Set("email", email)
	v.Set("password", password)
	a := b.do("POST", "/login", strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded",
		"Accept", "text/html")
	if a.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in %s: %d\n%s", email, a.status, a.body)
	}
	return a
}

// registration parses Secure-Session-Registration: (ES256);path="…";challenge="…".
func registration(t *testing.T, h http.Header) (path, challenge string) {
	t.Helper()
	v := h.Get("Secure-Session-Registration")
	rest, ok := strings.CutPrefix(v, "(ES256);")
	if !ok {
		t.Fatalf("Secure-Session-Registration %q, want (ES256);path=…;challenge=…", v)
	}
	for _, p := range strings.Split(rest, ";") {
		k, val, _ := strings.Cut(p, "=")
		val = strings.Trim(val, `"`)
		switch k {
		case "path":
			path = val
		case "challenge":
			challenge = val
		}
	}
	if path == "" || challenge == "" {
		t.Fatalf("Secure-Session-Registration %q lacks path or challenge", v)
	}
	return path, challenge
}

type sessionConfig struct {
	SessionIdentifier string `json:"session_identifier"`
	RefreshURL        string `json:"refresh_url"`
	Continue          *bool  `json:"continue"`
	Scope             struct {
		Origin      string `json:"origin"`
		IncludeSite bool   `json:"include_site"`
	} `json:"scope"`
	Credentials []struct {
		Type       string `json:"type"`
		Name       string `json:"name"`
		Attributes string `json:"attributes"`
	} `json:"credentials"`
}

// boundCookieLine returns the Set-Cookie line of the bound cookie, "" when none.
func boundCookieLine(h http.Header) string {
	for _, line := range h.Values("Set-Cookie") {
		if strings.HasPrefix(line, "__Host-doorman_bound=") {
			return line
		}
	}
	return ""
}

// wantConfig checks a registration or refresh answer: 200, the bound
// cookie, and a configuration naming it with its very attributes.
func (b *dbscBrowser) wantConfig(a answer) sessionConfig {
	t := b.e.t
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", a.status, a.body)
	}
	var cfg sessionConfig
	a.decode(t, &cfg)
	line := boundCookieLine(a.header)
	if line == "" {
		t.Fatalf("no bound cookie in %v", a.header.Values("Set-Cookie"))
	}
	if cfg.SessionIdentifier == "" || cfg.RefreshURL != "/dbsc/refresh" || cfg.Scope.Origin != b.e.srv.URL || cfg.Scope.IncludeSite {
		t.Errorf("config %+v", cfg)
	}
	if len(cfg.Credentials) != 1 || cfg.Credentials[0].Type != "cookie" || cfg.Credentials[0].Name != "__Host-doorman_bound" {
		t.Fatalf("credentials %+v", cfg.Credentials)
	}
	// The Set-Cookie line is name=value; attributes; Max-Age=n.
	_, attrs, _ := strings.Cut(line, "; ")
	attrs, age, _ := strings.Cut(attrs, "; Max-Age=")
	if attrs != cfg.Credentials[0].Attributes {
		t.Errorf("Set-Cookie attributes %q, config says %q", attrs, cfg.Credentials[0].Attributes)
	}
	if age != "570" { // 10 minutes less the 30 s the browser is to refresh early
		t.Errorf("Max-Age %s, want 570", age)
	}
	return cfg
}

// register answers the registration offered in the sign-in answer a.
func (b *dbscBrowser) register(a answer) sessionConfig {
	b.e.t.Helper()
	path, challenge := registration(b.e.t, a.header)
	proof, err := b.key.SignProof(challenge, "", true)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.wantConfig(b.do("POST", path, nil, "Secure-Session-Response", proof))
}

// challenge asks the refresh endpoint for a challenge and returns it.
func (b *dbscBrowser) challenge(sid string) string {
	t := b.e.t
	t.Helper()
	a := b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid)
	return wantChallenge(t, a, sid)
}

// wantChallenge checks a 403 with Secure-Session-Challenge: "c";id="sid"
// and no cookie, and returns c.
func wantChallenge(t *testing.T, a answer, sid string) string {
	t.Helper()
	if a.status != http.StatusForbidden {
		t.Fatalf("refresh: status %d, want 403 with a challenge: %s", a.status, a.body)
	}
	v := a.header.Get("Secure-Session-Challenge")
	c, id, ok := strings.Cut(v, `";id="`)
	if !ok || !strings.HasPrefix(c, `"`) || id != sid+`"` {
		t.Fatalf("Secure-Session-Challenge %q", v)
	}
	if line := boundCookieLine(a.header); line != "" {
		t.Fatalf("a challenge came with a bound cookie: %s", line)
	}
	return c[1:]
}

// refresh runs a whole refresh: challenge, proof, new cookie.
func (b *dbscBrowser) refresh(sid string) sessionConfig {
	b.e.t.Helper()
	proof := b.prove(b.challenge(sid))
	return b.wantConfig(b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", proof))
}

func (b *dbscBrowser) prove(challenge string) string {
	b.e.t.Helper()
	proof, err := b.key.SignProof(challenge, "", false)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return proof
}

func (b *dbscBrowser) whoami() int {
	b.e.t.Helper()
	return b.do("GET", "/api/v1/whoami", nil).status
}

// cookie returns the value of the jar's cookie of that name.
func (b *dbscBrowser) cookie(name string) string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (e *env) auditActions(accountUser *doorman.User) []*doorman.AuditEvent {
	e.t.Helper()
	evs, _, err := e.store.FindAuditEvents(context.Background(), doorman.AuditFilter{AccountID: accountUser.AccountID, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func countAction(evs []*doorman.AuditEvent, action string) (n int, last *doorman.AuditEvent) {
	for _, ev := range evs {
		if ev.Action == action {
			n++
			if last == nil {
				last = ev
			}
		}
	}
	return n, last
}

// TestBindingProtocol runs DBSC end to end against a real server over TLS:
// registration at sign-in, a stolen cookie that stops working when its
// bound cookie expires, refresh with a challenge, replay and staleness,
// and the token refused as Bearer.
func TestBindingProtocol(t *testing.T) {
	e := newTLSEnv(t)
	u := e.user("ana@example.com", doorman.RoleAdmin)
	b := e.dbscBrowser()
	signedIn := b.signIn("ana@example.com")
	cfg := b.register(signedIn)
	sid := cfg.SessionIdentifier
	if !doorman.IDWellFormed(doorman.PrefixSession, sid) {
		t.Fatalf("session_identifier %q is not a session id", sid)
	}
	if n, ev := countAction(e.auditActions(u), doorman.ActionSessionBound); n != 1 || ev.Target != sid ||
		!strings.HasPrefix(ev.Details, "key=") {
		t.Errorf("session_bound events: %d (%+v), want 1 for %s", n, ev, sid)
	}
	if got := b.whoami(); got != http.StatusOK {
		t.Fatalf("whoami with the bound cookie: %d", got)
	}

	// The registration is single-use: its challenge again (even from the
	// right browser) binds nothing.
	path, challenge := registration(t, signedIn.header)
	again, _ := b.key.SignProof(challenge, "", true)
	b.do("POST", path, nil, "Secure-Session-Response", again).wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)

	// The token, stolen, is refused as Bearer whatever else comes with it.
	token := b.cookie("__Host-doorman_session")
	thief := e.dbscBrowser()
	thief.do("GET", "/api/v1/whoami", nil, "Authorization", "Bearer "+token).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)
	thief.do("GET", "/api/v1/whoami", nil, "Authorization", "Bearer "+token,
		"Cookie", "__Host-doorman_bound="+b.cookie("__Host-doorman_bound")).wantError(t, http.StatusUnauthorized, doorman.EUNAUTHORIZED)

	// The long-lived cookie alone is worthless.
	stolen := "__Host-doorman_session=" + token
	if a := thief.do("GET", "/api/v1/whoami", nil, "Cookie", stolen); a.status != http.StatusUnauthorized {
		t.Fatalf("session cookie without bound cookie: %d, want 401", a.status)
	}
	// With the bound cookie copied too it works, until that expires.
	copied := stolen + "; __Host-doorman_bound=" + b.cookie("__Host-doorman_bound")
	if a := thief.do("GET", "/api/v1/whoami", nil, "Cookie", copied); a.status != http.StatusOK {
		t.Fatalf("both cookies copied: %d, want 200 until the bound cookie expires: %s", a.status, a.body)
	}
	e.clock.Advance(doorman.DefaultBoundCookieTTL)
	if a := thief.do("GET", "/api/v1/whoami", nil, "Cookie", copied); a.status != http.StatusUnauthorized {
		t.Fatalf("copied cookies after the bound cookie expired: %d, want 401", a.status)
	}
	// Without the key the thief cannot refresh: no proof, no cookie; a
	// proof by its own key is refused (tested in TestBindingWrongKey).
	wantChallenge(t, thief.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid), sid)

	// The browser with the key is refused too until it refreshes, but keeps
	// its session cookie (a forward-auth proxy passes the refusal's
	// Set-Cookie on), then refreshes and goes on.
	if a := b.do("GET", "/api/v1/whoami", nil); a.status != http.StatusUnauthorized || len(a.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("whoami with an expired bound cookie: %d, Set-Cookie %q; want 401 and none", a.status, a.header.Values("Set-Cookie"))
	}
	// So does the sign-in page it may be sent to meanwhile.
	if a := b.do("GET", "/login", nil); a.status != http.StatusOK || len(a.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("sign-in page with an expired bound cookie: %d, Set-Cookie %q; want 200 and none", a.status, a.header.Values("Set-Cookie"))
	}
	b.refresh(sid)
	if got := b.whoami(); got != http.StatusOK {
		t.Fatalf("whoami after refresh: %d", got)
	}

	// A proof replayed gets a new challenge, never a cookie.
	c := b.challenge(sid)
	proof := b.prove(c)
	b.wantConfig(b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", proof))
	wantChallenge(t, b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", proof), sid)
	wantChallenge(t, thief.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", proof), sid)

	// A stale challenge (expired) gets a new one, not a failure.
	c = b.challenge(sid)
	e.clock.Advance(doorman.BindingChallengeTTL + time.Second)
	next := wantChallenge(t, b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid,
		"Secure-Session-Response", b.prove(c)), sid)
	b.wantConfig(b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", b.prove(next)))
	if got := b.whoami(); got != http.StatusOK {
		t.Fatalf("whoami after a stale challenge and a refresh: %d", got)
	}
	// A challenge of another session is no challenge of this one.
	other := e.dbscBrowser()
	ocfg := other.register(other.signIn("ana@example.com"))
	oc := other.challenge(ocfg.SessionIdentifier)
	wantChallenge(t, b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", b.prove(oc)), sid)

	if n, _ := countAction(e.auditActions(u), doorman.ActionDeviceProofFailed); n != 0 {
		t.Errorf("%d device_proof_failed events, want none: no proof failed", n)
	}

	// The session lists as bound.
	var s struct {
		Bound bool `json:"bound"`
	}
	a := b.do("GET", "/api/v1/sessions/"+sid, nil)
	a.decode(t, &s)
	if a.status != http.StatusOK || !s.Bound {
		t.Errorf("GET session: %d %s, want bound", a.status, a.body)
	}
	// So do the pages: the list's badge and the details with the key's time.
	list := e.page(b.c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	if got := list.texts("span.badge-bound"); len(got) != 2 || got[0] != "Bound to this device" {
		t.Errorf("Sessions page badges %q, want two Bound to this device (this browser's and other's)", got)
	}
	details := e.page(b.c, "GET", "/settings/security/sessions/"+sid, nil).wantStatus(http.StatusOK)
	if got := details.text("dd#session-bound"); !strings.HasPrefix(got, "Bound to this device since ") {
		t.Errorf("session details: %q, want Bound to this device since …", got)
	}
}

// TestBindingWrongKey: a refresh signed by another key is refused, audited,
// marks the session high risk and ends it; its browser's next refresh is
// told to stop.
func TestBindingWrongKey(t *testing.T) {
	e := newTLSEnv(t)
	u := e.user("ana@example.com", doorman.RoleAdmin)
	b := e.dbscBrowser()
	sid := b.register(b.signIn("ana@example.com")).SessionIdentifier

	thief := e.dbscBrowser() // its own key
	c := thief.challenge(sid)
	a := thief.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", thief.prove(c))
	a.wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	if line := boundCookieLine(a.header); line != "" {
		t.Fatalf("a wrong proof got a bound cookie: %s", line)
	}
	n, ev := countAction(e.auditActions(u), doorman.ActionDeviceProofFailed)
	if n != 1 || ev.Target != sid || ev.Reason != "bad signature" || ev.Details != "session_ended=true" {
		t.Fatalf("device_proof_failed events: %d, last %+v", n, ev)
	}
	// Garbage in the header is a failed proof too.
	b2 := e.dbscBrowser()
	sid2 := b2.register(b2.signIn("ana@example.com")).SessionIdentifier
	b2.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid2, "Secure-Session-Response", "not.a.proof").
		wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	if n, ev := countAction(e.auditActions(u), doorman.ActionDeviceProofFailed); n != 2 || ev.Reason != "not a proof" {
		t.Errorf("device_proof_failed events: %d, last %+v", n, ev)
	}

	sess, err := e.store.FindSessionByID(context.Background(), "", sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.RevokedAt == nil || sess.RevokeReason != doorman.ReasonDeviceProofFailed || sess.Risk.Level != doorman.RiskHigh ||
		len(sess.Risk.Reasons) == 0 || sess.Risk.Reasons[len(sess.Risk.Reasons)-1] != doorman.ReasonDeviceProofFailed {
		t.Errorf("session after a failed proof: revoked %v (%q), risk %+v", sess.RevokedAt, sess.RevokeReason, sess.Risk)
	}
	if got := b.whoami(); got != http.StatusUnauthorized {
		t.Errorf("whoami of the ended session: %d, want 401", got)
	}
	var cfg sessionConfig
	a = b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid)
	a.decode(t, &cfg)
	if a.status != http.StatusOK || cfg.Continue == nil || *cfg.Continue {
		t.Errorf("refresh of the ended session: %d %s, want {\"continue\": false}", a.status, a.body)
	}
}

// TestBindingSignOut: after sign-out the refresh ends the binding.
func TestBindingSignOut(t *testing.T) {
	e := newTLSEnv(t)
	e.user("ana@example.com", doorman.RoleMember)
	b := e.dbscBrowser()
	sid := b.register(b.signIn("ana@example.com")).SessionIdentifier
	b.do("POST", "/api/v1/logout", nil, "Origin", e.srv.URL)
	if got := b.whoami(); got != http.StatusUnauthorized {
		t.Fatalf("whoami after sign-out: %d", got)
	}
	a := b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid)
	if a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != `{"continue":false}` {
		t.Errorf("refresh after sign-out: %d %s, want {\"continue\":false}", a.status, a.body)
	}
	// An unknown or malformed session id ends nothing else and says the same.
	a = b.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", "nonsense")
	if a.status != http.StatusOK || strings.TrimSpace(string(a.body)) != `{"continue":false}` {
		t.Errorf("refresh of nonsense: %d %s", a.status, a.body)
	}
}

// TestBindingNotUsed: a browser without DBSC signs in and works as before,
// Bearer included; a stranger cannot register a key for its session later,
// and over plain HTTP no registration is offered at all.
func TestBindingNotUsed(t *testing.T) {
	e := newTLSEnv(t)
	e.user("ana@example.com", doorman.RoleMember)
	b := e.dbscBrowser()
	a := b.signIn("ana@example.com")
	path, challenge := registration(t, a.header) // offered, and ignored
	if got := b.whoami(); got != http.StatusOK {
		t.Fatalf("whoami of an unbound session: %d", got)
	}
	token := b.cookie("__Host-doorman_session")
	if got := e.dbscBrowser().do("GET", "/api/v1/whoami", nil, "Authorization", "Bearer "+token).status; got != http.StatusOK {
		t.Errorf("Bearer of an unbound session: %d, want 200", got)
	}
	// The registration expires unused: a thief who comes later, even with
	// the cookie and the challenge, binds nothing.
	e.clock.Advance(doorman.BindingChallengeTTL + time.Second)
	thief := e.dbscBrowser()
	proof, _ := thief.key.SignProof(challenge, "", true)
	thief.do("POST", path, nil, "Secure-Session-Response", proof, "Cookie", "__Host-doorman_session="+token).
		wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	// A made-up challenge neither.
	forged, _ := thief.key.SignProof(strings.SplitN(challenge, ".", 2)[0]+".forged", "", true)
	thief.do("POST", path, nil, "Secure-Session-Response", forged).wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	thief.do("POST", path, nil, "Secure-Session-Response", "junk").wantError(t, http.StatusBadRequest, doorman.EINVALID)
	if got := b.whoami(); got != http.StatusOK {
		t.Errorf("whoami after the failed registrations: %d", got)
	}
	if got := e.page(b.c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK).texts("span.badge-bound"); len(got) != 0 {
		t.Errorf("an unbound session shows %q", got)
	}

	plain := newEnv(t)
	plain.user("bo@example.com", doorman.RoleMember)
	c := plain.browser()
	form := plain.page(c, "GET", "/login", nil).one("form[action=/login]")
	v := formValues(form)
	v.Set("email", "bo@example.com")
	v.Set("password", password)
	p := plain.page(c, "POST", "/login", v)
	plain.collectToken(p.header)
	if p.status != http.StatusSeeOther || p.header.Get("Secure-Session-Registration") != "" {
		t.Errorf("sign-in over HTTP: %d, Secure-Session-Registration %q, want none",
			p.status, p.header.Get("Secure-Session-Registration"))
	}
}

// BenchmarkBindingRefresh is one whole refresh of a bound session as the
// server sees it, in process on SQLite: the request that gets a challenge
// (403) and the one with the proof that gets the bound cookie (200). The
// browser's signature is made with the timer stopped: it is the device's
// cost, not Doorman's.
func BenchmarkBindingRefresh(b *testing.B) {
	svc, token := benchSetup(b)
	ctx := context.Background()
	p, err := svc.Authenticate(ctx, token, app.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	key, err := jws.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	c, err := svc.OfferBinding(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	proof, _ := key.SignProof(c, "", true)
	if _, _, err := svc.RegisterBinding(ctx, proof, token, app.Meta{}); err != nil {
		b.Fatal(err)
	}
	sid := p.Session.ID
	h := doormanhttp.NewServer(svc, doormanhttp.Config{
		BaseURL: &url.URL{Scheme: "https", Host: "doorman.test"},
		Logger:  slog.New(slog.DiscardHandler),
	}).Handler()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "https://doorman.test/dbsc/refresh", nil)
		req.Header.Set("Sec-Secure-Session-Id", sid)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		v := w.Header().Get("Secure-Session-Challenge")
		if w.Code != http.StatusForbidden || v == "" {
			b.Fatalf("refresh without proof: %d %s", w.Code, w.Body)
		}
		challenge, _, _ := strings.Cut(strings.TrimPrefix(v, `"`), `"`)
		b.StopTimer()
		proof, err := key.SignProof(challenge, "", false)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		req = httptest.NewRequest("POST", "https://doorman.test/dbsc/refresh", nil)
		req.Header.Set("Sec-Secure-Session-Id", sid)
		req.Header.Set("Secure-Session-Response", proof)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || boundCookieLine(w.Header()) == "" {
			b.Fatalf("refresh with proof: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkBoundWhoami is BenchmarkWhoami's request made by a bound
// session with its bound cookie: the cost of the check on every request.
func BenchmarkBoundWhoami(b *testing.B) {
	svc, token := benchSetup(b)
	ctx := context.Background()
	p, err := svc.Authenticate(ctx, token, app.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	key, _ := jws.NewKey()
	c, _ := svc.OfferBinding(ctx, p)
	proof, _ := key.SignProof(c, "", true)
	_, bc, err := svc.RegisterBinding(ctx, proof, token, app.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	h := doormanhttp.NewServer(svc, doormanhttp.Config{
		BaseURL: &url.URL{Scheme: "https", Host: "doorman.test"},
		Logger:  slog.New(slog.DiscardHandler),
	}).Handler()
	req := httptest.NewRequest("GET", "https://doorman.test/api/v1/whoami", nil)
	req.Header.Set("Cookie", "__Host-doorman_session="+token+"; __Host-doorman_bound="+bc.Value)
	benchWhoami(b, h, req)
}

// TestBindingWrongKeySettingOff: with the account's "sign out a session
// whose device proof fails" turned off, a failed proof is refused, audited
// and marks the session high risk, but the session goes on: its own browser
// still refreshes with its key.
func TestBindingWrongKeySettingOff(t *testing.T) {
	e := newTLSEnv(t)
	u := e.user("ana@example.com", doorman.RoleAdmin)
	ctx := context.Background()
	acct, err := e.store.FindAccountByID(ctx, u.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	set := acct.Settings
	set.EndSessionOnFailedProof = false
	if _, err := e.store.UpdateAccountSettings(ctx, acct.ID, set, e.clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	b := e.dbscBrowser()
	sid := b.register(b.signIn("ana@example.com")).SessionIdentifier

	thief := e.dbscBrowser()
	c := thief.challenge(sid)
	thief.do("POST", "/dbsc/refresh", nil, "Sec-Secure-Session-Id", sid, "Secure-Session-Response", thief.prove(c)).
		wantError(t, http.StatusForbidden, doorman.EFORBIDDEN)
	n, ev := countAction(e.auditActions(u), doorman.ActionDeviceProofFailed)
	if n != 1 || ev.Target != sid || ev.Details != "session_ended=false" {
		t.Fatalf("device_proof_failed events: %d, last %+v", n, ev)
	}
	sess, err := e.store.FindSessionByID(ctx, "", sid)
	if err != nil {
		t.Fatal(err)
	}
	if sess.RevokedAt != nil || sess.Risk.Level != doorman.RiskHigh {
		t.Fatalf("session after a failed proof with the setting off: revoked %v, risk %+v", sess.RevokedAt, sess.Risk)
	}
	if got := b.whoami(); got != http.StatusOK {
		t.Errorf("whoami of the kept session: %d, want 200", got)
	}
}
