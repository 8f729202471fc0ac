package app

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// SignInLimits bound how often sign-in may be tried, per email and per
// client address, so that passwords cannot be guessed at speed (OWASP ASVS
// 2.2.1). A zero field takes its default.
type SignInLimits struct {
	// PerEmail attempts a minute for one email, default 5, with bursts of
	// EmailBurst (default 5). Unknown emails are limited the same way, so
	// the answer says nothing about which emails exist.
	PerEmail   float64
	EmailBurst int
	// PerIP attempts a minute from one address, default 20, with bursts of
	// IPBurst (default 20): one client trying many emails.
	PerIP   float64
	IPBurst int
	// MaxTracked bounds the limiters kept in memory, default 100,000 per
	// kind. Idle limiters (full again) are dropped first; beyond the bound
	// the oldest half goes, which at worst forgives some throttled clients
	// early rather than letting memory grow without end.
	MaxTracked int
}

func (l SignInLimits) withDefaults() SignInLimits {
	if l.PerEmail <= 0 {
		l.PerEmail = 5
	}
	if l.EmailBurst <= 0 {
		l.EmailBurst = 5
	}
	if l.PerIP <= 0 {
		l.PerIP = 20
	}
	if l.IPBurst <= 0 {
		l.IPBurst = 20
	}
	if l.MaxTracked <= 0 {
		l.MaxTracked = 100_000
	}
	return l
}

// throttle holds the sign-in limiters of one Service, on the Service's
// clock: rate.Limiter takes the time of each call, so tests move a fake
// clock instead of sleeping.
type throttle struct {
	mu      sync.Mutex
	byEmail limiters
	byIP    limiters
}

type limiters map[string]*limiterEntry

type limiterEntry struct {
	lim  *rate.Limiter
	last time.Time
}

// get returns key's limiter, created full.
func (ls limiters) get(key string, perMinute float64, burst int, now time.Time) *limiterEntry {
	e := ls[key]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(perMinute/60), burst)}
		ls[key] = e
	}
	e.last = now
	return e
}

// sweep drops the limiters that are full again: a new one would be the
// same. Past max it also drops the least recently used half.
func (ls limiters) sweep(now time.Time, max int) {
	for k, e := range ls {
		if e.lim.TokensAt(now) >= float64(e.lim.Burst()) {
			delete(ls, k)
		}
	}
	if len(ls) < max {
		return
	}
	var cut time.Time
	// The median of last use, found roughly: the average is enough to
	// drop about half of them.
	var sum float64
	for _, e := range ls {
		sum += float64(e.last.UnixNano())
	}
	cut = time.Unix(0, int64(sum/float64(len(ls))))
	for k, e := range ls {
		if !e.last.After(cut) {
			delete(ls, k)
		}
	}
}

// allow takes one attempt from both the email's and the address's limiter,
// or from neither, and says how long to wait when it cannot.
func (t *throttle) allow(limits SignInLimits, email, ip string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byEmail == nil {
		t.byEmail, t.byIP = limiters{}, limiters{}
	}
	l := limits.withDefaults()
	for _, ls := range []limiters{t.byEmail, t.byIP} {
		if len(ls) >= l.MaxTracked {
			ls.sweep(now, l.MaxTracked)
		}
	}
	ents := []*limiterEntry{t.byEmail.get(email, l.PerEmail, l.EmailBurst, now)}
	if ip != "" {
		ents = append(ents, t.byIP.get(ip, l.PerIP, l.IPBurst, now))
	}
	var wait time.Duration
	for _, e := range ents {
		if tokens := e.lim.TokensAt(now); tokens < 1 {
			d := time.Duration((1 - tokens) / float64(e.lim.Limit()) * float64(time.Second))
			wait = max(wait, d)
		}
	}
	if wait > 0 {
		return false, wait
	}
	for _, e := range ents {
		e.lim.AllowN(now, 1)
	}
	return true, 0
}

// RetrySeconds is how many whole seconds to wait, at least 1: the value of
// a Retry-After header.
func RetrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// size is how many limiters are kept, for tests.
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byEmail) + len(t.byIP)
}

// waiting says how long an attempt for email from ip must wait under the
// sign-in limits (0: it may go on now), without taking one.
func (t *throttle) waiting(limits SignInLimits, email, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byEmail == nil {
		t.byEmail, t.byIP = limiters{}, limiters{}
	}
	l := limits.withDefaults()
	ents := []*limiterEntry{t.byEmail.get(email, l.PerEmail, l.EmailBurst, now)}
	if ip != "" {
		ents = append(ents, t.byIP.get(ip, l.PerIP, l.IPBurst, now))
	}
	var wait time.Duration
	for _, e := range ents {
		if tokens := e.lim.TokensAt(now); tokens < 1 {
			wait = max(wait, time.Duration((1-tokens)/float64(e.lim.Limit())*float64(time.Second)))
		}
	}
	return wait
}
