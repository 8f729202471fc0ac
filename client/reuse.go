package client

import (
	"sync"
	"time"
)

// reuses are the answers Doorman said may answer the same question again
// for a while (reuse_ms of a batch result, at most doorman.ReuseWindow),
// by coalesceKey. The window counts from when the check was sent, and
// Doorman acknowledges a revocation only that long after its commit: a
// check answered from here after the acknowledgement reuses an answer to
// a check sent after the commit, which already said no. So reuse changes
// no answer a revocation promises, while a busy session costs Doorman one
// check per window rather than one per request.
type reuses struct {
	mu      sync.RWMutex
	m       map[string]reuse
	sweepAt int // the size at which expired entries are dropped next
}

type reuse struct {
	id    Identity
	until time.Time // on the client's clock, with its monotonic reading
}

const (
	// maxReuse bounds a window whatever an answer says.
	maxReuse = time.Second
	// minSweep and maxReused bound the map: expired entries go when it
	// doubles past minSweep, and all go when it reaches maxReused.
	minSweep  = 256
	maxReused = 1 << 16
)

// get returns a copy of the identity answered for key if its window is
// still open at now, else nil.
func (r *reuses) get(key string, now time.Time) *Identity {
	r.mu.RLock()
	e, ok := r.m[key]
	r.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil
	}
	id := e.id
	return &id
}

// keep records the outcome of a check of key sent at sent: a valid identity
// that Doorman let be reused for ms milliseconds is kept until then; any
// other outcome ends what was kept for key.
func (r *reuses) keep(key string, id *Identity, err error, sent time.Time, ms int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || id == nil || ms <= 0 {
		delete(r.m, key)
		return
	}
	until := sent.Add(min(time.Duration(ms)*time.Millisecond, maxReuse))
	if r.m == nil {
		r.m = make(map[string]reuse)
	}
	if len(r.m) >= max(r.sweepAt, minSweep) {
		for k, e := range r.m {
			if !sent.Before(e.until) {
				delete(r.m, k)
			}
		}
		if len(r.m) >= maxReused {
			clear(r.m)
		}
		r.sweepAt = 2 * len(r.m)
	}
	// An answer to an earlier check that returns later does not shorten
	// what a later one allowed.
	if e, ok := r.m[key]; !ok || e.until.Before(until) {
		r.m[key] = reuse{id: *id, until: until}
	}
}
