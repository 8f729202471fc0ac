package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/doorman/doorman/internal/faultproxy"
)

// echoServer accepts connections and writes back what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back, failing after 10 s: a bound for a
// broken relay, not a measure.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	readBack(t, c, msg)
}

func readBack(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("read back %q: %q, %v", msg, buf, err)
	}
}

func TestRelays(t *testing.T) {
	p := start(t)
	a, b := dial(t, p), dial(t, p)
	roundTrip(t, a, "hello")
	roundTrip(t, b, "world")
	roundTrip(t, a, "again")
}

func TestFreezeHoldsBytesUntilResume(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	roundTrip(t, c, "before")

	p.Freeze()
	late := dial(t, p) // accepted while frozen: held too
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	if _, err := late.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	// Nothing may come back while frozen. The window is short: a relay
	// that forwards fails here at once.
	for _, conn := range []net.Conn{c, late} {
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var one [1]byte
		if n, err := conn.Read(one[:]); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read while frozen: %d bytes, %v; want none and a timeout", n, err)
		}
	}

	p.Resume()
	readBack(t, c, "held")
	readBack(t, late, "late")
	roundTrip(t, c, "after")
}

func TestCutResetsConnections(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	roundTrip(t, c, "before")

	p.Cut()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var one [1]byte
	_, err := c.Read(one[:])
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after cut: %v, want connection reset", err)
	}
	// The proxy itself lives on: a new connection is relayed.
	roundTrip(t, dial(t, p), "after")
}

func TestCutWhileFrozen(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	roundTrip(t, c, "before")
	p.Freeze()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var one [1]byte
	if _, err := c.Read(one[:]); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after cut: %v, want connection reset", err)
	}
	p.Resume()
	roundTrip(t, dial(t, p), "after")
}
