package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestCommitWatches: both ways of reading the database's version change
// after every commit by another process's connections (another Store on
// the same file) and by the store's own, and stay the same while nothing
// commits, so that the cache both misses nothing and serves hits.
func TestCommitWatches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "watched.db")
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.db.ExecContext(ctx, `CREATE TABLE scratch (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	shm, err := newShmWatch(path)
	if err != nil {
		t.Fatalf("newShmWatch: %v", err)
	}
	defer shm.close()
	prag, err := newPragmaWatch(ctx, server.db)
	if err != nil {
		t.Fatal(err)
	}
	defer prag.close()
	if _, ok := server.watch.(*shmWatch); !ok {
		t.Errorf("Open chose %T, want the shared-memory watch on this system", server.watch)
	}

	for _, w := range []struct {
		name  string
		watch commitWatch
	}{{"shm", shm}, {"pragma", prag}} {
		t.Run(w.name, func(t *testing.T) {
			read := func() dbVersion {
				t.Helper()
				v, err := w.watch.version(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			v := read()
			if again := read(); again != v {
				t.Fatalf("version moved with no commit: %v then %v", v, again)
			}
			for i, db := range []*Store{other, server, other, other} {
				if _, err := db.db.ExecContext(ctx, `INSERT INTO scratch (x) VALUES (?)`, i); err != nil {
					t.Fatal(err)
				}
				nv := read()
				if nv == v {
					t.Fatalf("commit %d: version did not change (%v)", i, v)
				}
				v = nv
			}
		})
	}
}
