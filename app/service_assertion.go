package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/jws"
)

// Assertions. On every successful forward-auth check Doorman signs a short
// statement of who is signed in (X-Doorman-Assertion), so that an app that
// does not fully trust the proxy in front of it can check the identity
// headers against Doorman's published keys instead of believing them.

const (
	// DefaultSigningKeyPeriod is Service.SigningKeyPeriod's default.
	DefaultSigningKeyPeriod = 30 * 24 * time.Hour
	// AssertionTTL is how long an assertion holds: long enough for the
	// proxy to pass it on, too short to be worth stealing.
	AssertionTTL = 60 * time.Second
	// keyRetireSlack keeps a key that stopped signing in the key set this
	// long after its last assertion expired, for clocks a little apart.
	keyRetireSlack = 5 * time.Minute
	// keyPrepublish is how long before its period the next key enters the
	// key set, so that an app whose copy of the set is at most this old
	// (the JWKS answer allows 5 minutes of caching) knows it from its first
	// assertion.
	keyPrepublish = 10 * time.Minute
)

// signingKeys keeps the current signing key and the published key set in
// memory: the hot path reads one atomic pointer, and only a change of
// period (or of the published set) goes to the store.
type signingKeys struct {
	mu    sync.Mutex // one refresh at a time
	state atomic.Pointer[signingState]

	// issued keeps the assertions made lately, so that a busy session's
	// forward-auth checks do not each pay for a signature (tens of
	// microseconds, several times the check itself).
	issuedMu sync.Mutex
	issued   map[assertionFor]issuedAssertion
}

// assertionFor is what an assertion states, but its times.
type assertionFor struct {
	iss, aud, sub, email, role, account, sid string
}

type issuedAssertion struct {
	token string
	iat   int64
	key   *jws.Key
}

// maxIssued bounds the assertions kept; when full they are all dropped.
const maxIssued = 1 << 16

// signingState is what holds from one store read until the next is due.
type signingState struct {
	period int64
	key    *jws.Key
	keys   []jws.PublicKey // published: the current key, the previous until it retires, the next once prepublished
	jwks   []byte
	until  time.Time // when the set above changes: read the store again
}

func (s *Service) signingKeyPeriod() time.Duration {
	if s.SigningKeyPeriod <= 0 {
		return DefaultSigningKeyPeriod
	}
	return s.SigningKeyPeriod
}

// Assertion returns a compact JWS (ES256) stating who p is, issued by iss
// (Doorman's base URL) for the app host aud ("" when not known), valid for
// AssertionTTL. It fails only when the signing key cannot be read or
// made: unavailable when the store cannot answer.
func (s *Service) Assertion(ctx context.Context, p *doorman.Principal, iss, aud string) (string, error) {
	now := s.Now()
	st, err := s.signingState(ctx, now)
	if err != nil {
		return "", err
	}
	iat := now.Unix()
	// An assertion made for the same statement with the same key less than
	// half its life ago is given again: it says the same, and still has at
	// least half its life to run. A session that ends never gets here.
	what := assertionFor{iss: iss, aud: aud, sub: p.User.ID, email: p.User.Email, role: string(p.User.Role),
		account: p.Account.ID, sid: p.Session.ID}
	ks := &s.signing
	ks.issuedMu.Lock()
	if a, ok := ks.issued[what]; ok && a.key == st.key && iat-a.iat >= 0 && iat-a.iat < int64(AssertionTTL/time.Second/2) {
		ks.issuedMu.Unlock()
		return a.token, nil
	}
	ks.issuedMu.Unlock()
	c := jws.Claims{Issuer: iss, Subject: p.User.ID, Email: p.User.Email, Role: string(p.User.Role),
		Account: p.Account.ID, SessionID: p.Session.ID, Audience: aud, IssuedAt: iat,
		ExpiresAt: iat + int64(AssertionTTL/time.Second)}
	token, err := st.key.Sign(&c)
	if err != nil {
		return "", fmt.Errorf("assertion: %w", err)
	}
	ks.issuedMu.Lock()
	if ks.issued == nil || len(ks.issued) >= maxIssued {
		ks.issued = make(map[assertionFor]issuedAssertion)
	}
	ks.issued[what] = issuedAssertion{token: token, iat: iat, key: st.key}
	ks.issuedMu.Unlock()
	return token, nil
}

// JWKS returns the JSON Web Key Set of the keys that sign assertions now,
// signed them a moment ago, or are about to.
func (s *Service) JWKS(ctx context.Context) ([]byte, error) {
	st, err := s.signingState(ctx, s.Now())
	if err != nil {
		return nil, err
	}
	return st.jwks, nil
}

// signingState returns the keys that hold at now, reading the store (and
// making the period's key when there is none) only when the state in
// memory is out of date.
func (s *Service) signingState(ctx context.Context, now time.Time) (*signingState, error) {
	length := s.signingKeyPeriod()
	period := now.UnixNano() / int64(length)
	if st := s.signing.state.Load(); st != nil && st.period == period && now.Before(st.until) {
		return st, nil
	}
	s.signing.mu.Lock()
	defer s.signing.mu.Unlock()
	if st := s.signing.state.Load(); st != nil && st.period == period && now.Before(st.until) {
		return st, nil
	}
	st, err := s.loadSigningState(ctx, now, period, length)
	if err != nil {
		return nil, err
	}
	s.signing.state.Store(st)
	return st, nil
}

func (s *Service) loadSigningState(ctx context.Context, now time.Time, period int64, length time.Duration) (*signingState, error) {
	start := time.Unix(0, period*int64(length))
	end := start.Add(length)
	stored, err := s.Store.FindSigningKeys(ctx, period-1)
	if err != nil {
		return nil, unavailable("signing keys", err)
	}
	byPeriod := make(map[int64]*doorman.SigningKey, len(stored))
	for _, k := range stored {
		byPeriod[k.Period] = k
	}
	if byPeriod[period] == nil {
		if byPeriod[period], err = s.createSigningKey(ctx, period, now); err != nil {
			return nil, err
		}
	}
	prepublishAt := end.Add(-keyPrepublish)
	if !now.Before(prepublishAt) && byPeriod[period+1] == nil {
		if byPeriod[period+1], err = s.createSigningKey(ctx, period+1, now); err != nil {
			return nil, err
		}
	}

	cur, err := s.openSigningKey(byPeriod[period])
	if err != nil {
		return nil, err
	}
	st := &signingState{period: period, key: cur, keys: []jws.PublicKey{cur.Public()}, until: end}
	if !now.Before(prepublishAt) {
		if next, err := s.openSigningKey(byPeriod[period+1]); err == nil {
			st.keys = append(st.keys, next.Public())
		} else {
			s.Log.Error("assertion key of the next period cannot be read", "err", err)
		}
	} else {
		st.until = prepublishAt
	}
	// The previous key's assertions are valid until AssertionTTL after
	// its period ended.
	if retire := start.Add(AssertionTTL + keyRetireSlack); now.Before(retire) && byPeriod[period-1] != nil {
		if prev, err := s.openSigningKey(byPeriod[period-1]); err == nil {
			st.keys = append(st.keys, prev.Public())
			if retire.Before(st.until) {
				st.until = retire
			}
		} else {
			s.Log.Error("assertion key of the previous period cannot be read", "err", err)
		}
	}
	st.jwks = jws.MarshalJWKS(st.keys)
	return st, nil
}

// createSigningKey makes a key for period and stores it, sealed, unless
// another node stored one first; it returns the one stored.
func (s *Service) createSigningKey(ctx context.Context, period int64, now time.Time) (*doorman.SigningKey, error) {
	k, err := jws.NewKey()
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal(base64.RawStdEncoding.EncodeToString(k.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	got, err := s.Store.CreateSigningKey(ctx, &doorman.SigningKey{ID: k.ID, Period: period, Private: sealed,
		CreatedAt: now.UTC().Truncate(time.Microsecond)})
	if err != nil {
		return nil, unavailable("signing key", err)
	}
	return got, nil
}

// openSigningKey returns the usable key of a stored one.
func (s *Service) openSigningKey(k *doorman.SigningKey) (*jws.Key, error) {
	plain, err := s.open(k.Private)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	d, err := base64.RawStdEncoding.DecodeString(plain)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	key, err := jws.ParseKey(d)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	if key.ID != k.ID {
		return nil, fmt.Errorf("signing key %s: the stored key has id %s", k.ID, key.ID)
	}
	return key, nil
}
