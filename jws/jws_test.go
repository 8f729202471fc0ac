package jws_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/doorman/doorman/jws"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func claims() *jws.Claims {
	return &jws.Claims{Issuer: "https://auth.example.com", Subject: "usr_1", Email: "ana@example.com", Role: "member",
		Account: "acc_1", SessionID: "sess_1", Audience: "docs.example.com", IssuedAt: now.Unix(), ExpiresAt: now.Unix() + 60}
}

func newKey(t *testing.T) *jws.Key {
	t.Helper()
	k, err := jws.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIndependentVerification checks a token with nothing of this package
// but the key set's bytes: the JWK's x and y, and crypto/ecdsa.
func TestIndependentVerification(t *testing.T) {
	k := newKey(t)
	token, err := k.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(jws.MarshalJWKS([]jws.PublicKey{k.Public()}), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("key set: %v %v", set, err)
	}
	jwk := set.Keys[0]
	for name, want := range map[string]string{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": k.ID} {
		if jwk[name] != want {
			t.Errorf("JWK %s = %q, want %q", name, jwk[name], want)
		}
	}
	x, errX := base64.RawURLEncoding.DecodeString(jwk["x"])
	y, errY := base64.RawURLEncoding.DecodeString(jwk["y"])
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		t.Fatalf("x, y: %d, %d bytes (%v, %v), want 32 each, unpadded base64url", len(x), len(y), errX, errY)
	}
	// The SEC 1 uncompressed point: 0x04, then x and y.
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("x, y are no point of P-256: %v", err)
	}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if want := `{"alg":"ES256","kid":"` + k.ID + `","typ":"JWT"}`; string(header) != want {
		t.Errorf("header %s, want %s", header, want)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, %v; want R||S, 64 bytes", len(sig), err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the signature does not verify with crypto/ecdsa")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var got map[string]any
	if err := json.Unmarshal(payload, &got); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{"iss": "https://auth.example.com", "sub": "usr_1", "email": "ana@example.com",
		"role": "member", "account": "acc_1", "sid": "sess_1", "aud": "docs.example.com",
		"iat": float64(now.Unix()), "exp": float64(now.Unix() + 60)} {
		if got[name] != want {
			t.Errorf("claim %s = %v, want %v", name, got[name], want)
		}
	}
}

func TestVerify(t *testing.T) {
	k, other := newKey(t), newKey(t)
	keys := []jws.PublicKey{other.Public(), k.Public()}
	token, err := k.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	c, err := jws.Verify(token, keys, now)
	if err != nil || *c != *claims() {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	noAud := claims()
	noAud.Audience = ""
	tok2, _ := k.Sign(noAud)
	if p, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok2, ".")[1]); strings.Contains(string(p), `"aud"`) {
		t.Errorf("an empty audience is sent: %s", p)
	}

	parts := strings.Split(token, ".")
	tampered := claims()
	tampered.Role = "admin"
	tp, _ := json.Marshal(tampered)
	otherToken, _ := other.Sign(claims())
	otherSig := strings.Split(otherToken, ".")[2]
	// A header naming the other key over this key's signature.
	swapped, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": other.ID, "typ": "JWT"})
	none, _ := json.Marshal(map[string]string{"alg": "none", "kid": k.ID})
	hs, _ := json.Marshal(map[string]string{"alg": "HS256", "kid": k.ID})
	enc := base64.RawURLEncoding.EncodeToString
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	for name, tc := range map[string]struct {
		token string
		keys  []jws.PublicKey
		at    time.Time
		want  error
	}{
		"expired":               {token, keys, now.Add(60 * time.Second), jws.ErrExpired},
		"long expired":          {token, keys, now.Add(time.Hour), jws.ErrExpired},
		"unknown kid":           {token, []jws.PublicKey{other.Public()}, now, jws.ErrUnknownKey},
		"no keys":               {token, nil, now, jws.ErrUnknownKey},
		"kid of another key":    {enc(swapped) + "." + parts[1] + "." + parts[2], keys, now, jws.ErrSignature},
		"tampered payload":      {parts[0] + "." + enc(tp) + "." + parts[2], keys, now, jws.ErrSignature},
		"another key's sig":     {parts[0] + "." + parts[1] + "." + otherSig, keys, now, jws.ErrSignature},
		"DER signature":         {parts[0] + "." + parts[1] + "." + enc(append([]byte{0x30}, sig...)), keys, now, jws.ErrSignature},
		"no signature":          {parts[0] + "." + parts[1] + ".", keys, now, jws.ErrSignature},
		"alg none":              {enc(none) + "." + parts[1] + ".", keys, now, jws.ErrMalformed},
		"alg HS256":             {enc(hs) + "." + parts[1] + "." + parts[2], keys, now, jws.ErrMalformed},
		"two parts":             {parts[0] + "." + parts[1], keys, now, jws.ErrMalformed},
		"four parts":            {token + ".x", keys, now, jws.ErrMalformed},
		"padded base64 payload": {parts[0] + "." + parts[1] + "=." + parts[2], keys, now, jws.ErrSignature},
	} {
		if _, err := jws.Verify(tc.token, tc.keys, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	k := newKey(t)
	d := k.Bytes()
	if len(d) != 32 {
		t.Fatalf("private scalar: %d bytes, want 32", len(d))
	}
	k2, err := jws.ParseKey(d)
	if err != nil || k2.ID != k.ID {
		t.Fatalf("ParseKey: %v, kid %q want %q", err, k2.ID, k.ID)
	}
	token, _ := k2.Sign(claims())
	if _, err := jws.Verify(token, []jws.PublicKey{k.Public()}, now); err != nil {
		t.Errorf("a token of the parsed key: %v", err)
	}
	if _, err := jws.ParseKey(make([]byte, 32)); err == nil {
		t.Error("ParseKey accepted the zero scalar")
	}
	parsed, err := jws.ParseJWKS(jws.MarshalJWKS([]jws.PublicKey{k.Public()}))
	if err != nil || len(parsed) != 1 || parsed[0].ID != k.ID || !parsed[0].Key.Equal(k.Public().Key) {
		t.Errorf("ParseJWKS: %v, %v", parsed, err)
	}
}

// TestThumbprint checks the key id against RFC 7638 section 3.1's example
// computation, done here by hand on the same member order.
func TestThumbprint(t *testing.T) {
	k := newKey(t)
	j := k.Public().JWK()
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); k.ID != want {
		t.Errorf("kid %q, want the thumbprint %q", k.ID, want)
	}
}

func BenchmarkSign(b *testing.B) {
	k, _ := jws.NewKey()
	c := claims()
	for b.Loop() {
		if _, err := k.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}
