package jws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Device Bound Session Credentials (W3C DBSC) proofs: compact JWS of type
// dbsc+jwt, signed with ES256 by a key the browser keeps on the device. At
// registration the header carries the public key (jwk); a refresh is
// signed by the key registered then.

// ProofType is the typ of a DBSC proof.
const ProofType = "dbsc+jwt"

// maxProof bounds a proof's size before any decoding: a real one is under
// a kilobyte.
const maxProof = 4096

// ErrProofKey means the proof carries no usable ES256 public key.
var ErrProofKey = errors.New("jws: proof carries no P-256 key")

// Proof is what a DBSC proof says.
type Proof struct {
	// Key is the key that signed it: the header's at registration, the
	// registered one at refresh.
	Key *ecdsa.PublicKey
	// JTI is the challenge the proof answers.
	JTI string
	// Authorization is the authorization value of the registration header,
	// when one was sent.
	Authorization string
}

type proofHeader struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	JWK  json.RawMessage `json:"jwk,omitempty"`
	Key  json.RawMessage `json:"key,omitempty"` // an earlier draft's name of jwk
	Crit []string        `json:"crit,omitempty"`
}

type proofClaims struct {
	JTI           string `json:"jti"`
	Authorization string `json:"authorization,omitempty"`
}

// VerifyProof checks a DBSC proof and returns what it says. With key nil it
// is a registration proof: it must carry its public key in its header (jwk)
// and be signed by it. Otherwise it must be signed by key, and a key in its
// header is ignored. Errors: ErrMalformed, ErrProofKey, ErrSignature.
func VerifyProof(token string, key *ecdsa.PublicKey) (*Proof, error) {
	if len(token) > maxProof {
		return nil, ErrMalformed
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return nil, ErrMalformed
	}
	hj, err := b64.DecodeString(h)
	if err != nil {
		return nil, ErrMalformed
	}
	var header proofHeader
	if err := json.Unmarshal(hj, &header); err != nil || header.Alg != "ES256" || header.Typ != ProofType || header.Crit != nil {
		return nil, ErrMalformed
	}
	pub := key
	if pub == nil {
		raw := header.JWK
		if len(raw) == 0 {
			raw = header.Key
		}
		if pub, err = ParsePublicJWK(raw); err != nil {
			return nil, err
		}
	}
	pj, err := verifiedPayload(pub, token, h, p, s)
	if err != nil {
		return nil, err
	}
	var c proofClaims
	if err := json.Unmarshal(pj, &c); err != nil || c.JTI == "" {
		return nil, ErrMalformed
	}
	return &Proof{Key: pub, JTI: c.JTI, Authorization: c.Authorization}, nil
}

// ParsePublicJWK returns the P-256 public key of a JSON Web Key. Returns
// ErrProofKey for anything else.
func ParsePublicJWK(raw []byte) (*ecdsa.PublicKey, error) {
	var k struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &k) != nil || k.Kty != "EC" || k.Crv != "P-256" {
		return nil, ErrProofKey
	}
	x, errX := b64.DecodeString(k.X)
	y, errY := b64.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, ErrProofKey
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, ErrProofKey
	}
	return pub, nil
}

// MarshalPublicJWK returns the JSON Web Key of a P-256 public key, with only
// its required members ({"crv","kty","x","y"}), as Doorman stores it.
func MarshalPublicJWK(pub *ecdsa.PublicKey) string {
	x, y := PublicKey{Key: pub}.coordinates()
	return `{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`
}

// SignProof returns a DBSC proof answering jti, signed with k: what a
// browser sends. With withKey the header carries the public key (a
// registration proof). Doorman itself never signs proofs; its tests and
// clients that speak DBSC without a browser do.
func (k *Key) SignProof(jti, authorization string, withKey bool) (string, error) {
	h := proofHeader{Alg: "ES256", Typ: ProofType}
	if withKey {
		h.JWK = json.RawMessage(MarshalPublicJWK(&k.priv.PublicKey))
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("jws: encode proof header: %w", err)
	}
	pj, err := json.Marshal(proofClaims{JTI: jti, Authorization: authorization})
	if err != nil {
		return "", fmt.Errorf("jws: encode proof: %w", err)
	}
	buf := b64.AppendEncode(nil, hj)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, pj)
	if buf, err = appendSignature(buf, k.priv); err != nil {
		return "", fmt.Errorf("jws: sign proof: %w", err)
	}
	return string(buf), nil
}
