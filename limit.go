package doorman

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"time"
)

// Limit is one bucket of an attempt limit, such as the sign-in limits per
// email and per address: Burst attempts at once, then one more every
// Interval. The store keeps a bucket as the one instant at which it is full
// again (the generic cell rate algorithm, a token bucket without a count to
// refill), so one row per key is the whole state, shared by every node.
type Limit struct {
	// Key names the bucket: LimitKey's hash, so that the store never keeps
	// an email or an address in clear for it.
	Key []byte
	// Interval is what one attempt costs: the bucket gains one attempt
	// back every Interval. Positive, in whole microseconds, so that both
	// stores keep the instants exactly.
	Interval time.Duration
	// Burst is how many attempts a full bucket holds. Positive.
	Burst int
}

// LimitKey returns the key of the bucket of kind ("email", "ip") for
// value: a SHA-256 hash, the kind apart so that no email meets an address.
func LimitKey(kind, value string) []byte {
	h := sha256.Sum256([]byte(kind + "\x00" + value))
	return h[:]
}

// Wait returns how long an attempt at now must wait on l's bucket when it
// is full again at fullAt (the zero time: a bucket never used); 0 when it
// may go now.
func (l Limit) Wait(fullAt, now time.Time) time.Duration {
	owed := fullAt.Sub(now)
	allowed := time.Duration(l.Burst-1) * l.Interval
	if owed <= allowed {
		return 0
	}
	return owed - allowed
}

// Take returns when l's bucket is full again after one attempt at now, when
// it was full again at fullAt.
func (l Limit) Take(fullAt, now time.Time) time.Time {
	if fullAt.Before(now) {
		fullAt = now
	}
	return fullAt.Add(l.Interval)
}

// ValidateLimits returns EINVALID unless every limit of ls has a key, a
// positive Interval in whole microseconds and a positive Burst, and no two
// share a key.
func ValidateLimits(ls []Limit) error {
	for i, l := range ls {
		if len(l.Key) == 0 || l.Interval <= 0 || l.Interval%time.Microsecond != 0 || l.Burst <= 0 {
			return Errorf(EINVALID, "limit %d: a key, a positive interval in microseconds and a positive burst are required", i)
		}
		if slices.ContainsFunc(ls[:i], func(o Limit) bool { return bytes.Equal(o.Key, l.Key) }) {
			return Errorf(EINVALID, "limit %d: key given twice", i)
		}
	}
	return nil
}

// LimitsWait is how long an attempt at now must wait under ls, whose
// buckets are full again at the times full holds by key (a bucket missing
// from full is full).
func LimitsWait(ls []Limit, full map[string]time.Time, now time.Time) time.Duration {
	var wait time.Duration
	for _, l := range ls {
		wait = max(wait, l.Wait(full[string(l.Key)], now))
	}
	return wait
}

// ThrottleStore keeps the buckets of the sign-in limits, so that every
// node sharing the store, and a restarted one, counts the same attempts.
type ThrottleStore interface {
	// TakeLimits takes one attempt at now from every bucket of ls, or from
	// none when any of them must wait (Limit.Wait), in one transaction: of
	// callers racing on any number of nodes, never more pass than the
	// buckets hold. It returns 0 when the attempt was taken, else the
	// longest wait. A bucket never used, or purged, is full. Returns
	// EINVALID unless ls passes ValidateLimits.
	TakeLimits(ctx context.Context, ls []Limit, now time.Time) (time.Duration, error)
	// FindLimitWait returns how long an attempt at now must wait under ls:
	// the longest wait of its buckets, 0 when it may go now. It takes
	// nothing. Returns EINVALID unless ls passes ValidateLimits.
	FindLimitWait(ctx context.Context, ls []Limit, now time.Time) (time.Duration, error)
	// PurgeLimits deletes at most limit buckets full again at or before
	// before (a deleted bucket reads as full, as it was), oldest first, and
	// returns how many it deleted.
	PurgeLimits(ctx context.Context, before time.Time, limit int) (int, error)
}
