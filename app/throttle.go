package app

import (
	"context"
	"math"
	"time"

	"github.com/doorman/doorman"
)

// SignInLimits bound how often sign-in may be tried, per email and per
// client address, so that passwords cannot be guessed at speed (OWASP ASVS
// 2.2.1). The attempts are counted in the store (doorman.Limit): every node
// sharing it counts the same ones, and a restart forgives no one. A zero
// field takes its default.
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
	return l
}

// interval is what one attempt costs at perMinute attempts a minute, in
// whole microseconds as the store keeps them.
func interval(perMinute float64) time.Duration {
	return max(time.Microsecond, time.Duration(float64(time.Minute)/perMinute).Truncate(time.Microsecond))
}

// limits returns the buckets an attempt for email (normalized) from ip
// counts against: the email's, and the address's when it is known. Only
// hashes of either reach the store.
func (l SignInLimits) limits(email, ip string) []doorman.Limit {
	l = l.withDefaults()
	ls := []doorman.Limit{{Key: doorman.LimitKey("email", email), Interval: interval(l.PerEmail), Burst: l.EmailBurst}}
	if ip != "" {
		ls = append(ls, doorman.Limit{Key: doorman.LimitKey("ip", ip), Interval: interval(l.PerIP), Burst: l.IPBurst})
	}
	return ls
}

// takeAttempt takes one attempt for email from ip from the sign-in limits,
// or none when they say wait, and returns the wait (0: taken). A store
// failure is unavailable: an attempt the store cannot count never passes.
func (s *Service) takeAttempt(ctx context.Context, email, ip string) (time.Duration, error) {
	wait, err := s.Store.TakeLimits(ctx, s.SignInLimits.limits(email, ip), s.now())
	if err != nil {
		return 0, unavailable("sign-in limits", err)
	}
	return wait, nil
}

// attemptWait says how long an attempt for email from ip must wait under
// the sign-in limits (0: it may go on now), without taking one.
func (s *Service) attemptWait(ctx context.Context, email, ip string) (time.Duration, error) {
	wait, err := s.Store.FindLimitWait(ctx, s.SignInLimits.limits(email, ip), s.now())
	if err != nil {
		return 0, unavailable("sign-in limits", err)
	}
	return wait, nil
}

// limitsSlack is how long after a bucket is full again PurgeSignInLimits
// waits before deleting it: a node whose clock is behind this one's would
// still count its attempts.
const limitsSlack = time.Minute

// PurgeSignInLimits deletes, in batches of batch, the sign-in limits'
// buckets that are full again (a deleted bucket reads as full, so nothing
// changes), and returns how many it deleted: the table stays as small as
// the attempts of the last minutes.
func (s *Service) PurgeSignInLimits(ctx context.Context, batch int) (int, error) {
	before := s.now().Add(-limitsSlack)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeLimits(ctx, before, limit) })
}

// RetrySeconds is how many whole seconds to wait, at least 1: the value of
// a Retry-After header.
func RetrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
