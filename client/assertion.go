package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ErrAssertion means an X-Doorman-Assertion failed verification: it is
// malformed, signed by no key Doorman publishes, or its claims do not hold.
var ErrAssertion = errors.New("doorman: assertion not valid")

// Claims are the verified contents of an X-Doorman-Assertion.
type Claims struct {
	Issuer    string    // iss: Doorman's base URL
	Subject   string    // sub: the user id
	Email     string    // email
	Role      string    // role: admin | member
	AccountID string    // account
	SessionID string    // sid
	Audience  []string  // aud: the host the request was for, when Doorman knew it
	IssuedAt  time.Time // iat
	ExpiresAt time.Time // exp
}

// Identity returns the person the claims name.
func (c *Claims) Identity() *Identity {
	return &Identity{UserID: c.Subject, Email: c.Email, Role: c.Role, AccountID: c.AccountID, SessionID: c.SessionID}
}

// Expect is what VerifyAssertion checks the claims against.
type Expect struct {
	// Issuer is Doorman's base URL, which iss must equal. Required.
	Issuer string
	// Audience, when set, must be one of the assertion's aud.
	Audience string
	// Now is the time to check iat and exp at. Default time.Now().
	Now time.Time
	// Leeway tolerates that much clock difference on iat and exp. Default 0.
	Leeway time.Duration
}

// Keys finds the public key that signed an assertion by its kid. *JWKS and
// KeySet implement it.
type Keys interface {
	Key(ctx context.Context, kid string) (*ecdsa.PublicKey, error)
}

// VerifyAssertion verifies a compact JWS from Doorman's X-Doorman-Assertion
// header: ES256 only (alg none, HS256 and any other algorithm are refused,
// whatever the header says), signed by the key keys holds under its kid,
// with iss, exp, iat and (when asked) aud as want says. An application
// behind a proxy that passes the assertion on can call it directly:
//
//	keys := client.NewJWKS("https://auth.example.com/.well-known/jwks.json", nil)
//	claims, err := client.VerifyAssertion(ctx, r.Header.Get("X-Doorman-Assertion"), keys,
//		client.Expect{Issuer: "https://auth.example.com", Audience: "app.example.com"})
//
// Errors wrap ErrAssertion, or, when keys cannot be fetched, the fetch error.
func VerifyAssertion(ctx context.Context, token string, keys Keys, want Expect) (*Claims, error) {
	if want.Issuer == "" {
		return nil, fmt.Errorf("%w: no issuer to check against", ErrAssertion)
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrAssertion)
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Typ  string          `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := decodeSegment(h64, &hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrAssertion, err)
	}
	// The algorithm is fixed here, not taken from the token: a token that
	// names another cannot choose how it is checked.
	if hdr.Alg != "ES256" {
		return nil, fmt.Errorf("%w: algorithm %q, want ES256", ErrAssertion, hdr.Alg)
	}
	if hdr.Typ != "" && hdr.Typ != "JWT" {
		return nil, fmt.Errorf("%w: type %q", ErrAssertion, hdr.Typ)
	}
	if hdr.Crit != nil {
		return nil, fmt.Errorf("%w: critical header parameters are not understood", ErrAssertion)
	}
	if hdr.Kid == "" {
		return nil, fmt.Errorf("%w: no kid", ErrAssertion)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(s64)
	if err != nil || len(sig) != 64 {
		return nil, fmt.Errorf("%w: signature is not 64 bytes of base64url", ErrAssertion)
	}
	pub, err := keys.Key(ctx, hdr.Kid)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(token[:len(h64)+1+len(p64)]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, sum[:], r, s) {
		return nil, fmt.Errorf("%w: bad signature", ErrAssertion)
	}

	var raw struct {
		Iss     string          `json:"iss"`
		Sub     string          `json:"sub"`
		Email   string          `json:"email"`
		Role    string          `json:"role"`
		Account string          `json:"account"`
		Sid     string          `json:"sid"`
		Aud     json.RawMessage `json:"aud"`
		Iat     *float64        `json:"iat"`
		Exp     *float64        `json:"exp"`
	}
	if err := decodeSegment(p64, &raw); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrAssertion, err)
	}
	if raw.Iss != want.Issuer {
		return nil, fmt.Errorf("%w: issuer %q, want %q", ErrAssertion, raw.Iss, want.Issuer)
	}
	if raw.Sub == "" || raw.Sid == "" {
		return nil, fmt.Errorf("%w: no sub or sid", ErrAssertion)
	}
	if raw.Exp == nil || raw.Iat == nil {
		return nil, fmt.Errorf("%w: no exp or iat", ErrAssertion)
	}
	now := want.Now
	if now.IsZero() {
		now = time.Now()
	}
	exp, iat := unixTime(*raw.Exp), unixTime(*raw.Iat)
	if !now.Before(exp.Add(want.Leeway)) {
		return nil, fmt.Errorf("%w: expired at %s", ErrAssertion, exp.UTC().Format(time.RFC3339))
	}
	if iat.After(now.Add(want.Leeway)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrAssertion)
	}
	var aud []string
	if len(raw.Aud) > 0 && string(raw.Aud) != "null" {
		var one string
		if json.Unmarshal(raw.Aud, &one) == nil {
			aud = []string{one}
		} else if json.Unmarshal(raw.Aud, &aud) != nil {
			return nil, fmt.Errorf("%w: aud is neither a string nor a list", ErrAssertion)
		}
	}
	if want.Audience != "" && !contains(aud, want.Audience) {
		return nil, fmt.Errorf("%w: audience %q, want %q", ErrAssertion, aud, want.Audience)
	}
	return &Claims{Issuer: raw.Iss, Subject: raw.Sub, Email: raw.Email, Role: raw.Role, AccountID: raw.Account,
		SessionID: raw.Sid, Audience: aud, IssuedAt: iat, ExpiresAt: exp}, nil
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func unixTime(f float64) time.Time {
	if math.IsNaN(f) || f > math.MaxInt64/2 || f < -math.MaxInt64/2 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// KeySet is a fixed set of public keys by kid, as ParseJWKS returns them.
type KeySet map[string]*ecdsa.PublicKey

// Key returns the key named kid, or an error wrapping ErrAssertion.
func (s KeySet) Key(_ context.Context, kid string) (*ecdsa.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown kid %q", ErrAssertion, kid)
}

// ParseJWKS reads a JSON Web Key Set ({"keys": [...]}) and keeps its EC
// P-256 signing keys for ES256; keys of other kinds are skipped, so that a
// set that grows new kinds keeps working.
func ParseJWKS(b []byte) (KeySet, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("doorman: JWKS: %w", err)
	}
	out := KeySet{}
	for _, k := range set.Keys {
		if k.Kty != "EC" || k.Crv != "P-256" || k.Kid == "" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "ES256") {
			continue
		}
		x, errX := base64.RawURLEncoding.DecodeString(k.X)
		y, errY := base64.RawURLEncoding.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("doorman: JWKS: key %q: coordinates are not 32 bytes of base64url", k.Kid)
		}
		// The uncompressed point form is parsed so that a point off the
		// curve is refused here, not trusted.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("doorman: JWKS: key %q: %w", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

// JWKS is Doorman's key set fetched from its /.well-known/jwks.json and
// cached. An unknown kid (Doorman rotated its key) fetches the set again, at
// most once per MinRefetch so that tokens with made-up kids cannot turn
// into a flood of requests to Doorman; the set is also fetched again when
// older than MaxAge, so that keys Doorman dropped stop being accepted.
type JWKS struct {
	// MinRefetch is the least time between two fetches. Default 5 s.
	MinRefetch time.Duration
	// MaxAge is how long a fetched set is used before the next
	// verification fetches it again. Default 10 min.
	MaxAge time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	url string
	hc  *http.Client

	mu      sync.Mutex
	keys    KeySet
	fetched time.Time // zero: never fetched successfully
	tried   time.Time // last attempt
}

// NewJWKS returns the key set at url, fetched with hc (nil: a client with a
// 5-second timeout) on first use.
func NewJWKS(url string, hc *http.Client) *JWKS {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &JWKS{url: url, hc: hc}
}

// Key returns the key named kid, fetching the set when it does not hold it
// (and may fetch again) or is older than MaxAge. An unknown kid is an error
// wrapping ErrAssertion; a set that cannot be fetched, the fetch error.
func (j *JWKS) Key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	minRefetch, maxAge := j.MinRefetch, j.MaxAge
	if minRefetch <= 0 {
		minRefetch = 5 * time.Second
	}
	if maxAge <= 0 {
		maxAge = 10 * time.Minute
	}
	// One fetch at a time: concurrent checks that all miss wait for it
	// rather than each asking Doorman.
	j.mu.Lock()
	defer j.mu.Unlock()
	t := now()
	k, ok := j.keys[kid]
	stale := j.fetched.IsZero() || t.Sub(j.fetched) >= maxAge
	if ok && !stale {
		return k, nil
	}
	if j.tried.IsZero() || t.Sub(j.tried) >= minRefetch {
		j.tried = t
		keys, err := j.fetch(ctx)
		if err != nil {
			if ok {
				return k, nil // a stale set still names this key; better than failing
			}
			return nil, err
		}
		j.keys, j.fetched = keys, t
		k, ok = keys[kid]
	}
	if !ok {
		if j.fetched.IsZero() {
			return nil, errors.New("doorman: JWKS: not fetched yet (the last attempt failed)")
		}
		return nil, fmt.Errorf("%w: unknown kid %q", ErrAssertion, kid)
	}
	return k, nil
}

func (j *JWKS) fetch(ctx context.Context) (KeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("doorman: JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("doorman: JWKS: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("doorman: JWKS: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("doorman: JWKS: HTTP %d", resp.StatusCode)
	}
	return ParseJWKS(bytes.TrimSpace(b))
}
