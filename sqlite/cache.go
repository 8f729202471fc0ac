package sqlite

import (
	"sync"

	"github.com/doorman/doorman"
)

// principalCache keeps the rows FindSessionByTokenHash read, so that a busy
// session is not read from the file on every request. It is correct only
// with a fileWatch: an entry is served only if no process has written to the
// database's files since it was read. Every lookup first drains the watch,
// under the same lock as the map, so a write that finished before a request
// began (a revocation by this server or by `doorman sessions revoke` in
// another process) always empties the cache before that request reads it.
type principalCache struct {
	mu    sync.Mutex
	watch *fileWatch
	gen   uint64 // bumped whenever the cache is emptied
	m     map[string]*doorman.Principal
}

// maxCached bounds the cache; when full it is emptied and refills.
const maxCached = 1 << 16

func newPrincipalCache(w *fileWatch) *principalCache {
	return &principalCache{watch: w, m: make(map[string]*doorman.Principal)}
}

// get returns a copy of the cached principal for hash, and the generation to
// pass to put after a miss.
func (c *principalCache) get(hash []byte) (*doorman.Principal, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch.changed() {
		clear(c.m)
		c.gen++
		return nil, c.gen
	}
	p := c.m[string(hash)]
	if p == nil {
		return nil, c.gen
	}
	return clonePrincipal(p), c.gen
}

// put stores p, read after get returned gen, unless the cache was emptied
// since: then p may predate a write and is dropped.
func (c *principalCache) put(hash []byte, gen uint64, p *doorman.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[string(hash)] = clonePrincipal(p)
}

// clonePrincipal copies the structs a caller may change. Slices and pointers
// inside are never written through by callers.
// An API key's principal has no Session or User.
func clonePrincipal(p *doorman.Principal) *doorman.Principal {
	c := &doorman.Principal{}
	if p.Session != nil {
		s := *p.Session
		c.Session = &s
	}
	if p.User != nil {
		u := *p.User
		c.User = &u
	}
	if p.APIKey != nil {
		k := *p.APIKey
		c.APIKey = &k
	}
	a := *p.Account
	c.Account = &a
	return c
}
