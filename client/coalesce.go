package client

import (
	"context"
	"sync"
)

// coalescer lets concurrent checks of the same request shape (the same
// credentials, client address, User-Agent and host) share one exchange with
// Doorman, without ever answering a check with what Doorman said before the
// check began: a check joins only an exchange that has not been sent yet.
// While one is in flight, checks arriving meanwhile gather into the next,
// which is sent as soon as the first returns. So a session revoked before a
// check arrived is refused by that check, exactly as without coalescing,
// and a page that fires many requests at once costs Doorman two exchanges
// rather than one each.
type coalescer struct {
	mu sync.Mutex
	m  map[string]*flights
}

// flights are the exchanges of one key: the one in flight, and the one
// gathering checks that arrived after it was sent.
type flights struct {
	running *flight
	next    *flight
}

// flight is one exchange with Doorman and its result, shared by the checks
// that joined it before it was sent.
type flight struct {
	done chan struct{}
	id   *Identity
	err  error
}

// do returns fn's result for key from an exchange sent after this call
// began. fn runs detached from any one caller's cancellation (its leader
// may go away while others wait); a caller whose ctx ends stops waiting.
func (g *coalescer) do(ctx context.Context, key string, fn func(context.Context) (*Identity, error)) (*Identity, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*flights)
	}
	fs := g.m[key]
	if fs == nil {
		fs = &flights{}
		g.m[key] = fs
	}
	var f *flight
	switch {
	case fs.running == nil:
		// Nothing in flight: send now.
		f = &flight{done: make(chan struct{})}
		fs.running = f
		g.mu.Unlock()
		g.run(ctx, key, fs, f, fn)
	case fs.next != nil:
		// An exchange not yet sent: join it.
		f = fs.next
		g.mu.Unlock()
	default:
		// One in flight, sent before this check arrived: gather the next
		// and send it when that one returns.
		f = &flight{done: make(chan struct{})}
		fs.next = f
		prev := fs.running
		g.mu.Unlock()
		go func() {
			<-prev.done
			g.run(ctx, key, fs, f, fn)
		}()
	}
	return f.wait(ctx)
}

// wait returns f's result once it is in, each caller its own copy of the
// Identity, or ctx's error if ctx ends first.
func (f *flight) wait(ctx context.Context) (*Identity, error) {
	select {
	case <-f.done:
		if f.id == nil {
			return nil, f.err
		}
		id := *f.id // each caller gets its own copy
		return &id, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run sends f's exchange and, once it returns, makes the gathered next
// exchange the one in flight (its goroutine is waiting on f.done to send it).
func (g *coalescer) run(ctx context.Context, key string, fs *flights, f *flight, fn func(context.Context) (*Identity, error)) {
	f.id, f.err = fn(context.WithoutCancel(ctx))
	g.mu.Lock()
	fs.running = fs.next
	fs.next = nil
	if fs.running == nil {
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(f.done)
}
