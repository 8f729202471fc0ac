// Package faultproxy is a TCP relay for tests that put a network fault
// between Doorman and its database: it forwards connections to a target
// address and can freeze them (no byte moves, every connection stays open,
// as with a partition or a hung server), cut them (every connection closed
// with a reset, as when the server restarts) and resume.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Proxy relays the connections it accepts to its target. It is safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	open   chan struct{} // closed while bytes may flow; a new one on Freeze
	links  map[*link]struct{}
	closed bool
	wg     sync.WaitGroup
}

// link is one relayed connection: the client's side and the target's.
type link struct {
	client, server net.Conn
	done           chan struct{} // closed when the link is cut
	once           sync.Once
}

// Start listens on a free port of 127.0.0.1 and relays every connection to
// target ("host:port").
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, target: target, open: open, links: make(map[*link]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the address clients dial, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Freeze stops every byte in both directions, on open connections and on
// those accepted meanwhile, until Resume. Connections stay open.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // frozen already
	}
}

// Resume lets the bytes held since Freeze flow again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Cut closes every open connection, both sides, with a reset rather than an
// orderly close. New connections are accepted and relayed as before (or
// held, while frozen).
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := p.links
	p.links = make(map[*link]struct{})
	p.mu.Unlock()
	for l := range links {
		l.cut()
	}
}

// Close stops accepting, cuts every connection and waits for the relay's
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.relay(c)
	}
}

func (p *Proxy) relay(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		resetClose(client)
		return
	}
	l := &link{client: client, server: server, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.cut()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()

	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.pipe(l, server, client) }()
	go func() { defer both.Done(); p.pipe(l, client, server) }()
	both.Wait()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
	l.end(false)
}

// pipe copies from src to dst, holding each chunk while the proxy is
// frozen, until either side fails or the link is cut.
func (p *Proxy) pipe(l *link, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				l.cut()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				// Pass the half-close on, as TCP would.
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
					return
				}
			}
			l.cut()
			return
		}
	}
}

// wait blocks while the proxy is frozen. It returns false if the link was
// cut meanwhile.
func (p *Proxy) wait(l *link) bool {
	p.mu.Lock()
	open := p.open
	p.mu.Unlock()
	// A Freeze that comes after this read lets this one chunk through, as
	// a chunk already on the wire would.
	select {
	case <-open:
		return true
	case <-l.done:
		return false
	}
}

func (l *link) cut() { l.end(true) }

// end closes both sides once: with a reset when cut, in order when both
// sides finished.
func (l *link) end(reset bool) {
	l.once.Do(func() {
		close(l.done)
		if reset {
			resetClose(l.client)
			resetClose(l.server)
			return
		}
		l.client.Close()
		l.server.Close()
	})
}

// resetClose closes c with a TCP reset (SO_LINGER 0), as a crashed or
// partitioned peer looks, rather than an orderly FIN.
func resetClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
