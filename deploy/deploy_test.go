package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/argon2id"
	doormanhttp "github.com/doorman/doorman/http"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/jws"
)

// The addresses the committed configurations use, which the tests replace
// with their own: Doorman, the app, and the proxy's port.
const (
	doormanAddr = "127.0.0.1:8080"
	appAddr     = "127.0.0.1:3000"
)

const (
	email    = "ann@acme.test"
	password = "s3cret-password"
)

// hasher is cheap: passwords are not what these tests are about.
var hasher = argon2id.Hasher{Params: argon2id.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

// The identity headers Doorman answers a signed-in check with.
var identityHeaders = []string{
	"X-Doorman-User-Id", "X-Doorman-User-Email", "X-Doorman-User-Role",
	"X-Doorman-Account-Id", "X-Doorman-Session-Id", "X-Doorman-Assertion",
}

// layout is one recipe: how Doorman is started for it and where the
// browser finds the sign-in page and the apps.
type layout struct {
	base          string   // Doorman's --base-url
	cookieDomain  string   // --cookie-domain
	redirectHosts string   // --allowed-redirect-hosts
	apps          []string // the hosts of the apps behind the proxy
}

var (
	sameHost = layout{base: "http://app.example.test", redirectHosts: "app.example.test",
		apps: []string{"app.example.test"}}
	twoHosts = layout{base: "http://auth.example.test", cookieDomain: "example.test", redirectHosts: "*.example.test",
		apps: []string{"app.example.test", "docs.example.test"}}
)

func TestNginxSameHost(t *testing.T) {
	bin := binary(t, "nginx", "/usr/sbin/nginx")
	d := startDoorman(t, sameHost)
	up := startApp(t)
	proxy := startNginx(t, bin, "nginx/same-host.conf", d.addr, up)
	checkRecipe(t, d, sameHost, proxy)
}

func TestNginxTwoHosts(t *testing.T) {
	bin := binary(t, "nginx", "/usr/sbin/nginx")
	d := startDoorman(t, twoHosts)
	up := startApp(t)
	proxy := startNginx(t, bin, "nginx/two-hosts.conf", d.addr, up)
	checkRecipe(t, d, twoHosts, proxy)
}

func TestCaddy(t *testing.T) {
	bin := binary(t, "caddy", "/usr/bin/caddy")
	d := startDoorman(t, twoHosts)
	up := startApp(t)
	proxy := startCaddy(t, bin, d.addr, up)
	checkRecipe(t, d, twoHosts, proxy)
}

// checkRecipe walks a browser and an API client through the proxy at
// proxy: signed out → sign-in → back on the app page signed in, with
// Doorman's identity and none the client made up → sign-out ends access on
// every app host.
func checkRecipe(t *testing.T, d *doormanNode, l layout, proxy string) {
	b := newBrowser(t, proxy)
	base, _ := url.Parse(l.base)
	page := "http://" + l.apps[0] + "/reports/q3?year=2026&team=a%20b"

	// Signed out, a page navigation goes to sign-in with next = the page;
	// an API call and a form post get 401.
	resp := b.get(t, page, "Accept", "text/html,application/xhtml+xml")
	loc := wantRedirect(t, resp, "signed-out page")
	signIn, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	if signIn.Host != base.Host || signIn.Path != "/login" || signIn.Query().Get("next") != page {
		t.Fatalf("signed-out page: redirected to %q, want %s/login?next=%s", loc, l.base, url.QueryEscape(page))
	}
	for _, h := range l.apps {
		// Claiming an identity does not make one.
		resp := b.get(t, "http://"+h+"/api/reports", "Accept", "application/json",
			"X-Doorman-User-Id", d.user.ID, "X-Doorman-User-Role", "admin", "X-Forwarded-For", "6.6.6.6")
		wantStatus(t, resp, http.StatusUnauthorized, "signed-out API call on "+h)
		resp = b.do(t, "POST", "http://"+h+"/reports", strings.NewReader("a=1"),
			"Accept", "text/html", "Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, resp, http.StatusUnauthorized, "signed-out form post on "+h)
	}

	// The sign-in form, through the proxy, sends the browser back.
	resp = b.get(t, loc, "Accept", "text/html")
	csrf := formToken(t, resp)
	form := url.Values{"email": {email}, "password": {password}, "csrf": {csrf}, "next": {page}}
	resp = b.do(t, "POST", l.base+"/login", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html", "X-Forwarded-For", "6.6.6.6")
	if got := wantRedirect(t, resp, "sign-in"); got != page {
		t.Fatalf("after sign-in: redirected to %q, want %q", got, page)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "doorman_session") {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("sign-in set no session cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	if session.Domain != l.cookieDomain {
		t.Errorf("session cookie Domain=%q, want %q", session.Domain, l.cookieDomain)
	}

	// Doorman, which trusts the proxy's X-Forwarded-For, saw the
	// connection's address, not the one the client claimed.
	resp = b.get(t, l.base+"/api/v1/sessions", "Accept", "application/json", "X-Forwarded-For", "6.6.6.6")
	var list struct {
		Sessions []struct {
			IP string `json:"ip"`
		} `json:"sessions"`
	}
	decode(t, resp, &list, "sessions through the proxy")
	if len(list.Sessions) != 1 || list.Sessions[0].IP != "127.0.0.1" {
		t.Errorf("Doorman's session list through the proxy: %+v, want one session from 127.0.0.1", list.Sessions)
	}

	// Back on the page, and on every app host, with Doorman's identity
	// whatever the client claims.
	for _, h := range l.apps {
		u := strings.Replace(page, l.apps[0], h, 1)
		resp := b.get(t, u, "Accept", "text/html",
			"X-Doorman-User-Role", "admin", "X-Doorman-User-Id", "usr_evil",
			"X-Doorman-Assertion", "forged", "X-Forwarded-For", "6.6.6.6")
		got := echoed(t, resp, "signed-in page on "+h)
		if got.URI != "/reports/q3?year=2026&team=a%20b" {
			t.Errorf("%s: the app was asked for %q", h, got.URI)
		}
		want := map[string]string{
			"X-Doorman-User-Id":    d.user.ID,
			"X-Doorman-User-Email": email,
			"X-Doorman-User-Role":  "member",
			"X-Doorman-Account-Id": d.user.AccountID,
			"X-Forwarded-For":      "127.0.0.1",
		}
		for name, v := range want {
			if vs := got.Header.Values(name); len(vs) != 1 || vs[0] != v {
				t.Errorf("%s: the app received %s: %q, want %q", h, name, vs, v)
			}
		}
		for _, name := range identityHeaders {
			if vs := got.Header.Values(name); len(vs) != 1 || vs[0] == "" {
				t.Errorf("%s: the app received %s: %q, want Doorman's one value", h, name, vs)
			}
		}
		claims := d.verifyAssertion(t, got.Header.Get("X-Doorman-Assertion"))
		if claims.Subject != d.user.ID || claims.Role != "member" || claims.Audience != h ||
			claims.SessionID != got.Header.Get("X-Doorman-Session-Id") || claims.Issuer != l.base {
			t.Errorf("%s: assertion claims %+v, want sub %s, role member, aud %s, iss %s", h, claims, d.user.ID, h, l.base)
		}
		// An API call with the session cookie is let through too.
		resp = b.get(t, "http://"+h+"/api/reports", "Accept", "application/json")
		echoed(t, resp, "signed-in API call on "+h)
	}

	// /logout goes to Doorman, not to the app: without the form's token it
	// is refused there, and the session stays.
	resp = b.do(t, "POST", "http://"+l.apps[0]+"/logout", strings.NewReader(""),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
	resp.Body.Close()
	if resp.Header.Get("X-Upstream") != "" {
		t.Errorf("POST /logout reached the app, want Doorman")
	}

	// Sign-out on an app's host ends access on every app host, for the
	// browser and for a copy of its old cookie.
	old := b.cookies(t, l.apps)
	resp = b.do(t, "POST", "http://"+l.apps[0]+"/api/v1/logout", nil, "Accept", "application/json")
	wantStatus(t, resp, http.StatusNoContent, "sign-out through the proxy")
	replay := newBrowser(t, proxy)
	for _, h := range l.apps {
		replay.jar.SetCookies(&url.URL{Scheme: "http", Host: h}, old)
	}
	for _, c := range []*browser{b, replay} {
		for _, h := range l.apps {
			resp := c.get(t, "http://"+h+"/reports", "Accept", "text/html")
			if loc := wantRedirect(t, resp, "page after sign-out on "+h); !strings.HasPrefix(loc, l.base+"/login?") {
				t.Errorf("page after sign-out on %s: redirected to %q, want the sign-in page", h, loc)
			}
			resp = c.get(t, "http://"+h+"/api/reports", "Accept", "application/json")
			wantStatus(t, resp, http.StatusUnauthorized, "API call after sign-out on "+h)
		}
	}
}

// doormanNode is a Doorman server on a real listener, as `doorman serve`
// builds it for the layout.
type doormanNode struct {
	addr string
	user *doorman.User
	jwks string // the URL of its key set
}

func startDoorman(t *testing.T, l layout) *doormanNode {
	t.Helper()
	svc := app.NewService(testdb.SQLite(t), hasher)
	svc.Log = slog.New(slog.DiscardHandler)
	user, err := svc.CreateUser(t.Context(), "Acme", email, "Ann", doorman.RoleMember, password)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(l.base)
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := doormanhttp.ParseTrustedProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := doormanhttp.ParseRedirectHosts(l.redirectHosts)
	if err != nil {
		t.Fatal(err)
	}
	if l.cookieDomain != "" {
		if err := doormanhttp.CheckCookieDomain(base, l.cookieDomain); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(doormanhttp.NewServer(svc, doormanhttp.Config{BaseURL: base, TrustedProxies: proxies,
		CookieDomain: l.cookieDomain, AllowedRedirectHosts: hosts, Logger: svc.Log}).Handler())
	t.Cleanup(srv.Close)
	return &doormanNode{addr: srv.Listener.Addr().String(), user: user, jwks: srv.URL + "/.well-known/jwks.json"}
}

// verifyAssertion checks token against Doorman's key set, as an app does.
func (d *doormanNode) verifyAssertion(t *testing.T, token string) *jws.Claims {
	t.Helper()
	resp, err := http.Get(d.jwks)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jws.ParseJWKS(body)
	if err != nil {
		t.Fatalf("key set: %v", err)
	}
	claims, err := jws.Verify(token, keys, time.Now())
	if err != nil {
		t.Fatalf("the assertion the app received does not verify: %v", err)
	}
	return claims
}

// echo is what the app received, as it answers it.
type echo struct {
	Host   string      `json:"host"`
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
}

// startApp starts the app behind the proxy: it answers every request with
// what it received, and marks its answers with X-Upstream.
func startApp(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "app")
		json.NewEncoder(w).Encode(echo{Host: r.Host, URI: r.RequestURI, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// binary returns the path of the proxy's program, and skips the test when
// it is not installed, unless CI is set: CI must not pass by skipping.
func binary(t *testing.T, name, debianPath string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(debianPath); err == nil {
		return debianPath
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (apt-get install %s)", name, name)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, name)
	return ""
}

// render returns the committed configuration file with the addresses
// replaced, failing when one is not there: a recipe whose addresses moved
// would otherwise be tested against something else.
func render(t *testing.T, file string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("%s does not contain %q", file, replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	return s
}

// freePort returns a port nothing listens on, for a proxy that must be
// told its port in its configuration.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func startNginx(t *testing.T, bin, file, doorman, app string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	conf := render(t, file,
		doormanAddr, doorman,
		appAddr, app,
		"listen 80;", "listen 127.0.0.1:"+port+";",
		// The package's temporary folders are root's; these are the test's.
		"http {", "http {\n    access_log off;\n    client_body_temp_path tmp/body;\n    proxy_temp_path tmp/proxy;\n"+
			"    fastcgi_temp_path tmp/fastcgi;\n    uwsgi_temp_path tmp/uwsgi;\n    scgi_temp_path tmp/scgi;\n")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	global := "daemon off; master_process on; pid " + filepath.Join(dir, "nginx.pid") + "; error_log stderr;"
	if os.Geteuid() == 0 {
		// The workers would otherwise run as nobody, who cannot enter the
		// test's temporary folder.
		global += " user root;"
	}
	exited := run(t, bin, nil, "-p", dir+"/", "-e", "stderr", "-c", path, "-g", global)
	addr := "127.0.0.1:" + port
	waitListening(t, addr, exited)
	return addr
}

func startCaddy(t *testing.T, bin, doorman, app string) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	conf := render(t, "caddy/Caddyfile",
		doormanAddr, doorman,
		appAddr, app,
		"http_port 80", "http_port "+port)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	exited := run(t, bin, env, "run", "--config", path, "--adapter", "caddyfile")
	addr := "127.0.0.1:" + port
	waitListening(t, addr, exited)
	return addr
}

// run starts a proxy in a process group of its own, stopped (with its
// workers) when the test ends; its output is shown if the test failed.
// The channel it returns is closed if the process exits before that.
func run(t *testing.T, bin string, env []string, args ...string) <-chan struct{} {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(exited)
		done <- err
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), out.String())
		}
	})
	t.Cleanup(func() {
		// A process that exited on its own (a bad configuration) is the
		// reason the test failed: say so.
		select {
		case err := <-done:
			done <- err
			t.Errorf("%s exited early: %v", filepath.Base(bin), err)
		default:
		}
	})
	return exited
}

// waitListening waits until something accepts connections on addr, for
// at most a guard that only fails a proxy that never starts.
func waitListening(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("the proxy exited before it listened on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for the process to listen, not waiting for time to pass
	}
}

// browser is an HTTP client whose every *.example.test host is the proxy,
// with a cookie jar; it follows no redirect by itself.
type browser struct {
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T, proxy string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || !strings.HasSuffix(host, ".example.test") {
			return nil, fmt.Errorf("no such host in this test: %s", addr)
		}
		return dialer.DialContext(ctx, network, proxy)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{jar: jar, c: &http.Client{Jar: jar, Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(t *testing.T, u string, hdr ...string) *http.Response {
	return b.do(t, "GET", u, nil, hdr...)
}

func (b *browser) do(t *testing.T, method, u string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp
}

// cookies returns the cookies the browser sends to the hosts.
func (b *browser) cookies(t *testing.T, hosts []string) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, h := range hosts {
		out = append(out, b.jar.Cookies(&url.URL{Scheme: "http", Host: h})...)
	}
	if len(out) == 0 {
		t.Fatal("the browser has no cookie for the apps")
	}
	return out
}

func wantStatus(t *testing.T, resp *http.Response, status int, what string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("%s: %d, want %d\n%s", what, resp.StatusCode, status, body)
	}
	if resp.Header.Get("X-Upstream") != "" {
		t.Errorf("%s: answered by the app, want the proxy or Doorman", what)
	}
}

// wantRedirect returns the Location of a 302 or 303 answer.
func wantRedirect(t *testing.T, resp *http.Response, what string) string {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: %d, want a redirect\n%s", what, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// echoed returns what the app received, failing unless the app answered.
func echoed(t *testing.T, resp *http.Response, what string) echo {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Upstream") != "app" {
		t.Fatalf("%s: %d, want the app's answer\n%s", what, resp.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return e
}

// decode unmarshals a 200 answer's JSON body into v.
func decode(t *testing.T, resp *http.Response, v any, what string) {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d\n%s", what, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, body)
	}
}

// formToken returns the csrf field of the sign-in page's form.
func formToken(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "input" {
			continue
		}
		var name, value string
		for _, a := range n.Attr {
			switch a.Key {
			case "name":
				name = a.Val
			case "value":
				value = a.Val
			}
		}
		if name == "csrf" && value != "" {
			return value
		}
	}
	t.Fatal("the sign-in page has no csrf field")
	return ""
}

// syncBuffer is a bytes.Buffer that a process's output and the test may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
