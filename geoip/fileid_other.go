//go:build !unix

package geoip

import "os"

// fileID is 0 where no inode is at hand; size and time still tell changes.
func fileID(os.FileInfo) uint64 { return 0 }
