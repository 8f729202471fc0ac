//go:build linux || darwin || freebsd || netbsd || openbsd

package sqlite

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walHeaderWords is the size of the WAL index header in 64-bit words: 48
// bytes, the first of the two copies SQLite keeps at the start of the
// database's "-shm" file.
const walHeaderWords = 6

// shmWatch maps the start of the database's WAL index (its "-shm" file)
// read-only and reads the version from the header every reader of the
// database reads: SQLite publishes each commit there, bumping its change
// counter, frame count and checksum, before the commit returns, and it
// writes the copy read here last. So once a commit has returned, in any
// process, every later read here sees a header other than the one before
// it. A read that overlaps a later commit may see a mixture, which differs
// from the old header too and only empties the cache once more.
//
// The server keeps connections open, so SQLite never deletes or recreates
// the file under the mapping (it does so only when the last connection of
// every process has closed). The format is SQLite's documented WAL-index
// header (walformat.html), stable since WAL mode exists.
type shmWatch struct {
	f   *os.File
	mem []byte
}

func newShmWatch(path string) (*shmWatch, error) {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil, err
	}
	size := os.Getpagesize()
	if st, err := f.Stat(); err != nil || st.Size() < int64(size) {
		f.Close()
		return nil, fmt.Errorf("sqlite: %s-shm is not a WAL index", path)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlite: map %s-shm: %w", path, err)
	}
	return &shmWatch{f: f, mem: mem}, nil
}

func (w *shmWatch) version(context.Context) (dbVersion, error) {
	var v dbVersion
	for i := range v {
		// The mapping is page-aligned, so each word is aligned.
		v[i] = atomic.LoadUint64((*uint64)(unsafe.Pointer(&w.mem[i*8])))
	}
	return v, nil
}

func (w *shmWatch) close() {
	syscall.Munmap(w.mem)
	w.f.Close()
}
