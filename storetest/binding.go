package storetest

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

// The device binding of sessions (doorman.BindingStore).
var bindingTests = []test{
	{"BindAndRead", testBindRead},
	{"BindRefused", testBindRefused},
	{"ChallengeUsedOnce", testChallengeOnce},
	{"ChallengeRefused", testChallengeRefused},
	{"ChallengeConcurrent", testChallengeConcurrent},
	{"ChallengesGoWithSession", testChallengesPurged},
}

func newBinding(t time.Time) *doorman.Binding {
	return &doorman.Binding{Key: `{"crv":"P-256","kty":"EC","x":"x","y":"y"}`,
		Secret: bytes.Repeat([]byte{7}, doorman.BindingSecretBytes), At: t}
}

func newChallenge(sessionID, text, purpose string, t time.Time) *doorman.BindingChallenge {
	h := sha256.Sum256([]byte(text))
	return &doorman.BindingChallenge{Hash: h[:], SessionID: sessionID, Purpose: purpose, CreatedAt: t,
		ExpiresAt: t.Add(doorman.BindingChallengeTTL)}
}

func testBindRead(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	other := e.session(u, nil)
	if got := e.sessionByID(s.ID); got.Binding != nil {
		t.Fatalf("new session bound: %+v", got.Binding)
	}
	b := newBinding(at(time.Minute))
	ev := event(acct.ID, doorman.ActionSessionBound, at(time.Minute))
	ok(t, e.s.BindSession(e.ctx, s.ID, b, ev), "BindSession")

	check := func(what string, got *doorman.Session) {
		t.Helper()
		if got.Binding == nil {
			t.Fatalf("%s: not bound", what)
		}
		var df diff
		df.eq("Key", got.Binding.Key, b.Key)
		df.eq("Secret", bytes.Equal(got.Binding.Secret, b.Secret), true)
		df.time("At", got.Binding.At, b.At)
		df.report(t, what)
	}
	check("FindSessionByID", e.sessionByID(s.ID))
	p, err := e.s.FindSessionByTokenHash(e.ctx, s.TokenHash)
	ok(t, err, "FindSessionByTokenHash")
	check("FindSessionByTokenHash", p.Session)
	list, _ := e.sessions(doorman.SessionFilter{AccountID: acct.ID})
	for _, got := range list {
		if got.ID == s.ID {
			check("FindSessions", got)
		} else if got.Binding != nil {
			t.Errorf("FindSessions: the other session is bound: %+v", got.Binding)
		}
	}
	if got := e.sessionByID(other.ID); got.Binding != nil {
		t.Errorf("the other session is bound: %+v", got.Binding)
	}
	if evs, n := e.audits(doorman.AuditFilter{AccountID: acct.ID, Action: doorman.ActionSessionBound}); n != 1 || evs[0].ID != ev.ID {
		t.Errorf("session_bound events: %d, want the one written", n)
	}
}

func testBindRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	ok(t, e.s.BindSession(e.ctx, s.ID, newBinding(at(time.Minute)), nil), "BindSession")
	before := e.auditTotal()

	// A binding is never replaced.
	second := newBinding(at(2 * time.Minute))
	second.Key = `{"other":"key"}`
	wantCode(t, e.s.BindSession(e.ctx, s.ID, second, event(acct.ID, doorman.ActionSessionBound, at(2*time.Minute))),
		doorman.ECONFLICT, "BindSession of a bound session")
	if got := e.sessionByID(s.ID); got.Binding.Key == second.Key || !got.Binding.At.Equal(at(time.Minute)) {
		t.Errorf("a second binding replaced the first: %+v", got.Binding)
	}
	wantCode(t, e.s.BindSession(e.ctx, "sess_unknown", newBinding(at(time.Minute)), nil), doorman.ENOTFOUND, "BindSession of no session")

	revoked := e.session(u, nil)
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: acct.ID, SessionID: revoked.ID},
		doorman.Revocation{At: at(time.Minute), By: u.ID}, nil)
	ok(t, err, "RevokeSessions")
	wantCode(t, e.s.BindSession(e.ctx, revoked.ID, newBinding(at(2*time.Minute)), nil), doorman.ENOTFOUND, "BindSession of a revoked session")
	if e.sessionByID(revoked.ID).Binding != nil {
		t.Error("a revoked session was bound")
	}
	fresh := e.session(u, nil)
	wantCode(t, e.s.BindSession(e.ctx, fresh.ID, &doorman.Binding{At: at(0)}, nil), doorman.EINVALID, "BindSession without key")
	if after := e.auditTotal(); after != before {
		t.Errorf("refused bindings wrote %d audit events", after-before)
	}
}

func testChallengeOnce(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	c := newChallenge(s.ID, "one", doorman.ChallengeRefresh, at(time.Minute))
	ok(t, e.s.CreateBindingChallenge(e.ctx, c), "CreateBindingChallenge")
	got, err := e.s.UseBindingChallenge(e.ctx, s.ID, c.Hash, at(2*time.Minute))
	ok(t, err, "UseBindingChallenge")
	var df diff
	df.eq("Hash", bytes.Equal(got.Hash, c.Hash), true)
	df.eq("SessionID", got.SessionID, s.ID)
	df.eq("Purpose", got.Purpose, doorman.ChallengeRefresh)
	df.time("CreatedAt", got.CreatedAt, c.CreatedAt)
	df.time("ExpiresAt", got.ExpiresAt, c.ExpiresAt)
	df.report(t, "UseBindingChallenge")
	_, err = e.s.UseBindingChallenge(e.ctx, s.ID, c.Hash, at(2*time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge a second time")
}

func testChallengeRefused(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	other := e.session(u, nil)
	c := newChallenge(s.ID, "mine", doorman.ChallengeRegister, at(time.Minute))
	ok(t, e.s.CreateBindingChallenge(e.ctx, c), "CreateBindingChallenge")
	wantCode(t, e.s.CreateBindingChallenge(e.ctx, newChallenge(other.ID, "mine", doorman.ChallengeRefresh, at(time.Minute))),
		doorman.ECONFLICT, "CreateBindingChallenge of a taken hash")
	wantCode(t, e.s.CreateBindingChallenge(e.ctx, newChallenge("sess_unknown", "x", doorman.ChallengeRefresh, at(time.Minute))),
		doorman.ENOTFOUND, "CreateBindingChallenge of no session")
	wantCode(t, e.s.CreateBindingChallenge(e.ctx, &doorman.BindingChallenge{SessionID: s.ID, Purpose: "refresh"}),
		doorman.EINVALID, "CreateBindingChallenge without hash")

	// Another session's challenge is not used up by trying it.
	_, err := e.s.UseBindingChallenge(e.ctx, other.ID, c.Hash, at(2*time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge of another session's")
	// Expired: refused, and used up all the same.
	_, err = e.s.UseBindingChallenge(e.ctx, s.ID, c.Hash, c.ExpiresAt)
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge at its expiry")
	_, err = e.s.UseBindingChallenge(e.ctx, s.ID, c.Hash, at(2*time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge after a use at its expiry")
	_, err = e.s.UseBindingChallenge(e.ctx, s.ID, nil, at(2*time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge without hash")

	// A new challenge deletes those that expired before it.
	old := newChallenge(s.ID, "old", doorman.ChallengeRefresh, at(time.Minute))
	ok(t, e.s.CreateBindingChallenge(e.ctx, old), "CreateBindingChallenge")
	ok(t, e.s.CreateBindingChallenge(e.ctx, newChallenge(s.ID, "new", doorman.ChallengeRefresh, old.ExpiresAt.Add(time.Second))),
		"CreateBindingChallenge")
	_, err = e.s.UseBindingChallenge(e.ctx, s.ID, old.Hash, at(2*time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge of a purged challenge")
}

// testChallengeConcurrent: of many uses of one challenge at once, exactly
// one succeeds.
func testChallengeConcurrent(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	for round := range 5 {
		c := newChallenge(s.ID, "race"+uniq(), doorman.ChallengeRefresh, at(time.Minute))
		ok(t, e.s.CreateBindingChallenge(e.ctx, c), "CreateBindingChallenge")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				_, err := e.s.UseBindingChallenge(e.ctx, s.ID, c.Hash, at(2*time.Minute))
				switch doorman.ErrorCode(err) {
				case "":
					mu.Lock()
					wins++
					mu.Unlock()
				case doorman.ENOTFOUND:
				default:
					t.Errorf("UseBindingChallenge: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: %d uses of one challenge succeeded, want exactly 1", round, wins)
		}
	}
}

func testChallengesPurged(t *testing.T, open opener) {
	e := newEnv(t, open)
	acct := e.account("Acme", doorman.DefaultSettings())
	u := e.user(acct, "a@example.com")
	s := e.session(u, nil)
	c := newChallenge(s.ID, "gone", doorman.ChallengeRefresh, at(time.Minute))
	ok(t, e.s.CreateBindingChallenge(e.ctx, c), "CreateBindingChallenge")
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: acct.ID, SessionID: s.ID},
		doorman.Revocation{At: at(time.Minute), By: u.ID}, nil)
	ok(t, err, "RevokeSessions")
	n, err := e.s.PurgeSessions(e.ctx, at(time.Hour), 10)
	ok(t, err, "PurgeSessions")
	if n != 1 {
		t.Fatalf("PurgeSessions: %d, want 1", n)
	}
	_, err = e.s.UseBindingChallenge(e.ctx, s.ID, c.Hash, at(2*time.Minute))
	wantCode(t, err, doorman.ENOTFOUND, "UseBindingChallenge of a purged session's")
}
