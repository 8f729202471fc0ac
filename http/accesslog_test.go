package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/doorman/doorman"
	doormanhttp "github.com/doorman/doorman/http"
)

// accessLine is one request as a test logs it.
type accessLine struct {
	at                    time.Time
	method, path, route   string
	status                int
	d                     time.Duration
	bytes                 int64
	requestID, ip, userID string
}

func (a accessLine) log(l *doormanhttp.AccessLog) {
	ip, _ := netip.ParseAddr(a.ip)
	doormanhttp.LogAccess(l, a.at, a.method, a.path, a.route, a.status, a.d, a.bytes, a.requestID, ip, a.userID)
}

// slogLine is what slog's own handler of format writes for a, the layout
// the access log keeps.
func (a accessLine) slogLine(t *testing.T, format string) string {
	t.Helper()
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if format == "json" {
		h = slog.NewJSONHandler(&buf, nil)
	}
	r := slog.NewRecord(a.at, slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("method", a.method), slog.String("path", a.path), slog.String("route", a.route),
		slog.Int("status", a.status), slog.Duration("duration", a.d), slog.Int64("bytes", a.bytes),
		slog.String("request_id", a.requestID), slog.String("ip", a.ip))
	if a.userID != "" {
		r.AddAttrs(slog.String("user_id", a.userID))
	}
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// parseLine reads one line of either format back into its fields, every
// value as text.
func parseLine(t *testing.T, format, line string) map[string]string {
	t.Helper()
	if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
		t.Fatalf("not one line: %q", line)
	}
	line = strings.TrimSuffix(line, "\n")
	out := map[string]string{}
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		for k, v := range m {
			out[k] = fmt.Sprint(v)
			if f, ok := v.(float64); ok {
				out[k] = strconv.FormatInt(int64(f), 10)
			}
		}
		return out
	}
	for line != "" {
		key, rest, ok := strings.Cut(line, "=")
		if !ok || key == "" || strings.ContainsAny(key, ` "`) {
			t.Fatalf("bad key in %q", line)
		}
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("bad quoted value in %q: %v", rest, err)
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
			rest = " " + rest
			if rest == " " {
				rest = ""
			}
		}
		if _, dup := out[key]; dup {
			t.Fatalf("key %s twice", key)
		}
		out[key] = val
		if rest != "" && !strings.HasPrefix(rest, " ") {
			t.Fatalf("no space after %s=%s", key, val)
		}
		line = strings.TrimPrefix(rest, " ")
	}
	return out
}

// logged writes lines to a fresh AccessLog of format, closes it, and
// returns the output.
func logged(t *testing.T, format string, lines ...accessLine) string {
	t.Helper()
	var buf bytes.Buffer
	l, err := doormanhttp.NewAccessLog(&buf, format)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range lines {
		a.log(l)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var sampleLine = accessLine{
	at:     time.Date(2026, 12, 3, 4, 5, 6, 789123456, time.FixedZone("CET", 3600)),
	method: "GET", path: "/api/v1/sessions/sess_1", route: "GET /api/v1/sessions/{id}", status: 200,
	d: 1234567 * time.Nanosecond, bytes: 321, requestID: "0123456789abcdef0123456789abcdef",
	ip: "203.0.113.9", userID: "usr_42",
}

// The access log writes what slog's handlers write for the same record, so
// that its lines read like every other log line.
func TestAccessLogMatchesSlog(t *testing.T) {
	anon := sampleLine
	anon.userID, anon.route, anon.ip, anon.status, anon.path = "", "", "", 404, "/nope"
	v6 := sampleLine
	v6.ip, v6.d, v6.path = "2001:db8::1", 3*time.Second+500*time.Millisecond, "/café au lait/\"x\"=y"
	slow := sampleLine
	slow.d, slow.at = 850*time.Microsecond, sampleLine.at.UTC()
	for _, format := range []string{"text", "json"} {
		for _, a := range []accessLine{sampleLine, anon, v6, slow} {
			if got, want := logged(t, format, a), a.slogLine(t, format); got != want {
				t.Errorf("%s:\n got %s\nwant %s", format, got, want)
			}
		}
	}
}

// Both formats parse back to the fields that were logged.
func TestAccessLogParsesBack(t *testing.T) {
	a := sampleLine
	a.path = "/a b/\"c\"=d/é"
	for _, format := range []string{"text", "json"} {
		f := parseLine(t, format, logged(t, format, a))
		want := map[string]string{"level": "INFO", "msg": "request", "method": a.method, "path": a.path,
			"route": a.route, "status": "200", "bytes": "321", "request_id": a.requestID, "ip": a.ip,
			"user_id": a.userID, "duration": a.d.String()}
		if format == "json" {
			want["duration"] = strconv.FormatInt(int64(a.d), 10)
		}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("%s: %s = %q, want %q", format, k, f[k], v)
			}
		}
		at, err := time.Parse(time.RFC3339Nano, f["time"])
		if err != nil || at.Sub(a.at).Abs() >= time.Millisecond {
			t.Errorf("%s: time %q, want %s", format, f["time"], a.at)
		}
		if len(f) != len(want)+1 {
			t.Errorf("%s: fields %v, want those of %v and time", format, f, want)
		}
	}
}

// A path cannot forge a line or a field: control characters, quotes and
// spaces are escaped, and the line stays one line.
func TestAccessLogEscapesControlCharacters(t *testing.T) {
	for _, path := range []string{
		"/x\ntime=2026-01-01T00:00:00.000Z level=ERROR msg=forged",
		"/x\r\n{\"level\":\"ERROR\"}",
		"/x\" user_id=usr_admin",
		"/x\x00\x1b[31m\x7f\u2028\xff",
	} {
		for _, format := range []string{"text", "json"} {
			a := sampleLine
			a.path, a.userID = path, ""
			out := logged(t, format, a)
			raw := "\n\r\x00\x1b"
			if format == "text" {
				raw += "\x7f" // JSON may carry DEL as it is, as encoding/json does
			}
			if strings.ContainsAny(strings.TrimSuffix(out, "\n"), raw) {
				t.Errorf("%s: raw control character in %q", format, out)
			}
			f := parseLine(t, format, out)
			if f["user_id"] != "" || f["level"] != "INFO" || f["msg"] != "request" {
				t.Errorf("%s: forged fields in %q", format, out)
			}
			want := path // text escapes invalid UTF-8 as \xff, and keeps it
			if format == "json" {
				want = strings.ToValidUTF8(path, "\ufffd")
			}
			if f["path"] != want {
				t.Errorf("%s: path %q, want %q", format, f["path"], want)
			}
		}
	}
}

// A huge path is cut on a rune boundary, and marked as cut.
func TestAccessLogCapsPath(t *testing.T) {
	for _, path := range []string{
		"/" + strings.Repeat("a", 10000),
		"/" + strings.Repeat("é", 5000), // two bytes each: the cap falls inside one
		"/" + strings.Repeat("€", 5000), // three bytes each
	} {
		for _, format := range []string{"text", "json"} {
			a := sampleLine
			a.path = path
			out := logged(t, format, a)
			got := parseLine(t, format, out)["path"]
			kept, ok := strings.CutSuffix(got, "[cut]")
			if !ok || !strings.HasPrefix(path, kept) || !utf8.ValidString(kept) ||
				len(kept) > doormanhttp.AccessLogMaxPath || len(kept) < doormanhttp.AccessLogMaxPath-3 {
				t.Errorf("%s: path logged as %q (%d bytes)", format, got, len(got))
			}
			if len(out) > 1024 {
				t.Errorf("%s: a %d-byte path made a %d-byte line", format, len(path), len(out))
			}
		}
	}
	a := sampleLine
	a.path = "/" + strings.Repeat("a", doormanhttp.AccessLogMaxPath-1)
	if got := parseLine(t, "text", logged(t, "text", a))["path"]; got != a.path {
		t.Errorf("a path of exactly the cap was changed to %q", got)
	}
}

// Through the server: the fields of the request, and never its query,
// headers, cookies or body.
func TestAccessLogThroughServer(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			buf := new(syncBuffer)
			al, err := doormanhttp.NewAccessLog(buf, format)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, func(c *doormanhttp.Config) { c.AccessLog = al })
			u := e.user("ana@acme.example", doorman.RoleMember)
			c := e.browser()
			v := e.login(c, "ana@acme.example", false)
			a := e.do(c, "GET", "/api/v1/sessions?token="+v.Token, nil, bearer(v.Token)...)
			if err := al.Close(); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, never := range []string{v.Token, v.Token[:12], "token=", "Bearer", "doorman_session", password} {
				if strings.Contains(out, never) {
					t.Errorf("access log contains %q:\n%s", never, out)
				}
			}
			var line map[string]string
			for _, l := range strings.SplitAfter(out, "\n") {
				if l == "" {
					continue
				}
				f := parseLine(t, format, l)
				if f["request_id"] == a.header.Get("X-Request-Id") {
					line = f
				}
			}
			want := map[string]string{"method": "GET", "path": "/api/v1/sessions", "route": "GET /api/v1/sessions",
				"status": "200", "bytes": strconv.Itoa(len(a.body)), "ip": "127.0.0.1", "user_id": u.ID}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %q, want %q (line %v)", k, line[k], v, line)
				}
			}
			if line["duration"] == "" {
				t.Errorf("no duration in %v", line)
			}
			if strings.Contains(e.logs.String(), "msg=request") {
				t.Error("access lines also went to the Logger")
			}
		})
	}
}

// lineWriter records each Write, as a file would receive it.
type lineWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.Join(w.writes, nil))
}

// Many goroutines logging at once: every line arrives whole, once, and
// every write holds only whole lines.
func TestAccessLogConcurrent(t *testing.T) {
	const goroutines, each = 32, 300
	for _, format := range []string{"text", "json"} {
		w := new(lineWriter)
		l, err := doormanhttp.NewAccessLog(w, format)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					a := sampleLine
					a.path = fmt.Sprintf("/g%d/%d/%s", g, i, strings.Repeat("x", i%50))
					a.log(l)
				}
			})
		}
		wg.Wait()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if len(w.writes) < 2 {
			t.Errorf("%s: %d writes: the buffer never filled", format, len(w.writes))
		}
		seen := map[string]bool{}
		for _, p := range w.writes {
			if !bytes.HasSuffix(p, []byte("\n")) {
				t.Fatalf("%s: a write ends inside a line: %q", format, p[max(0, len(p)-80):])
			}
			for _, line := range strings.SplitAfter(string(p), "\n") {
				if line == "" {
					continue
				}
				path := parseLine(t, format, line)["path"]
				if seen[path] {
					t.Errorf("%s: %s twice", format, path)
				}
				seen[path] = true
			}
		}
		if len(seen) != goroutines*each {
			t.Errorf("%s: %d lines, want %d", format, len(seen), goroutines*each)
		}
	}
}

// Lines wait in memory until the timer, Flush or Close writes them.
func TestAccessLogFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := new(lineWriter)
		l, err := doormanhttp.NewAccessLog(w, "text")
		if err != nil {
			t.Fatal(err)
		}
		sampleLine.log(l)
		if w.String() != "" {
			t.Fatal("a line was written at once: the log is not buffered")
		}
		time.Sleep(doormanhttp.AccessLogFlushEvery - time.Millisecond)
		synctest.Wait()
		if w.String() != "" {
			t.Fatal("a line was written before the timer")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if strings.Count(w.String(), "\n") != 1 {
			t.Fatalf("after %s: %q", doormanhttp.AccessLogFlushEvery, w.String())
		}

		sampleLine.log(l)
		if err := l.Flush(); err != nil || strings.Count(w.String(), "\n") != 2 {
			t.Fatalf("after Flush (%v): %q", err, w.String())
		}

		sampleLine.log(l)
		if err := l.Close(); err != nil || strings.Count(w.String(), "\n") != 3 {
			t.Fatalf("after Close (%v): %q", err, w.String())
		}
		sampleLine.log(l) // a late request after shutdown is not lost
		if strings.Count(w.String(), "\n") != 4 {
			t.Fatalf("a line after Close: %q", w.String())
		}
	})
}

// A full buffer is written without waiting for the timer.
func TestAccessLogFlushesWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := new(lineWriter)
		l, err := doormanhttp.NewAccessLog(w, "json")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; w.String() == ""; i++ {
			if i > 10000 {
				t.Fatal("10,000 lines and nothing written")
			}
			sampleLine.log(l)
		}
		l.Close()
	})
}

// Formatting and buffering a line allocates nothing.
func TestAccessLogAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not counted under -race")
	}
	for _, format := range []string{"text", "json"} {
		l, err := doormanhttp.NewAccessLog(new(lineWriter), format)
		if err != nil {
			t.Fatal(err)
		}
		v4, v6 := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::1")
		long := "/" + strings.Repeat("é/", 300)
		n := testing.AllocsPerRun(1000, func() {
			doormanhttp.LogAccess(l, time.Now(), "GET", "/api/v1/whoami", "GET /api/v1/whoami", 200,
				1234*time.Microsecond, 321, "0123456789abcdef0123456789abcdef", v4, "usr_42")
			doormanhttp.LogAccess(l, time.Now(), "GET", long, "", 404, 3*time.Second, 0, "r", v6, "")
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per two lines, want 0", format, n)
		}
		l.Close()
	}
}

// The whole request costs no more allocations with the access log on than
// with no access log at all.
func TestAccessLogAddsNoAllocsToWhoami(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not counted under -race")
	}
	e := newEnv(t)
	e.user("ana@acme.example", doorman.RoleMember)
	v := e.login(e.browser(), "ana@acme.example", false)
	al, err := doormanhttp.NewAccessLog(new(lineWriter), "text")
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	base := &url.URL{Scheme: "http", Host: "doorman.test"}
	off := doormanhttp.NewServer(e.svc, doormanhttp.Config{BaseURL: base, Logger: slog.New(slog.DiscardHandler)}).Handler()
	on := doormanhttp.NewServer(e.svc, doormanhttp.Config{BaseURL: base, Logger: slog.New(slog.DiscardHandler),
		AccessLog: al}).Handler()
	req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+v.Token)
	allocs := func(h http.Handler) float64 {
		return testing.AllocsPerRun(500, func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				t.Fatalf("whoami: %d", w.Code)
			}
		})
	}
	if a, b := allocs(off), allocs(on); b > a {
		t.Errorf("whoami: %v allocations with the access log, %v without", b, a)
	}
}
