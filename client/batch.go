package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// batcher lets concurrent checks of different requests share one exchange
// with Doorman (POST /auth/verify/batch), without ever answering a check
// with what Doorman said before the check arrived: a check only joins a
// batch that has not been sent yet.
//
// At most MaxBatchesInFlight batches are in flight at once. A check that
// arrives while fewer are is sent at once, in a batch of whatever is
// pending (usually itself): at low load a check waits for no timer and no
// other check. Otherwise it joins the pending batch, sent as soon as an
// exchange in flight returns, up to maxBatchChecks checks and
// maxBatchBytes of body a batch; more pending checks make several
// batches. Checks that ask the same question (coalesceKey) while pending
// become one item of the batch, whose answer they share; and, as without
// batching (coalescer), a check whose question is in flight waits for the
// next batch rather than sending its own, so that one session's burst of
// requests costs no more exchanges than it did.
//
// So a session revoked before a check arrived is refused by that check,
// exactly as with one exchange per check, and a host application serving
// many requests at once costs Doorman one request per batch rather than
// one per request.
type batcher struct {
	c   *Client
	max int // MaxBatchesInFlight

	mu       sync.Mutex
	inFlight int                   // batches sent and not yet answered
	pending  []*batchItem          // checks not yet sent, in arrival order
	byKey    map[string]*batchItem // pending items by coalesceKey
	flying   map[string]int        // how many batches in flight ask each coalesceKey
	maxBytes int                   // the body a batch is kept under

	// perRequest is set for good when Doorman has no batch endpoint (a
	// Doorman older than it): every check is then its own /auth/verify.
	perRequest atomic.Bool

	reuse reuses
}

// batchItem is one check of a batch, shared by the checks that asked the
// same question before it was sent.
type batchItem struct {
	h      http.Header
	key    string // coalesceKey(h); "" when it is shared by none
	json   []byte // the check as the batch carries it
	flight        // its result, set before done is closed
	// callers is how many checks have joined the item; only tests read it
	// (export_test.go), to know a burst has gathered before they go on.
	callers int
}

const (
	// maxBatchChecks is the most checks Doorman takes in one batch.
	maxBatchChecks = 256
	// maxBatchBytes keeps a batch's body under Doorman's body cap (64 KiB
	// by default). Under a smaller one, Doorman's 413 splits the batch and
	// lowers this client's cap.
	maxBatchBytes = 60 << 10
	// maxBatchAnswer bounds the answer read: 256 results with their
	// assertions are well under it.
	maxBatchAnswer = 8 << 20
)

func newBatcher(c *Client) *batcher {
	return &batcher{c: c, max: c.opts.MaxBatchesInFlight, byKey: make(map[string]*batchItem),
		flying: make(map[string]int), maxBytes: maxBatchBytes}
}

// do returns Doorman's answer for the check with headers h and
// coalesceKey key ("" without coalescing), from an exchange sent after this
// call began. The exchange runs detached from ctx; a caller whose ctx ends
// stops waiting, and the others still get their answers.
func (b *batcher) do(ctx context.Context, h http.Header, key string) (*Identity, error) {
	if b.perRequest.Load() {
		return b.c.perRequest(ctx, h)
	}
	// A check that joins a pending item is not encoded: the item's
	// encoding, of the same question, is what goes.
	b.mu.Lock()
	it := b.byKey[key]
	if key == "" || it == nil {
		b.mu.Unlock()
		enc, ok := appendCheck(nil, h)
		if !ok {
			// Doorman refuses a batch holding a value no request could
			// carry (it would refuse the whole batch): such a check asks
			// alone.
			return b.c.perRequest(ctx, h)
		}
		b.mu.Lock()
		if it = b.byKey[key]; key == "" || it == nil { // none gathered meanwhile
			it = &batchItem{h: h, key: key, json: enc, flight: flight{done: make(chan struct{})}}
			b.pending = append(b.pending, it)
			if key != "" {
				b.byKey[key] = it
			}
		}
	}
	it.callers++
	var send []*batchItem
	if b.inFlight < b.max && (key == "" || b.flying[key] == 0) {
		send = b.takeLocked()
		b.inFlight++
	}
	b.mu.Unlock()
	if send != nil {
		go b.run(send)
	}
	return it.wait(ctx)
}

// takeLocked removes the next batch from the pending checks: at least one,
// at most maxBatchChecks and, past the first, within maxBytes of body.
// From here on no check joins its items. b.mu is held.
func (b *batcher) takeLocked() []*batchItem {
	n, size := 0, len(`{"checks":[]}`)
	for n < len(b.pending) && n < maxBatchChecks {
		s := len(b.pending[n].json) + 1
		if n > 0 && size+s > b.maxBytes {
			break
		}
		size += s
		n++
	}
	batch := b.pending[:n:n]
	if b.pending = b.pending[n:]; len(b.pending) == 0 {
		b.pending = nil
	}
	for _, it := range batch {
		if it.key != "" { // the one pending item of its key
			delete(b.byKey, it.key)
			b.flying[it.key]++
		}
	}
	return batch
}

// run sends batch and, as each exchange returns, the checks that gathered
// meanwhile, until none is pending; it holds one of the MaxBatchesInFlight
// places throughout.
func (b *batcher) run(batch []*batchItem) {
	for batch != nil {
		b.send(batch)
		b.mu.Lock()
		b.inFlight--
		for _, it := range batch {
			if it.key != "" {
				if b.flying[it.key]--; b.flying[it.key] <= 0 {
					delete(b.flying, it.key)
				}
			}
		}
		var next []*batchItem
		if len(b.pending) > 0 {
			next = b.takeLocked()
			b.inFlight++
		}
		b.mu.Unlock()
		for _, it := range batch {
			close(it.done)
		}
		batch = next
	}
}

// send asks Doorman about batch and sets each item's answer.
func (b *batcher) send(batch []*batchItem) {
	ctx, cancel := context.WithTimeout(context.Background(), b.c.opts.Timeout)
	defer cancel()
	if b.perRequest.Load() {
		// Checks that were pending when Doorman turned out to have no
		// batch endpoint.
		b.sendEach(batch)
		return
	}
	// Before the request exists: a reuse window counts from no later
	// than Doorman could have received the batch.
	sent := b.c.opts.Now()
	body := batchBody(batch)
	results, status, err := b.c.exchangeBatch(ctx, body, len(batch))
	switch {
	case status == http.StatusNotFound || status == http.StatusMethodNotAllowed:
		// A Doorman without the batch endpoint. Nothing was decided:
		// the checks ask again, one each, still after they arrived.
		b.perRequest.Store(true)
		b.sendEach(batch)
	case status == http.StatusRequestEntityTooLarge:
		// Doorman's body cap is below this client's: nothing was
		// decided; halves are sent, and later batches kept smaller.
		if len(batch) == 1 {
			b.sendEach(batch) // a check too big for any batch
			return
		}
		b.mu.Lock()
		b.maxBytes = min(b.maxBytes, max(len(body)/2, 1))
		b.mu.Unlock()
		half := len(batch) / 2
		b.send(batch[:half])
		b.send(batch[half:])
	case err != nil:
		for _, it := range batch {
			it.err = err
		}
	default:
		for i, it := range batch {
			r := &results[i]
			id := Identity{UserID: r.Headers.UserID, Email: r.Headers.Email, Role: r.Headers.Role,
				AccountID: r.Headers.AccountID, SessionID: r.Headers.SessionID}
			it.id, it.err = b.c.outcome(ctx, r.Status, id, r.Headers.Assertion, r.Error.Reason)
			if it.key != "" && !b.c.opts.DisableReuse {
				b.reuse.keep(it.key, it.id, it.err, sent, r.ReuseMS)
			}
		}
	}
}

// sendEach asks /auth/verify about each item of batch, all at once.
func (b *batcher) sendEach(batch []*batchItem) {
	ctx, cancel := context.WithTimeout(context.Background(), b.c.opts.Timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, it := range batch {
		wg.Go(func() { it.id, it.err = b.c.perRequest(ctx, it.h) })
	}
	wg.Wait()
}

// batchBody is the JSON body of POST /auth/verify/batch for batch.
func batchBody(batch []*batchItem) []byte {
	n := len(`{"checks":[]}`)
	for _, it := range batch {
		n += len(it.json) + 1
	}
	body := make([]byte, 0, n)
	body = append(body, `{"checks":[`...)
	for i, it := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, it.json...)
	}
	return append(body, "]}"...)
}

// batchResult is Doorman's answer to one check of a batch: what
// /auth/verify would have answered it.
type batchResult struct {
	Status  int `json:"status"`
	Headers struct {
		UserID    string `json:"X-Doorman-User-Id"`
		Email     string `json:"X-Doorman-User-Email"`
		Role      string `json:"X-Doorman-User-Role"`
		AccountID string `json:"X-Doorman-Account-Id"`
		SessionID string `json:"X-Doorman-Session-Id"`
		Assertion string `json:"X-Doorman-Assertion"`
	} `json:"headers"`
	// ReuseMS is how long after sending the check its answer may be
	// reused for checks of the same question (doorman.ReuseWindow).
	ReuseMS int64 `json:"reuse_ms"`
	Error   struct {
		Reason string `json:"reason"`
	} `json:"error"`
}

// exchangeBatch posts body, a batch of n checks, to /auth/verify/batch.
// It returns the results, one per check, or an error wrapping
// ErrUnavailable with Doorman's status (0 when there was no answer).
func (c *Client) exchangeBatch(ctx context.Context, body []byte, n int) ([]batchResult, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/auth/verify/batch", bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header = http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("%w: batch: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBatchAnswer+1))
	if err == nil && len(b) > maxBatchAnswer {
		err = errors.New("answer too large")
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%w: batch: %v", ErrUnavailable, err)
	}
	results, err := readResults(b, n, c.opts.VerifyAssertion)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%w: batch: %v", ErrUnavailable, err)
	}
	if len(results) != n {
		return nil, resp.StatusCode, fmt.Errorf("%w: batch: %d results for %d checks", ErrUnavailable, len(results), n)
	}
	return results, resp.StatusCode, nil
}

// readResults reads the results of a batch's answer. Doorman writes them
// in one shape, which resultReader reads without encoding/json's
// reflection (it would cost a batch much of what it saves); an answer it
// cannot read is read by encoding/json, which decides. The assertions are
// kept only when they are to be verified.
func readResults(b []byte, n int, assertions bool) ([]batchResult, error) {
	r := resultReader{b: b, assertions: assertions}
	if results, ok := r.answer(n); ok {
		return results, nil
	}
	var ans struct {
		Results []batchResult `json:"results"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return nil, err
	}
	return ans.Results, nil
}

// resultReader reads {"results":[{"status":200,"headers":{…}},
// {"status":401,"error":{…,"reason":"…",…}},…]}, with any spacing and order
// of members; any other shape, or anything that is not JSON, it leaves to
// encoding/json.
type resultReader struct {
	b          []byte
	i          int
	assertions bool // keep X-Doorman-Assertion
}

func (r *resultReader) answer(n int) ([]batchResult, bool) {
	var results []batchResult
	ok := r.object(func(key []byte) bool {
		if string(key) != "results" || results != nil {
			return false
		}
		results = make([]batchResult, 0, n)
		if !r.take('[') {
			return false
		}
		for r.space(); !r.take(']'); r.space() {
			if len(results) > 0 && !r.take(',') {
				return false
			}
			r.space()
			results = append(results, batchResult{})
			if !r.result(&results[len(results)-1]) {
				return false
			}
		}
		return true
	})
	r.space()
	return results, ok && results != nil && r.i == len(r.b)
}

// identityKeys are the headers of a 200 result, in the order result keeps
// them.
var identityKeys = [...]string{"X-Doorman-User-Id", "X-Doorman-User-Email", "X-Doorman-User-Role",
	"X-Doorman-Account-Id", "X-Doorman-Session-Id", "X-Doorman-Assertion"}

func (r *resultReader) result(res *batchResult) bool {
	var id [len(identityKeys)][]byte
	var reason []byte
	ok := r.object(func(key []byte) bool {
		switch {
		case string(key) == "status":
			n, ok := r.uint(3)
			res.Status = int(n)
			return ok && n > 0
		case string(key) == "reuse_ms":
			n, ok := r.uint(9)
			res.ReuseMS = n
			return ok
		case string(key) == "headers":
			return r.object(func(key []byte) bool {
				for j, k := range identityKeys {
					if string(key) == k {
						v, ok := r.str()
						id[j] = v
						return ok
					}
				}
				return false
			})
		case string(key) == "error":
			return r.object(func(key []byte) bool {
				v, ok := r.str()
				if string(key) == "reason" {
					reason = v
				}
				return ok
			})
		}
		return false
	})
	if !ok {
		return false
	}
	// The identity's strings share one allocation, and nothing else: an
	// Identity the application keeps holds on to no more than itself.
	var all strings.Builder
	all.Grow(len(id[0]) + len(id[1]) + len(id[2]) + len(id[3]) + len(id[4]))
	for _, v := range id[:5] {
		all.Write(v)
	}
	s := all.String()
	fields := [...]*string{&res.Headers.UserID, &res.Headers.Email, &res.Headers.Role, &res.Headers.AccountID, &res.Headers.SessionID}
	for j, f := range fields {
		*f, s = s[:len(id[j])], s[len(id[j]):]
	}
	if r.assertions {
		res.Headers.Assertion = string(id[5])
	}
	if len(reason) > 0 {
		res.Error.Reason = string(reason)
	}
	return true
}

// uint reads a number of at most digits digits, without sign, fraction or
// leading zero (0 itself aside).
func (r *resultReader) uint(digits int) (int64, bool) {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	if r.i == start || r.i-start > digits || (r.b[start] == '0' && r.i-start > 1) {
		return 0, false
	}
	var n int64
	for _, c := range r.b[start:r.i] {
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// object reads an object, calling member for each key with the reader at
// its value; member reads the value and reports whether it could.
func (r *resultReader) object(member func(key []byte) bool) bool {
	if r.space(); !r.take('{') {
		return false
	}
	for first := true; ; first = false {
		r.space()
		if r.take('}') {
			return true
		}
		if !first && !r.take(',') {
			return false
		}
		r.space()
		key, ok := r.str()
		if r.space(); !ok || !r.take(':') {
			return false
		}
		if r.space(); !member(key) {
			return false
		}
	}
}

func (r *resultReader) space() {
	for r.i < len(r.b) && (r.b[r.i] == ' ' || r.b[r.i] == '\n' || r.b[r.i] == '\r' || r.b[r.i] == '\t') {
		r.i++
	}
}

func (r *resultReader) take(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// str reads a string that needs no unescaping, is valid UTF-8 and holds no
// control character, and returns its bytes; others are left to
// encoding/json.
func (r *resultReader) str() ([]byte, bool) {
	if !r.take('"') {
		return nil, false
	}
	start := r.i
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			return s, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// appendCheck appends the check with headers h as a batch carries it,
// {"headers":{"Authorization":"Bearer …",…}}, a header sent more than once
// as an array. It reports false when a value could not travel in a batch:
// one that is not UTF-8 or holds a control character other than the tab,
// which Doorman refuses there.
func appendCheck(b []byte, h http.Header) ([]byte, bool) {
	b = append(b, `{"headers":{`...)
	first := true
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		var ok bool
		if b, ok = appendJSONString(b, k); !ok {
			return nil, false
		}
		b = append(b, ':')
		if len(vs) == 1 {
			if b, ok = appendJSONString(b, vs[0]); !ok {
				return nil, false
			}
			continue
		}
		b = append(b, '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSONString(b, v); !ok {
				return nil, false
			}
		}
		b = append(b, ']')
	}
	return append(b, "}}"...), true
}

// appendJSONString appends s as a JSON string, or reports false when s is
// not valid UTF-8 or holds a control character other than the tab.
func appendJSONString(b []byte, s string) ([]byte, bool) {
	if !utf8.ValidString(s) {
		return b, false
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			start = i + 1
		case c == '\t':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 't')
			start = i + 1
		case c < 0x20 || c == 0x7f:
			return b, false
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}
