package http_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/doorman/doorman"
	"github.com/doorman/doorman/app"
	doormanhttp "github.com/doorman/doorman/http"
)

// batchResult is one result of POST /auth/verify/batch.
type batchResult struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	ReuseMS int64             `json:"reuse_ms"`
	Error   *struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Reason    string `json:"reason"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// batchBody is the JSON body of a batch of checks, each given as header
// name, value pairs.
func batchBody(checks ...[]string) []byte {
	type check struct {
		Headers map[string]string `json:"headers"`
	}
	var v struct {
		Checks []check `json:"checks"`
	}
	v.Checks = []check{}
	for _, hdr := range checks {
		c := check{Headers: map[string]string{}}
		for i := 0; i+1 < len(hdr); i += 2 {
			c.Headers[hdr[i]] = hdr[i+1]
		}
		v.Checks = append(v.Checks, c)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// verifyBatch sends the checks in one batch over the network (from
// 127.0.0.1) and returns the results, failing unless the batch is answered
// 200 with one result per check.
func (e *env) verifyBatch(checks ...[]string) []batchResult {
	e.t.Helper()
	a := e.do(nil, "POST", "/auth/verify/batch", batchBody(checks...))
	return batchResults(e.t, a.status, a.header, a.body, len(checks))
}

// verifyBatchFrom sends the checks in one batch through the handler, from
// the peer address given.
func (e *env) verifyBatchFrom(remote string, checks ...[]string) []batchResult {
	e.t.Helper()
	return e.verifyBatchVia(remote, "", checks...)
}

// verifyBatchVia is verifyBatchFrom with the batch's own X-Forwarded-For
// (none when ""), as proxies on the way would have written it.
func (e *env) verifyBatchVia(remote, xff string, checks ...[]string) []batchResult {
	e.t.Helper()
	hdr := []string{"Content-Type", "application/json"}
	if xff != "" {
		hdr = append(hdr, "X-Forwarded-For", xff)
	}
	w := e.serveDirect("POST", "/auth/verify/batch", remote, strings.NewReader(string(batchBody(checks...))), hdr...)
	return batchResults(e.t, w.Code, w.Header(), w.Body.Bytes(), len(checks))
}

func batchResults(t *testing.T, status int, h http.Header, body []byte, n int) []batchResult {
	t.Helper()
	if status != http.StatusOK || h.Get("Content-Type") != "application/json" {
		t.Fatalf("batch: %d %q %s", status, h.Get("Content-Type"), body)
	}
	if sc := h.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("a batch answer sets cookies: %q", sc)
	}
	var v struct {
		Results []batchResult `json:"results"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("batch answer %s: %v", body, err)
	}
	if len(v.Results) != n {
		t.Fatalf("%d results for %d checks: %s", len(v.Results), n, body)
	}
	return v.Results
}

var identityHeaders = []string{"X-Doorman-User-Id", "X-Doorman-User-Email", "X-Doorman-User-Role",
	"X-Doorman-Account-Id", "X-Doorman-Session-Id", "X-Doorman-Assertion"}

// sameAsVerify fails unless got is what GET /auth/verify answered for the
// same headers: the status, the identity headers of a 200, the error's
// code, message and reason otherwise.
func sameAsVerify(t *testing.T, name string, got batchResult, want answer) {
	t.Helper()
	if got.Status != want.status {
		t.Errorf("%s: status %d, /auth/verify says %d (%s)", name, got.Status, want.status, want.body)
		return
	}
	if want.status == http.StatusOK {
		if got.Error != nil {
			t.Errorf("%s: a 200 with an error", name)
		}
		for _, k := range identityHeaders {
			if got.Headers[k] != want.header.Get(k) || got.Headers[k] == "" {
				t.Errorf("%s: %s = %q, /auth/verify says %q", name, k, got.Headers[k], want.header.Get(k))
			}
		}
		return
	}
	var w errorAnswer
	if err := json.Unmarshal(want.body, &w); err != nil {
		t.Fatalf("%s: /auth/verify's body %s: %v", name, want.body, err)
	}
	if got.Headers != nil || got.Error == nil {
		t.Fatalf("%s: %d with headers %v and error %v", name, got.Status, got.Headers, got.Error)
	}
	if got.Error.Code != w.Error.Code || got.Error.Message != w.Error.Message || got.Error.Reason != w.Error.Reason {
		t.Errorf("%s: error %+v, /auth/verify says %+v", name, *got.Error, w.Error)
	}
	if got.Error.RequestID == "" {
		t.Errorf("%s: error without request_id", name)
	}
}

// Each check of a batch is answered as GET /auth/verify answers the same
// headers: signed in (Bearer and cookie), signed out by the user, revoked
// from another session, an unknown token, no credentials at all.
func TestVerifyBatchAnswersAsVerify(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	valid := e.login(nil, "ana@acme.example", false)
	revoked := e.login(nil, "ana@acme.example", false)
	signedOut := e.login(nil, "ana@acme.example", false)
	if a := e.do(nil, "DELETE", "/api/v1/sessions/"+revoked.Session.ID, nil, bearer(valid.Token)...); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if a := e.do(nil, "POST", "/api/v1/logout", nil, bearer(signedOut.Token)...); a.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", a.status, a.body)
	}
	ua := []string{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Accept", "application/json"}
	checks := []struct {
		name string
		hdr  []string
	}{
		{"bearer", append(bearer(valid.Token), ua...)},
		{"revoked", bearer(revoked.Token)},
		{"cookie", append([]string{"Cookie", "theme=dark; doorman_session=" + valid.Token}, ua...)},
		{"signed out", append([]string{"Cookie", "doorman_session=" + signedOut.Token}, ua...)},
		{"no credentials", ua},
		{"unknown token", bearer("dm_" + strings.Repeat("x", 40))},
		{"malformed token", []string{"Authorization", "Bearer nope"}},
		{"no headers", nil},
	}
	var batch [][]string
	want := make([]answer, len(checks))
	for i, c := range checks {
		batch = append(batch, c.hdr)
		want[i] = e.do(nil, "GET", "/auth/verify", nil, c.hdr...)
	}
	got := e.verifyBatch(batch...)
	for i, c := range checks {
		sameAsVerify(t, c.name, got[i], want[i])
	}
	if r := got[1]; r.Error == nil || r.Error.Reason != doorman.ReasonRevokedByUser {
		t.Errorf("revoked: %+v, want reason %s", r, doorman.ReasonRevokedByUser)
	}
	if r := got[3]; r.Error == nil || r.Error.Reason != doorman.ReasonSignedOut {
		t.Errorf("signed out: %+v, want reason %s", r, doorman.ReasonSignedOut)
	}
	if got[0].Headers["X-Doorman-Session-Id"] != valid.Session.ID {
		t.Errorf("bearer: session %q, want %s", got[0].Headers["X-Doorman-Session-Id"], valid.Session.ID)
	}
	// A valid session's answer may be reused for the whole window; a
	// refusal never.
	for i, r := range got {
		want := int64(0)
		if r.Status == http.StatusOK {
			want = doorman.ReuseWindow.Milliseconds()
		}
		if r.ReuseMS != want {
			t.Errorf("%s: reuse_ms %d, want %d", checks[i].name, r.ReuseMS, want)
		}
	}

	// The same checks five times over, in a batch large enough to be
	// answered by several goroutines.
	var large [][]string
	for range 5 {
		large = append(large, batch...)
	}
	for i, r := range e.verifyBatch(large...) {
		sameAsVerify(t, fmt.Sprintf("%s, again (%d)", checks[i%len(checks)].name, i), r, want[i%len(checks)])
	}

	// A check that was written without a "headers" object is one without
	// credentials.
	a := e.do(nil, "POST", "/auth/verify/batch", `{"checks":[{}]}`)
	if r := batchResults(t, a.status, a.header, a.body, 1); r[0].Status != http.StatusUnauthorized {
		t.Errorf("a check without headers: %+v", r[0])
	}
}

// The batch's own connection decides, as for a check of its own, whether
// X-Forwarded-* is believed: the session's address, its last page and the
// assertion's audience come from a trusted proxy's headers only.
func TestVerifyBatchTrustsOnlyTrustedProxies(t *testing.T) {
	e := newEnv(t, withTrustedProxies("10.0.0.0/8"))
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	observer := e.login(nil, "ana@acme.example", false)
	seen := func() session {
		t.Helper()
		var s session
		e.do(nil, "GET", "/api/v1/sessions/"+v.Session.ID, nil, bearer(observer.Token)...).decode(t, &s)
		return s
	}
	audience := func(assertion string) string {
		t.Helper()
		parts := strings.Split(assertion, ".")
		if len(parts) != 3 {
			t.Fatalf("assertion %q", assertion)
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Aud string `json:"aud"`
		}
		if err := json.Unmarshal(b, &claims); err != nil {
			t.Fatal(err)
		}
		return claims.Aud
	}
	check := append(bearer(v.Token), "X-Forwarded-For", "203.0.113.5", "X-Forwarded-Host", "app.example.com",
		"X-Forwarded-Uri", "/invoices/42?secret=x")

	r := e.verifyBatchFrom("10.0.0.2:4000", check)[0]
	if r.Status != http.StatusOK {
		t.Fatalf("trusted peer: %+v", r)
	}
	if s := seen(); s.IP != "203.0.113.5" || s.Activity.LastPage != "/invoices/42" {
		t.Errorf("trusted peer: session shows %s on %q, want 203.0.113.5 on /invoices/42", s.IP, s.Activity.LastPage)
	}
	if aud := audience(r.Headers["X-Doorman-Assertion"]); aud != "app.example.com" {
		t.Errorf("trusted peer: aud %q, want app.example.com", aud)
	}

	r = e.verifyBatchFrom("192.0.2.7:4000", check)[0]
	if r.Status != http.StatusOK {
		t.Fatalf("untrusted peer: %+v", r)
	}
	if s := seen(); s.IP != "192.0.2.7" || s.Activity.LastPage != "Forward auth" {
		t.Errorf("untrusted peer: session shows %s on %q, want the peer 192.0.2.7 on %q", s.IP, s.Activity.LastPage, "Forward auth")
	}
	if aud := audience(r.Headers["X-Doorman-Assertion"]); aud != "" {
		t.Errorf("untrusted peer: aud %q, want none", aud)
	}

	// Through a trusted proxy, what the proxy appended to the batch's
	// X-Forwarded-For follows each check's, as it would follow a check
	// sent alone: a sender it names and Doorman does not trust is the
	// client; a trusted one passes the check's own address on.
	for _, c := range []struct{ via, want string }{
		{"203.0.113.50", "203.0.113.50"},
		{"10.0.0.7", "203.0.113.5"},
		{"10.0.0.7, 198.51.100.1", "198.51.100.1"},
	} {
		if r := e.verifyBatchVia("10.0.0.2:4000", c.via, check)[0]; r.Status != http.StatusOK {
			t.Fatalf("via %s: %+v", c.via, r)
		}
		if s := seen(); s.IP != c.want {
			t.Errorf("batch via %s: session shows %s, want %s", c.via, s.IP, c.want)
		}
		alone := e.serveDirect("GET", "/auth/verify", "10.0.0.2:4000", nil, "Authorization", "Bearer "+v.Token,
			"X-Forwarded-For", "203.0.113.5, "+c.via)
		if s := seen(); alone.Code != http.StatusOK || s.IP != c.want {
			t.Errorf("the same check alone via %s: %d, session shows %s, want %s", c.via, alone.Code, s.IP, c.want)
		}
	}

	// A trusted proxy's request id names the check's error; anyone
	// else's is not believed.
	unknown := []string{"Authorization", "Bearer nope", "X-Request-Id", "proxy-req-1"}
	if r := e.verifyBatchFrom("10.0.0.2:4000", unknown)[0]; r.Error == nil || r.Error.RequestID != "proxy-req-1" {
		t.Errorf("trusted peer's request id: %+v", r.Error)
	}
	if r := e.verifyBatchFrom("192.0.2.7:4000", unknown)[0]; r.Error == nil || r.Error.RequestID == "proxy-req-1" {
		t.Errorf("untrusted peer's request id believed: %+v", r.Error)
	}
}

// Batches that are not well formed are refused whole, naming the problem.
func TestVerifyBatchBadInput(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	one := `{"headers":{"Authorization":"Bearer ` + v.Token + `"}}`
	many := func(n int) string { return `{"checks":[` + strings.TrimSuffix(strings.Repeat(one+",", n), ",") + `]}` }

	if a := e.do(nil, "POST", "/auth/verify/batch", many(1), "Content-Type", "text/plain"); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %s", a.status, a.body)
	}
	for name, c := range map[string]struct{ body, msg string }{
		"empty body":         {"", "empty"},
		"no checks":          {`{}`, "1 to 256 checks"},
		"empty checks":       {`{"checks":[]}`, "1 to 256 checks"},
		"257 checks":         {many(257), "it holds 257"},
		"not JSON":           {`{"checks":`, "not valid JSON"},
		"unknown field":      {`{"checks":[{"header":{}}]}`, `unknown field "header"`},
		"unknown header":     {`{"checks":[` + one + `,{"headers":{"X-Forwarded-Method":"GET"}}]}`, `checks[1].headers: "X-Forwarded-Method" is not a header`},
		"header twice":       {`{"checks":[{"headers":{"Cookie":"a=1","cookie":"b=2"}}]}`, "given twice"},
		"number":             {`{"checks":[{"headers":{"User-Agent":7}}]}`, "checks[0].headers.User-Agent must be a string or an array of strings"},
		"null":               {`{"checks":[{"headers":{"User-Agent":null}}]}`, "must be a string or an array of strings"},
		"NUL":                {`{"checks":[{"headers":{"User-Agent":"a\u0000b"}}]}`, "checks[0].headers.User-Agent holds a control character"},
		"CR LF":              {`{"checks":[{"headers":{"Cookie":"a=1\r\nX-Doorman-User-Id: usr_1"}}]}`, "holds a control character"},
		"LF in an array":     {`{"checks":[{"headers":{"Sec-CH-UA":["a","b\nc"]}}]}`, "holds a control character"},
		"invalid UTF-8":      {"{\"checks\":[{\"headers\":{\"User-Agent\":\"caf\xe9\"}}]}", "checks[0].headers.User-Agent is not valid UTF-8"},
		"UTF-8 in an array":  {"{\"checks\":[{\"headers\":{\"Sec-CH-UA\":[\"\xff\"]}}]}", "is not valid UTF-8"},
		"headers a string":   {`{"checks":[{"headers":"Cookie: a=1"}]}`, "checks[0].headers must be an object"},
		"number in an array": {`{"checks":[{"headers":{"Sec-CH-UA":["a",1]}}]}`, "checks[0].headers.Sec-CH-UA must be a string or an array of strings"},
		"object value":       {`{"checks":[{"headers":{"Cookie":{"a":"1"}}}]}`, "must be a string or an array of strings"},
		"escaped NUL":        {`{"checks":[{"headers":{"Cookie":"a=\u0000"}}]}`, "holds a control character"},
	} {
		a := e.do(nil, "POST", "/auth/verify/batch", c.body)
		if a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, a.status, a.body)
			continue
		}
		if w := a.wantError(t, http.StatusBadRequest, "invalid"); !strings.Contains(w.Error.Message, c.msg) {
			t.Errorf("%s: message %q, want it to say %q", name, w.Error.Message, c.msg)
		}
	}
	// 256 checks is the most, and allowed; over the body cap is 413.
	a := e.do(nil, "POST", "/auth/verify/batch", many(256))
	if r := batchResults(t, a.status, a.header, a.body, 256); r[0].Status != http.StatusOK || r[255].Status != http.StatusOK {
		t.Errorf("256 checks: the first %+v, the last %+v", r[0], r[255])
	}
	big := `{"checks":[{"headers":{"User-Agent":"` + strings.Repeat("x", doormanhttpMaxBody) + `"}}]}`
	if a := e.do(nil, "POST", "/auth/verify/batch", big); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("over the body cap: %d %s", a.status, a.body)
	}
	// Any well-formed JSON of that shape: spaces and new lines, escapes in
	// names and values, empty arrays.
	for _, body := range []string{
		"{ \"checks\" : [ { \"headers\" : { \"Authorization\" : \"Bearer " + v.Token + "\" , \"Accept\" : [ ] } } ] }\n",
		"{\"checks\":[{\"headers\":{\"Author\\u0069zation\":[\"Bearer " + v.Token + "\"],\"User-Agent\":\"caf\\u00e9 \\\"x\\\" \\\\ \\t\"}}]}",
		"{\"checks\":[{\"headers\":{\"authorization\":\"Bearer " + v.Token + "\",\"sec-ch-ua\":\"\\\"Chromium\\\";v=\\\"131\\\"\"}}]}",
	} {
		a := e.do(nil, "POST", "/auth/verify/batch", body)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d %s", body, a.status, a.body)
			continue
		}
		if r := batchResults(t, a.status, a.header, a.body, 1); r[0].Status != http.StatusOK {
			t.Errorf("%s: %+v", body, r[0])
		}
	}
	// A multi-valued header is an array; header names are not case-sensitive.
	a = e.do(nil, "POST", "/auth/verify/batch", `{"checks":[{"headers":{"authorization":["Basic eDp5","Bearer `+v.Token+`"]}}]}`)
	if r := batchResults(t, a.status, a.header, a.body, 1); r[0].Status != http.StatusOK {
		t.Errorf("Authorization twice, Bearer second: %+v", r[0])
	}
	// The batch is a POST: a browser on another site cannot send it.
	if a := e.do(nil, "POST", "/auth/verify/batch", many(1), "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); a.status != http.StatusForbidden {
		t.Errorf("cross-site: %d %s", a.status, a.body)
	}
	if a := e.do(nil, "GET", "/auth/verify/batch", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s", a.status, a.body)
	}
}

// doormanhttpMaxBody is the server's default body cap, 64 KiB.
const doormanhttpMaxBody = 64 << 10

// A store that cannot answer makes each check that needs it 503, never 200
// nor 401; the batch itself is answered, and a check that needs no store
// (no credentials) is still 401.
func TestVerifyBatchStoreUnavailable(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	e.store.failAuth.Store(true)
	want := e.do(nil, "GET", "/auth/verify", nil, bearer(v.Token)...)
	r := e.verifyBatch(bearer(v.Token), nil, []string{"Cookie", "doorman_session=" + v.Token})
	sameAsVerify(t, "store down", r[0], want)
	if r[0].Status != http.StatusServiceUnavailable || r[0].Error.Code != "unavailable" {
		t.Errorf("store down, bearer: %+v", r[0])
	}
	if r[1].Status != http.StatusUnauthorized {
		t.Errorf("store down, no credentials: %+v", r[1])
	}
	if r[2].Status != http.StatusServiceUnavailable {
		t.Errorf("store down, cookie: %+v", r[2])
	}
	e.store.failAuth.Store(false)
	if r := e.verifyBatch(bearer(v.Token)); r[0].Status != http.StatusOK {
		t.Errorf("after the outage: %+v", r[0])
	}
}

// A session signed out is refused by the very next batch.
func TestVerifyBatchRevocationIsImmediate(t *testing.T) {
	e := newEnv(t)
	e.svc.SignInLimits = app.SignInLimits{PerEmail: 1000, EmailBurst: 100}
	e.user("ana@acme.example", doorman.RoleMember)
	other := e.login(nil, "ana@acme.example", false)
	for round := range 5 {
		v := e.login(nil, "ana@acme.example", false)
		if r := e.verifyBatch(bearer(v.Token), bearer(other.Token)); r[0].Status != http.StatusOK || r[1].Status != http.StatusOK {
			t.Fatalf("round %d, signed in: %+v", round, r)
		}
		if a := e.do(nil, "POST", "/api/v1/logout", nil, bearer(v.Token)...); a.status != http.StatusNoContent {
			t.Fatalf("logout: %d", a.status)
		}
		r := e.verifyBatch(bearer(v.Token), bearer(other.Token))
		if r[0].Status != http.StatusUnauthorized || r[0].Error.Reason != doorman.ReasonSignedOut {
			t.Fatalf("round %d: the batch after the sign-out answered %+v", round, r[0])
		}
		if r[1].Status != http.StatusOK {
			t.Fatalf("round %d: the other session %+v", round, r[1])
		}
	}
}

// Every check of a batch counts as one validation in the metrics; the
// batch is one request in the access log.
func TestVerifyBatchMetricsAndLog(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	metric := func(outcome string) int {
		t.Helper()
		body := string(e.do(nil, "GET", "/metrics", nil).body)
		prefix := `doorman_session_validations_total{outcome="` + outcome + `"} `
		for _, line := range strings.Split(body, "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				var n int
				fmt.Sscan(rest, &n)
				return n
			}
		}
		t.Fatalf("no %s in the metrics", prefix)
		return 0
	}
	valid, invalid := metric("valid"), metric("invalid")
	var checks [][]string
	for range 20 {
		checks = append(checks, bearer(v.Token))
	}
	checks = append(checks, bearer("dm_"+strings.Repeat("y", 40)))
	a := e.do(nil, "POST", "/auth/verify/batch", batchBody(checks...))
	batchResults(t, a.status, a.header, a.body, 21)
	if got := metric("valid") - valid; got != 20 {
		t.Errorf("%d valid validations counted, want 20", got)
	}
	if got := metric("invalid") - invalid; got != 1 {
		t.Errorf("%d invalid validations counted, want 1", got)
	}
	id := a.header.Get("X-Request-Id")
	var lines int
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, "msg=request") && strings.Contains(l, `route="POST /auth/verify/batch"`) {
			lines++
			if !strings.Contains(l, "request_id="+id) || !strings.Contains(l, "status=200") {
				t.Errorf("access log line %q", l)
			}
		}
	}
	if lines != 1 {
		t.Errorf("%d access log lines for one batch:\n%s", lines, e.logs.String())
	}
}

// A check that panics makes the batch 500, as it would make /auth/verify;
// the server goes on, whether the checks ran on one goroutine or several.
func TestVerifyBatchPanicIs500(t *testing.T) {
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(nil, "ana@acme.example", false)
	e.store.panicAuth.Store(true)
	for _, n := range []int{1, 40} {
		var checks [][]string
		for range n {
			checks = append(checks, bearer(v.Token))
		}
		e.do(nil, "POST", "/auth/verify/batch", batchBody(checks...)).wantError(t, http.StatusInternalServerError, "internal")
	}
	e.store.panicAuth.Store(false)
	if r := e.verifyBatch(bearer(v.Token)); r[0].Status != http.StatusOK {
		t.Errorf("after the panics: %+v", r[0])
	}
}

// The hand-written reader of a check's headers takes what encoding/json
// reads, the same way, and refuses all else.
func FuzzVerifyBatchHeaders(f *testing.F) {
	for _, s := range []string{
		`{"Authorization":"Bearer x","User-Agent":"a \"b\" \\ \t \u00e9","Accept":[]}`,
		`{ "cookie" : [ "a=1" , "b=2" ] }`, `{"Author\u0069zation":"x"}`, `null`, `{}`, `"x"`, `[]`,
		`{"Cookie":"a","cookie":"b"}`, `{"Cookie":1}`, `{"Cookie":[1]}`, `{"Cookie":{"a":"b"}}`, `{"Cookie":null}`,
		`{"X-Other":"x"}`, `{"Cookie":"a\u0000"}`, `{"Cookie":"a\r\nb"}`, "{\"Cookie\":\"\xff\"}",
		`{"Sec-CH-UA":"\ud800"}`, `{"sec-ch-ua-model":["\"a\"","b"]}`,
		`{"":""}`, `{" Cookie":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // encoding/json refuses the body before the reader runs
		}
		got, bad := doormanhttp.BatchCheckHeaders(b)
		want, ok := headersByTokens(b)
		if !ok {
			if bad == "" {
				t.Fatalf("%q: read as %v, want refused", b, got)
			}
			return
		}
		if bad != "" {
			t.Fatalf("%q: refused (%s), want %v", b, bad, want)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
		for k, v := range want {
			if strings.Join(got[k], "\x00") != strings.Join(v, "\x00") || len(got[k]) != len(v) {
				t.Fatalf("%q: %s = %q, want %q", b, k, got[k], v)
			}
		}
	})
}

// headersByTokens reads a check's headers with encoding/json's tokens, by
// the rules of POST /auth/verify/batch; false when they break one.
func headersByTokens(b []byte) (http.Header, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	allowed := map[string]bool{}
	for _, k := range []string{"Authorization", "Cookie", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Forwarded-Host", "X-Forwarded-Uri", "X-Original-Uri", "Accept", "X-Request-Id", "Sec-CH-UA",
		"Sec-CH-UA-Mobile", "Sec-CH-UA-Platform", "Sec-CH-UA-Platform-Version", "Sec-CH-UA-Full-Version-List", "Sec-CH-UA-Model"} {
		allowed[textproto.CanonicalMIMEHeaderKey(k)] = true
	}
	validValue := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return false
			}
		}
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, false
	}
	if tok == nil {
		return nil, true // null: no headers
	}
	if tok != json.Delim('{') {
		return nil, false
	}
	h := http.Header{}
	for dec.More() {
		tok, _ := dec.Token()
		key := textproto.CanonicalMIMEHeaderKey(tok.(string))
		if !allowed[key] {
			return nil, false
		}
		if _, dup := h[key]; dup {
			return nil, false
		}
		vals := []string{}
		tok, _ = dec.Token()
		switch v := tok.(type) {
		case string:
			vals = append(vals, v)
		case json.Delim:
			if v != '[' {
				return nil, false
			}
			for dec.More() {
				tok, _ := dec.Token()
				s, ok := tok.(string)
				if !ok {
					return nil, false
				}
				vals = append(vals, s)
			}
			dec.Token()
		default:
			return nil, false
		}
		for _, v := range vals {
			if !validValue(v) {
				return nil, false
			}
		}
		h[key] = vals
	}
	return h, true
}
