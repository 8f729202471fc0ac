package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	doormanhttp "github.com/doorman/doorman/http"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman/client"
)

const issuer = "https://auth.example.com"

var b64 = base64.RawURLEncoding

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func segment(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// sign makes a compact JWS as Doorman does: ES256, R||S of 32 bytes each.
func sign(t testing.TB, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	input := segment(t, header) + "." + segment(t, claims)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

func claimsAt(iat time.Time) map[string]any {
	return map[string]any{"iss": issuer, "sub": "usr_1", "email": "ana@acme.test", "role": "admin",
		"account": "acc_1", "sid": "sess_1", "aud": "app.example.com", "iat": iat.Unix(), "exp": iat.Unix() + 60}
}

func jwk(kid string, k *ecdsa.PublicKey) map[string]any {
	b, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(b[1:33]), "y": b64.EncodeToString(b[33:]),
		"kid": kid, "use": "sig", "alg": "ES256"}
}

func jwksJSON(t testing.TB, keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyAssertion(t *testing.T) {
	key, other := newKey(t), newKey(t)
	keys, err := client.ParseJWKS(jwksJSON(t, jwk("k1", &key.PublicKey), jwk("k2", &other.PublicKey),
		map[string]any{"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB"})) // skipped, not an error
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	hdr := map[string]any{"alg": "ES256", "kid": "k1", "typ": "JWT"}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range m {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	valid := sign(t, key, hdr, claimsAt(now))
	parts := strings.Split(valid, ".")
	hs256 := func() string {
		in := segment(t, with(hdr, "alg", "HS256")) + "." + segment(t, claimsAt(now))
		m := hmac.New(sha256.New, []byte("k1"))
		m.Write([]byte(in))
		return in + "." + b64.EncodeToString(m.Sum(nil))
	}()

	want := client.Expect{Issuer: issuer, Audience: "app.example.com", Now: now.Add(30 * time.Second), Leeway: 5 * time.Second}
	tests := []struct {
		name  string
		token string
		want  client.Expect
		ok    bool
	}{
		{"valid", valid, want, true},
		{"valid, aud not checked", valid, client.Expect{Issuer: issuer, Now: now}, true},
		{"aud as a list", sign(t, key, hdr, with(claimsAt(now), "aud", []string{"x.test", "app.example.com"})), want, true},
		{"signed by the second key", sign(t, other, with(hdr, "kid", "k2"), claimsAt(now)), want, true},
		{"no typ", sign(t, key, with(hdr, "typ", nil), claimsAt(now)), want, true},
		{"within the leeway after exp", valid, client.Expect{Issuer: issuer, Now: now.Add(64 * time.Second), Leeway: 5 * time.Second}, true},

		{"unknown kid", sign(t, key, with(hdr, "kid", "k9"), claimsAt(now)), want, false},
		{"wrong key for the kid", sign(t, other, hdr, claimsAt(now)), want, false},
		{"tampered claims", parts[0] + "." + segment(t, with(claimsAt(now), "role", "owner")) + "." + parts[2], want, false},
		{"tampered header", segment(t, with(hdr, "kid", "k2")) + "." + parts[1] + "." + parts[2], want, false},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], want, false},
		{"padded signature", valid + "=", want, false},
		{"expired", valid, client.Expect{Issuer: issuer, Now: now.Add(66 * time.Second), Leeway: 5 * time.Second}, false},
		{"issued in the future", valid, client.Expect{Issuer: issuer, Now: now.Add(-time.Minute), Leeway: 5 * time.Second}, false},
		{"wrong iss", sign(t, key, hdr, with(claimsAt(now), "iss", "https://evil.example")), want, false},
		{"wrong aud", sign(t, key, hdr, with(claimsAt(now), "aud", "other.example.com")), want, false},
		{"no aud when one is expected", sign(t, key, hdr, with(claimsAt(now), "aud", nil)), want, false},
		{"no exp", sign(t, key, hdr, with(claimsAt(now), "exp", nil)), want, false},
		{"no sub", sign(t, key, hdr, with(claimsAt(now), "sub", nil)), want, false},
		{"no issuer to check", valid, client.Expect{Now: now}, false},
		{"alg none", segment(t, with(hdr, "alg", "none")) + "." + parts[1] + ".", want, false},
		{"alg none with the real signature", segment(t, with(hdr, "alg", "none")) + "." + parts[1] + "." + parts[2], want, false},
		{"HS256", hs256, want, false},
		{"ES384 named", sign(t, key, with(hdr, "alg", "ES384"), claimsAt(now)), want, false},
		{"crit header", sign(t, key, with(hdr, "crit", []string{"b64"}), claimsAt(now)), want, false},
		{"two parts", parts[0] + "." + parts[1], want, false},
		{"four parts", valid + ".x", want, false},
		{"empty", "", want, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.VerifyAssertion(context.Background(), tt.token, keys, tt.want)
			if !tt.ok {
				if err == nil || !errors.Is(err, client.ErrAssertion) {
					t.Fatalf("accepted or wrong error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id := c.Identity()
			if id.UserID != "usr_1" || id.Email != "ana@acme.test" || id.Role != "admin" || id.AccountID != "acc_1" || id.SessionID != "sess_1" {
				t.Fatalf("identity %+v", id)
			}
			if !c.ExpiresAt.Equal(time.Unix(now.Unix()+60, 0)) {
				t.Fatalf("exp %s", c.ExpiresAt)
			}
		})
	}
}

// jwksServer serves a key set that the test may change, counting fetches.
type jwksServer struct {
	mu      sync.Mutex
	body    []byte
	fetches atomic.Int64
}

func (s *jwksServer) set(b []byte) { s.mu.Lock(); s.body = b; s.mu.Unlock() }

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.body)
}

// An unknown kid fetches the set again, but at most once per MinRefetch.
func TestJWKSRefetch(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	js := &jwksServer{}
	js.set(jwksJSON(t, jwk("k1", &k1.PublicKey)))
	srv := httptest.NewServer(js)
	defer srv.Close()

	now := time.Unix(1_800_000_000, 0)
	keys := client.NewJWKS(srv.URL, nil)
	keys.Now = func() time.Time { return now }
	verify := func(key *ecdsa.PrivateKey, kid string) error {
		tok := sign(t, key, map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT"}, claimsAt(now))
		_, err := client.VerifyAssertion(context.Background(), tok, keys, client.Expect{Issuer: issuer, Now: now})
		return err
	}
	for range 3 {
		if err := verify(k1, "k1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := js.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for a known kid, want 1 (cached)", n)
	}

	// Doorman rotates: the new kid is unknown until the set is fetched
	// again, which a moment ago it just was.
	js.set(jwksJSON(t, jwk("k1", &k1.PublicKey), jwk("k2", &k2.PublicKey)))
	if err := verify(k2, "k2"); !errors.Is(err, client.ErrAssertion) {
		t.Fatalf("new kid right after a fetch: %v, want refused until MinRefetch", err)
	}
	now = now.Add(5 * time.Second)
	if err := verify(k2, "k2"); err != nil {
		t.Fatalf("new kid after MinRefetch: %v", err)
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// Made-up kids do not turn into a flood of fetches.
	for i := range 20 {
		verify(k2, fmt.Sprint("bogus", i))
	}
	if n := js.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after unknown kids within MinRefetch, want still 2", n)
	}
	// Known kids keep working meanwhile, and a set older than MaxAge is
	// fetched again: a key Doorman dropped stops being accepted.
	js.set(jwksJSON(t, jwk("k2", &k2.PublicKey)))
	now = now.Add(10 * time.Minute)
	if err := verify(k1, "k1"); !errors.Is(err, client.ErrAssertion) {
		t.Fatalf("dropped key after MaxAge: %v, want refused", err)
	}
	if err := verify(k2, "k2"); err != nil {
		t.Fatal(err)
	}
}

// With VerifyAssertion, the identity comes from the verified assertion, not
// from the headers beside it, and an answer without a valid one is 503.
// Doorman's assertion is stood in for by a server that signs with a key of
// the test's, so that every failure can be produced.
func TestMiddlewareAssertion(t *testing.T) {
	key, forger := newKey(t), newKey(t)
	now := time.Unix(1_800_000_000, 0)
	var mode atomic.Value
	mode.Store("valid")
	mux := http.NewServeMux()
	var jwksDown atomic.Bool
	mux.Handle("GET /.well-known/jwks.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if jwksDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(jwksJSON(t, jwk("k1", &key.PublicKey)))
	}))
	mux.HandleFunc("GET /auth/verify", func(w http.ResponseWriter, r *http.Request) {
		hdr := map[string]any{"alg": "ES256", "kid": "k1", "typ": "JWT"}
		// Headers that disagree with the assertion: only the assertion counts.
		w.Header().Set("X-Doorman-User-Id", "usr_header")
		w.Header().Set("X-Doorman-Session-Id", "sess_header")
		w.Header().Set("X-Doorman-User-Role", "admin")
		switch mode.Load() {
		case "valid":
			w.Header().Set("X-Doorman-Assertion", sign(t, key, hdr, claimsAt(now)))
		case "forged":
			w.Header().Set("X-Doorman-Assertion", sign(t, forger, hdr, claimsAt(now)))
		case "stale":
			w.Header().Set("X-Doorman-Assertion", sign(t, key, hdr, claimsAt(now.Add(-time.Hour))))
		}
	})
	dm := httptest.NewServer(mux)
	defer dm.Close()

	c := newClient(t, dm.URL, client.Options{VerifyAssertion: true, Issuer: issuer, Audience: "app.example.com",
		Now: func() time.Time { return now }})
	h := c.Middleware(echo(t))
	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://app.example.com/", nil)
		req.Header.Set("Authorization", "Bearer x")
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve(); rec.Code != 200 || rec.Body.String() != "usr_1 ana@acme.test admin acc_1 sess_1" {
		t.Fatalf("valid assertion: %d %q", rec.Code, rec.Body)
	}
	for _, m := range []string{"forged", "stale", "missing"} {
		mode.Store(m)
		if rec := serve(); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s assertion: %d %q, want 503", m, rec.Code, rec.Body)
		}
	}

	// Keys that cannot be fetched: nothing is let through.
	mode.Store("valid")
	jwksDown.Store(true)
	c = newClient(t, dm.URL, client.Options{VerifyAssertion: true, Issuer: issuer, Now: func() time.Time { return now }})
	h = c.Middleware(echo(t))
	if rec := serve(); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("JWKS unavailable: %d %q, want 503", rec.Code, rec.Body)
	}
}

// TestMiddlewareAssertionRealDoorman: with assertion checks on, the
// middleware accepts what a real Doorman signs and serves in its JWKS, and
// takes the identity from it.
func TestMiddlewareAssertionRealDoorman(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	e := startDoormanOn(t, ln, doormanhttp.Config{BaseURL: base})
	token, p := e.signIn(t, "203.0.113.9", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
	c := newClient(t, base.String(), client.Options{VerifyAssertion: true})
	h := c.Middleware(echo(t))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://app.example.com/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	h.ServeHTTP(rec, req)
	want := p.User.ID + " ana@acme.test admin " + p.Account.ID + " " + p.Session.ID
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("behind the middleware with assertion checks: %d %q, want 200 %q", rec.Code, rec.Body, want)
	}
}
