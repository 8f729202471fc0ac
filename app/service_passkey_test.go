package app_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/passkey"
)

func relyingParty(t *testing.T) *passkey.RP {
	t.Helper()
	rp, err := passkey.New(&url.URL{Scheme: "http", Host: "localhost:8080"}, "Doorman")
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// storedPasskey stores a passkey of u through the store, as a registration
// leaves it (its key is not checked here: nothing signs with it).
func storedPasskey(t *testing.T, f *fixture, u *doorman.User) *doorman.Passkey {
	t.Helper()
	now := f.clock.Now()
	pk := &doorman.Passkey{ID: doorman.NewID(doorman.PrefixPasskey, now), AccountID: u.AccountID, UserID: u.ID, Name: "Laptop",
		CredentialID: []byte("cred-" + u.ID), PublicKey: []byte{1, 2, 3}, Credential: []byte("{}"), CreatedAt: now.UTC().Truncate(1000)}
	if err := f.svc.Store.CreatePasskey(context.Background(), pk, nil); err != nil {
		t.Fatal(err)
	}
	return pk
}

// The ceremonies' state lives in the store: a registration begun by one
// Service (node) is found by another on the same store, once, and only by
// the session that began it.
func TestPasskeyCeremonyAcrossNodes(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.svc.WebAuthn = relyingParty(t)
		f.user(t, "Company", "a@company.com", doorman.RoleMember)
		_, p := f.signIn(t, "a@company.com", false)
		c, err := f.svc.BeginPasskeyRegistration(context.Background(), p, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		other := newFixture(t, store)
		other.svc.WebAuthn = relyingParty(t)
		other.clock = f.clock
		other.svc.Now = f.clock.Now
		// Another session of the same user cannot finish it.
		_, p2 := f.signIn(t, "a@company.com", false)
		_, err = other.svc.FinishPasskeyRegistration(context.Background(), p2, c.Token, "Phone", []byte(`{}`), app.Meta{})
		if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("finish from another session = %v, want EUNAUTHORIZED", err)
		}
		// The ceremony was used by that attempt: it is gone for everyone.
		_, err = other.svc.FinishPasskeyRegistration(context.Background(), p, c.Token, "Phone", []byte(`{}`), app.Meta{})
		if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("finish of a used ceremony = %v, want EUNAUTHORIZED", err)
		}
		// A fresh one reaches the other node, which checks the answer
		// (here a malformed one: EINVALID, nothing stored).
		c, err = f.svc.BeginPasskeyRegistration(context.Background(), p, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.svc.FinishPasskeyRegistration(context.Background(), p, c.Token, "Phone", []byte(`{"id":"x"}`), app.Meta{})
		if doorman.ErrorCode(err) != doorman.EINVALID {
			t.Fatalf("finish with a bad answer on another node = %v, want EINVALID", err)
		}
		if list, _ := f.svc.Passkeys(context.Background(), p); len(list) != 0 {
			t.Fatalf("a refused registration stored %d passkeys", len(list))
		}
		// An expired ceremony is refused.
		c, err = f.svc.BeginPasskeyRegistration(context.Background(), p, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(doorman.CeremonyTTL)
		_, err = other.svc.FinishPasskeyRegistration(context.Background(), p, c.Token, "Phone", []byte(`{}`), app.Meta{})
		if doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("finish after %v = %v, want EUNAUTHORIZED", doorman.CeremonyTTL, err)
		}
	})
}

// A passkey sign-in with a ceremony of another kind, or none, starts nothing.
func TestPasskeySignInRefused(t *testing.T) {
	stores(t, func(t *testing.T, store doorman.Store) {
		f := newFixture(t, store)
		f.svc.WebAuthn = relyingParty(t)
		f.user(t, "Company", "a@company.com", doorman.RoleMember)
		_, p := f.signIn(t, "a@company.com", false)
		reg, err := f.svc.BeginPasskeyRegistration(context.Background(), p, app.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.PasskeySignIn(context.Background(), reg.Token, []byte(`{}`), false, app.Meta{}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("sign-in with a registration's ceremony = %v, want EUNAUTHORIZED", err)
		}
		if _, _, err := f.svc.PasskeySignIn(context.Background(), "nonsense", []byte(`{}`), false, app.Meta{}); doorman.ErrorCode(err) != doorman.EUNAUTHORIZED {
			t.Fatalf("sign-in without a ceremony = %v, want EUNAUTHORIZED", err)
		}
		c, err := f.svc.BeginPasskeySignIn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Options) == 0 || c.Token == "" {
			t.Fatalf("BeginPasskeySignIn = %+v", c)
		}
	})
}
