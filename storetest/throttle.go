package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
)

var throttleTests = []test{
	{"BurstThenWait", testLimitBurst},
	{"AllOrNone", testLimitAllOrNone},
	{"Invalid", testLimitInvalid},
	{"Purge", testLimitPurge},
	{"Concurrent", testLimitConcurrent},
}

// limit returns a bucket of burst attempts, one back every interval, keyed
// by kind and value.
func limit(kind, value string, interval time.Duration, burst int) doorman.Limit {
	return doorman.Limit{Key: doorman.LimitKey(kind, value), Interval: interval, Burst: burst}
}

// take takes an attempt at now and fails the test unless it waits want.
func (e *env) take(now time.Time, want time.Duration, ls ...doorman.Limit) {
	e.tb.Helper()
	wait, err := e.s.TakeLimits(e.ctx, ls, now)
	ok(e.tb, err, "TakeLimits")
	if wait != want {
		e.tb.Fatalf("TakeLimits at %s: wait %v, want %v", fmtTime(now), wait, want)
	}
}

// waits fails the test unless FindLimitWait at now says want.
func (e *env) waits(now time.Time, want time.Duration, ls ...doorman.Limit) {
	e.tb.Helper()
	wait, err := e.s.FindLimitWait(e.ctx, ls, now)
	ok(e.tb, err, "FindLimitWait")
	if wait != want {
		e.tb.Fatalf("FindLimitWait at %s: wait %v, want %v", fmtTime(now), wait, want)
	}
}

// testLimitBurst: a bucket never used is full; Burst attempts pass at once,
// the next waits exactly one Interval and a refused one takes nothing;
// each Interval gives one back; FindLimitWait takes nothing.
func testLimitBurst(t *testing.T, open opener) {
	e := newEnv(t, open)
	l := limit("email", "ana@acme.example", 12*time.Second, 5)
	e.waits(Base, 0, l)
	for range 5 {
		e.take(Base, 0, l)
	}
	e.waits(Base, 12*time.Second, l)
	e.take(Base, 12*time.Second, l)
	e.take(at(5*time.Second+7*us), 7*time.Second-7*us, l) // refused: took nothing
	e.waits(at(12*time.Second-us), us, l)
	e.take(at(12*time.Second), 0, l)
	e.take(at(12*time.Second), 12*time.Second, l)
	// Another key is another bucket; full after a whole minute of rest.
	e.waits(Base, 0, limit("email", "bob@acme.example", 12*time.Second, 5))
	e.waits(at(72*time.Second), 0, l)
	for range 5 {
		e.take(at(72*time.Second), 0, l)
	}
	e.take(at(72*time.Second), 12*time.Second, l)
	// A node whose clock is behind takes from the same bucket: it is never
	// refilled by going back in time.
	e.take(at(time.Minute), 24*time.Second, l)
}

// testLimitAllOrNone: an attempt takes from every bucket or from none, and
// waits for the longest.
func testLimitAllOrNone(t *testing.T, open opener) {
	e := newEnv(t, open)
	email := limit("email", "ana@acme.example", 12*time.Second, 1)
	ip := limit("ip", "203.0.113.7", 3*time.Second, 3)
	e.take(Base, 0, email, ip)
	// The email must wait: the address gives nothing either.
	e.take(Base, 12*time.Second, email, ip)
	e.take(Base, 12*time.Second, ip, email)
	e.take(Base, 0, ip)
	e.take(Base, 0, ip)
	e.take(Base, 3*time.Second, ip)
	// Both must wait: the longer wait is the answer.
	e.waits(Base, 12*time.Second, ip, email)
	e.take(at(3*time.Second), 9*time.Second, email, ip)
	e.take(at(12*time.Second), 0, email, ip)
	e.waits(at(12*time.Second), 12*time.Second, email)
	e.waits(at(12*time.Second), 0, ip)
}

// testLimitInvalid: limits without a key, a positive interval in whole
// microseconds or a positive burst, or with a key twice, are EINVALID and
// take nothing.
func testLimitInvalid(t *testing.T, open opener) {
	e := newEnv(t, open)
	good := limit("email", "ana@acme.example", time.Second, 1)
	for name, bad := range map[string]doorman.Limit{
		"no key":      {Interval: time.Second, Burst: 1},
		"no interval": limit("ip", "x", 0, 1),
		"nanoseconds": limit("ip", "x", time.Second+time.Nanosecond, 1),
		"no burst":    limit("ip", "x", time.Second, 0),
		"same key":    good,
	} {
		_, err := e.s.TakeLimits(e.ctx, []doorman.Limit{good, bad}, Base)
		wantCode(t, err, doorman.EINVALID, "TakeLimits("+name+")")
		_, err = e.s.FindLimitWait(e.ctx, []doorman.Limit{good, bad}, Base)
		wantCode(t, err, doorman.EINVALID, "FindLimitWait("+name+")")
	}
	e.take(Base, 0, good)
}

// testLimitPurge: PurgeLimits deletes, oldest first and at most limit, the
// buckets full again at or before the cutoff, which then read as full, as
// they were; the others keep their attempts.
func testLimitPurge(t *testing.T, open opener) {
	e := newEnv(t, open)
	a := limit("ip", "a", time.Second, 1)  // full again at Base+1s
	b := limit("ip", "b", time.Second, 2)  // full again at Base+2s
	c := limit("ip", "c", time.Minute, 10) // full again at Base+10min
	e.take(Base, 0, a)
	e.take(Base, 0, b)
	e.take(Base, 0, b)
	for range 10 {
		e.take(Base, 0, c)
	}
	if n, err := e.s.PurgeLimits(e.ctx, at(2*time.Second), 0); err != nil || n != 0 {
		t.Fatalf("PurgeLimits(limit 0) = %d, %v; want 0", n, err)
	}
	if n, err := e.s.PurgeLimits(e.ctx, at(2*time.Second), 1); err != nil || n != 1 {
		t.Fatalf("PurgeLimits(limit 1) = %d, %v; want 1", n, err)
	}
	// a went first: it reads as full at Base, before it would have been.
	e.waits(Base, 0, a)
	e.waits(Base, time.Second, b)
	if n, err := e.s.PurgeLimits(e.ctx, at(2*time.Second), 10); err != nil || n != 1 {
		t.Fatalf("PurgeLimits = %d, %v; want 1 (b, full again at the cutoff)", n, err)
	}
	e.waits(at(2*time.Second), 0, b)
	e.waits(at(2*time.Second), 58*time.Second, c)
	if n, err := e.s.PurgeLimits(e.ctx, at(10*time.Minute-us), 10); err != nil || n != 0 {
		t.Fatalf("PurgeLimits before c is full = %d, %v; want 0", n, err)
	}
	e.take(at(9*time.Minute), 0, c)
}

// testLimitConcurrent: many callers take attempts at once from one bucket,
// as sign-ins on many nodes do: exactly Burst pass, and the ones refused
// took nothing from the address bucket they share.
func testLimitConcurrent(t *testing.T, open opener) {
	const callers, burst = 24, 5
	e := newEnv(t, open)
	email := limit("email", "ana@acme.example", 12*time.Second, burst)
	ip := limit("ip", "203.0.113.7", 3*time.Second, 20)
	var passed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range callers {
		wg.Go(func() {
			<-start
			wait, err := e.s.TakeLimits(e.ctx, []doorman.Limit{email, ip}, Base)
			switch {
			case err != nil:
				t.Errorf("TakeLimits: %v", err)
			case wait == 0:
				passed.Add(1)
			case wait != 12*time.Second:
				t.Errorf("TakeLimits: wait %v, want 12s", wait)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := passed.Load(); n != burst {
		t.Fatalf("%d of %d concurrent attempts passed, want exactly %d", n, callers, burst)
	}
	// The address gave exactly burst attempts: 15 are left.
	e.waits(Base, 0, ip)
	for range 20 - burst {
		e.take(Base, 0, ip)
	}
	e.take(Base, 3*time.Second, ip)
}
