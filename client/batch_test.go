package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	"github.com/doorman/doorman/client"
	doormanhttp "github.com/doorman/doorman/http"
)

// doormanTap sits in front of a real Doorman's handler: it counts what
// reaches Doorman and, while hold is set, keeps each batch's answer, as
// Doorman decided it, until the test releases it.
type doormanTap struct {
	batches atomic.Int64 // POST /auth/verify/batch
	items   atomic.Int64 // checks in them
	singles atomic.Int64 // GET /auth/verify
	tooBig  atomic.Int64 // batches answered 413

	hold    atomic.Bool
	held    chan int // a held batch's number of checks, once Doorman answered it
	release chan struct{}
	stopped chan struct{} // closed when the test ends: nothing is held any more

	mu    sync.Mutex
	sizes []int // each batch's number of checks, in arrival order
}

func tapDoorman(t *testing.T, e *doormanEnv) *doormanTap {
	tp := &doormanTap{held: make(chan int, 16), release: make(chan struct{}), stopped: make(chan struct{})}
	// Before the server closes, which waits for the requests it serves: a
	// test that failed must not leave one held.
	t.Cleanup(func() { close(tp.stopped) })
	inner := e.srv.Config.Handler
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/verify" {
			tp.singles.Add(1)
		}
		if r.Method != "POST" || r.URL.Path != "/auth/verify/batch" {
			inner.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var v struct{ Checks []json.RawMessage }
		json.Unmarshal(body, &v)
		n := len(v.Checks)
		tp.batches.Add(1)
		tp.items.Add(int64(n))
		tp.mu.Lock()
		tp.sizes = append(tp.sizes, n)
		tp.mu.Unlock()
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		if rec.Code == http.StatusRequestEntityTooLarge {
			tp.tooBig.Add(1)
		}
		if tp.hold.Load() {
			select {
			case tp.held <- n:
				select {
				case <-tp.release:
				case <-tp.stopped:
				}
			case <-tp.stopped:
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	return tp
}

// waitHeld waits for a held batch to reach Doorman and returns its number
// of checks.
func (tp *doormanTap) waitHeld(t *testing.T) int {
	t.Helper()
	select {
	case n := <-tp.held:
		return n
	case <-time.After(10 * time.Second): // a guard, not a measurement
		t.Fatal("no batch reached Doorman")
		return 0
	}
}

func (tp *doormanTap) batchSizes() []int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]int(nil), tp.sizes...)
}

// verifyToken checks a request that carries token as its Bearer
// credential (none when token is "").
func verifyToken(ctx context.Context, c *client.Client, token string) (*client.Identity, error) {
	req := httptest.NewRequest("GET", "/reports", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return c.Verify(ctx, req)
}

// waitPending waits until n checks of c, coalesced ones counted each, wait
// for a batch to be sent.
func waitPending(t *testing.T, c *client.Client, n int) {
	t.Helper()
	guard := time.Now().Add(10 * time.Second) // a guard, not a measurement
	for client.WaitingCallers(c) < n {
		if time.Now().After(guard) {
			t.Fatalf("%d checks waiting, want %d", client.WaitingCallers(c), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func generousLimits(e *doormanEnv) {
	e.svc.SignInLimits = app.SignInLimits{PerEmail: 1000, EmailBurst: 1000, PerIP: 1000, IPBurst: 1000}
}

// Many concurrent checks of 16 sessions are each answered with their own
// session, and share exchanges: Doorman sees fewer batches than checks, and
// no check alone.
func TestBatchManySessions(t *testing.T) {
	e := startDoorman(t, doormanhttp.Config{})
	generousLimits(e)
	tp := tapDoorman(t, e)
	var tokens, sessions []string
	for i := range 16 {
		tok, p := e.signIn(t, fmt.Sprintf("192.0.2.%d", i+1), "")
		tokens, sessions = append(tokens, tok), append(sessions, p.Session.ID)
	}
	c := newClient(t, e.srv.URL, client.Options{})
	const workers, each = 32, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range each {
				k := (w + j) % len(tokens)
				id, err := verifyToken(context.Background(), c, tokens[k])
				if err != nil || id.SessionID != sessions[k] {
					t.Errorf("session %d: %+v, %v", k, id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	checks := int64(workers * each)
	t.Logf("%d checks, %d batches, %d items", checks, tp.batches.Load(), tp.items.Load())
	if n := tp.singles.Load(); n != 0 {
		t.Errorf("%d checks went alone to /auth/verify", n)
	}
	if n := tp.batches.Load(); n == 0 || n >= checks {
		t.Errorf("%d batches for %d checks", n, checks)
	}
	if n := tp.items.Load(); n > checks {
		t.Errorf("%d checks in batches, more than the %d asked", n, checks)
	}
}

// A check that arrives while a batch is in flight is never answered by
// it: a session signed out after Doorman answered the batch in flight, and
// before the check began, is refused to the check, even when the batch in
// flight asked the very same question.
func TestBatchNeverAnswersWithAnEarlierExchange(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{})
	tp := tapDoorman(t, e)
	tokA, pA := e.signIn(t, "192.0.2.1", "")
	tokB, pB := e.signIn(t, "192.0.2.2", "")
	c := newClient(t, e.srv.URL, client.Options{MaxBatchesInFlight: 1})

	tp.hold.Store(true)
	first := make(chan error, 1)
	go func() {
		_, err := verifyToken(ctx, c, tokA)
		first <- err
	}()
	if n := tp.waitHeld(t); n != 1 {
		t.Fatalf("first batch: %d checks", n)
	}
	// Doorman has answered "signed in"; the answer is on its way.
	if err := e.svc.SignOut(ctx, pA, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	tp.hold.Store(false)

	type result struct {
		id  *client.Identity
		err error
	}
	later := make(chan result, 1)
	other := make(chan result, 1)
	go func() { id, err := verifyToken(ctx, c, tokA); later <- result{id, err} }()
	go func() { id, err := verifyToken(ctx, c, tokB); other <- result{id, err} }()
	waitPending(t, c, 2)
	tp.release <- struct{}{}

	if err := <-first; err != nil {
		t.Errorf("the check that began before the sign-out: %v, want signed in", err)
	}
	var refused *client.UnauthorizedError
	if r := <-later; !errors.As(r.err, &refused) || refused.Reason != doorman.ReasonSignedOut {
		t.Errorf("the check that began after the sign-out: %+v, %v; want refused (signed_out)", r.id, r.err)
	}
	if r := <-other; r.err != nil || r.id.SessionID != pB.Session.ID {
		t.Errorf("another session in the same batch: %+v, %v", r.id, r.err)
	}
	if got := tp.batchSizes(); len(got) != 2 || got[1] != 2 {
		t.Errorf("batch sizes %v, want [1 2]", got)
	}
}

// One batch of mixed checks: each gets what /auth/verify would have said
// to it alone; identical checks share one item and get their own copies of
// the identity.
func TestBatchMixedAnswers(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{})
	generousLimits(e)
	tp := tapDoorman(t, e)
	tokX, _ := e.signIn(t, "192.0.2.1", "")
	tokA, pA := e.signIn(t, "192.0.2.2", "")
	tokB, pB := e.signIn(t, "192.0.2.3", "")
	tokR, pR := e.signIn(t, "192.0.2.4", "")
	tokS, pS := e.signIn(t, "192.0.2.5", "")
	if err := e.svc.RevokeSession(ctx, pA, pR.Session.ID, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SignOut(ctx, pS, app.Meta{}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, e.srv.URL, client.Options{MaxBatchesInFlight: 1})

	// A batch in flight, so that the checks below gather into one.
	tp.hold.Store(true)
	blocker := make(chan error, 1)
	go func() { _, err := verifyToken(ctx, c, tokX); blocker <- err }()
	tp.waitHeld(t)
	tp.hold.Store(false)

	tokens := []string{tokA, tokB, tokR, tokS, "dm_" + strings.Repeat("z", 40), "", tokA}
	type result struct {
		id  *client.Identity
		err error
	}
	results := make([]result, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			id, err := verifyToken(ctx, c, tok)
			results[i] = result{id, err}
		})
	}
	waitPending(t, c, len(tokens)) // the second check of A joins the first's item
	tp.release <- struct{}{}
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	if got := tp.batchSizes(); len(got) != 2 || got[1] != len(tokens)-1 {
		t.Fatalf("batch sizes %v, want [1 %d]", got, len(tokens)-1)
	}

	for i, want := range []string{pA.Session.ID, pB.Session.ID} {
		if r := results[i]; r.err != nil || r.id.SessionID != want || r.id.Email != "ana@acme.test" || r.id.Role != "admin" {
			t.Errorf("check %d: %+v, %v; want session %s", i, r.id, r.err, want)
		}
	}
	for i, reason := range map[int]string{2: doorman.ReasonRevokedByUser, 3: doorman.ReasonSignedOut, 4: "", 5: ""} {
		var refused *client.UnauthorizedError
		if r := results[i]; !errors.As(r.err, &refused) || refused.Reason != reason {
			t.Errorf("check %d: %+v, %v; want refused with reason %q", i, r.id, r.err, reason)
		}
	}
	a1, a2 := results[0].id, results[6].id
	if a2 == nil || *a1 != *a2 || a1 == a2 {
		t.Fatalf("the two checks of A: %p %+v and %p %+v, want equal copies", a1, a1, a2, a2)
	}
	a1.Email = "changed"
	if a2.Email != "ana@acme.test" {
		t.Error("the checks of A share one Identity")
	}
}

// Checks of one session that arrive while its question is in flight wait
// for the next batch, as coalesced checks do without batching, rather than
// taking the free places: a page's burst of requests costs two exchanges.
func TestBatchSameQuestionWaitsForTheNext(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{})
	tp := tapDoorman(t, e)
	token, p := e.signIn(t, "192.0.2.1", "")
	c := newClient(t, e.srv.URL, client.Options{}) // 4 batches may be in flight

	tp.hold.Store(true)
	first := make(chan error, 1)
	go func() { _, err := verifyToken(ctx, c, token); first <- err }()
	tp.waitHeld(t)
	tp.hold.Store(false)
	const burst = 10
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			if id, err := verifyToken(ctx, c, token); err != nil || id.SessionID != p.Session.ID {
				t.Errorf("%+v, %v", id, err)
			}
		})
	}
	// The whole burst must have joined before the first returns: one
	// that joins later finds the question in flight again and rightly
	// waits for a third batch.
	waitPending(t, c, burst)
	if n := tp.batches.Load(); n != 1 {
		t.Errorf("%d batches while the first was in flight, want 1", n)
	}
	tp.release <- struct{}{}
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := tp.batchSizes(); len(got) != 2 || got[1] != 1 {
		t.Errorf("batch sizes %v, want [1 1]", got)
	}
}

// A session signed out, once the sign-out is acknowledged, is refused by
// every check that begins afterwards, while batches of other sessions and
// of that one are in flight all along.
func TestBatchRevocationRace(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{})
	generousLimits(e)
	tp := tapDoorman(t, e)
	var others []string
	for i := range 16 {
		tok, _ := e.signIn(t, fmt.Sprintf("198.51.100.%d", i+1), "")
		others = append(others, tok)
	}
	c := newClient(t, e.srv.URL, client.Options{})

	// Background load: checks of the 16 other sessions, all along.
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	for w := range 6 {
		load.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				if _, err := verifyToken(ctx, c, others[i%len(others)]); err != nil {
					t.Errorf("another session: %v", err)
					return
				}
			}
		})
	}
	defer func() {
		close(stopLoad)
		load.Wait()
	}()

	checks := raceRevocations(t, c, 25, func(round int) (string, *doorman.Principal) {
		return e.signIn(t, fmt.Sprintf("192.0.2.%d", round+1), "")
	}, func(p *doorman.Principal) error { return e.svc.SignOut(ctx, p, app.Meta{}) })
	t.Logf("%d checks of the signed-out sessions, %d batches, %d items", checks, tp.batches.Load(), tp.items.Load())
	if n := tp.singles.Load(); n != 0 {
		t.Errorf("%d checks went alone to /auth/verify", n)
	}
}

// raceRevocations runs rounds of: a session signed in (signIn) is checked
// through c by four goroutines all along while it is signed out (signOut);
// once the sign-out is acknowledged, the very next check and every check
// that begins afterwards must be refused. It returns how many checks were
// made.
func raceRevocations(t *testing.T, c *client.Client, rounds int, signIn func(round int) (string, *doorman.Principal),
	signOut func(*doorman.Principal) error) int64 {
	t.Helper()
	ctx := context.Background()
	const workers = 4
	var checks atomic.Int64
	for round := range rounds {
		token, p := signIn(round)
		if _, err := verifyToken(ctx, c, token); err != nil {
			t.Fatalf("round %d, before the sign-out: %v", round, err)
		}
		var acked atomic.Bool
		var admittedAfter, checkedAfter atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := acked.Load()
					_, err := verifyToken(ctx, c, token)
					checks.Add(1)
					if after {
						checkedAfter.Add(1)
						if err == nil {
							admittedAfter.Add(1)
						}
					}
					if err != nil && !errors.Is(err, client.ErrUnauthorized) {
						t.Errorf("round %d: %v", round, err)
						return
					}
				}
			})
		}
		if err := signOut(p); err != nil && doorman.ErrorCode(err) != doorman.ENOTFOUND {
			t.Fatal(err)
		}
		acked.Store(true)
		// The very next check, begun after the acknowledgement.
		if _, err := verifyToken(ctx, c, token); !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("round %d: the check right after the sign-out: %v, want refused", round, err)
		}
		for checkedAfter.Load() < 3*workers && !t.Failed() {
			time.Sleep(100 * time.Microsecond)
		}
		close(stop)
		wg.Wait()
		if n := admittedAfter.Load(); n != 0 {
			t.Fatalf("round %d: %d checks that began after the sign-out was acknowledged were let through", round, n)
		}
	}
	return checks.Load()
}

// When Doorman cannot be reached, or answers a batch with anything but its
// results, every check of the batch is unavailable: never let through,
// never refused, and never retried per check.
func TestBatchUnavailable(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{})
	token, _ := e.signIn(t, "", "")
	clk := newTestClock()
	c := newClient(t, e.srv.URL, client.Options{Now: clk.Now})
	if _, err := verifyToken(ctx, c, token); err != nil {
		t.Fatalf("Doorman up: %v", err)
	}
	e.srv.Close()
	// Once the answer's reuse window has passed, the question goes to
	// Doorman, which does not answer.
	clk.Advance(doorman.ReuseWindow)
	if _, err := verifyToken(ctx, c, token); !errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("Doorman down: %v, want ErrUnavailable", err)
	}

	var singles atomic.Int64
	var mode atomic.Value
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/verify" {
			singles.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch mode.Load() {
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "400":
			w.WriteHeader(http.StatusBadRequest)
		case "no results":
			io.WriteString(w, `{"results":[]}`)
		case "too many":
			io.WriteString(w, `{"results":[{"status":401},{"status":401}]}`)
		case "not JSON":
			io.WriteString(w, `<html>`)
		case "item 503":
			io.WriteString(w, `{"results":[{"status":503,"error":{"code":"unavailable"}}]}`)
		case "item 200 without identity":
			io.WriteString(w, `{"results":[{"status":200,"headers":{}}]}`)
		}
	}))
	defer stub.Close()
	sc := newClient(t, stub.URL, client.Options{})
	for _, m := range []string{"500", "503", "400", "no results", "too many", "not JSON", "item 503", "item 200 without identity"} {
		mode.Store(m)
		if id, err := verifyToken(ctx, sc, "tok"); !errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrUnauthorized) {
			t.Errorf("%s: %+v, %v; want ErrUnavailable", m, id, err)
		}
	}
	if n := singles.Load(); n != 0 {
		t.Errorf("%d checks retried alone", n)
	}
}

// A Doorman without the batch endpoint (404, or 405 where the path serves
// another method) is asked per check from then on; the checks of the batch
// it refused ask again, and get the right answers.
func TestBatchFallsBackToVerify(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusMethodNotAllowed} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			ctx := context.Background()
			e := startDoorman(t, doormanhttp.Config{})
			generousLimits(e)
			var tokens, sessions []string
			for i := range 8 {
				tok, p := e.signIn(t, fmt.Sprintf("192.0.2.%d", i+1), "")
				tokens, sessions = append(tokens, tok), append(sessions, p.Session.ID)
			}
			revoked, p := e.signIn(t, "192.0.2.99", "")
			if err := e.svc.SignOut(ctx, p, app.Meta{}); err != nil {
				t.Fatal(err)
			}
			// An older Doorman: /auth/verify only.
			var batches, singles atomic.Int64
			mux := http.NewServeMux()
			doormanHandler := e.srv.Config.Handler
			mux.HandleFunc("GET /auth/verify", func(w http.ResponseWriter, r *http.Request) {
				singles.Add(1)
				doormanHandler.ServeHTTP(w, r)
			})
			if status == http.StatusMethodNotAllowed {
				mux.HandleFunc("GET /auth/verify/batch", func(w http.ResponseWriter, r *http.Request) {})
			}
			old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/auth/verify/batch" {
					batches.Add(1)
				}
				mux.ServeHTTP(w, r)
			}))
			defer old.Close()
			c := newClient(t, old.URL, client.Options{})

			var wg sync.WaitGroup
			for w := range 16 {
				wg.Go(func() {
					for j := range 10 {
						k := (w + j) % len(tokens)
						if id, err := verifyToken(ctx, c, tokens[k]); err != nil || id.SessionID != sessions[k] {
							t.Errorf("session %d: %+v, %v", k, id, err)
						}
					}
					var refused *client.UnauthorizedError
					if _, err := verifyToken(ctx, c, revoked); !errors.As(err, &refused) || refused.Reason != doorman.ReasonSignedOut {
						t.Errorf("signed-out session: %v", err)
					}
				})
			}
			wg.Wait()
			n := batches.Load()
			if n == 0 || n > client.DefaultMaxBatchesInFlight {
				t.Errorf("%d batches tried, want 1 to %d", n, client.DefaultMaxBatchesInFlight)
			}
			if singles.Load() == 0 {
				t.Error("no check asked /auth/verify")
			}
			if _, err := verifyToken(ctx, c, tokens[0]); err != nil {
				t.Fatal(err)
			}
			if batches.Load() != n {
				t.Error("a batch was tried again after the fallback")
			}
		})
	}
}

// A caller whose context ends stops waiting; the batch goes on for the
// others, whether the caller started it or joined one pending.
func TestBatchCallerCancellation(t *testing.T) {
	e := startDoorman(t, doormanhttp.Config{})
	generousLimits(e)
	tp := tapDoorman(t, e)
	tokX, pX := e.signIn(t, "192.0.2.1", "")
	tokA, _ := e.signIn(t, "192.0.2.2", "")
	tokB, pB := e.signIn(t, "192.0.2.3", "")
	// Without reuse, the later check of X below asks Doorman.
	c := newClient(t, e.srv.URL, client.Options{MaxBatchesInFlight: 1, DisableReuse: true})

	tp.hold.Store(true)
	ctxX, cancelX := context.WithCancel(context.Background())
	doneX := make(chan error, 1)
	go func() { _, err := verifyToken(ctxX, c, tokX); doneX <- err }()
	tp.waitHeld(t)
	tp.hold.Store(false)
	// The caller whose check is in flight goes away.
	cancelX()
	if err := <-doneX; !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("cancelled caller of the batch in flight: %v, want ErrUnavailable", err)
	}

	ctxA, cancelA := context.WithCancel(context.Background())
	doneA := make(chan error, 1)
	doneB := make(chan error, 1)
	var idB *client.Identity
	go func() { _, err := verifyToken(ctxA, c, tokA); doneA <- err }()
	go func() {
		var err error
		idB, err = verifyToken(context.Background(), c, tokB)
		doneB <- err
	}()
	waitPending(t, c, 2)
	// A pending caller goes away.
	cancelA()
	if err := <-doneA; !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("cancelled pending caller: %v, want ErrUnavailable", err)
	}
	tp.release <- struct{}{}
	if err := <-doneB; err != nil || idB.SessionID != pB.Session.ID {
		t.Errorf("the other check of the batch: %+v, %v", idB, err)
	}
	if id, err := verifyToken(context.Background(), c, tokX); err != nil || id.SessionID != pX.Session.ID {
		t.Errorf("a later check: %+v, %v", id, err)
	}
	if got := tp.batchSizes(); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 1 {
		t.Errorf("batch sizes %v, want [1 2 1]", got)
	}
}

// Under a Doorman whose body cap is below a batch's size, the 413 splits
// the batch and every check is still answered; a check too big for any
// batch, or with bytes a batch cannot carry, asks /auth/verify alone.
func TestBatchOverBodyCap(t *testing.T) {
	ctx := context.Background()
	e := startDoorman(t, doormanhttp.Config{MaxBodyBytes: 2048})
	generousLimits(e)
	tp := tapDoorman(t, e)
	tokX, _ := e.signIn(t, "192.0.2.1", "")
	var tokens, sessions []string
	for i := range 8 {
		tok, p := e.signIn(t, fmt.Sprintf("192.0.2.%d", i+10), "")
		tokens, sessions = append(tokens, tok), append(sessions, p.Session.ID)
	}
	c := newClient(t, e.srv.URL, client.Options{MaxBatchesInFlight: 1})
	ua := "Mozilla/5.0 " + strings.Repeat("x", 400)
	check := func(ctx context.Context, token, ua string) (*client.Identity, error) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("User-Agent", ua)
		return c.Verify(ctx, req)
	}

	tp.hold.Store(true)
	blocker := make(chan error, 1)
	go func() { _, err := verifyToken(ctx, c, tokX); blocker <- err }()
	tp.waitHeld(t)
	tp.hold.Store(false)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			if id, err := check(ctx, tokens[i], ua); err != nil || id.SessionID != sessions[i] {
				t.Errorf("check %d: %+v, %v", i, id, err)
			}
		})
	}
	waitPending(t, c, len(tokens))
	tp.release <- struct{}{}
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	if tp.tooBig.Load() == 0 {
		t.Errorf("no batch was over the cap: sizes %v", tp.batchSizes())
	}
	if n := tp.singles.Load(); n != 0 {
		t.Errorf("%d checks went alone", n)
	}

	if id, err := check(ctx, tokens[0], strings.Repeat("y", 3000)); err != nil || id.SessionID != sessions[0] {
		t.Errorf("a check over the cap by itself: %+v, %v", id, err)
	}
	if id, err := check(ctx, tokens[1], "caf\xe9 browser"); err != nil || id.SessionID != sessions[1] {
		t.Errorf("a User-Agent that is not UTF-8: %+v, %v", id, err)
	}
	if n := tp.singles.Load(); n != 2 {
		t.Errorf("%d checks went alone, want the 2 that cannot be batched", n)
	}
	t.Logf("batch sizes %v, %d answered 413", tp.batchSizes(), tp.tooBig.Load())
}

// What a batch carries for each check: the very headers a check alone
// sends (TestVerifyRequest); and how each result is read.
func TestBatchRequest(t *testing.T) {
	var got struct {
		contentType string
		body        []byte
	}
	var answer atomic.Value
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/auth/verify/batch" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		got.contentType = r.Header.Get("Content-Type")
		got.body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer.Load().(string))
	}))
	defer rec.Close()
	c := newClient(t, rec.URL, client.Options{CookieName: "sid", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	req := httptest.NewRequest("GET", "http://app.internal/a%20b/c?secret=1", nil)
	req.RemoteAddr = "10.1.2.3:4000"
	req.Header.Set("Cookie", "sid=tok; doorman_session=other; theme=dark")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "app.example.com")
	req.Header.Set("Sec-CH-UA", `"Chromium";v="131"`)
	req.Header.Set("Sec-CH-UA-Platform", `"macOS"`)
	req.Header.Add("Sec-CH-UA-Model", `"a \"quoted\"	model"`)
	req.Header.Add("Sec-CH-UA-Model", `"second"`)

	answer.Store(`{"results":[{"status":401,"error":{"code":"unauthorized","message":"Not signed in","reason":"idle","request_id":"r"}}]}`)
	var refused *client.UnauthorizedError
	if _, err := c.Verify(context.Background(), req); !errors.As(err, &refused) || refused.Reason != "idle" {
		t.Fatalf("Verify: %v, want refused (idle)", err)
	}
	if got.contentType != "application/json" {
		t.Errorf("Content-Type %q", got.contentType)
	}
	var body struct {
		Checks []struct {
			Headers map[string]json.RawMessage `json:"headers"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(got.body, &body); err != nil || len(body.Checks) != 1 {
		t.Fatalf("batch body %s: %v", got.body, err)
	}
	h := body.Checks[0].Headers
	want := map[string]string{
		"Cookie": `"sid=tok"`, "X-Forwarded-For": `"10.1.2.3"`, "X-Forwarded-Proto": `"https"`,
		"X-Forwarded-Host": `"app.example.com"`, "X-Forwarded-Uri": `"/a%20b/c"`, "User-Agent": `""`,
		"Accept": `"application/json"`, "Sec-CH-UA": `"\"Chromium\";v=\"131\""`, "Sec-CH-UA-Platform": `"\"macOS\""`,
		"Sec-CH-UA-Model": `["\"a \\\"quoted\\\"\tmodel\"","\"second\""]`,
	}
	for k, v := range want {
		if string(h[k]) != v {
			t.Errorf("%s: %s, want %s", k, h[k], v)
		}
	}
	for k := range h {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected header %s: %s", k, h[k])
		}
	}

	answer.Store(`{"results":[{"status":200,"headers":{"X-Doorman-User-Id":"usr_1","X-Doorman-User-Email":"ana@acme.test",` +
		`"X-Doorman-User-Role":"admin","X-Doorman-Account-Id":"acc_1","X-Doorman-Session-Id":"sess_1","X-Doorman-Assertion":"x.y.z"}}]}`)
	id, err := c.Verify(context.Background(), req)
	if err != nil || *id != (client.Identity{UserID: "usr_1", Email: "ana@acme.test", Role: "admin", AccountID: "acc_1", SessionID: "sess_1"}) {
		t.Fatalf("signed in: %+v, %v", id, err)
	}
}
