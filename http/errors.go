package http

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
)

// codeMethodNotAllowed is the code of a 405: a fault of the request's
// shape, not of the domain, so it lives here rather than in package doorman.
const codeMethodNotAllowed = "method_not_allowed"

// statusByCode is the one table from error codes to HTTP status, for JSON
// answers and HTML pages alike. A code not in it is a bug: 500.
var statusByCode = map[string]int{
	doorman.EINVALID:      http.StatusBadRequest,
	doorman.EUNAUTHORIZED: http.StatusUnauthorized,
	doorman.EFORBIDDEN:    http.StatusForbidden,
	doorman.EREAUTH:       http.StatusForbidden,
	doorman.ETOTP:         http.StatusUnauthorized,
	doorman.ENOTFOUND:     http.StatusNotFound,
	codeMethodNotAllowed:  http.StatusMethodNotAllowed,
	doorman.ECONFLICT:     http.StatusConflict,
	doorman.ETOOMANY:      http.StatusTooManyRequests,
	doorman.EINTERNAL:     http.StatusInternalServerError,
	doorman.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

const (
	msgInternal    = "Internal error"
	msgUnavailable = "Service unavailable; try again shortly"
)

// Errors of the HTTP layer itself.
var (
	// errBodyTooLarge keeps the code of any bad input, invalid, and is the
	// one error answered with its own status, 413, so clients can tell it.
	errBodyTooLarge = &doorman.Error{Code: doorman.EINVALID, Message: "request body too large"}
	// errMediaType refuses bodies that are not JSON, so that no HTML form on
	// another site can post to the API (on top of cross-origin protection).
	errMediaType   = &doorman.Error{Code: doorman.EINVALID, Message: "Content-Type must be application/json"}
	errNoRoute     = &doorman.Error{Code: doorman.ENOTFOUND, Message: "no such endpoint"}
	errMethod      = &doorman.Error{Code: codeMethodNotAllowed, Message: "method not allowed"}
	errCrossOrigin = &doorman.Error{Code: doorman.EFORBIDDEN, Message: "cross-origin request refused"}
)

// errorStatus returns the status, code and message that users may see for
// err. A store that cannot answer is always 503 "unavailable", whatever the
// request: nothing could be decided, so neither 200 nor 401 would be true.
func errorStatus(err error) (status int, code, message string) {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, errBodyTooLarge) || errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, errBodyTooLarge.Code, errBodyTooLarge.Message
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType, errMediaType.Code, errMediaType.Message
	case app.IsUnavailable(err):
		return http.StatusServiceUnavailable, doorman.EUNAVAILABLE, msgUnavailable
	}
	code = doorman.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok || status == http.StatusInternalServerError {
		return http.StatusInternalServerError, doorman.EINTERNAL, msgInternal
	}
	if status == http.StatusServiceUnavailable {
		return status, code, msgUnavailable
	}
	return status, code, doorman.ErrorMessage(err)
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Reason says why a session ended, on 401 ("idle", "revoked_by_admin").
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"request_id"`
}

// writeError answers with err through the table. Internal errors are logged
// in full with the request id and shown as "Internal error"; a store that
// cannot answer is logged as a warning.
func (s *Server) writeError(rq *request, r *http.Request, err error) {
	status, code, msg := errorStatus(err)
	s.logFailure(rq, r, status, err)
	if rq.status != 0 {
		return // the answer has begun; the log line is all that is left
	}
	setRetryAfter(rq, err)
	var reason string
	var de *doorman.Error
	// A 401 says why the session ended; so does a 404 for one of the
	// caller's own sessions that ended.
	if (status == http.StatusUnauthorized || status == http.StatusNotFound) && errors.As(err, &de) {
		reason = de.Reason
	}
	s.writeErrorResponse(rq, status, code, msg, reason)
}

func (v *errorBody) appendJSON(b []byte) []byte {
	e := &v.Error
	b = append(b, `{"error":{"code":`...)
	b = appendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if e.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, e.Reason)
	}
	b = append(b, `,"request_id":`...)
	b = appendString(b, e.RequestID)
	return append(b, "}}"...)
}

func (s *Server) writeErrorResponse(rq *request, status int, code, msg, reason string) {
	h := rq.Header()
	switch status {
	case http.StatusUnauthorized:
		h["Www-Authenticate"] = wwwAuthenticate
	case http.StatusServiceUnavailable:
		h["Retry-After"] = retryAfter
	}
	writeJSON(rq, status, &errorBody{errorJSON{Code: code, Message: msg, Reason: reason, RequestID: rq.id}})
}

var (
	wwwAuthenticate = []string{`Bearer realm="doorman"`}
	retryAfter      = []string{"5"}
)

// logFailure logs the full error behind a 5xx answer under the request id
// that the answer shows, as an error. A store that cannot answer, or a
// client that went away, is a debug line: while the store is down every
// request fails alike, and the store's OutageLog (app.WithDeadline) writes
// the few warnings that say so. Pages and the API share it.
func (s *Server) logFailure(rq *request, r *http.Request, status int, err error) {
	level, msg := slog.LevelError, "internal error"
	switch {
	case status < 500:
		return
	case status == http.StatusServiceUnavailable:
		level, msg = slog.LevelDebug, "store unavailable"
	case r.Context().Err() != nil:
		level = slog.LevelDebug
	}
	s.log.LogAttrs(r.Context(), level, msg,
		slog.String("request_id", rq.id), slog.String("method", r.Method),
		slog.String("path", logPath(r)), slog.Any("err", err))
}

// setRetryAfter sets Retry-After, in seconds, when err asks the caller to
// wait (a throttled sign-in).
func setRetryAfter(rq *request, err error) {
	if d := doorman.RetryAfter(err); d > 0 {
		rq.Header()["Retry-After"] = []string{strconv.Itoa(app.RetrySeconds(d))}
	}
}
