package app_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorman/doorman/app"
)

// outageFixture is an OutageLog on a settable clock whose lines are kept.
type outageFixture struct {
	o     *app.OutageLog
	clock *clock
	buf   *bytes.Buffer
	seen  int // lines returned by lines() so far
}

func newOutageFixture() *outageFixture {
	c := &clock{t: time.Date(2026, 1, 10, 9, 15, 0, 0, time.UTC)}
	buf := new(bytes.Buffer)
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		// No time attribute, so that the lines compare as written.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	return &outageFixture{o: &app.OutageLog{Log: log, Interval: 5 * time.Second, Now: c.Now}, clock: c, buf: buf}
}

// lines returns the lines written since the last call.
func (f *outageFixture) lines() []string {
	all := strings.Split(strings.TrimSuffix(f.buf.String(), "\n"), "\n")
	if len(all) == 1 && all[0] == "" {
		all = nil
	}
	got := all[f.seen:]
	f.seen = len(all)
	return got
}

func (f *outageFixture) want(t *testing.T, when string, want ...string) {
	t.Helper()
	got := f.lines()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: lines\n%s\nwant\n%s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOutageLogSaysFirstFailureThenCountsThenRecovery(t *testing.T) {
	f := newOutageFixture()
	down := errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")

	f.o.Success()
	f.want(t, "healthy")

	f.o.Failure(down)
	f.want(t, "first failure", `level=WARN msg="store unavailable" err="dial tcp 10.0.0.5:5432: connect: connection refused"`)

	// A thousand failures in the next 4.9 s: no line.
	for range 1000 {
		f.clock.Advance(4900 * time.Microsecond)
		f.o.Failure(down)
	}
	f.want(t, "failures within the interval")

	// The first failure once 5 s have passed says how many came since.
	f.clock.Advance(100 * time.Millisecond)
	f.o.Failure(down)
	f.want(t, "after the interval", `level=WARN msg="store still unavailable" failures=1001 down_for=5s err="dial tcp 10.0.0.5:5432: connect: connection refused"`)

	// Back 2 s later: the line waits for the interval since the last one,
	// then says how long the outage lasted, to the first success.
	f.clock.Advance(2 * time.Second)
	f.o.Success()
	f.want(t, "success within the interval")
	f.clock.Advance(3 * time.Second)
	f.o.Success()
	f.want(t, "success after the interval", `level=INFO msg="store available again" failures=0 down_for=7s`)
	f.o.Success()
	f.want(t, "healthy again")

	// The next outage is logged at once.
	f.clock.Advance(time.Millisecond)
	f.o.Failure(down)
	f.want(t, "next outage", `level=WARN msg="store unavailable" err="dial tcp 10.0.0.5:5432: connect: connection refused"`)

	if n := f.o.Failures(); n != 1003 {
		t.Errorf("Failures() = %d, want every failure: 1003", n)
	}
}

// A store that fails every other call logs no more than one that fails
// every call: the recovery line is rate-limited too.
func TestOutageLogFlappingStoreStaysQuiet(t *testing.T) {
	f := newOutageFixture()
	down := errors.New("read: connection reset by peer")
	for range 6000 { // a minute, one call every 10 ms
		f.o.Failure(down)
		f.clock.Advance(5 * time.Millisecond)
		f.o.Success()
		f.clock.Advance(5 * time.Millisecond)
	}
	lines := f.lines()
	// One line per interval at most, plus the first of each new outage
	// right after a recovery line: 2 per 5 s, 24 a minute.
	if len(lines) == 0 || len(lines) > 24 {
		t.Fatalf("%d lines in a minute of flapping, want 1 to 24:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if n := f.o.Failures(); n != 6000 {
		t.Errorf("Failures() = %d, want 6000", n)
	}
}

func TestOutageLogConcurrentUse(t *testing.T) {
	f := newOutageFixture()
	var mu sync.Mutex // the fixture's buffer is not safe for concurrent writes
	f.o.Log = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return f.buf.Write(p)
	}), nil))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 1000 {
				if i%3 == 0 {
					f.o.Success()
				} else {
					f.o.Failure(errors.New("timeout"))
				}
			}
		})
	}
	wg.Wait()
	if n := f.o.Failures(); n != 8*666 {
		t.Errorf("Failures() = %d, want %d", n, 8*666)
	}
}

func TestNilOutageLog(t *testing.T) {
	var o *app.OutageLog
	o.Failure(errors.New("x"))
	o.Success()
	if o.Failures() != 0 {
		t.Error("a nil OutageLog counted")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
