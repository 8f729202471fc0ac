package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var deviceTests = []test{
	{"LoginsAcrossSignIns", testDeviceLogins},
	{"NewPerUser", testDeviceNewPerUser},
	{"WithoutKey", testDeviceWithoutKey},
	{"RolledBackWithSession", testDeviceRollback},
	{"Concurrent", testDeviceConcurrent},
}

// keyed returns an edit that gives a session the device key hash of key,
// signing in d after Base.
func keyed(key string, d time.Duration) func(*doorman.Session) {
	return func(s *doorman.Session) {
		s.DeviceKeyHash = doorman.HashDeviceKey(key)
		s.CreatedAt, s.LastActiveAt = at(d), at(d)
	}
}

// signIn stores a session of u with edit and returns it with the NewDevice
// and Logins CreateSession set.
func (e *env) signIn(u *doorman.User, edit func(*doorman.Session)) *doorman.Session {
	e.tb.Helper()
	s := newSession(u, edit)
	ev := event(u.AccountID, doorman.ActionSignIn, s.CreatedAt)
	if err := e.s.CreateSession(e.ctx, s, ev); err != nil {
		e.tb.Fatalf("CreateSession: %v", err)
	}
	return s
}

// wantDevice checks what CreateSession set and what the store reads back
// by id and by token hash (the hot path, which a store may cache).
func (e *env) wantDevice(t *testing.T, s *doorman.Session, newDevice bool, logins int64, what string) {
	t.Helper()
	if s.NewDevice != newDevice {
		t.Errorf("%s: CreateSession set NewDevice %t, want %t", what, s.NewDevice, newDevice)
	}
	if s.Activity.Logins != logins {
		t.Errorf("%s: CreateSession set Activity.Logins %d, want %d", what, s.Activity.Logins, logins)
	}
	e.wantStoredDevice(t, s, newDevice, logins, what)
}

func (e *env) wantStoredDevice(t *testing.T, s *doorman.Session, newDevice bool, logins int64, what string) {
	t.Helper()
	got := e.sessionByID(s.ID)
	if got.NewDevice != newDevice || got.Activity.Logins != logins {
		t.Errorf("%s: FindSessionByID: NewDevice %t, Logins %d; want %t, %d", what, got.NewDevice, got.Activity.Logins, newDevice, logins)
	}
	p, err := e.s.FindSessionByTokenHash(e.ctx, s.TokenHash)
	ok(t, err, what+": FindSessionByTokenHash")
	if p.Session.NewDevice != newDevice || p.Session.Activity.Logins != logins {
		t.Errorf("%s: FindSessionByTokenHash: NewDevice %t, Logins %d; want %t, %d",
			what, p.Session.NewDevice, p.Session.Activity.Logins, newDevice, logins)
	}
	list, _ := e.sessions(doorman.SessionFilter{AccountID: s.AccountID, ID: s.ID})
	if len(list) != 1 || list[0].NewDevice != newDevice || list[0].Activity.Logins != logins {
		t.Errorf("%s: FindSessions: %+v, want one session with NewDevice %t, Logins %d", what, list, newDevice, logins)
	}
}

func testDeviceLogins(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")

	first := e.signIn(u, keyed("laptop", 0))
	// Read on the hot path before the next sign-in, so that a store that
	// caches it must notice the change.
	e.wantDevice(t, first, true, 1, "first sign-in")

	// What the caller sets is overwritten when a key hash is given.
	second := e.signIn(u, func(s *doorman.Session) {
		keyed("laptop", time.Hour)(s)
		s.NewDevice, s.Activity.Logins = true, 40
	})
	e.wantDevice(t, second, false, 2, "second sign-in from the same device")
	// Logins is the device's count as it is now, on every session of it;
	// NewDevice stays what it was at each sign-in.
	e.wantStoredDevice(t, first, true, 2, "first session after the second sign-in")

	phone := e.signIn(u, keyed("phone", 2*time.Hour))
	e.wantDevice(t, phone, true, 1, "sign-in from another device")

	third := e.signIn(u, keyed("laptop", 3*time.Hour))
	e.wantDevice(t, third, false, 3, "third sign-in from the first device")
	e.wantStoredDevice(t, first, true, 3, "first session after the third sign-in")
	e.wantStoredDevice(t, phone, true, 1, "the other device's session")

	// Revoking and purging sessions keeps the device: it counts sign-ins.
	_, err := e.s.RevokeSessions(e.ctx, doorman.RevokeFilter{AccountID: a.ID, UserID: u.ID}, doorman.Revocation{At: at(4 * time.Hour), By: u.ID}, nil)
	ok(t, err, "RevokeSessions")
	n, err := e.s.PurgeSessions(e.ctx, at(5*time.Hour), 100)
	ok(t, err, "PurgeSessions")
	if n != 4 {
		t.Fatalf("PurgeSessions = %d, want 4", n)
	}
	fourth := e.signIn(u, keyed("laptop", 6*time.Hour))
	e.wantDevice(t, fourth, false, 4, "sign-in after every session of the device was purged")
}

func testDeviceNewPerUser(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	b := e.account("Globex", doorman.DefaultSettings())
	ana, bo := e.user(a, "ana@example.com"), e.user(a, "bo@example.com")
	cy := e.user(b, "cy@example.com")

	sAna := e.signIn(ana, keyed("shared", 0))
	e.wantDevice(t, sAna, true, 1, "ana's first sign-in")
	// The same browser signing in as someone else is a new device for them.
	sBo := e.signIn(bo, keyed("shared", time.Minute))
	e.wantDevice(t, sBo, true, 1, "bo's first sign-in from ana's browser")
	sCy := e.signIn(cy, keyed("shared", 2*time.Minute))
	e.wantDevice(t, sCy, true, 1, "another account's user from the same browser")
	sBo2 := e.signIn(bo, keyed("shared", 3*time.Minute))
	e.wantDevice(t, sBo2, false, 2, "bo's second sign-in")
	e.wantStoredDevice(t, sAna, true, 1, "ana's session after bo's sign-ins")
	e.wantStoredDevice(t, sCy, true, 1, "cy's session after bo's sign-ins")
}

func testDeviceWithoutKey(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	e.signIn(u, keyed("laptop", 0))
	// Without a key hash, NewDevice and Logins are stored as given.
	plain := e.signIn(u, func(s *doorman.Session) { s.Activity.Logins, s.NewDevice = 1, false })
	e.wantDevice(t, plain, false, 1, "sign-in without a device key")
	flagged := e.signIn(u, func(s *doorman.Session) { s.Activity.Logins, s.NewDevice = 7, true })
	e.wantDevice(t, flagged, true, 7, "sign-in without a device key, flagged by the caller")
	again := e.signIn(u, keyed("laptop", time.Hour))
	e.wantDevice(t, again, false, 2, "keyed sign-in after keyless ones")
	e.wantStoredDevice(t, plain, false, 1, "keyless session after a keyed sign-in")
}

func testDeviceRollback(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	first := e.signIn(u, keyed("laptop", 0))

	dup := newSession(u, func(s *doorman.Session) { keyed("laptop", time.Minute)(s); s.ID = first.ID })
	wantCode(t, e.s.CreateSession(e.ctx, dup, nil), doorman.ECONFLICT, "CreateSession(same id, same device)")
	dupHash := newSession(u, func(s *doorman.Session) { keyed("laptop", time.Minute)(s); s.TokenHash = first.TokenHash })
	wantCode(t, e.s.CreateSession(e.ctx, dupHash, nil), doorman.ECONFLICT, "CreateSession(same token hash, same device)")
	e.wantStoredDevice(t, first, true, 1, "session after two rejected sign-ins from its device")

	// A user of another account, or no user at all, records no device.
	b := e.account("Globex", doorman.DefaultSettings())
	wrong := newSession(u, func(s *doorman.Session) { keyed("tablet", time.Minute)(s); s.AccountID = b.ID })
	wantCode(t, e.s.CreateSession(e.ctx, wrong, nil), doorman.ENOTFOUND, "CreateSession(user of another account, device key)")
	ghost := newSession(&doorman.User{ID: "usr_missing", AccountID: a.ID}, keyed("tablet", time.Minute))
	wantCode(t, e.s.CreateSession(e.ctx, ghost, nil), doorman.ENOTFOUND, "CreateSession(unknown user, device key)")

	next := e.signIn(u, keyed("laptop", time.Hour))
	e.wantDevice(t, next, false, 2, "sign-in after rejected ones")
	tablet := e.signIn(u, keyed("tablet", 2*time.Hour))
	e.wantDevice(t, tablet, true, 1, "first accepted sign-in from a device of rejected ones")
}

func testDeviceConcurrent(t *testing.T, open opener) {
	const workers = 8
	e := newEnv(t, open)
	a := e.account("Acme", doorman.DefaultSettings())
	u := e.user(a, "ana@example.com")
	sessions := make([]*doorman.Session, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s := newSession(u, keyed("laptop", time.Duration(w)*us))
			if err := e.s.CreateSession(e.ctx, s, nil); err != nil {
				t.Errorf("worker %d: CreateSession: %v", w, err)
				return
			}
			sessions[w] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	news, logins := 0, map[int64]bool{}
	for _, s := range sessions {
		if s.NewDevice {
			news++
		}
		logins[s.Activity.Logins] = true
	}
	if news != 1 || len(logins) != workers {
		t.Errorf("%d concurrent first sign-ins from one device: %d marked new (want 1), logins %v (want 1 to %d, each once)",
			workers, news, logins, workers)
	}
	for _, s := range sessions {
		e.wantStoredDevice(t, s, s.NewDevice, workers, "session after concurrent sign-ins")
	}
}
