package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/doorman/doorman"
)

// Flush writes every session's pending activity and every API key's
// pending usage; a graceful shutdown calls it.
func (s *Service) Flush(ctx context.Context) error { return s.flush(ctx, time.Time{}) }

// FlushDue writes the pending activity of sessions whose stored LastActiveAt
// is a TouchInterval old, so that quiet sessions do not stay stale, and the
// API keys' pending usage when the last such write is a TouchInterval old
// (one transaction for all keys). A background loop calls it; it keeps the
// one-write-a-minute bound.
func (s *Service) FlushDue(ctx context.Context) error {
	return s.flush(ctx, s.now().Add(-s.touchInterval()))
}

func (s *Service) flush(ctx context.Context, writtenBefore time.Time) error {
	if !writtenBefore.IsZero() {
		s.activity.forget(writtenBefore.Add(-forgetAfter))
	}
	var firstErr error
	if writtenBefore.IsZero() || s.keys.due(s.now(), s.touchInterval()) {
		firstErr = s.flushKeys(ctx)
	}
	for id, t := range s.activity.take(writtenBefore) {
		if err := s.Store.TouchSession(ctx, id, t); err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
			s.activity.restore(id, t)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// RunFlusher calls FlushDue every interval until ctx ends.
func (s *Service) RunFlusher(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.FlushDue(ctx); err != nil && ctx.Err() == nil {
				s.logStoreFailure("flush activity failed", err)
			}
		}
	}
}

// tracker keeps, per session, the activity this node has seen but not yet
// written, and what it knows of the session between writes.
type tracker struct {
	mu    sync.Mutex
	m     map[string]*pending
	known map[string]*known
}

type pending struct {
	written time.Time // the LastActiveAt the store holds, as last read
	// touch accumulates the next write. Its IP always comes with the
	// Location of that IP, so that a write never pairs an address with
	// another's place.
	touch doorman.Touch
}

// known is what this node remembers of a session across writes, so that
// neither a change nor Client Hints cost more than they must.
type known struct {
	seen    time.Time // the session's latest request here
	changed time.Time // when a change last forced a write
	hints   uint8     // hintMask of the hints the Device was last detected with
}

// forgetAfter is how long known outlives a session's last request here.
// Forgetting costs at most one more detection and one more forced write.
const forgetAfter = time.Hour

// record adds one request at now from ip, with ch, the changes it brings.
// It removes and returns the accumulated touch, to be written, when the
// stored LastActiveAt is interval old, or when the request changes the
// session's stored address or User-Agent and no change was written in the
// last interval: changes are written at once, yet a client that flips
// between two addresses (IPv4 and IPv6) costs at most one more write per
// interval. When nothing is to be written, the activity pending here is
// applied to sess, as overlay does, and page (when not "") becomes the next
// Last Page, under the same lock: a validation takes it once. When the
// touch is due, the caller records page itself once it has written
// (tracker.page).
func (t *tracker) record(sess *doorman.Session, now time.Time, ip string, ch change, interval time.Duration, page string) (doorman.Touch, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*pending)
	}
	p := t.m[sess.ID]
	if p == nil {
		p = &pending{written: sess.LastActiveAt}
		t.m[sess.ID] = p
	} else if sess.LastActiveAt.After(p.written) {
		p.written = sess.LastActiveAt // written meanwhile, here or by another node
	}
	k := t.knownLocked(sess.ID)
	k.seen = now
	tc := &p.touch
	if now.After(tc.At) {
		tc.At = now
	}
	tc.Actions++
	changed := false
	switch {
	case ip == "":
	case ch.loc != nil:
		tc.IP, tc.Location = ip, ch.loc
		changed = ip != sess.IP
	case ip == tc.IP:
		// Pending already, with its place.
	case ip == sess.IP:
		l := sess.Location
		tc.IP, tc.Location = ip, &l
	default:
		// A request from another address got here between this one's look
		// and now, and left its own (located) address pending: both are as
		// recent, keep that one.
	}
	if ch.ua != "" {
		tc.UserAgent, tc.Device = ch.ua, ch.dev
		changed = changed || ch.ua != sess.UserAgent
	} else if ch.dev != nil {
		tc.Device = ch.dev
		changed = true
	}
	if ch.detected {
		k.hints = ch.hints
	}
	if ch.risk != nil {
		tc.Risk = ch.risk
	}
	force := changed && now.Sub(k.changed) >= interval
	if force {
		k.changed = now
	}
	if !force && now.Sub(p.written) < interval {
		applyTouch(sess, p.touch)
		if page != "" { // after: a session's Last Page is the one before this request's
			tc.LastPage = page
		}
		return doorman.Touch{}, false
	}
	delete(t.m, sess.ID)
	return p.touch, true
}

func (t *tracker) knownLocked(id string) *known {
	if t.known == nil {
		t.known = make(map[string]*known)
	}
	k := t.known[id]
	if k == nil {
		k = &known{}
		t.known[id] = k
	}
	return k
}

// detected notes that a session's Device was just detected with the hints
// of mask, as at sign-in.
func (t *tracker) detected(id string, now time.Time, mask uint8) {
	t.mu.Lock()
	k := t.knownLocked(id)
	k.seen, k.hints = now, mask
	t.mu.Unlock()
}

// view is a session as this node knows it: stored values overlaid with
// pending ones, and the hints its Device was detected with.
type view struct {
	ip    string
	ua    string
	dev   doorman.Device
	hints uint8
}

func (t *tracker) view(sess *doorman.Session) view {
	v := view{ip: sess.IP, ua: sess.UserAgent, dev: sess.Device}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.m[sess.ID]; p != nil {
		if p.touch.IP != "" {
			v.ip = p.touch.IP
		}
		if p.touch.UserAgent != "" {
			v.ua = p.touch.UserAgent
		}
		if p.touch.Device != nil {
			v.dev = *p.touch.Device
		}
	}
	if k := t.known[sess.ID]; k != nil {
		v.hints = k.hints
	}
	return v
}

// forget drops what is known of sessions with no request here since before.
func (t *tracker) forget(before time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, k := range t.known {
		if k.seen.Before(before) {
			delete(t.known, id)
		}
	}
}

// restore puts back a touch whose write failed, merged with what came since.
func (t *tracker) restore(id string, tc doorman.Touch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*pending)
	}
	p := t.m[id]
	if p == nil {
		t.m[id] = &pending{touch: tc}
		return
	}
	p.touch.Actions += tc.Actions
	if tc.At.After(p.touch.At) {
		p.touch.At = tc.At
	}
	if p.touch.IP == "" {
		p.touch.IP, p.touch.Location = tc.IP, tc.Location
	}
	if p.touch.LastPage == "" {
		p.touch.LastPage = tc.LastPage
	}
	if p.touch.UserAgent == "" && p.touch.Device == nil {
		p.touch.UserAgent, p.touch.Device = tc.UserAgent, tc.Device
	}
	if p.touch.Risk == nil {
		p.touch.Risk = tc.Risk
	}
}

// take removes and returns the touches of sessions last written before
// writtenBefore (all of them when it is zero).
func (t *tracker) take(writtenBefore time.Time) map[string]doorman.Touch {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]doorman.Touch)
	for id, p := range t.m {
		if writtenBefore.IsZero() || !p.written.After(writtenBefore) {
			out[id] = p.touch
			delete(t.m, id)
		}
	}
	return out
}

// overlay adds this node's unwritten activity to a session read from the store.
func (t *tracker) overlay(sess *doorman.Session) {
	t.mu.Lock()
	if p := t.m[sess.ID]; p != nil {
		applyTouch(sess, p.touch)
	}
	t.mu.Unlock()
}

// applyTouch changes sess as writing t changes it in the store.
func applyTouch(sess *doorman.Session, t doorman.Touch) {
	sess.Activity.Actions += t.Actions
	if t.Risk != nil {
		sess.Risk = *t.Risk
	}
	if t.At.After(sess.LastActiveAt) {
		sess.LastActiveAt = t.At
	}
	if t.IP != "" {
		sess.IP = t.IP
	}
	if t.Location != nil {
		sess.Location = *t.Location
	}
	if t.LastPage != "" {
		sess.Activity.LastPage = t.LastPage
	}
	if t.UserAgent != "" {
		sess.UserAgent = t.UserAgent
	}
	if t.Device != nil {
		sess.Device = *t.Device
	}
}

// pageTitle trims a page title or route name to what the store keeps.
func pageTitle(s string) string {
	return doorman.CleanText(strings.TrimSpace(s), 100)
}

// RecordPage notes the title of the page (or API route name) a session's
// request served, shown as "Last Page". It costs no store write.
func (s *Service) RecordPage(sessionID, title string) {
	s.activity.page(sessionID, pageTitle(title), s.now())
}

// page notes title, unless "", as a session's Last Page for its next write.
func (t *tracker) page(sessionID, title string, now time.Time) {
	if title == "" {
		return
	}
	t.mu.Lock()
	if p := t.m[sessionID]; p != nil {
		p.touch.LastPage = title
	} else {
		if t.m == nil {
			t.m = make(map[string]*pending)
		}
		// The session was just written; keep the page for its next write.
		t.m[sessionID] = &pending{written: now, touch: doorman.Touch{LastPage: title}}
	}
	t.mu.Unlock()
}
