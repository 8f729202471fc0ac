package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/doorman/doorman"
)

// How a node keeps its principal cache exact (docs/OPERATIONS.md):
//
// Migration 0011 announces every change that can end or alter a principal
// on the channel doorman_invalidate, at commit. Each node listens on a
// dedicated connection and drops what it cached for the object named. To
// know it is not behind, it also sends itself a ping on the same channel
// every pingEvery: PostgreSQL delivers a channel's notifications in commit
// order, so once its ping comes back, every change committed before the
// ping was sent has been applied. The node serves from its cache only while
// its latest returned ping was sent less than leaseFor ago; past that (the
// listener is slow, cut off or reconnecting) it reads every principal from
// the database. A write that ends a principal (settle) returns leaseFor after
// its commit: by then any node still serving from its cache sent a ping
// after that commit and got it back, so it has dropped the principal. (It
// then waits doorman.ReuseWindow more, for the Go middleware's reuse.)
const (
	channel   = "doorman_invalidate"
	leaseFor  = 100 * time.Millisecond
	pingEvery = 20 * time.Millisecond
	// pingTimeout bounds the wait for a ping's return; past it the
	// listener's connection is taken as lost and opened anew.
	pingTimeout = 2 * time.Second
	// maxCached bounds the cache; when full it is emptied and refills.
	maxCached = 1 << 16
)

// principalCache holds the principals FindSessionByTokenHash and
// FindAPIKeyByHash read, by token (or key) hash.
type principalCache struct {
	epoch time.Time    // the base of leaseSent, read with its monotonic clock
	lease atomic.Int64 // when the latest returned ping was sent, in ns since epoch; 0 before the first

	mu   sync.Mutex
	gen  uint64 // bumped by every invalidation: a read that began before it is not kept
	m    map[string]*cached
	byID map[string]string // session or API key id → key in m
}

type cached struct {
	p                          *doorman.Principal
	id, userID, accountID, key string
}

func newPrincipalCache() *principalCache {
	return &principalCache{epoch: time.Now(), m: make(map[string]*cached), byID: make(map[string]string)}
}

func (c *principalCache) since() int64 { return int64(time.Since(c.epoch)) }

// serving reports whether the cache may answer: the listener is current.
func (c *principalCache) serving() bool {
	sent := c.lease.Load()
	return sent != 0 && c.since()-sent < int64(leaseFor)
}

// renew records that every change committed before sent has been applied.
func (c *principalCache) renew(sent int64) { c.lease.Store(sent) }

// get returns a copy of the principal cached under key when the cache may
// answer, and the generation to pass to put after a miss.
func (c *principalCache) get(key []byte) (*doorman.Principal, uint64) {
	serving := c.serving()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !serving {
		return nil, c.gen
	}
	e := c.m[string(key)]
	if e == nil {
		return nil, c.gen
	}
	return e.p.Clone(), c.gen
}

// put keeps p, read after get returned gen, unless an invalidation came
// since: p may then predate the change it announced.
func (c *principalCache) put(key []byte, gen uint64, p *doorman.Principal) {
	e := &cached{p: p.Clone(), key: string(key), accountID: p.Account.ID}
	switch {
	case p.Session != nil:
		e.id, e.userID = p.Session.ID, p.Session.UserID
	case p.APIKey != nil:
		e.id = p.APIKey.ID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
		clear(c.byID)
	}
	if old := c.byID[e.id]; old != "" && old != e.key {
		delete(c.m, old) // a session whose token was rotated
	}
	c.m[e.key] = e
	c.byID[e.id] = e.key
}

// invalidate applies one announcement: "s:" or "k:" with a session's or
// API key's id, "u:" with a user's, "a:" with an account's.
func (c *principalCache) invalidate(payload string) {
	kind, id, ok := strings.Cut(payload, ":")
	if !ok || id == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch kind {
	case "s", "k":
		if key := c.byID[id]; key != "" {
			delete(c.m, key)
			delete(c.byID, id)
		}
	case "u", "a":
		for key, e := range c.m {
			if (kind == "u" && e.userID == id) || (kind == "a" && e.accountID == id) {
				delete(c.m, key)
				delete(c.byID, e.id)
			}
		}
	default: // a change of unknown scope: drop everything
		clear(c.m)
		clear(c.byID)
	}
}

// reset drops everything: the listener (re)started, and what was committed
// while it was not listening is unknown.
func (c *principalCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
	clear(c.byID)
}

// listener keeps the cache current over a dedicated connection, reopened
// after any failure, until ctx ends.
type listener struct {
	cfg   *pgx.ConnConfig
	cache *principalCache
	node  string // this node's ping prefix

	mu  sync.Mutex
	raw net.Conn // the current connection's socket, closed to stop at once

	// Reconnects counts connections opened after the first, for tests and
	// metrics.
	reconnects atomic.Int64
}

func newListener(cfg *pgx.ConnConfig, cache *principalCache) *listener {
	cfg.RuntimeParams["application_name"] = "doorman listener" // for pg_stat_activity
	var b [8]byte
	rand.Read(b[:])
	return &listener{cfg: cfg, cache: cache, node: "ping:" + hex.EncodeToString(b[:]) + ":"}
}

func (l *listener) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			l.reconnects.Add(1)
		}
		start := time.Now()
		l.listen(ctx)
		if time.Since(start) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// stop closes the current connection's socket, so that run's wait ends.
func (l *listener) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.raw != nil {
		l.raw.Close()
	}
}

// listen serves one connection until it fails or ctx ends.
func (l *listener) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, pingTimeout)
	conn, err := pgx.ConnectConfig(cctx, l.cfg)
	cancel()
	if err != nil {
		return err
	}
	raw := conn.PgConn().Conn()
	l.mu.Lock()
	l.raw = raw
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.raw = nil
		l.mu.Unlock()
		raw.Close()
	}()
	// Deadlines are set on the socket, not through contexts: a context
	// that ends mid-wait makes pgx send a cancel request, and a read that
	// times out leaves the connection usable.
	raw.SetDeadline(time.Now().Add(pingTimeout))
	if _, err := conn.Exec(context.Background(), "LISTEN "+channel); err != nil {
		return err
	}
	// Whatever was committed before LISTEN took effect was not heard.
	l.cache.reset()
	for seq := uint64(1); ctx.Err() == nil; seq++ {
		ping := l.node + strconv.FormatUint(seq, 10)
		sent := l.cache.since()
		raw.SetDeadline(time.Now().Add(pingTimeout))
		if _, err := conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", channel, ping); err != nil {
			return err
		}
		for {
			n, err := conn.WaitForNotification(context.Background())
			if err != nil {
				return err
			}
			if n.Payload == ping {
				l.cache.renew(sent)
				break
			}
			l.apply(n.Payload)
		}
		raw.SetDeadline(time.Now().Add(pingEvery))
		for {
			n, err := conn.WaitForNotification(context.Background())
			if pgconn.Timeout(err) {
				break
			}
			if err != nil {
				return err
			}
			l.apply(n.Payload)
		}
	}
	return ctx.Err()
}

func (l *listener) apply(payload string) {
	if strings.HasPrefix(payload, "ping:") {
		return // another node's ping
	}
	l.cache.invalidate(payload)
}

// settle drops what the write just committed changed (payloads as
// invalidate takes them) from this node's cache, and returns once no node
// can serve it from its own, leaseFor later, and no Go middleware can
// answer from a check sent before then: doorman.ReuseWindow more. Writes
// that end sessions, keys or users, or change settings, call it after their
// commit.
func (s *Store) settle(payloads ...string) {
	for _, p := range payloads {
		s.cache.invalidate(p)
	}
	time.Sleep(leaseFor + doorman.ReuseWindow)
}
