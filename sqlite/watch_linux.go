//go:build linux

package sqlite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
)

// fileWatch reports whether any process wrote to the database's files (the
// database, its WAL and journal) since the last call. It uses inotify on the
// file's folder: the kernel queues an event inside every write() call, so an
// event for a write that has returned is always in the queue by the time a
// later read of the queue runs.
type fileWatch struct {
	fd     int
	prefix string // the database file's base name; its -wal and -journal share it
	broken bool   // the watch was lost: report a change every time
	buf    [8192]byte
}

const watchMask = syscall.IN_MODIFY | syscall.IN_CREATE | syscall.IN_DELETE | syscall.IN_MOVED_FROM |
	syscall.IN_MOVED_TO | syscall.IN_DELETE_SELF | syscall.IN_MOVE_SELF | syscall.IN_ATTRIB

// newFileWatch watches the folder of the database file at path.
func newFileWatch(path string) (*fileWatch, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, filepath.Dir(abs), watchMask); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", filepath.Dir(abs), err)
	}
	return &fileWatch{fd: fd, prefix: filepath.Base(abs)}, nil
}

// changed drains the queued events and reports whether one concerned the
// database, the queue overflowed, or the watch is gone. The caller serialises
// calls.
func (w *fileWatch) changed() bool {
	if w.broken {
		return true
	}
	changed := false
	for {
		n, err := syscall.Read(w.fd, w.buf[:])
		if n <= 0 || err != nil {
			// EAGAIN: the queue is empty. Any other error: trust nothing.
			if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
				w.broken = true
				return true
			}
			if err == syscall.EINTR {
				continue
			}
			return changed
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(w.buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(w.buf[off+12:]))
			name := w.buf[off+syscall.SizeofInotifyEvent : min(n, off+syscall.SizeofInotifyEvent+nameLen)]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			switch {
			case mask&(syscall.IN_Q_OVERFLOW|syscall.IN_IGNORED|syscall.IN_DELETE_SELF|syscall.IN_MOVE_SELF) != 0:
				if mask&(syscall.IN_IGNORED|syscall.IN_DELETE_SELF|syscall.IN_MOVE_SELF) != 0 {
					w.broken = true
				}
				changed = true
			case strings.HasPrefix(string(name), w.prefix):
				changed = true
			}
			off += syscall.SizeofInotifyEvent + nameLen
		}
	}
}

func (w *fileWatch) close() error { return syscall.Close(w.fd) }
