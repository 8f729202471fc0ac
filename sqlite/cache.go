package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/doorman/doorman"
)

// principalCache keeps the rows FindSessionByTokenHash and FindAPIKeyByHash
// read, so that a busy session is not read from the file on every request.
// An entry is served only while the database has not changed since it was
// read, as SQLite itself says: every lookup first asks the commitWatch for a
// version read after the lookup began, and a new version empties the cache.
// So a commit that returned before a request began, by this process or by
// another (`doorman sessions revoke`, a second server on the same file), is
// always seen by that request.
type principalCache struct {
	watch commitWatch

	mu      sync.Mutex
	version dbVersion // the database's version the entries were read at
	gen     uint64    // bumped whenever the cache is emptied
	m       map[string]*doorman.Principal
}

// settle returns doorman.ReuseWindow after a write that ends or alters a
// principal has committed: by then no Go middleware still answers from a
// check it sent before the commit. This process's cache, and any other
// process's, needs no wait: the commit changed the database's version.
// The writes that settle on PostgreSQL call it after their commit.
func (s *Store) settle() { time.Sleep(doorman.ReuseWindow) }

// settled settles after a write that returned err nil, and returns err.
func (s *Store) settled(err error) error {
	if err == nil {
		s.settle()
	}
	return err
}

// maxCached bounds the cache; when full it is emptied and refills.
const maxCached = 1 << 16

func newPrincipalCache(w commitWatch) *principalCache {
	return &principalCache{watch: w, m: make(map[string]*doorman.Principal)}
}

// get returns a copy of the cached principal for key, and the generation to
// pass to put after a miss. An error means the database's version could not
// be read: the caller reads the row itself, and put will drop it.
func (c *principalCache) get(ctx context.Context, key []byte) (*doorman.Principal, uint64, error) {
	v, err := c.watch.version(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		// Unknown version: nothing cached can be trusted, and nothing read
		// now may be kept (put never sees this generation again).
		clear(c.m)
		c.version = dbVersion{}
		c.gen++
		return nil, c.gen - 1, err
	}
	if v != c.version {
		clear(c.m)
		c.version = v
		c.gen++
		return nil, c.gen, nil
	}
	p := c.m[string(key)]
	if p == nil {
		return nil, c.gen, nil
	}
	return p.Clone(), c.gen, nil
}

// put stores p, read after get returned gen, unless the cache was emptied
// since: then p may predate a commit and is dropped.
func (c *principalCache) put(key []byte, gen uint64, p *doorman.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[string(key)] = p.Clone()
}

// commitWatch reads the database's version: a value that changes whenever
// any connection, of this process or another, commits to the database, read
// after the call began. Two exist: shmWatch reads SQLite's WAL index in
// shared memory (a few loads, where files can be mapped), pragmaWatch asks
// SQLite (a statement, everywhere).
type commitWatch interface {
	version(ctx context.Context) (dbVersion, error)
	close()
}

// dbVersion is a database's version as a commitWatch reads it.
type dbVersion [walHeaderWords]uint64

// newCommitWatch returns the shared-memory watch of the database at path,
// or the statement-based one where that cannot be mapped.
func newCommitWatch(ctx context.Context, db *sql.DB, path string) (commitWatch, error) {
	if w, err := newShmWatch(path); err == nil {
		return w, nil
	}
	return newPragmaWatch(ctx, db)
}

// pragmaWatch reads PRAGMA data_version on a connection of its own, which
// changes whenever any other connection has committed since its last read.
//
// Callers share checks: one that arrives while a check runs waits for the
// next one, which starts after it arrived, so each caller's version is read
// after its call began, yet a burst of requests costs a couple of checks.
type pragmaWatch struct {
	conn *sql.Conn
	stmt *sql.Stmt

	mu      sync.Mutex
	cond    sync.Cond
	running bool
	started uint64 // checks started
	done    uint64 // the number of the latest finished check
	ok      bool   // the latest finished check read a version
	ver     int64
}

func newPragmaWatch(ctx context.Context, db *sql.DB) (*pragmaWatch, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	stmt, err := conn.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		conn.Close()
		return nil, err
	}
	w := &pragmaWatch{conn: conn, stmt: stmt}
	w.cond.L = &w.mu
	return w, nil
}

func (w *pragmaWatch) version(ctx context.Context) (dbVersion, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	need := w.started + 1 // a check that starts from now on
	for {
		if w.done >= need && w.ok {
			return dbVersion{uint64(w.ver)}, nil
		}
		if w.running {
			w.cond.Wait()
			continue
		}
		// No check runs: start one. A check that failed for another
		// caller (its context ended) is not an answer for this one.
		w.running = true
		w.started++
		n := w.started
		w.mu.Unlock()
		var v int64
		err := w.stmt.QueryRowContext(ctx).Scan(&v)
		w.mu.Lock()
		w.running = false
		w.done, w.ok, w.ver = n, err == nil, v
		w.cond.Broadcast()
		if err != nil {
			return dbVersion{}, fmt.Errorf("sqlite: read data version: %w", err)
		}
		return dbVersion{uint64(v)}, nil
	}
}

func (w *pragmaWatch) close() {
	w.stmt.Close()
	w.conn.Close()
}
