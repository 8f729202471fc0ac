package app

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultOutageInterval is OutageLog.Interval's default.
const DefaultOutageInterval = 5 * time.Second

// OutageLog reports store failures without flooding the log: while the
// store is down every request fails, and a line per request buried the one
// line that mattered (and filled disks). The first failure of an outage is
// logged at once, as a warning with its error; then at most one line every
// Interval says how many failures there were since the line before; and one
// line says when the store answers again. Every failure is counted
// (Failures) for metrics, whether it is logged or not.
//
// Set the exported fields before first use. It is safe for concurrent use; a
// nil *OutageLog counts and logs nothing. While the store is healthy, a
// success costs one atomic load, as it is reported on every store call.
type OutageLog struct {
	// Log receives the lines. Default slog.Default().
	Log *slog.Logger
	// Interval is the least time between two lines of one outage. Default
	// DefaultOutageInterval.
	Interval time.Duration
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time

	failures atomic.Uint64 // every failure, for metrics
	down     atomic.Bool   // an outage was logged and its end was not yet

	mu        sync.Mutex
	since     time.Time // the outage's first failure
	lastLine  time.Time // when the outage's last line was written
	unlogged  int       // failures since the last line
	recovered time.Time // the first success after the last failure; zero if none
}

// Failures returns how many store calls have failed since the start.
func (o *OutageLog) Failures() uint64 {
	if o == nil {
		return 0
	}
	return o.failures.Load()
}

// Failure records a store call that failed with err.
func (o *OutageLog) Failure(err error) {
	if o == nil {
		return
	}
	o.failures.Add(1)
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.Load() {
		o.down.Store(true)
		o.since, o.lastLine, o.unlogged, o.recovered = now, now, 0, time.Time{}
		o.log().Warn("store unavailable", "err", err)
		return
	}
	o.unlogged++
	o.recovered = time.Time{}
	if now.Sub(o.lastLine) >= o.interval() {
		o.log().Warn("store still unavailable", "failures", o.unlogged, "down_for", now.Sub(o.since).Round(time.Millisecond), "err", err)
		o.lastLine, o.unlogged = now, 0
	}
}

// Success records a store call that answered. The line saying that the
// store is back waits until Interval has passed since the outage's last
// line, so that a store that fails every other call logs no more than one
// that fails every call.
func (o *OutageLog) Success() {
	if o == nil || !o.down.Load() {
		return
	}
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.Load() {
		return
	}
	if o.recovered.IsZero() {
		o.recovered = now
	}
	if now.Sub(o.lastLine) < o.interval() {
		return
	}
	o.log().Info("store available again", "failures", o.unlogged, "down_for", o.recovered.Sub(o.since).Round(time.Millisecond))
	o.down.Store(false)
}

func (o *OutageLog) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o *OutageLog) interval() time.Duration {
	if o.Interval <= 0 {
		return DefaultOutageInterval
	}
	return o.Interval
}

func (o *OutageLog) log() *slog.Logger {
	if o.Log == nil {
		return slog.Default()
	}
	return o.Log
}

// logStoreFailure logs a failure that a request or a background loop meets
// and survives (a late touch, a skipped risk check). A store outage is
// logged by the OutageLog that WithDeadline reports to, so here it is only
// a debug line: one warning per request would flood the log.
func (s *Service) logStoreFailure(msg string, err error, args ...any) {
	if IsUnavailable(err) {
		s.Log.Debug(msg, append(args, "err", err)...)
		return
	}
	s.Log.Warn(msg, append(args, "err", err)...)
}
