package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/doorman/doorman"
)

// pathVerifyBatch is POST /auth/verify/batch: many /auth/verify checks in
// one exchange. The Go middleware (package client) sends the checks of
// different sessions that arrive while its earlier exchanges are in flight
// together, so that a busy host application costs Doorman one request per
// batch rather than one per request it serves.
const pathVerifyBatch = "/auth/verify/batch"

// maxBatchChecks is the most checks one batch may carry. The body is also
// capped by MaxBodyBytes, like every request body.
const maxBatchChecks = 256

// batchHeaders maps the request headers a check may carry, those
// /auth/verify reads and no other (so that a typo is an error rather than a
// header silently ignored), from their canonical names and the spellings
// the Go middleware sends to their canonical names.
var batchHeaders = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Authorization", "Cookie", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Forwarded-Host", "X-Forwarded-Uri", "X-Original-Uri", "Accept", "X-Request-Id",
		"Sec-CH-UA", "Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "Sec-CH-UA-Platform-Version",
		"Sec-CH-UA-Full-Version-List", "Sec-CH-UA-Model"} {
		c := textproto.CanonicalMIMEHeaderKey(k)
		m[k], m[c] = c, c
	}
	return m
}()

// batchRequest is the body of POST /auth/verify/batch.
type batchRequest struct {
	Checks []batchCheck `json:"checks"`
}

// batchCheck is one check: the request headers /auth/verify would have
// received, each a string, or an array of strings for a header sent more
// than once.
type batchCheck struct {
	Headers checkHeaders `json:"headers"`
}

// checkHeaders are a check's headers, read straight into the http.Header
// the check's request carries. Reading never fails: it notes what is wrong
// for verifyBatch to report with the check's index.
type checkHeaders struct {
	h   http.Header
	bad string // why the headers are refused, after "checks[i]."; "" when they are not
}

// UnmarshalJSON reads {"Name":"value","Name":["value",…],…}. encoding/json
// has checked that b is well-formed JSON before it calls this, so it only
// has to find its way, not to validate; anything but that shape is
// refused. It spares the reflection of a map of values per check, which
// would cost a batch more than the HTTP exchanges it saves.
func (c *checkHeaders) UnmarshalJSON(b []byte) error {
	c.h, c.bad = nil, ""
	// One string of the whole object, whose parts are the names and the
	// values: one allocation for them all.
	p := jsonCursor{b: b, s: string(b)}
	p.space()
	if p.literal("null") {
		return nil
	}
	if !p.take('{') {
		c.bad = "headers must be an object"
		return nil
	}
	h := make(http.Header, 10)
	values := make([]string, 0, 10) // the values of every header, one array
	for p.space(); !p.take('}'); {
		raw, name, ok := p.str()
		if !ok {
			c.bad = "headers must be an object"
			return nil
		}
		key, known := batchHeaders[string(raw)]
		if !known {
			key = textproto.CanonicalMIMEHeaderKey(name)
			if _, ok := batchHeaders[key]; !ok {
				c.bad = fmt.Sprintf("headers: %q is not a header /auth/verify reads", name)
				return nil
			}
		}
		if _, dup := h[key]; dup {
			c.bad = fmt.Sprintf("headers: %q is given twice", name)
			return nil
		}
		p.space()
		p.take(':')
		p.space()
		n := len(values)
		if p.take('[') {
			for p.space(); !p.take(']'); p.space() {
				p.take(',')
				p.space()
				if values, c.bad = p.value(values, name); c.bad != "" {
					return nil
				}
			}
		} else if values, c.bad = p.value(values, name); c.bad != "" {
			return nil
		}
		h[key] = values[n:len(values):len(values)]
		p.space()
		p.take(',')
		p.space()
	}
	c.h = h
	return nil
}

// jsonCursor walks well-formed JSON.
type jsonCursor struct {
	b []byte
	s string // b as a string
	i int
}

func (p *jsonCursor) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonCursor) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonCursor) literal(s string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// str reads a string: its bytes as written, and its value.
func (p *jsonCursor) str() (raw []byte, s string, ok bool) {
	if !p.take('"') {
		return nil, "", false
	}
	start, escaped := p.i, false
	for ; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
		if p.b[p.i] == '\\' {
			escaped = true
			p.i++
		}
	}
	if p.i >= len(p.b) {
		return nil, "", false
	}
	end := p.i
	raw = p.b[start:end]
	p.i++
	if !escaped {
		return raw, p.s[start:end], true
	}
	if json.Unmarshal(p.b[start-1:p.i], &s) != nil {
		return nil, "", false
	}
	return raw, s, true
}

// value reads one header value of the header name into values, or says
// why it cannot be one.
func (p *jsonCursor) value(values []string, name string) ([]string, string) {
	raw, v, ok := p.str()
	switch {
	case !ok:
		return values, fmt.Sprintf("headers.%s must be a string or an array of strings", name)
	case !utf8.Valid(raw):
		// encoding/json would quietly turn the odd bytes into U+FFFD, and
		// the check would not be the one the caller asked.
		return values, fmt.Sprintf("headers.%s is not valid UTF-8", name)
	case !headerValueValid(v):
		return values, fmt.Sprintf("headers.%s holds a control character (NUL, CR, LF, …), which no header may", name)
	}
	return append(values, v), ""
}

// headerValueValid reports whether v could arrive as a header value: no
// control character but the tab, as net/http's server requires.
func headerValueValid(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// batchResponse is the answer of POST /auth/verify/batch: one result per
// check, in order.
type batchResponse struct {
	Results []batchResult `json:"results"`
}

// batchResult is what /auth/verify answered one check: its status, and the
// identity headers of a 200 or the error object of any other status. A 200
// for a session also says for how many milliseconds after sending the check
// its sender may answer requests of the same shape with it
// (doorman.ReuseWindow; none when 0).
type batchResult struct {
	Status  int             `json:"status"`
	Headers *batchIdentity  `json:"headers,omitempty"`
	ReuseMS int64           `json:"reuse_ms,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

// batchIdentity are the X-Doorman-* headers of /auth/verify's 200.
type batchIdentity struct {
	UserID    string `json:"X-Doorman-User-Id"`
	Email     string `json:"X-Doorman-User-Email"`
	Role      string `json:"X-Doorman-User-Role"`
	AccountID string `json:"X-Doorman-Account-Id"`
	SessionID string `json:"X-Doorman-Session-Id"`
	Assertion string `json:"X-Doorman-Assertion"`
}

func (v *batchResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"results":[`...)
	for i := range v.Results {
		if i > 0 {
			b = append(b, ',')
		}
		r := &v.Results[i]
		b = append(b, `{"status":`...)
		b = strconv.AppendInt(b, int64(r.Status), 10)
		if id := r.Headers; id != nil {
			b = append(b, `,"headers":{"X-Doorman-User-Id":`...)
			b = appendString(b, id.UserID)
			b = append(b, `,"X-Doorman-User-Email":`...)
			b = appendString(b, id.Email)
			b = append(b, `,"X-Doorman-User-Role":`...)
			b = appendString(b, id.Role)
			b = append(b, `,"X-Doorman-Account-Id":`...)
			b = appendString(b, id.AccountID)
			b = append(b, `,"X-Doorman-Session-Id":`...)
			b = appendString(b, id.SessionID)
			b = append(b, `,"X-Doorman-Assertion":`...)
			b = appendString(b, id.Assertion)
			b = append(b, '}')
		}
		if r.ReuseMS > 0 {
			b = append(b, `,"reuse_ms":`...)
			b = strconv.AppendInt(b, r.ReuseMS, 10)
		}
		if len(r.Error) > 0 {
			// Written by the error table's own appender, in the form
			// encoding/json writes.
			b = append(b, `,"error":`...)
			b = append(b, r.Error...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// Checks of a batch run on up to batchWorkers goroutines, each taking at
// least checksPerWorker of them: a store that waits on the network answers
// a batch in a few round trips rather than one per check, and a small
// batch costs no goroutine.
const (
	batchWorkers    = 8
	checksPerWorker = 8
)

// verifyBatch is POST /auth/verify/batch. Each check runs through the very
// code of GET /auth/verify (authentication, activity, assertion, last page,
// metrics), with the batch's connection deciding whether X-Forwarded-* is
// believed, exactly as it would for a check of its own. The batch needs no
// session: each check carries its own credentials.
func (s *Server) verifyBatch(w *request, r *http.Request) error {
	var req batchRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := len(req.Checks)
	if n == 0 || n > maxBatchChecks {
		return doorman.Errorf(doorman.EINVALID, "checks must hold 1 to %d checks; it holds %d", maxBatchChecks, n)
	}
	headers := make([]http.Header, n)
	for i := range req.Checks {
		c := &req.Checks[i].Headers
		if c.bad != "" {
			return doorman.Errorf(doorman.EINVALID, "checks[%d].%s", i, c.bad)
		}
		if headers[i] = c.h; c.h == nil {
			headers[i] = http.Header{}
		}
	}

	// What every check's request shares: the batch's connection and
	// context, the method and path of /auth/verify.
	tmpl, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "/auth/verify", nil)
	if err != nil {
		return err
	}
	tmpl.RemoteAddr, tmpl.Host, tmpl.RequestURI = r.RemoteAddr, r.Host, "/auth/verify"
	tmpl.Proto, tmpl.ProtoMajor, tmpl.ProtoMinor = r.Proto, r.ProtoMajor, r.ProtoMinor

	// A check sent alone through the proxies between its sender and
	// Doorman would carry what they appended to X-Forwarded-For after its
	// own; a batch's checks carry it in the batch's. It follows each
	// check's, so that a sender those proxies name and Doorman does not
	// trust is the client, as it would be for a check alone.
	var chain []string
	if w.trusted {
		chain = r.Header["X-Forwarded-For"]
	}
	res := batchResponse{Results: make([]batchResult, n)}
	ids := make([]batchIdentity, n)
	run := func(cr *checkRunner, i int) {
		res.Results[i] = cr.verify(s, w, tmpl, headers[i], chain, &ids[i])
	}
	workers := min(batchWorkers, (n+checksPerWorker-1)/checksPerWorker)
	if workers <= 1 {
		var cr checkRunner
		for i := range n {
			run(&cr, i)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		var panicked atomic.Pointer[any]
		for range workers {
			wg.Go(func() {
				defer func() {
					// Re-raised below, on the request's goroutine, where
					// the middleware turns it into a 500 and a log line.
					if v := recover(); v != nil {
						panicked.CompareAndSwap(nil, &v)
					}
				}()
				var cr checkRunner
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					run(&cr, i)
				}
			})
		}
		wg.Wait()
		if p := panicked.Load(); p != nil {
			panic(*p)
		}
	}
	writeJSON(w, http.StatusOK, &res)
	return nil
}

// checkRunner runs checks of a batch one after another, on one goroutine,
// with the same request state, writer and request between them: as with
// serve's pooled requests, nothing keeps them once the check is answered.
type checkRunner struct {
	cw captureWriter
	rq request
	r  http.Request
}

// verify runs one check of a batch as GET /auth/verify with headers h,
// followed in X-Forwarded-For by chain, the batch's; the identity of a 200
// goes into id.
func (cr *checkRunner) verify(s *Server, batch *request, tmpl *http.Request, h http.Header, chain []string,
	id *batchIdentity) batchResult {
	cw := &cr.cw
	if cw.h == nil {
		cw.h = make(http.Header, 8)
	}
	clear(cw.h)
	cw.body = cw.body[:0]
	cr.rq = request{ResponseWriter: cw, id: batch.id, peer: batch.peer, ip: batch.peer, trusted: batch.trusted}
	rq := &cr.rq
	cr.r = *tmpl
	r := &cr.r
	r.Header = h
	if rq.trusted {
		// As serve decides for a request of its own.
		if v := h["X-Request-Id"]; len(v) == 1 && validRequestID(v[0]) {
			rq.id = v[0]
		}
		if len(chain) > 0 {
			// A copy: the check's values share one array.
			h["X-Forwarded-For"] = append(slices.Clip(h["X-Forwarded-For"]), chain...)
		}
		rq.ip = s.forwardedFor(r, rq)
	}
	s.verifyEndpoint.ServeHTTP(rq, r)

	out := batchResult{Status: rq.status}
	if out.Status == 0 {
		out.Status = http.StatusOK
	}
	if out.Status == http.StatusOK {
		get := func(k string) string {
			if v := cw.h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		*id = batchIdentity{UserID: get("X-Doorman-User-Id"), Email: get("X-Doorman-User-Email"),
			Role: get("X-Doorman-User-Role"), AccountID: get("X-Doorman-Account-Id"),
			SessionID: get("X-Doorman-Session-Id"), Assertion: get("X-Doorman-Assertion")}
		out.Headers = id
		if p := rq.principal; p != nil {
			// Whole milliseconds, rounded down: never past the window.
			out.ReuseMS = s.svc.ReuseFor(p).Milliseconds()
		}
		return out
	}
	// The error object /auth/verify's body carries (copied out of the
	// writer's buffer, which the next check reuses). Its other headers
	// (WWW-Authenticate, Retry-After, the Set-Cookie that clears a dead
	// cookie) are for a browser or a proxy, which a batch has not.
	// The body is errorBody's, {"error":{…}} and a newline: its object is
	// cut out rather than parsed again.
	b := bytes.TrimSuffix(cw.body, []byte("\n"))
	if obj, ok := bytes.CutPrefix(b, []byte(`{"error":`)); ok && bytes.HasSuffix(obj, []byte("}}")) {
		out.Error = bytes.Clone(obj[:len(obj)-1])
	}
	return out
}

// captureWriter keeps what /auth/verify answers one check of a batch; its
// status is the request's (request.WriteHeader notes it).
type captureWriter struct {
	h    http.Header
	body []byte
}

func (w *captureWriter) Header() http.Header { return w.h }

func (w *captureWriter) WriteHeader(int) {}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.body = append(w.body, b...)
	return len(b), nil
}
