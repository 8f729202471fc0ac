package app_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/aesgcm"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/internal/testdb"
	"github.com/doorman/doorman/jws"
)

// keyReads counts the store's reads of signing keys.
type keyReads struct {
	doorman.Store
	finds atomic.Int64
	fail  atomic.Bool
}

func (k *keyReads) FindSigningKeys(ctx context.Context, minPeriod int64) ([]*doorman.SigningKey, error) {
	k.finds.Add(1)
	if k.fail.Load() {
		return nil, errors.New("connection refused")
	}
	return k.Store.FindSigningKeys(ctx, minPeriod)
}

func jwksKeys(t *testing.T, svc *app.Service) []jws.PublicKey {
	t.Helper()
	b, err := svc.JWKS(context.Background())
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	keys, err := jws.ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func kids(keys []jws.PublicKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func TestAssertion(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Acme", "ana@acme.example", doorman.RoleAdmin)
		_, p := f.signIn(t, "ana@acme.example", false)

		token, err := f.svc.Assertion(context.Background(), p, "https://auth.acme.example", "docs.acme.example")
		if err != nil {
			t.Fatal(err)
		}
		c, err := jws.Verify(token, jwksKeys(t, f.svc), f.clock.Now())
		if err != nil {
			t.Fatalf("verify against the JWKS: %v", err)
		}
		now := f.clock.Now().Unix()
		want := jws.Claims{Issuer: "https://auth.acme.example", Subject: p.User.ID, Email: "ana@acme.example", Role: "admin",
			Account: p.Account.ID, SessionID: p.Session.ID, Audience: "docs.acme.example", IssuedAt: now, ExpiresAt: now + 60}
		if *c != want {
			t.Errorf("claims %+v, want %+v", *c, want)
		}
		f.clock.Advance(app.AssertionTTL)
		if _, err := jws.Verify(token, jwksKeys(t, f.svc), f.clock.Now()); !errors.Is(err, jws.ErrExpired) {
			t.Errorf("after %s: %v, want expired", app.AssertionTTL, err)
		}
	})
}

// TestAssertionReused: the same statement gets the same assertion for half
// its life (no signature per forward-auth check), a fresh one after, and
// another audience or role a fresh one at once.
func TestAssertionReused(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.user(t, "Acme", "ana@acme.example", doorman.RoleAdmin)
		_, p := f.signIn(t, "ana@acme.example", false)
		ctx := context.Background()
		assert := func(aud string) string {
			t.Helper()
			tok, err := f.svc.Assertion(ctx, p, "https://auth.acme.example", aud)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		first := assert("docs.acme.example")
		f.clock.Advance(app.AssertionTTL/2 - time.Second)
		if again := assert("docs.acme.example"); again != first {
			t.Error("a second check within half the assertion's life signed a new one")
		}
		if other := assert("wiki.acme.example"); other == first {
			t.Error("another audience got the same assertion")
		}
		member := *p.User
		member.Role = doorman.RoleMember
		q := *p
		q.User = &member
		if tok, err := f.svc.Assertion(ctx, &q, "https://auth.acme.example", "docs.acme.example"); err != nil || tok == first {
			t.Errorf("a changed role got the assertion of the old one (%v)", err)
		}
		f.clock.Advance(time.Second)
		fresh := assert("docs.acme.example")
		if fresh == first {
			t.Error("past half its life the assertion was given again")
		}
		c, err := jws.Verify(fresh, jwksKeys(t, f.svc), f.clock.Now())
		if err != nil || c.ExpiresAt-f.clock.Now().Unix() != 60 {
			t.Errorf("fresh assertion: %+v, %v; want a full life", c, err)
		}
	})
}

func TestAssertionKeyRotation(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		reads := &keyReads{Store: store}
		f := newFixture(t, reads)
		const period = 24 * time.Hour
		f.svc.SigningKeyPeriod = period
		// Start an hour into a period.
		start := f.clock.Now().Truncate(period)
		f.clock.Advance(start.Add(time.Hour).Sub(f.clock.Now()))
		f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
		_, p := f.signIn(t, "ana@acme.example", false)
		sign := func() string {
			t.Helper()
			tok, err := f.svc.Assertion(context.Background(), p, "https://auth.acme.example", "")
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}

		first := sign()
		keys := jwksKeys(t, f.svc)
		if len(keys) != 1 {
			t.Fatalf("JWKS of a fresh store: %v, want one key", kids(keys))
		}
		k1 := keys[0].ID
		// A second node on the same store signs with the same key.
		nodeB := app.NewService(store, cheap)
		nodeB.Now, nodeB.SigningKeyPeriod = f.clock.Now, period
		if got := kids(jwksKeys(t, nodeB)); len(got) != 1 || got[0] != k1 {
			t.Errorf("node B publishes %v, want [%s]", got, k1)
		}

		// Signing is served from memory.
		before := reads.finds.Load()
		for range 100 {
			sign()
		}
		if n := reads.finds.Load() - before; n != 0 {
			t.Errorf("100 assertions read the store %d times, want 0", n)
		}

		// Ten minutes before the period ends the next key is published, but
		// does not sign yet.
		f.clock.Advance(period - time.Hour - 10*time.Minute)
		keys = jwksKeys(t, f.svc)
		if len(keys) != 2 || keys[0].ID != k1 {
			t.Fatalf("JWKS before rotation: %v, want %s and the next", kids(keys), k1)
		}
		k2 := keys[1].ID
		if _, err := jws.Verify(sign(), []jws.PublicKey{keys[0]}, f.clock.Now()); err != nil {
			t.Errorf("before the period ends, the old key signs: %v", err)
		}

		// The new period: the new key signs; the old one stays published
		// while its last assertions may be in flight.
		f.clock.Advance(10 * time.Minute)
		keys = jwksKeys(t, f.svc)
		if got := kids(keys); len(got) != 2 || got[0] != k2 || got[1] != k1 {
			t.Fatalf("JWKS after rotation: %v, want [%s %s]", got, k2, k1)
		}
		last := sign()
		if _, err := jws.Verify(last, keys[:1], f.clock.Now()); err != nil {
			t.Errorf("after rotation the new key signs: %v", err)
		}
		if got := kids(jwksKeys(t, nodeB)); len(got) != 2 || got[0] != k2 {
			t.Errorf("node B after rotation publishes %v, want %s first", got, k2)
		}

		// Once every assertion of the old key expired (and the slack), it
		// leaves the key set; its tokens no longer verify.
		f.clock.Advance(app.AssertionTTL + 5*time.Minute)
		keys = jwksKeys(t, f.svc)
		if got := kids(keys); len(got) != 1 || got[0] != k2 {
			t.Errorf("JWKS after the old key retired: %v, want [%s]", got, k2)
		}
		if _, err := jws.Verify(first, keys, f.clock.Now()); !errors.Is(err, jws.ErrUnknownKey) {
			t.Errorf("a token of the retired key: %v, want unknown key", err)
		}
	})
}

func TestAssertionKeySealed(t *testing.T) {
	store := testdb.SQLite(t)
	f := newFixture(t, store)
	key := make([]byte, aesgcm.KeySize)
	rand.Read(key)
	box, err := aesgcm.New(key)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Secrets = box
	f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
	_, p := f.signIn(t, "ana@acme.example", false)
	if _, err := f.svc.Assertion(context.Background(), p, "https://auth.acme.example", ""); err != nil {
		t.Fatal(err)
	}
	stored, err := store.FindSigningKeys(context.Background(), 0)
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored keys: %v, %v", stored, err)
	}
	if !strings.HasPrefix(stored[0].Private, doorman.SealedPrefix) {
		t.Errorf("the private key is stored as %q…, want it sealed", stored[0].Private[:12])
	}
	// A node without the secret key cannot sign with it.
	other := app.NewService(store, cheap)
	other.Now = f.clock.Now
	if _, err := other.Assertion(context.Background(), p, "https://auth.acme.example", ""); err == nil {
		t.Error("a node without --secret-key signed with a sealed key")
	}
}

func TestAssertionStoreDown(t *testing.T) {
	reads := &keyReads{Store: testdb.SQLite(t)}
	f := newFixture(t, reads)
	f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
	_, p := f.signIn(t, "ana@acme.example", false)
	reads.fail.Store(true)
	if _, err := f.svc.Assertion(context.Background(), p, "https://auth.acme.example", ""); !app.IsUnavailable(err) {
		t.Errorf("Assertion with the store down: %v, want unavailable", err)
	}
	if _, err := f.svc.JWKS(context.Background()); !app.IsUnavailable(err) {
		t.Errorf("JWKS with the store down: %v, want unavailable", err)
	}
}

// TestAssertionConcurrentFirstUse: requests that arrive together on a fresh
// node read the store once and all sign with the one key.
func TestAssertionConcurrentFirstUse(t *testing.T) {
	reads := &keyReads{Store: testdb.SQLite(t)}
	f := newFixture(t, reads)
	f.user(t, "Acme", "ana@acme.example", doorman.RoleMember)
	_, p := f.signIn(t, "ana@acme.example", false)
	const n = 8
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok, err := f.svc.Assertion(context.Background(), p, "https://auth.acme.example", "")
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	if got := reads.finds.Load(); got != 1 {
		t.Errorf("%d concurrent first assertions read the keys %d times, want once", n, got)
	}
	keys := jwksKeys(t, f.svc)
	for i, tok := range tokens {
		if _, err := jws.Verify(tok, keys, f.clock.Now()); err != nil {
			t.Errorf("assertion %d: %v", i, err)
		}
	}
}
