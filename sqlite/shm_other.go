//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package sqlite

import "errors"

// walHeaderWords: see shm_unix.go. Here the version is PRAGMA data_version.
const walHeaderWords = 1

// shmWatch needs memory-mapped files; elsewhere pragmaWatch is used.
type shmWatch struct{ commitWatch }

func newShmWatch(string) (*shmWatch, error) {
	return nil, errors.New("sqlite: mapping the WAL index needs a Unix system")
}
