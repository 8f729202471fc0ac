package app

import (
	"context"
	"github.com/doorman/doorman"
	"slices"
	"strings"
	"sync"
	"time"
)

var errNoAPIKey = &doorman.Error{Code: doorman.EUNAUTHORIZED, Message: "Invalid API key"}

// AuthenticateAPIKey returns the principal of an API key: the key, its
// account, and as User the key acting for the account with an
// administrator's role (ID the key's id, Name its name, no email); it is not
// a person and has no session. The HTTP layer refuses keys on personal
// routes and read-only keys on unsafe methods. It returns EUNAUTHORIZED
// when the key is malformed, unknown or revoked, at once: the store is read
// on every request (SQLite serves it from memory while no process writes),
// so a revocation by any node is seen by the next request.
//
// The request is counted in memory only: no store write per request. A
// request from an address that is not the key's stored last address and
// that this node has not seen since its last flush is written at once with
// an api_key_new_ip audit event (bounded by address changes).
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string, m Meta) (*doorman.Principal, error) {
	if !doorman.APIKeyWellFormed(key) {
		return nil, errNoAPIKey
	}
	hash := doorman.HashAPIKey(key)
	p, err := s.Store.FindAPIKeyByHash(ctx, hash)
	if err != nil {
		if doorman.ErrorCode(err) == doorman.ENOTFOUND {
			return nil, errNoAPIKey
		}
		return nil, unavailable("authenticate api key", err)
	}
	k := p.APIKey
	if !doorman.HashesEqual(k.Hash, hash) || k.Revoked() {
		return nil, errNoAPIKey
	}
	now := s.now()
	ua := m.userAgent()
	if s.keys.record(k, now, m.IP, ua) {
		ev := s.event(p, doorman.ActionAPIKeyNewIP, k.ID, m, now)
		ev.Details = "prefix=" + k.Prefix
		if err := s.flushKey(ctx, k.ID, ev); err != nil {
			s.logStoreFailure("record api key address failed", err, "api_key_id", k.ID)
		}
	}
	s.keys.overlay(k)
	p.User = keyUser(k)
	return p, nil
}

// keyUser is the User an API key acts as: an administrator of its account
// named after the key, with the key's id.
func keyUser(k *doorman.APIKey) *doorman.User {
	return &doorman.User{ID: k.ID, AccountID: k.AccountID, Name: k.Name, Role: doorman.RoleAdmin, CreatedAt: k.CreatedAt}
}

// requirePerson returns EFORBIDDEN for an API key: only a person (an admin
// signed in with a session) may manage API keys, so that a leaked key cannot
// mint others.
func requirePerson(p *doorman.Principal) error {
	if p != nil && p.APIKey != nil {
		return doorman.Errorf(doorman.EFORBIDDEN, "API keys cannot manage API keys; sign in as an administrator")
	}
	return nil
}

// CreateAPIKey creates an API key of the admin's account and returns it with
// its secret, which is shown this once: only its hash is stored. Audited as
// api_key_created. EFORBIDDEN for members and API keys, EINVALID for a
// missing or overlong name, EREAUTH without a recent password
// (requireRecentAuth), asked once the request is otherwise valid.
func (s *Service) CreateAPIKey(ctx context.Context, p *doorman.Principal, name string, readOnly bool, m Meta) (*doorman.APIKey, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	if err := requirePerson(p); err != nil {
		return nil, "", err
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, "", doorman.Errorf(doorman.EINVALID, "name is required")
	case len(name) > doorman.MaxAPIKeyName:
		return nil, "", doorman.Errorf(doorman.EINVALID, "name must be at most %d characters", doorman.MaxAPIKeyName)
	}
	if err := doorman.ValidateText("name", name); err != nil {
		return nil, "", err
	}
	if err := s.requireRecentAuth(ctx, p, m.Proof, m); err != nil {
		return nil, "", err
	}
	now := s.now()
	for attempt := 0; ; attempt++ {
		secret, prefix, hash := doorman.NewAPIKey()
		k := &doorman.APIKey{ID: doorman.NewID(doorman.PrefixAPIKeyID, now), AccountID: p.Account.ID, Name: name, Prefix: prefix,
			Hash: hash, ReadOnly: readOnly, CreatedAt: now, CreatedBy: p.User.ID, CreatedByEmail: p.User.Email}
		ev := s.event(p, doorman.ActionAPIKeyCreated, k.ID, m, now)
		ev.Details = "name=" + name + " prefix=" + prefix
		if readOnly {
			ev.Details += " read_only=true"
		}
		err := s.Store.CreateAPIKey(ctx, k, ev)
		if doorman.ErrorCode(err) == doorman.ECONFLICT && attempt < 3 {
			continue // a short id taken by chance: draw another
		}
		if err != nil {
			return nil, "", unavailable("create api key", err)
		}
		s.Log.Info("api key created", "api_key_id", k.ID, "prefix", prefix, "by", p.User.ID)
		return k, secret, nil
	}
}

// APIKeys returns the account's keys not revoked, with their last use and
// Requests24h including this node's unwritten counts, most recently used
// first (never used last, newest first among those). EFORBIDDEN for members.
func (s *Service) APIKeys(ctx context.Context, p *doorman.Principal) ([]*doorman.APIKey, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	keys, err := s.Store.FindAPIKeys(ctx, doorman.APIKeyFilter{AccountID: p.Account.ID})
	if err != nil {
		return nil, unavailable("api keys", err)
	}
	now := s.now()
	start := doorman.UsageWindowStart(now)
	usage, err := s.Store.FindAPIKeyUsage(ctx, p.Account.ID, "", start)
	if err != nil {
		return nil, unavailable("api keys", err)
	}
	sums := make(map[string]int64, len(keys))
	for _, u := range usage {
		sums[u.KeyID] += u.Requests
	}
	for _, k := range keys {
		s.keys.overlay(k)
		k.Requests24h = sums[k.ID] + s.keys.pendingSince(k.ID, start)
		k.LastDevice = s.detect(k.LastUserAgent, doorman.ClientHints{})
	}
	slices.SortStableFunc(keys, func(a, b *doorman.APIKey) int {
		switch {
		case a.LastUsedAt == nil && b.LastUsedAt == nil:
			return 0
		case a.LastUsedAt == nil:
			return 1
		case b.LastUsedAt == nil:
			return -1
		}
		return b.LastUsedAt.Compare(*a.LastUsedAt)
	})
	return keys, nil
}

// APIKey returns one key of the admin's account (revoked ones too) with its
// requests per hour over the window: UsageWindowHours entries, oldest first,
// the last being the current hour. Another account's key is ENOTFOUND.
func (s *Service) APIKey(ctx context.Context, p *doorman.Principal, id string) (*doorman.APIKey, []doorman.UsageHour, error) {
	if err := requireAdmin(p); err != nil {
		return nil, nil, err
	}
	k, err := s.findKey(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	start := doorman.UsageWindowStart(now)
	usage, err := s.Store.FindAPIKeyUsage(ctx, p.Account.ID, k.ID, start)
	if err != nil {
		return nil, nil, unavailable("api key", err)
	}
	series := make([]doorman.UsageHour, doorman.UsageWindowHours)
	for i := range series {
		series[i] = doorman.UsageHour{KeyID: k.ID, Hour: start.Add(time.Duration(i) * time.Hour)}
	}
	add := func(h time.Time, n int64) {
		if i := int(h.Sub(start) / time.Hour); i >= 0 && i < len(series) {
			series[i].Requests += n
			k.Requests24h += n
		}
	}
	for _, u := range usage {
		add(u.Hour, u.Requests)
	}
	for h, n := range s.keys.pendingHours(k.ID) {
		add(h, n)
	}
	s.keys.overlay(k)
	k.LastDevice = s.detect(k.LastUserAgent, doorman.ClientHints{})
	return k, series, nil
}

func (s *Service) findKey(ctx context.Context, p *doorman.Principal, id string) (*doorman.APIKey, error) {
	if !doorman.IDWellFormed(doorman.PrefixAPIKeyID, id) {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "API key not found")
	}
	list, err := s.Store.FindAPIKeys(ctx, doorman.APIKeyFilter{AccountID: p.Account.ID, ID: id, IncludeRevoked: true})
	if err != nil {
		return nil, unavailable("api key", err)
	}
	if len(list) == 0 {
		return nil, doorman.Errorf(doorman.ENOTFOUND, "API key not found")
	}
	return list[0], nil
}

// RevokeAPIKey revokes a key of the admin's account: its next request, on
// any node, gets 401. Audited as api_key_revoked. Another account's key, or
// one already revoked, is ENOTFOUND; EFORBIDDEN for members. A key may
// revoke itself or another key of its account (not read-only ones: the
// HTTP layer refuses their unsafe requests).
func (s *Service) RevokeAPIKey(ctx context.Context, p *doorman.Principal, id string, m Meta) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	k, err := s.findKey(ctx, p, id)
	if err != nil {
		return err
	}
	now := s.now()
	ev := s.event(p, doorman.ActionAPIKeyRevoked, k.ID, m, now)
	ev.Details = "name=" + k.Name + " prefix=" + k.Prefix
	if err := s.Store.RevokeAPIKey(ctx, p.Account.ID, k.ID, doorman.Revocation{At: now, By: p.User.ID}, ev); err != nil {
		return unavailable("revoke api key", err)
	}
	s.Log.Info("api key revoked", "api_key_id", k.ID, "prefix", k.Prefix, "by", p.User.ID)
	return nil
}

// flushKeys writes every key's pending usage in one transaction, and puts
// it back if the write fails.
func (s *Service) flushKeys(ctx context.Context) error {
	usage := s.keys.take("")
	s.keys.flushed(s.now())
	if len(usage) == 0 {
		return nil
	}
	if err := s.Store.RecordAPIKeyUsage(ctx, usage, nil); err != nil {
		s.keys.restore(usage)
		return err
	}
	return nil
}

// flushKey writes one key's pending usage with ev, at once.
func (s *Service) flushKey(ctx context.Context, id string, ev *doorman.AuditEvent) error {
	usage := s.keys.take(id)
	if err := s.Store.RecordAPIKeyUsage(ctx, usage, []*doorman.AuditEvent{ev}); err != nil {
		s.keys.restore(usage)
		s.keys.unsee(id, ev.IP) // announce it again next time
		return err
	}
	return nil
}

// keyTracker counts, per API key, the requests this node served and has not
// yet written, by hour, and the latest use.
type keyTracker struct {
	mu        sync.Mutex
	m         map[string]*keyPending
	seen      map[string]map[string]bool // key id → addresses seen here since the last flush
	lastFlush time.Time
}

type keyPending struct {
	hours map[time.Time]int64
	at    time.Time
	ip    string
	ua    string
}

// record counts one request of k at now and reports whether it came from an
// address to announce: not the key's stored last address and not seen here
// since the last flush.
func (t *keyTracker) record(k *doorman.APIKey, now time.Time, ip, ua string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*keyPending)
		t.seen = make(map[string]map[string]bool)
	}
	p := t.m[k.ID]
	if p == nil {
		p = &keyPending{hours: make(map[time.Time]int64, 1)}
		t.m[k.ID] = p
	}
	p.hours[now.Truncate(time.Hour)]++
	if !now.Before(p.at) {
		p.at = now
		if ip != "" {
			p.ip = ip
		}
		if ua != "" {
			p.ua = ua
		}
	}
	if ip == "" || ip == k.LastIP {
		return false
	}
	seen := t.seen[k.ID]
	if seen == nil {
		seen = make(map[string]bool, 1)
		t.seen[k.ID] = seen
	}
	if seen[ip] {
		return false
	}
	seen[ip] = true
	return true
}

func (t *keyTracker) unsee(id, ip string) {
	t.mu.Lock()
	delete(t.seen[id], ip)
	t.mu.Unlock()
}

// take removes and returns the pending usage of key id ("" for all).
func (t *keyTracker) take(id string) []doorman.APIKeyUsage {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []doorman.APIKeyUsage
	for kid, p := range t.m {
		if id != "" && kid != id {
			continue
		}
		u := doorman.APIKeyUsage{KeyID: kid, At: p.at, IP: p.ip, UserAgent: p.ua}
		for h, n := range p.hours {
			u.Hours = append(u.Hours, doorman.UsageHour{KeyID: kid, Hour: h, Requests: n})
		}
		slices.SortFunc(u.Hours, func(a, b doorman.UsageHour) int { return a.Hour.Compare(b.Hour) })
		out = append(out, u)
		delete(t.m, kid)
	}
	slices.SortFunc(out, func(a, b doorman.APIKeyUsage) int { return strings.Compare(a.KeyID, b.KeyID) })
	return out
}

// flushed notes a full flush: addresses seen since are news again.
func (t *keyTracker) flushed(now time.Time) {
	t.mu.Lock()
	t.lastFlush = now
	clear(t.seen)
	t.mu.Unlock()
}

// due reports whether a full flush is interval old.
func (t *keyTracker) due(now time.Time, interval time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Sub(t.lastFlush) >= interval
}

// restore puts back usage whose write failed, merged with what came since.
func (t *keyTracker) restore(usage []doorman.APIKeyUsage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]*keyPending)
		t.seen = make(map[string]map[string]bool)
	}
	for _, u := range usage {
		p := t.m[u.KeyID]
		if p == nil {
			p = &keyPending{hours: make(map[time.Time]int64, len(u.Hours)), at: u.At, ip: u.IP, ua: u.UserAgent}
			t.m[u.KeyID] = p
		} else if u.At.After(p.at) {
			p.at = u.At
			if u.IP != "" {
				p.ip = u.IP
			}
			if u.UserAgent != "" {
				p.ua = u.UserAgent
			}
		}
		for _, h := range u.Hours {
			p.hours[h.Hour] += h.Requests
		}
	}
}

// overlay adds this node's unwritten last use to k.
func (t *keyTracker) overlay(k *doorman.APIKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[k.ID]
	if p == nil || p.at.IsZero() {
		return
	}
	if k.LastUsedAt == nil || !p.at.Before(*k.LastUsedAt) {
		at := p.at
		k.LastUsedAt = &at
		if p.ip != "" {
			k.LastIP = p.ip
		}
		if p.ua != "" {
			k.LastUserAgent = p.ua
		}
	}
}

// pendingSince returns this node's unwritten requests of key id in hours at
// or after start.
func (t *keyTracker) pendingSince(id string, start time.Time) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	if p := t.m[id]; p != nil {
		for h, c := range p.hours {
			if !h.Before(start) {
				n += c
			}
		}
	}
	return n
}

// pendingHours returns a copy of key id's unwritten counts by hour.
func (t *keyTracker) pendingHours(id string) map[time.Time]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[time.Time]int64{}
	if p := t.m[id]; p != nil {
		for h, c := range p.hours {
			out[h] = c
		}
	}
	return out
}

// APIKeyUsageRetention is how long API keys' hourly counts are kept: the
// pages show the last 24 hours; a week leaves room to look back at an
// incident.
const APIKeyUsageRetention = 7 * 24 * time.Hour

// PurgeAPIKeyUsage deletes, in batches of batch, API keys' hourly counts
// older than APIKeyUsageRetention, and returns how many it deleted.
func (s *Service) PurgeAPIKeyUsage(ctx context.Context, batch int) (int, error) {
	before := s.now().Add(-APIKeyUsageRetention)
	return purgeBatches(ctx, batch, func(limit int) (int, error) { return s.Store.PurgeAPIKeyUsage(ctx, before, limit) })
}
