package http_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman"
	doormanhttp "github.com/doorman/doorman/http"
)

func TestAllowedRedirect(t *testing.T) {
	hosts, err := doormanhttp.ParseRedirectHosts(" app.example.com, *.example.com ,api.example.org:8443")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want  string
		httpsOnly bool
	}{
		{in: "https://app.example.com/x?y=1", want: "https://app.example.com/x?y=1"},
		{in: "http://app.example.com/x", want: "http://app.example.com/x"},
		{in: "http://app.example.com/x", want: "", httpsOnly: true},
		{in: "https://app.example.com/x#frag", want: "https://app.example.com/x"},
		{in: "HTTPS://APP.Example.COM/x", want: "https://app.example.com/x"},
		{in: "https://app.example.com", want: "https://app.example.com"},
		{in: "https://docs.example.com/a", want: "https://docs.example.com/a"},
		{in: "https://a.b.example.com/a", want: "https://a.b.example.com/a"},
		{in: "https://app.example.com:443/x", want: "https://app.example.com/x"},
		{in: "http://app.example.com:80/x", want: "http://app.example.com/x"},
		{in: "https://api.example.org:8443/x", want: "https://api.example.org:8443/x"},
		// Ports: a listed host without a port allows the default port only.
		{in: "https://app.example.com:8443/x"},
		{in: "https://api.example.org/x"},
		{in: "https://app.example.com:/x"},
		{in: "https://app.example.com:0443/x"},
		// Hosts that only look like the allowed ones.
		{in: "https://example.com/"},
		{in: "https://evilexample.com/"},
		{in: "https://example.com.evil.test/"},
		{in: "https://app.example.com.evil.test/"},
		{in: "https://evil.test/"},
		{in: "https://app.example.com./x"},
		{in: "https://-app.example.com/x"},
		{in: "https://[::1]/x"},
		{in: "https://127.0.0.1/x"},
		// Other schemes and scheme-relative URLs.
		{in: "javascript:alert(1)"},
		{in: "javascript://app.example.com/%0Aalert(1)"},
		{in: "data:text/html,<script>alert(1)</script>"},
		{in: "ftp://app.example.com/x"},
		{in: "//evil.test/x"},
		{in: "//app.example.com/x"},
		{in: "app.example.com/x"},
		{in: "https:app.example.com/x"},
		{in: "https:/app.example.com/x"},
		// Userinfo.
		{in: "http://app.example.com@evil.test/"},
		{in: "https://user:pw@app.example.com/"},
		{in: "https://app.example.com%40evil.test/"},
		// Backslashes.
		{in: `http:\\evil.test`},
		{in: `https://app.example.com\@evil.test/`},
		{in: `https:\\app.example.com/`},
		// Encoded forms.
		{in: "%2F%2Fevil.test"},
		{in: "https%3A%2F%2Fapp.example.com%2F"},
		{in: "https://app.example.com%2F@evil.test/"},
		{in: "https://evil.test%2F.example.com/"},
		{in: "https://evil.test%5C.example.com/"},
		{in: "https://app%2Eexample.com/"},
		// Control characters and white space.
		{in: "https://app.example.com/x\r\nSet-Cookie: a=b"},
		{in: "\thttps://app.example.com/"},
		{in: " https://app.example.com/"},
		{in: "https://app.example.com/ x"},
		{in: "https://app.exa\tmple.com/"},
		{in: "https://app.example.com/\x00"},
		{in: "https://app.exämple.com/"},
		{in: ""},
		{in: "https://" + strings.Repeat("a", 3000) + ".example.com/"},
	} {
		if got := doormanhttp.AllowedRedirect(tc.in, hosts, tc.httpsOnly); got != tc.want {
			t.Errorf("allowedRedirect(%q, httpsOnly=%v) = %q, want %q", tc.in, tc.httpsOnly, got, tc.want)
		}
	}
	if got := doormanhttp.AllowedRedirect("https://app.example.com/", nil, false); got != "" {
		t.Errorf("with no allowed hosts: %q, want none", got)
	}
}

func TestParseRedirectHosts(t *testing.T) {
	for _, bad := range []string{"*", "*.", "a.*.com", "evil.test/x", "user@evil.test", "a..b", "a.b:0x1", "ex ample.com", "*example.com"} {
		if _, err := doormanhttp.ParseRedirectHosts(bad); err == nil {
			t.Errorf("ParseRedirectHosts(%q) accepted it", bad)
		}
	}
	got, err := doormanhttp.ParseRedirectHosts("App.Example.com,,*.example.com")
	if err != nil || len(got) != 2 || got[0] != "app.example.com" || got[1] != "*.example.com" {
		t.Errorf("ParseRedirectHosts = %q, %v", got, err)
	}
}

func TestCheckCookieDomain(t *testing.T) {
	for _, tc := range []struct {
		base, domain string
		ok           bool
	}{
		{"https://auth.example.com", "example.com", true},
		{"https://example.com", "example.com", true},
		{"https://a.b.example.com:8443", "Example.com", true},
		{"https://auth.example.com", "other.com", false},
		{"https://authexample.com", "example.com", false},
		{"https://example.com.evil.test", "example.com", false},
		{"https://auth.example.com", "com", false},
		{"https://auth.example.com", ".example.com", false},
		{"http://127.0.0.1:8080", "0.1", false},
		{"http://127.0.0.1:8080", "0.0.1", false},
	} {
		u, _ := url.Parse(tc.base)
		if err := doormanhttp.CheckCookieDomain(u, tc.domain); (err == nil) != tc.ok {
			t.Errorf("CheckCookieDomain(%s, %s) = %v, want ok %v", tc.base, tc.domain, err, tc.ok)
		}
	}
}

// withBaseHost serves the test server as host (on its own port), the way a
// DNS name in front of it would.
func withBaseHost(host string) envOption {
	return func(c *doormanhttp.Config) {
		c.BaseURL = &url.URL{Scheme: "http", Host: host + ":" + c.BaseURL.Port()}
	}
}

func withCookieDomain(d string) envOption {
	return func(c *doormanhttp.Config) { c.CookieDomain = d }
}

func withRedirectHosts(s string) envOption {
	return func(c *doormanhttp.Config) {
		h, err := doormanhttp.ParseRedirectHosts(s)
		if err != nil {
			panic(err)
		}
		c.AllowedRedirectHosts = h
	}
}

// domainEnv is a server reached as http://auth.app.test:PORT, with a cookie
// domain and allowed redirect hosts, and a browser whose every connection
// goes to it whatever name it asks for, so that its cookie jar sees the
// names a browser would.
func domainEnv(t *testing.T, opts ...envOption) (*env, *http.Client) {
	t.Helper()
	opts = append([]envOption{withBaseHost("auth.app.test"), withCookieDomain("app.test"),
		withRedirectHosts("*.app.test")}, opts...)
	e := newEnv(t, opts...)
	addr := e.srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	e.srv.URL = "http://auth.app.test:" + port
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	return e, c
}

func TestCookieDomainAndRedirectHosts(t *testing.T) {
	e, c := domainEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)

	// The form already sets the device cookie for the whole domain.
	form := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK)
	if d := cookieNamed(t, form.header, "doorman_device"); d.Domain != "app.test" {
		t.Errorf("device cookie Domain %q, want app.test", d.Domain)
	}

	loc := e.signIn(c, "ana@acme.example", false, "http://docs.app.test/x?y=1")
	if loc != "http://docs.app.test/x?y=1" {
		t.Errorf("after sign-in: Location %q, want the allowed app page", loc)
	}

	// The jar now sends the session cookie to every app host of the domain.
	u, _ := url.Parse("http://docs.app.test/")
	var got *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "doorman_session" {
			got = ck
		}
	}
	if got == nil {
		t.Fatal("the session cookie does not reach docs.app.test")
	}

	// A signed-in browser sent to the sign-in page goes on at once, to an
	// allowed host only.
	for next, want := range map[string]string{
		"http://docs.app.test/x":          "http://docs.app.test/x",
		"http://evil.test/":               "/settings/security/sessions",
		"http://app.test.evil.test/":      "/settings/security/sessions",
		"http://docs.app.test@evil.test/": "/settings/security/sessions",
		"//evil.test/":                    "/settings/security/sessions",
		"/settings/security/sessions?a=1": "/settings/security/sessions?a=1",
	} {
		p := e.page(c, "GET", "/login?next="+url.QueryEscape(next), nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != want {
			t.Errorf("signed in, next %q: %d to %q, want 303 to %q", next, p.status, p.header.Get("Location"), want)
		}
	}

	// Signing out clears the cookie for the whole domain, not only this host.
	p := e.page(c, "GET", "/settings/security/sessions", nil).wantStatus(http.StatusOK)
	a := e.page(c, "POST", "/logout", formValues(p.one("form[action=/logout]")))
	cl := cookieNamed(t, a.header, "doorman_session")
	if cl.Domain != "app.test" || cl.MaxAge >= 0 {
		t.Errorf("sign-out cookie %+v, want Domain=app.test and Max-Age<0", cl)
	}
	if ck := c.Jar.Cookies(u); len(ck) != 1 || ck[0].Name != "doorman_device" {
		t.Errorf("after sign-out docs.app.test gets cookies %v, want the device cookie alone", ck)
	}
}

func TestSignInCookieDomainOnAnswer(t *testing.T) {
	e, c := domainEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	form := e.page(c, "GET", "/login", nil).wantStatus(http.StatusOK).one("form[action=/login]")
	v := formValues(form)
	v.Set("email", "ana@acme.example")
	v.Set("password", password)
	v.Set("next", "http://evil.test/")
	a := e.page(c, "POST", "/login", v)
	e.collectToken(a.header)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/settings/security/sessions" {
		t.Errorf("sign-in with next=http://evil.test/: %d to %q, want 303 to the default page", a.status, a.header.Get("Location"))
	}
	ck := cookieNamed(t, a.header, "doorman_session")
	if ck.Domain != "app.test" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie %+v, want Domain=app.test, HttpOnly, SameSite=Lax", ck)
	}

	// The API's sign-in sets the same cookie.
	api := e.do(c, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password})
	if ck := cookieNamed(t, api.header, "doorman_session"); ck.Domain != "app.test" {
		t.Errorf("API sign-in cookie Domain %q, want app.test", ck.Domain)
	}
}

func TestCookieDomainOverHTTPS(t *testing.T) {
	e := newEnv(t, withBaseURL("https://auth.app.test"), withCookieDomain("app.test"))
	e.user("ana@acme.example", doorman.RoleMember)
	a := e.do(nil, "POST", "/api/v1/login", map[string]any{"email": "ana@acme.example", "password": password})
	if a.status != http.StatusOK {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	ck := cookieNamed(t, a.header, "__Secure-doorman_session")
	if ck.Domain != "app.test" || !ck.Secure {
		t.Errorf("cookie %+v, want Secure with Domain=app.test", ck)
	}
	// The cookie of that name authenticates; the __Host- one does not exist here.
	if v := e.do(nil, "GET", "/api/v1/whoami", nil, "Cookie", "__Secure-doorman_session="+ck.Value); v.status != http.StatusOK {
		t.Errorf("whoami with the __Secure- cookie: %d %s", v.status, v.body)
	}
	if v := e.do(nil, "GET", "/api/v1/whoami", nil, "Cookie", "__Host-doorman_session="+ck.Value); v.status != http.StatusUnauthorized {
		t.Errorf("whoami with a __Host- cookie: %d, want 401", v.status)
	}
}

// TestTwoFactorKeepsAllowedNext: the absolute next survives the second
// step of sign-in, and a disallowed one is dropped there too.
func TestTwoFactorKeepsAllowedNext(t *testing.T) {
	e, c := domainEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	secret, _ := e.enable2FA("ana@acme.example")
	for next, want := range map[string]string{
		"http://docs.app.test/x": "http://docs.app.test/x",
		"http://evil.test/x":     "/settings/security/sessions",
	} {
		e.clock.Advance(30 * time.Second) // a new time step: each code is accepted once
		c.Jar, _ = cookiejar.New(nil)
		loc := e.signIn(c, "ana@acme.example", false, next)
		if !strings.HasPrefix(loc, "/login/two-factor") {
			t.Fatalf("after the password: %q, want the second step", loc)
		}
		step := e.page(c, "GET", loc, nil).wantStatus(http.StatusOK)
		v := formValues(step.one("form[action=/login/two-factor]"))
		v.Set("code", e.totpCode(secret))
		a := e.page(c, "POST", "/login/two-factor", v)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != want {
			t.Errorf("next %q after the second step: %d to %q, want 303 to %q", next, a.status, a.header.Get("Location"), want)
		}
	}
}
