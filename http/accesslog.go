package http

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Access log tuning. A line waits in memory at most accessLogFlushEvery, so
// a crash loses at most that much of the access log (and never more than
// accessLogBufferSize bytes of it); in return a busy server makes one write
// per accessLogBufferSize bytes or per interval instead of one per request.
const (
	accessLogFlushEvery = 200 * time.Millisecond
	accessLogBufferSize = 64 << 10
	// accessLogMaxPath caps the logged path, so that a client cannot make
	// one request cost kilobytes of log.
	accessLogMaxPath = 256
	// accessLogCutMark ends a path that was cut at accessLogMaxPath bytes.
	accessLogCutMark = "[cut]"
)

// AccessLog writes Doorman's access log: one line per request, in the
// format of log/slog's text or JSON handler (time, level=INFO, msg=request,
// then method, path, route, status, duration, bytes, request_id, ip and,
// for a signed-in request, user_id), so that the same tools read it and
// the other log lines. Headers, cookies, the query string and bodies are
// never logged: they may carry tokens and passwords.
//
// A line is formatted into a reused buffer without allocating and appended
// whole to a shared buffer, which is written out when it holds
// 64 KiB, 200 ms after the first line it holds, and on Flush and Close.
// Lines are never torn or interleaved; a crash loses at most the lines of
// the last 200 ms. Its methods may be called from any goroutine.
type AccessLog struct {
	json  bool
	lines sync.Pool // *[]byte: one line being formatted

	mu     sync.Mutex
	w      io.Writer
	buf    []byte      // complete lines not yet written
	timer  *time.Timer // flushes buf; armed while buf is not empty
	armed  bool
	closed bool
	err    error // the first write error
}

// NewAccessLog returns an AccessLog that writes to w in format "text" (the
// layout of slog.TextHandler) or "json" (that of slog.JSONHandler). When w
// is the same *os.File as the other log lines' (stderr), its lines and
// theirs do not interleave within a line, but an access line may follow by
// up to 200 ms the lines logged while its request ran.
func NewAccessLog(w io.Writer, format string) (*AccessLog, error) {
	l := &AccessLog{w: w, buf: make([]byte, 0, accessLogBufferSize)}
	switch format {
	case "text":
	case "json":
		l.json = true
	default:
		return nil, fmt.Errorf("access log format %q: want text or json", format)
	}
	l.timer = time.AfterFunc(time.Hour, l.tick)
	l.timer.Stop()
	return l, nil
}

// accessEntry is one request as the access log records it.
type accessEntry struct {
	time      time.Time
	method    string
	path      string // logPath's: the tokens of alert and reset links already redacted
	route     string // the ServeMux pattern matched, "" for none
	status    int
	duration  time.Duration
	bytes     int64
	requestID string
	ip        netip.Addr // the client's address
	ipText    string     // ip as text when already known, else ""
	userID    string     // "" when no one is signed in: the field is left out
}

// log formats e into a pooled line and appends it to the buffer.
func (l *AccessLog) log(e *accessEntry) {
	lp, _ := l.lines.Get().(*[]byte)
	if lp == nil {
		b := make([]byte, 0, 512)
		lp = &b
	}
	line := l.appendLine((*lp)[:0], e)

	l.mu.Lock()
	l.buf = append(l.buf, line...)
	switch {
	case l.closed || len(l.buf) >= accessLogBufferSize:
		l.flushLocked()
	case !l.armed:
		l.armed = true
		l.timer.Reset(accessLogFlushEvery)
	}
	l.mu.Unlock()

	if cap(line) <= 4<<10 { // keep no buffer that one odd line grew
		*lp = line
		l.lines.Put(lp)
	}
}

// Flush writes the buffered lines out. It returns the first write error
// the log has met, if any; lines that met an error are dropped.
func (l *AccessLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return l.err
}

// Close flushes the buffered lines and stops the timer; lines logged after
// it are written at once. Call it after the server has shut down.
func (l *AccessLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.armed = false
	l.timer.Stop()
	l.flushLocked()
	return l.err
}

func (l *AccessLog) tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
	l.flushLocked()
}

func (l *AccessLog) flushLocked() {
	if len(l.buf) == 0 {
		return
	}
	// One Write of whole lines: an *os.File writes it all (looping over
	// short writes under its own lock), so no other line lands inside one.
	if _, err := l.w.Write(l.buf); err != nil && l.err == nil {
		l.err = err
	}
	l.buf = l.buf[:0]
}

// appendLine appends e as one line, newline included.
func (l *AccessLog) appendLine(b []byte, e *accessEntry) []byte {
	path, cut := capPath(e.path)
	if l.json {
		b = append(b, `{"time":"`...)
		b = e.time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","level":"INFO","msg":"request","method":`...)
		b = appendString(b, e.method)
		b = append(b, `,"path":`...)
		b = appendJSONMarked(b, path, cut)
		b = append(b, `,"route":`...)
		b = appendString(b, e.route)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.status), 10)
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, int64(e.duration), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, e.bytes, 10)
		b = append(b, `,"request_id":`...)
		b = appendString(b, e.requestID)
		b = append(b, `,"ip":`...)
		b = l.appendIP(b, e)
		if e.userID != "" {
			b = append(b, `,"user_id":`...)
			b = appendString(b, e.userID)
		}
		return append(b, "}\n"...)
	}
	b = append(b, "time="...)
	b = appendMillis(b, e.time)
	b = append(b, " level=INFO msg=request method="...)
	b = appendTextMarked(b, e.method, "")
	b = append(b, " path="...)
	b = appendTextMarked(b, path, cut)
	b = append(b, " route="...)
	b = appendTextMarked(b, e.route, "")
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " duration="...)
	b = append(b, e.duration.String()...)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, " request_id="...)
	b = appendTextMarked(b, e.requestID, "")
	b = append(b, " ip="...)
	b = l.appendIP(b, e)
	if e.userID != "" {
		b = append(b, " user_id="...)
		b = appendTextMarked(b, e.userID, "")
	}
	return append(b, '\n')
}

// appendMillis appends t as slog's text format does, RFC 3339 with
// milliseconds. The part up to the second and the zone are formatted once a
// second and kept (every line of that second shares them); only the
// milliseconds are written each time.
func appendMillis(b []byte, t time.Time) []byte {
	sec := t.Unix()
	c := lastSecond.Load()
	if c == nil || c.sec != sec || c.loc != t.Location() {
		c = &secondText{sec: sec, loc: t.Location(),
			date: t.AppendFormat(nil, "2006-01-02T15:04:05"), zone: t.AppendFormat(nil, "Z07:00")}
		lastSecond.Store(c)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, c.date...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, c.zone...)
}

// secondText is one second's text for appendMillis.
type secondText struct {
	sec        int64
	loc        *time.Location
	date, zone []byte
}

var lastSecond atomic.Pointer[secondText]

// capPath cuts a path longer than accessLogMaxPath bytes on a rune
// boundary, and returns the mark to write after it ("" when it is whole).
func capPath(p string) (string, string) {
	if len(p) <= accessLogMaxPath {
		return p, ""
	}
	n := accessLogMaxPath
	for n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	return p[:n], accessLogCutMark
}

// appendIP appends the client's address as a value of the line's format.
// An address without a zone is only hex digits, dots and colons, which
// neither format escapes, so it is appended without first becoming a
// string; one with a zone (the rare link-local peer) goes the slow way.
func (l *AccessLog) appendIP(b []byte, e *accessEntry) []byte {
	switch {
	case e.ipText != "" || e.ip.Zone() != "":
		s := e.ipText
		if s == "" {
			s = e.ip.String()
		}
		if l.json {
			return appendString(b, s)
		}
		return appendTextMarked(b, s, "")
	case !e.ip.IsValid():
		return append(b, `""`...)
	case l.json:
		b = append(b, '"')
		b = e.ip.AppendTo(b)
		return append(b, '"')
	}
	return e.ip.AppendTo(b)
}

// appendJSONMarked appends s and then mark (plain ASCII) as one JSON string.
func appendJSONMarked(b []byte, s, mark string) []byte {
	b = appendString(b, s)
	if mark == "" {
		return b
	}
	b = append(b[:len(b)-1], mark...)
	return append(b, '"')
}

// appendTextMarked appends s and then mark (plain ASCII) as one value of
// slog's text format: bare when it can be, else quoted with strconv's
// escapes, so that no control character, quote or space in a path can end
// the value or the line and forge another.
func appendTextMarked(b []byte, s, mark string) []byte {
	if !needsQuoting(s) {
		b = append(b, s...)
		return append(b, mark...)
	}
	b = appendQuoted(b, s)
	if mark == "" {
		return b
	}
	b = append(b[:len(b)-1], mark...)
	return append(b, '"')
}

// appendQuoted is strconv.AppendQuote, with a short cut for the common
// value that has only printable ASCII and nothing to escape (a route).
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// needsQuoting is slog's rule for its text format: quote an empty value, or
// one with a space, '=', '"', a control character, a character that is not
// printable, or invalid UTF-8.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
