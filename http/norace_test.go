//go:build !race

package http_test

// raceEnabled is true under -race, where sync.Pool drops some of what it is
// given, so that allocation counts mean nothing.
const raceEnabled = false
