package http

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/doorman/doorman"
)

// Hooks for http_test: each returns what the hand-written JSON appender and
// encoding/json write for the same answer.

func encodeBothWays(v jsonAppender) (fast, std []byte) {
	std, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return v.appendJSON(nil), std
}

func WhoamiJSONBothWays(p *doorman.Principal, now time.Time) (fast, std []byte) {
	return encodeBothWays(&whoamiResponse{Session: newSessionJSON(p.Session, true, p.Account.Settings, now),
		User: newUserJSON(p.User)})
}

func LoginJSONBothWays(token string, p *doorman.Principal, now time.Time) (fast, std []byte) {
	return encodeBothWays(&loginResponse{Token: token, Session: newSessionJSON(p.Session, true, p.Account.Settings, now),
		User: newUserJSON(p.User)})
}

func SessionsJSONBothWays(list []*doorman.Session, set doorman.Settings, now time.Time) (fast, std []byte) {
	v := sessionsResponse{Sessions: make([]sessionJSON, 0, len(list))}
	for i, s := range list {
		v.Sessions = append(v.Sessions, newSessionJSON(s, i == 0, set, now))
	}
	return encodeBothWays(&v)
}

func ErrorJSONBothWays(code, message, reason, requestID string) (fast, std []byte) {
	return encodeBothWays(&errorBody{errorJSON{Code: code, Message: message, Reason: reason, RequestID: requestID}})
}

type stringJSON string

func (s stringJSON) appendJSON(b []byte) []byte   { return appendString(b, string(s)) }
func (s stringJSON) MarshalJSON() ([]byte, error) { return json.Marshal(string(s)) }

func StringJSONBothWays(s string) (fast, std []byte) { return encodeBothWays(stringJSON(s)) }

// LogAccess logs one request's line, as the middleware does at its end.
func LogAccess(l *AccessLog, at time.Time, method, path, route string, status int, d time.Duration, bytes int64,
	requestID string, ip netip.Addr, userID string) {
	l.log(&accessEntry{time: at, method: method, path: path, route: route, status: status, duration: d,
		bytes: bytes, requestID: requestID, ip: ip, userID: userID})
}

// AccessLogFlushEvery and AccessLogMaxPath are the access log's timer and
// path cap.
const (
	AccessLogFlushEvery = accessLogFlushEvery
	AccessLogMaxPath    = accessLogMaxPath
)

// AllowedRedirect is allowedRedirect, for its table test.
func AllowedRedirect(v string, hosts []string, httpsOnly bool) string {
	return allowedRedirect(v, hosts, httpsOnly)
}

// BatchJSONBothWays is one /auth/verify/batch answer: a 200 whose headers
// all hold s, and an error with s as its message and reason.
func BatchJSONBothWays(s string) (fast, std []byte) {
	errJSON := (&errorBody{errorJSON{Code: "unauthorized", Message: s, Reason: s, RequestID: "req"}}).appendJSON(nil)
	inner := errJSON[len(`{"error":`) : len(errJSON)-1]
	return encodeBothWays(&batchResponse{Results: []batchResult{
		{Status: 200, Headers: &batchIdentity{UserID: s, Email: s, Role: s, AccountID: s, SessionID: s, Assertion: s}, ReuseMS: 50},
		{Status: 401, Error: inner},
		{Status: 503},
	}})
}

// BatchCheckHeaders reads a check's "headers" value as POST
// /auth/verify/batch does: the headers, or why they are refused.
func BatchCheckHeaders(b []byte) (http.Header, string) {
	var c checkHeaders
	c.UnmarshalJSON(b)
	return c.h, c.bad
}
