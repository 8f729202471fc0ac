package http_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/jws"
)

// fetchJWKS gets the key set as an app would, over HTTP.
func (e *env) fetchJWKS(c *http.Client) []jws.PublicKey {
	e.t.Helper()
	a := e.do(c, "GET", "/.well-known/jwks.json", nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("jwks: %d %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("jwks Content-Type %q", ct)
	}
	if cc := a.header.Get("Cache-Control"); cc != "public, max-age=300" {
		e.t.Errorf("jwks Cache-Control %q, want a few minutes of caching", cc)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(a.body, &raw); err != nil || len(raw.Keys) == 0 {
		e.t.Fatalf("jwks body %s: %v", a.body, err)
	}
	for _, k := range raw.Keys {
		if len(k) != 7 || k["kty"] != "EC" || k["crv"] != "P-256" || k["use"] != "sig" || k["alg"] != "ES256" || k["kid"] == "" {
			e.t.Errorf("JWK %v, want exactly kty EC, crv P-256, x, y, kid, use sig, alg ES256", k)
		}
	}
	keys, err := jws.ParseJWKS(a.body)
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

func TestVerifySendsIdentityAndAssertion(t *testing.T) {
	e, c := domainEnv(t, withTrustedProxies("127.0.0.0/8"))
	u := e.user("ana@acme.example", doorman.RoleAdmin)
	e.signIn(c, "ana@acme.example", false, "")
	var who struct {
		Session session `json:"session"`
		User    user    `json:"user"`
	}
	e.do(c, "GET", "/api/v1/whoami", nil).decode(t, &who)

	for _, path := range []string{"/auth/verify", "/auth/forward"} {
		a := e.do(c, "GET", path, nil, navigation...)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, a.status, a.body)
		}
		for h, want := range map[string]string{
			"X-Doorman-User-Id":    u.ID,
			"X-Doorman-User-Email": "ana@acme.example",
			"X-Doorman-User-Role":  "admin",
			"X-Doorman-Account-Id": u.AccountID,
			"X-Doorman-Session-Id": who.Session.ID,
		} {
			if got := a.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		token := a.header.Get("X-Doorman-Assertion")
		header, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
		var hdr map[string]string
		if err := json.Unmarshal(header, &hdr); err != nil || len(hdr) != 3 || hdr["alg"] != "ES256" || hdr["typ"] != "JWT" {
			t.Errorf("%s: assertion header %s", path, header)
		}
		claims, err := jws.Verify(token, e.fetchJWKS(c), e.clock.Now())
		if err != nil {
			t.Fatalf("%s: the assertion does not verify against the JWKS: %v", path, err)
		}
		now := e.clock.Now().Unix()
		want := jws.Claims{Issuer: e.srv.URL, Subject: u.ID, Email: "ana@acme.example", Role: "admin", Account: u.AccountID,
			SessionID: who.Session.ID, Audience: "docs.app.test", IssuedAt: now, ExpiresAt: now + 60}
		if *claims != want {
			t.Errorf("%s: claims\n%+v, want\n%+v", path, *claims, want)
		}
		if hdr["kid"] == "" {
			t.Errorf("%s: no kid", path)
		}
	}

	// Without X-Forwarded-Host there is no audience.
	a := e.do(c, "GET", "/auth/verify", nil)
	claims, err := jws.Verify(a.header.Get("X-Doorman-Assertion"), e.fetchJWKS(c), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims.Audience != "" {
		t.Errorf("without a forwarded host: aud %q, want none", claims.Audience)
	}
}

func TestAssertionAudienceOnlyFromTrustedProxies(t *testing.T) {
	e := newEnv(t, withTrustedProxies("10.0.0.0/8"))
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	a := e.do(nil, "GET", "/auth/verify", nil, append(bearer(v.Token), "X-Forwarded-Host", "evil.test")...)
	claims, err := jws.Verify(a.header.Get("X-Doorman-Assertion"), e.fetchJWKS(nil), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims.Audience != "" || claims.Issuer != e.srv.URL {
		t.Errorf("from an untrusted peer: aud %q iss %q; want no audience, iss %q", claims.Audience, claims.Issuer, e.srv.URL)
	}
	// 401 carries no assertion.
	a = e.do(nil, "GET", "/auth/verify", nil)
	if a.status != http.StatusUnauthorized || a.header.Get("X-Doorman-Assertion") != "" {
		t.Errorf("signed out: %d with assertion %q", a.status, a.header.Get("X-Doorman-Assertion"))
	}
}

func TestAssertionIssuerWithoutTrailingSlash(t *testing.T) {
	e := newEnv(t, withBaseURL("https://auth.acme.example/"))
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	a := e.do(nil, "GET", "/auth/verify", nil, bearer(v.Token)...)
	claims, err := jws.Verify(a.header.Get("X-Doorman-Assertion"), e.fetchJWKS(nil), e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != "https://auth.acme.example" {
		t.Errorf("iss %q, want https://auth.acme.example", claims.Issuer)
	}
}

// TestAssertionKeysUnavailable: a store that cannot give the signing key
// makes the check 503, never a 200 without its assertion.
func TestAssertionKeysUnavailable(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	e.store.failKeys.Store(true)
	for _, path := range []string{"/auth/verify", "/auth/forward"} {
		a := e.do(nil, "GET", path, nil, bearer(v.Token)...)
		a.wantError(t, http.StatusServiceUnavailable, "unavailable")
		if a.header.Get("X-Doorman-User-Id") != "" {
			t.Errorf("%s: 503 carries identity headers", path)
		}
	}
	e.do(nil, "GET", "/.well-known/jwks.json", nil).wantError(t, http.StatusServiceUnavailable, "unavailable")
	e.store.failKeys.Store(false)
	if a := e.do(nil, "GET", "/auth/verify", nil, bearer(v.Token)...); a.status != http.StatusOK {
		t.Errorf("after the outage: %d", a.status)
	}
}
