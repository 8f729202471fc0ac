package http

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/textproto"
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

// batchHeaders are the request headers a check may carry: those
// /auth/verify reads, and no other, so that a typo is an error rather than
// a header silently ignored.
var batchHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{"Authorization", "Cookie", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Forwarded-Host", "X-Forwarded-Uri", "X-Original-Uri", "Accept", "X-Request-Id",
		"Sec-CH-UA", "Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "Sec-CH-UA-Platform-Version",
		"Sec-CH-UA-Full-Version-List", "Sec-CH-UA-Model"} {
		m[textproto.CanonicalMIMEHeaderKey(k)] = true
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
	Headers map[string]headerValues `json:"headers"`
}

// headerValues are the values of one header of a check. Decoding never
// fails on them; it notes what is wrong for verifyBatch to report with the
// check's index and the header's name.
type headerValues struct {
	v   []string
	bad string // why the values are refused; "" when they are not
}

func (h *headerValues) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		h.bad = "must be a string or an array of strings"
		return nil
	}
	if !utf8.Valid(b) {
		// encoding/json would quietly turn the odd bytes into U+FFFD, and
		// the check would not be the one the caller asked.
		h.bad = "is not valid UTF-8"
		return nil
	}
	// The common case, a string without escapes, without a second pass.
	if len(b) >= 2 && b[0] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
		h.v = []string{string(b[1 : len(b)-1])}
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		h.v = []string{s}
		return nil
	}
	if json.Unmarshal(b, &h.v) != nil {
		h.v = nil
		h.bad = "must be a string or an array of strings"
	}
	return nil
}

// header checks one check's headers and returns them as /auth/verify would
// have received them.
func (c *batchCheck) header(i int) (http.Header, error) {
	h := make(http.Header, len(c.Headers))
	for name, vals := range c.Headers {
		key := textproto.CanonicalMIMEHeaderKey(name)
		if !batchHeaders[key] {
			return nil, doorman.Errorf(doorman.EINVALID, "checks[%d].headers: %q is not a header /auth/verify reads", i, name)
		}
		if _, dup := h[key]; dup {
			return nil, doorman.Errorf(doorman.EINVALID, "checks[%d].headers: %q is given twice", i, name)
		}
		if vals.bad != "" {
			return nil, doorman.Errorf(doorman.EINVALID, "checks[%d].headers.%s %s", i, name, vals.bad)
		}
		for _, v := range vals.v {
			if !headerValueValid(v) {
				return nil, doorman.Errorf(doorman.EINVALID,
					"checks[%d].headers.%s holds a control character (NUL, CR, LF, …), which no header may", i, name)
			}
		}
		h[key] = vals.v
	}
	return h, nil
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
// identity headers of a 200 or the error object of any other status.
type batchResult struct {
	Status  int             `json:"status"`
	Headers *batchIdentity  `json:"headers,omitempty"`
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
		h, err := req.Checks[i].header(i)
		if err != nil {
			return err
		}
		headers[i] = h
	}

	// What every check's request shares: the batch's connection and
	// context, the method and path of /auth/verify.
	tmpl, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "/auth/verify", nil)
	if err != nil {
		return err
	}
	tmpl.RemoteAddr, tmpl.Host, tmpl.RequestURI = r.RemoteAddr, r.Host, "/auth/verify"
	tmpl.Proto, tmpl.ProtoMajor, tmpl.ProtoMinor = r.Proto, r.ProtoMajor, r.ProtoMinor

	res := batchResponse{Results: make([]batchResult, n)}
	workers := min(batchWorkers, (n+checksPerWorker-1)/checksPerWorker)
	if workers <= 1 {
		for i := range n {
			res.Results[i] = s.verifyOne(w, tmpl, headers[i])
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
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					res.Results[i] = s.verifyOne(w, tmpl, headers[i])
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

// verifyOne runs one check of a batch as GET /auth/verify with headers h.
func (s *Server) verifyOne(batch *request, tmpl *http.Request, h http.Header) batchResult {
	cw := captureWriter{h: make(http.Header, 8)}
	rq := &request{ResponseWriter: &cw, id: batch.id, peer: batch.peer, ip: batch.peer, trusted: batch.trusted}
	r := new(http.Request)
	*r = *tmpl
	r.Header = h
	if rq.trusted {
		// As serve decides for a request of its own.
		if v := h["X-Request-Id"]; len(v) == 1 && validRequestID(v[0]) {
			rq.id = v[0]
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
		out.Headers = &batchIdentity{UserID: get("X-Doorman-User-Id"), Email: get("X-Doorman-User-Email"),
			Role: get("X-Doorman-User-Role"), AccountID: get("X-Doorman-Account-Id"),
			SessionID: get("X-Doorman-Session-Id"), Assertion: get("X-Doorman-Assertion")}
		return out
	}
	// The error object /auth/verify's body carries. Its other headers
	// (WWW-Authenticate, Retry-After, the Set-Cookie that clears a dead
	// cookie) are for a browser or a proxy, which a batch has not.
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(cw.body, &body) == nil {
		out.Error = body.Error
	}
	return out
}

// captureWriter keeps what /auth/verify answers one check of a batch.
type captureWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *captureWriter) Header() http.Header { return w.h }

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body = append(w.body, b...)
	return len(b), nil
}
